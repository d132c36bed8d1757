"""``geodx run … --as-of DATE --history STORE [--crosswalk FILE]``: record the run's vintage.

The composition root reads what the run wrote (``summary.json`` and the properties of
``communes.geojson``, from the version folder the run produced), carries them to new
communes when a crosswalk is given (:mod:`geodx.history_carry`) and records them in the
store (:mod:`geodx.history`), in one transaction, after the run succeeded: a run that
fails records nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from geodx.contract_names import (
    COMMUNES_FILE,
    SUMMARY_FILE,
)
from geodx.history import (
    Vintage,
    known_communes,
    parse_as_of,
    record_vintage,
)
from geodx.history_store import (
    HistoryError,
    HistoryStore,
)
from geodx.limits import DEFAULT_LIMITS, Limits


def read_vintage(out_dir: Path, as_of: dt.date) -> Vintage:
    """The vintage a run wrote into ``out_dir`` (the version its link names now)."""
    from geodx.outdir_snapshot import snapshot

    folder = snapshot(out_dir).path
    summary = orjson.loads((folder / SUMMARY_FILE).read_bytes())
    features = orjson.loads((folder / COMMUNES_FILE).read_bytes())["features"]
    communes = [dict(feature["properties"]) for feature in features]
    return Vintage(as_of, summary, communes)


def carried(
    vintage: Vintage,
    crosswalk: Path,
    *,
    known: dict[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Vintage:
    """The vintage on the crosswalk's new communes (see :mod:`geodx.history_carry`).

    ``known``: the new communes of a vintage computed on the new boundaries (code ->
    name), which settle the few codes the crosswalk spells otherwise.
    """
    from geodx.carry_io import read_crosswalk
    from geodx.history_carry import carry_communes, carry_summary
    from geodx.io import file_sha256

    table = read_crosswalk(crosswalk, limits=limits)
    whole = vintage.summary.get("counts_exact", True) is not False
    targets = vintage.summary.get("targets")
    communes, missing = carry_communes(
        vintage.communes, table, targets, whole=whole, known=known
    )
    note: dict[str, Any] = {
        "crosswalk": crosswalk.name,
        "sha256": file_sha256(crosswalk),
        "communes_before": len(vintage.communes),
        "communes_after": len(communes),
        "not_in_crosswalk": missing,
    }
    summary = carry_summary(vintage.summary, communes)
    return Vintage(vintage.as_of, summary, communes, carried=note)


def record_run(
    store: HistoryStore,
    out_dir: Path,
    as_of: dt.date,
    *,
    crosswalk: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Vintage:
    """Record the run in ``out_dir`` under ``as_of`` (replacing that date); return it."""
    vintage = read_vintage(out_dir, as_of)
    if crosswalk is not None:
        known = known_communes(store)
        vintage = carried(vintage, crosswalk, known=known, limits=limits)
    record_vintage(store, vintage)
    return vintage


def recorder(
    as_of: str | None, store: str | None, crosswalk: Path | None
) -> Callable[[Path, Limits], str] | None:
    """What ``geodx run`` records after a successful run (None: nothing asked).

    The options are checked, and the store opened, before the run starts: a newer or
    foreign store is refused before any work.

    Raises
    ------
    HistoryError
        ``--as-of`` without ``--history`` or the reverse, a bad date, a refused store.
    """
    if store is None and as_of is None and crosswalk is None:
        return None
    if store is None or as_of is None:
        raise HistoryError(
            "--as-of and --history go together (--crosswalk needs both): "
            "geodx run REGION --out DIR --as-of 2025-06-30 --history history.sqlite"
        )
    date = parse_as_of(as_of)
    history = HistoryStore(store)
    history.check()

    def record(out_dir: Path, limits: Limits) -> str:
        vintage = record_run(history, out_dir, date, crosswalk=crosswalk, limits=limits)
        history.dispose()
        how = " on the crosswalk's communes" if vintage.carried else ""
        return (
            f"recorded vintage {date.isoformat()} ({len(vintage.communes)} communes"
            f"{how}) in {history.name}"
        )

    return record
