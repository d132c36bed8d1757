"""geodx: household and commune connectivity coverage against digital-infrastructure targets."""

from __future__ import annotations

__version__ = "0.1.0"
