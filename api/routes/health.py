"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
def health() -> dict[str, str]:
    """Answer without touching data."""
    return {"status": "ok"}
