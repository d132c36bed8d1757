"""Input checksums without hashing again the files that have not changed since.

A run records every input's SHA-256 in ``summary.json`` (``inputs``); ``geodx serve``
compares them with the region's files before serving (results current?) and each
worker again before answering ``/lookup`` (stale results answer 503). For the national
region that hashed 430 MB three times per start. A file hashed once is known again by
its stat: device, inode, size, ``mtime_ns`` and ``ctime_ns``. Any write changes the
modification and the change times, and the change time is the kernel's own (``touch``
and ``os.utime`` set the modification time back, never the change time), so a file
whose content changed, its size kept or not, is hashed again.

The digests seen are kept in the results' store (``.DIR.geodx/.inputs-seen.json``,
beside the versions, see :func:`geodx.outdir_check.store_of`), written by ``geodx serve``
and read by its workers; results outside a store keep nothing and hash every time.

``geodx serve`` also keeps its last verdict there (:meth:`SeenDigests.record`): the
results version found current, the engine version and the stat of the manifest, of
every input and of each folder holding one (a shapefile's sidecar added or removed
changes its folder). When none of those changed, the same check gives the same answer,
and the service starts without reading the manifest or importing the engine
(:meth:`SeenDigests.still_current`); any difference runs the full check.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

from geodx import __version__
from geodx.outdir_check import is_store

SEEN_FILE = ".inputs-seen.json"
StatKey = tuple[int, int, int, int, int]

__all__ = ["SeenDigests", "input_stats", "seen_file", "stat_key"]


def stat_key(path: Path) -> StatKey:
    """Device, inode, size, modification and change times (ns) of ``path``."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def seen_file(results_folder: Path) -> Path | None:
    """Where the digests seen are kept for a pinned results version, if in a store."""
    store = Path(os.path.realpath(results_folder)).parent
    if is_store(store):
        return store / SEEN_FILE
    return None


class SeenDigests:
    """SHA-256 of files, hashed only when their stat differs from the last time.

    Parameters
    ----------
    path : Path or None
        The JSON file of digests seen (read if present); None keeps nothing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hashed: list[Path] = []  # files read in full by this object
        self._known: dict[str, list[int | str]] = {}
        self._verdict: dict[str, Any] = {}
        self._changed = False
        if path is not None:
            self._known, self._verdict = _read_seen(path)

    def sha256(self, path: Path) -> str:
        """SHA-256 of ``path``'s bytes: the digest seen when its stat is unchanged."""
        name = os.path.realpath(path)
        key = stat_key(path)
        seen = self._known.get(name)
        if seen is not None and tuple(seen[:5]) == key and isinstance(seen[5], str):
            return seen[5]
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        self.hashed.append(Path(path))
        if stat_key(path) == key:  # not written while it was read
            self._known[name] = [*key, digest]
            self._changed = True
        return digest

    def record(self, region: Path, version: str, stats: dict[str, list[int]]) -> None:
        """Keep the verdict "``version`` is current for ``region``'s inputs".

        ``stats``: :func:`input_stats` of its files, taken before they were checked.
        """
        verdict = {
            "region": os.path.realpath(region),
            "version": version,
            "engine": __version__,
            "stats": stats,
        }
        self._changed |= verdict != self._verdict
        self._verdict = verdict

    def still_current(self, region: Path, version: str) -> bool:
        """Whether the kept verdict holds: same region, version, engine and stats."""
        verdict = self._verdict
        if not verdict or verdict.get("region") != os.path.realpath(region):
            return False
        if verdict.get("version") != version or verdict.get("engine") != __version__:
            return False
        stats = verdict.get("stats")
        if not isinstance(stats, dict) or not stats:
            return False
        try:
            now = {name: list(stat_key(Path(name))) for name in stats}
        except OSError:
            return False
        return now == stats

    def save(self) -> None:
        """Write the digests seen (atomically); a folder not writable keeps none."""
        if self.path is None or not self._changed:
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        doc = {"digests": self._known, "verdict": self._verdict}
        try:
            tmp.write_bytes(orjson.dumps(doc))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def input_stats(files: list[Path]) -> dict[str, list[int]]:
    """The stat of each file and of each folder holding one, by real path.

    ``files``: the manifest and every file it names (``app.pipeline.input_files``).

    Raises
    ------
    OSError
        A file cannot be reached.
    """
    names = {os.path.realpath(f) for f in files}
    names |= {os.path.dirname(n) for n in names}
    return {name: list(stat_key(Path(name))) for name in sorted(names)}


def _read_seen(path: Path) -> tuple[dict[str, list[int | str]], dict[str, Any]]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}, {}
    if not isinstance(doc, dict):
        return {}, {}
    digests = doc.get("digests")
    verdict = doc.get("verdict")
    known = {
        str(k): v
        for k, v in (digests.items() if isinstance(digests, dict) else [])
        if isinstance(v, list)
        and len(v) == 6
        and all(isinstance(x, int) for x in v[:5])
        and isinstance(v[5], str)
    }
    return known, verdict if isinstance(verdict, dict) else {}
