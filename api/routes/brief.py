"""``GET /communes/{code}/brief``: one commune's printable brief for officials (HTML).

The page is :func:`geodx.brief.render_brief` of the served results: no script at all,
one inline stylesheet allowed by its hash, inline SVG drawn from numbers. The plan and
the trend come from their services when the app has them (``api/plan.py``, the history
store); without them the brief leaves the plan out and says there is no history.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import ResultsDep, base_url
from api.plan import commune_plan
from api.results import RegionResults
from api.schemas import ErrorMessage
from api.schemas_ogc import Link
from geodx.errors import ServiceUnavailable, UnknownCommune
from geodx.trajectory import trajectory

router = APIRouter(tags=["officials"])
log = logging.getLogger("geodx.api")


@functools.cache
def brief_csp() -> str:
    """The brief's CSP: its one stylesheet (by hash) and ``data:`` images, nothing else.

    No script, no frame, no form, no request anywhere. Computed on the first brief: :mod:`geodx.brief` (Jinja) and the history store's
    SQLAlchemy are imported by the first brief, not by every worker's start.
    """
    from geodx.brief import style_hash

    return (
        f"default-src 'none'; style-src {style_hash()}; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def brief_links(request: Request, code: str) -> list[Link]:
    """Links to a commune's brief, in Vietnamese and English (``/communes/{code}``)."""
    href = f"{base_url(request)}/communes/{quote(code, safe='')}/brief"
    return [
        Link(href=href, rel="alternate", type="text/html",
             title="Tóm tắt của xã để in / printable brief (Vietnamese)"),
        Link(href=f"{href}?lang=en", rel="alternate", type="text/html",
             title="Printable brief (English)"),
    ]  # fmt: skip


def commune_cells(results: RegionResults, code: str) -> Any:
    """The commune's rows of ``cells.parquet``."""
    cells = results.cells
    return cells[cells["commune_code"] == code]


def plan_of(results: RegionResults, code: str) -> dict[str, Any] | None:
    """The commune's fibre plan (``api.plan.commune_plan``); None when unavailable."""
    try:
        return commune_plan(results, code, "fibre")
    except ServiceUnavailable as exc:  # results without plan.parquet: left out
        log.info("brief: no plan for commune %s: %s", code[:40], exc)
        return None


@router.get(
    "/communes/{commune_code}/brief",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The printable brief."},
        404: {"model": ErrorMessage, "description": "Unknown commune."},
        422: {"model": ErrorMessage, "description": "Unknown language."},
    },
    operation_id="getCommuneBrief",
)
def commune_brief(
    commune_code: Annotated[str, Path(description="Official commune code (mã xã).")],
    request: Request,
    results: ResultsDep,
    lang: Annotated[
        Literal["vi", "en"],
        Query(description="Language of the page: vi (default) or en."),
    ] = "vi",
) -> HTMLResponse:
    """A commune's printable brief: figures, targets and gap, map, plan, trend, method."""
    from geodx.brief import build_brief, render_brief

    row = results.commune(commune_code)  # UnknownCommune -> 404
    history = history_of(request, results, commune_code)
    brief = build_brief(
        row,
        results.summary,
        geometry=results.commune_geometry(commune_code),
        cells=commune_cells(results, commune_code),
        lang=lang,
        version=results.version,
        plan=plan_of(results, commune_code),
        history=history,
    )
    page = render_brief(brief).encode("utf-8")
    return HTMLResponse(page, headers=brief_headers(page, lang, history is not None))


def brief_headers(page: bytes, lang: str, with_history: bool) -> dict[str, str]:
    """The page's CSP and language, and an ``ETag`` of its own content.

    With a history store the page changes when a vintage is recorded, while the results
    version (the app's ``ETag``) does not: the tag is the page's digest, and a client
    revalidates (``no-cache``) to see a new vintage at once.
    """
    headers = {
        "Content-Security-Policy": brief_csp(),
        "Content-Language": lang,
        "ETag": f'W/"b-{hashlib.sha256(page).hexdigest()[:32]}"',
    }
    if with_history:
        headers["Cache-Control"] = "no-cache"
    return headers


def history_of(
    request: Request, results: RegionResults, code: str
) -> dict[str, Any] | None:
    """The commune's vintages with their trajectory; None without a history store.

    The store is the ``history`` service (``GEODX_HISTORY``); a commune the store does
    not hold, or a store that fails (logged), gives an empty history: "no history".
    """
    store = getattr(request.app.state, "history", None)
    if store is None:  # no store: SQLAlchemy is never imported
        return None
    from geodx.history import commune_history
    from geodx.history_store import HistoryError, HistoryStore

    if not isinstance(store, HistoryStore):
        return None
    try:
        rows = commune_history(store, code)
    except UnknownCommune:
        return {}
    except HistoryError as exc:
        log.error("brief: history store failed: %s", exc)
        return {}
    return {"vintages": rows, **trajectory(rows, results.summary.get("targets"))}
