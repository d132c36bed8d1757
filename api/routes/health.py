"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter, Response

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
def health() -> dict[str, str]:
    """Answer without touching data."""
    return {"status": "ok"}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """No icon: answer 204 so browsers do not log a failed request."""
    return Response(status_code=204)
