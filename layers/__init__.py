"""Coverage-layer adapters: read, validate and answer "covered or not" per household."""
