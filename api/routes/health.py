"""Liveness probe."""

from __future__ import annotations

from fastapi import APIRouter, Response

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
async def health() -> dict[str, str]:
    """Answer without touching data."""
    # async: answered on the event loop, never queued behind renders in the thread pool
    return {"status": "ok"}


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """No icon: answer 204 so browsers do not log a failed request."""
    return Response(status_code=204)
