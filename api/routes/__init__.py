"""HTTP routes: OGC API - Features, officials' endpoints, maps and health."""
