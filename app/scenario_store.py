"""The service ``POST /scenarios`` uses: a prepared baseline and a folder of scenarios.

Every worker of ``geodx serve`` prepares the region's baseline once, in a background
thread at start-up (:class:`ScenarioStore`), and computes at most one scenario at a
time. Scenarios are kept on disk under ``<state folder>/scenarios/<id>/``, each a small
results folder (the four outputs of a run, the layers' files under ``inputs/``, and
``scenario.json``, the answer), written in a temporary folder and renamed into place:
any worker reads any scenario. Past ``keep`` scenarios, the oldest are deleted.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from api.results import RegionResults, load_results
from api.scenario_types import (
    SCENARIO_ID,
    NewLayer,
    ScenarioBusy,
    ScenarioRejected,
    UnknownScenario,
    state_dir,
)
from api.settings import Settings
from app.scenarios import (
    Baseline,
    added_layers,
    commune_diff,
    crossing,
    prepare_baseline,
    write_scenario,
)
from geodx.contract import public_inputs
from geodx.contract_names import SUMMARY_FILE
from geodx.errors import GeodxError, ServiceUnavailable
from geodx.io import write_bytes
from geodx.limits import Limits, limits_from_env
from geodx.manifest import (
    load_manifest,
    with_layers,
)
from geodx.manifest_specs import Manifest
from geodx.outdir_snapshot import snapshot

log = logging.getLogger("geodx.api")

ANSWER_FILE = "scenario.json"
META_FILE = "meta.json"  # what GET /scenarios lists
LISTED = ("id", "name", "created", "layers", "crossing")
INPUTS = "inputs"
_TMP = ".tmp-"
CACHED_RESULTS = 4  # scenario results folders kept loaded, for their maps
READY_WAIT_S = 30.0  # a request waits this long for the baseline, then 503
BUSY_WAIT_S = 30.0  # ... and this long for the worker's scenario in progress


class ScenarioStore:
    """Scenarios of one region: computed on its baseline, kept in ``folder``."""

    def __init__(
        self,
        manifest: Manifest | None,
        folder: Path,
        *,
        keep: int,
        limits: Limits,
        served_inputs: Any = None,
    ) -> None:
        self.manifest, self.folder, self.keep, self.limits = (
            manifest, folder, keep, limits,
        )  # fmt: skip
        self.served_inputs = served_inputs  # the served summary's, None: not checked
        self._baseline: Baseline | None = None
        self._failed: str | None = None
        self._ready = threading.Event()
        self._busy = threading.Lock()
        self._cache: OrderedDict[str, RegionResults] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def unavailable(cls, folder: Path, *, keep: int, reason: str) -> ScenarioStore:
        """A store that keeps serving stored scenarios but computes none (``reason``)."""
        store = cls(None, folder, keep=keep, limits=Limits())
        store._failed = reason
        store._ready.set()
        return store

    def prepare(self) -> None:
        """Compute the baseline (run in a background thread at start-up)."""
        try:
            assert self.manifest is not None, (
                "a store without a region prepares nothing"
            )
            baseline = prepare_baseline(self.manifest, limits=self.limits)
            served = self.served_inputs
            if served is not None and public_inputs(served) != baseline.inputs:
                self._failed = (
                    "results are out of date: the region's inputs differ from the "
                    "checksums in the served summary.json; run geodx run again"
                )
            else:
                self._baseline = baseline
        except Exception as exc:  # noqa: BLE001 - said on every request, logged once
            self._failed = str(exc).splitlines()[0][:300] if str(exc) else repr(exc)
            log.exception("scenarios: could not prepare the region")
        finally:
            self._ready.set()

    def start(self) -> ScenarioStore:
        """Prepare the baseline in a background thread; return ``self``."""
        threading.Thread(target=self.prepare, name="scenarios", daemon=True).start()
        return self

    def baseline(self, wait_s: float = READY_WAIT_S) -> Baseline:
        """The prepared baseline.

        Raises
        ------
        ScenarioBusy
            Still being prepared after ``wait_s``.
        ServiceUnavailable
            Its preparation failed.
        """
        if not self._ready.wait(wait_s):
            raise ScenarioBusy("the region is still being prepared; retry shortly")
        if self._baseline is None:
            raise ServiceUnavailable(f"scenarios are not available: {self._failed}")
        return self._baseline

    def create(self, name: str, layers: Sequence[NewLayer]) -> dict[str, Any]:
        """Compute, store and return a scenario.

        Raises
        ------
        ScenarioRejected
            A layer the manifest's rules refuse, or whose features cannot be read.
        ScenarioBusy, ServiceUnavailable
        """
        baseline = self.baseline()
        if not self._busy.acquire(timeout=BUSY_WAIT_S):
            raise ScenarioBusy("another scenario is being computed; retry shortly")
        try:
            return self._create(baseline, name, layers)
        finally:
            self._busy.release()

    def _create(
        self, baseline: Baseline, name: str, layers: Sequence[NewLayer]
    ) -> dict[str, Any]:
        scenario_id = secrets.token_hex(8)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{_TMP}{scenario_id}"
        try:
            tmp.mkdir()
            answer = self._compute(baseline, scenario_id, name, layers, tmp)
            write_bytes(tmp / ANSWER_FILE, orjson.dumps(answer))
            meta = {k: answer[k] for k in LISTED}
            write_bytes(tmp / META_FILE, orjson.dumps(meta))
            os.rename(tmp, self.folder / scenario_id)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self._prune()
        return answer

    def _compute(
        self,
        baseline: Baseline,
        scenario_id: str,
        name: str,
        layers: Sequence[NewLayer],
        out: Path,
    ) -> dict[str, Any]:
        (out / INPUTS).mkdir()
        tables = []
        for i, layer in enumerate(layers):
            path = out / INPUTS / f"layer-{i + 1}.geojson"
            path.write_bytes(orjson.dumps(layer.features))
            tables.append({**layer.table, "path": str(path)})
        try:
            combined = with_layers(
                baseline.manifest, tables, source=Path("request body")
            )
            added = added_layers(baseline, combined)
            props = write_scenario(baseline, combined, added, out)
        except GeodxError as exc:  # the new layers' own problems: the client's
            message = str(exc).replace(str(out / INPUTS) + "/", "")
            raise ScenarioRejected(message) from None
        diff = commune_diff(baseline.communes_props, props)
        summary = orjson.loads((out / "summary.json").read_bytes())
        return {
            "id": scenario_id,
            "name": name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "synthetic": bool(summary.get("synthetic")),
            "layers": [spec.id for spec in added],
            "summary": summary,
            "communes": props,
            "crossing": crossing(diff),
            "diff": diff,
        }

    def _prune(self) -> None:
        """Delete the oldest scenarios past ``keep`` (by the time they were stored)."""
        for stale in self._entries()[self.keep :]:
            shutil.rmtree(stale, ignore_errors=True)

    def _folder(self, scenario_id: str) -> Path:
        """The scenario's folder; the id checked by pattern before touching the disk."""
        if not SCENARIO_ID.fullmatch(scenario_id):
            raise UnknownScenario(f"no scenario '{scenario_id[:40]}'")
        return self.folder / scenario_id

    def listing(self) -> list[dict[str, Any]]:
        """The stored scenarios, newest first: id, name, created, layers, crossing."""
        found = []
        for entry in self._entries():
            try:
                found.append(orjson.loads((entry / META_FILE).read_bytes()))
            except (OSError, orjson.JSONDecodeError):
                continue  # deleted meanwhile (pruned by another worker)
        return found

    def _entries(self) -> list[Path]:
        """The scenario folders, newest first."""
        try:
            names = [e for e in self.folder.iterdir() if SCENARIO_ID.fullmatch(e.name)]
        except OSError:
            return []
        stamped = []
        for entry in names:
            try:
                stamped.append((entry.stat().st_mtime_ns, entry))
            except OSError:
                continue
        return [entry for _, entry in sorted(stamped, reverse=True)]

    def get(self, scenario_id: str) -> dict[str, Any]:
        """A stored scenario's answer (raises UnknownScenario)."""
        path = self._folder(scenario_id) / ANSWER_FILE
        try:
            answer: dict[str, Any] = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            raise UnknownScenario(f"no scenario '{scenario_id}'") from None
        return answer

    def results(self, scenario_id: str) -> RegionResults:
        """A stored scenario's results folder, loaded like a run's (for its map)."""
        folder = self._folder(scenario_id)
        with self._cache_lock:
            found = self._cache.get(scenario_id)
            if found is not None:
                self._cache.move_to_end(scenario_id)
                return found
        if not (folder / ANSWER_FILE).is_file():
            raise UnknownScenario(f"no scenario '{scenario_id}'")
        results = load_results(folder)
        with self._cache_lock:
            self._cache[scenario_id] = results
            while len(self._cache) > CACHED_RESULTS:
                self._cache.popitem(last=False)
        return results


def served_inputs(results_dir: Path) -> Any:
    """The ``inputs`` of the served results' ``summary.json`` (None when unreadable).

    A scenario's diff is against the region as its files are now; they must be the
    files the served results were computed from (else ``503``, as ``/lookup``).
    """
    try:
        summary = orjson.loads((snapshot(results_dir).path / SUMMARY_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return summary.get("inputs") if isinstance(summary, dict) else None


def _too_many_households(settings: Settings) -> str | None:
    """Why scenarios are not prepared for a region this large (None: they are)."""
    try:
        path = snapshot(settings.results_dir).path / SUMMARY_FILE
        households = orjson.loads(path.read_bytes()).get("households")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    limit = settings.scenarios_max_households
    if not isinstance(households, int | float) or households <= limit:
        return None
    return (
        f"not supported yet for a region of {households:,.0f} households (above "
        f"GEODX_SCENARIOS_MAX_HOUSEHOLDS={limit:,}): every worker would hold them all"
    )


def open_scenarios(settings: Settings) -> ScenarioStore | None:
    """The ``scenarios`` service: None without a region (the routes answer 503)."""
    if settings.region is None:
        return None
    folder = state_dir(settings) / "scenarios"
    too_many = _too_many_households(settings)
    if too_many:  # the baseline would hold every household in every worker
        log.warning("scenarios: %s", too_many)
        return ScenarioStore.unavailable(
            folder, keep=settings.scenarios_kept, reason=too_many
        )
    try:
        manifest = load_manifest(settings.region)
    except GeodxError as exc:  # the worker starts; POST /scenarios says why not (503)
        log.error("scenarios: the region cannot be read: %s", exc)
        reason = f"the region cannot be read: {exc}"
        return ScenarioStore.unavailable(
            folder, keep=settings.scenarios_kept, reason=reason
        )
    store = ScenarioStore(
        manifest,
        folder,
        keep=settings.scenarios_kept,
        limits=limits_from_env(os.environ),
        served_inputs=served_inputs(settings.results_dir),
    )
    return store.start()
