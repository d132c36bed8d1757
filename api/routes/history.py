"""History and trajectory: ``GET /history`` and ``GET /communes/{code}/history``.

The store (``GEODX_HISTORY``, see :mod:`geodx.history`) is the ``history`` service on
``app.state``; without one both answer 503. Vintages are read on every request, so a run
recorded while the service runs is served at once. SQLAlchemy (the store's, 0.25 s of a
worker's start) is imported only when a store is configured.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.schemas import ErrorMessage
from api.settings import Settings
from geodx.errors import ServiceUnavailable
from geodx.trajectory import statuses, trajectory

if TYPE_CHECKING:
    from geodx.history_store import HistoryStore

router = APIRouter(tags=["history"])
SERVICE = "history"
NOT_CONFIGURED = "no history store configured (geodx serve --history STORE)"

ERRORS: dict[int | str, dict[str, object]] = {
    503: {"model": ErrorMessage, "description": "No history store, or it failed."},
}


def history_service(settings: Settings) -> HistoryStore | None:
    """The history store of ``GEODX_HISTORY``; None when unset."""
    if not settings.history:
        return None
    from geodx.history_store import HistoryStore

    return HistoryStore(settings.history)


def _store(request: Request) -> HistoryStore:
    store = getattr(request.app.state, SERVICE, None)
    if store is None:  # no store: SQLAlchemy is never imported
        raise ServiceUnavailable(NOT_CONFIGURED)
    from geodx.history_store import HistoryStore

    if not isinstance(store, HistoryStore):
        raise ServiceUnavailable(NOT_CONFIGURED)
    return store


def _answer(body: dict[str, Any]) -> Response:
    """JSON tagged by its own content, not by the results version.

    A vintage recorded while the service runs changes the answer; a client revalidates
    (``no-cache``) and sees it.
    """
    content = orjson.dumps(body)
    etag = f'W/"h-{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    return Response(content, media_type="application/json", headers=headers)


def _latest_targets(rows: list[dict[str, Any]]) -> Any:
    return rows[-1].get("targets") if rows else None


@router.get(
    "/history",
    responses=ERRORS,
    operation_id="getHistory",
)
def history(request: Request) -> Response:
    """Every vintage oldest first, projected to 2025 and 2030, with each commune's status."""
    store = _store(request)
    from geodx.history import communes_history, vintages
    from geodx.history_store import HistoryError

    try:
        rows = vintages(store)
        communes = communes_history(store)
    except HistoryError as exc:
        raise ServiceUnavailable(str(exc)) from None
    targets = _latest_targets(rows)
    body: dict[str, Any] = {"vintages": rows, **trajectory(rows, targets, region=True)}
    body["communes"] = [
        {
            "commune_code": code,
            "commune_name": entries[-1].get("commune_name"),
            "as_of": entries[-1]["as_of"],
            "status": statuses(entries, targets),
        }
        for code, entries in communes.items()
    ]
    return _answer(body)


@router.get(
    "/communes/{commune_code}/history",
    responses={
        404: {"model": ErrorMessage, "description": "Not in the history store."},
        422: {"model": ErrorMessage, "description": "A code longer than 64."},
        **ERRORS,
    },
    operation_id="getCommuneHistory",
)
def commune_history_route(
    commune_code: Annotated[
        str, Path(max_length=64, description="Official commune code (mã xã).")
    ],
    request: Request,
) -> Response:
    """One commune's vintages oldest first, projected to 2025 and 2030, with its status."""
    store = _store(request)
    from geodx.history import commune_history, vintages
    from geodx.history_store import HistoryError

    try:
        rows = commune_history(store, commune_code)  # UnknownCommune -> 404
        targets = _latest_targets(vintages(store))
    except HistoryError as exc:
        raise ServiceUnavailable(str(exc)) from None
    body = {"commune_code": commune_code, "vintages": rows}
    return _answer(body | trajectory(rows, targets))
