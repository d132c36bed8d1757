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
beside the versions, see :func:`geodx.outdir.store_of`), written by ``geodx serve``
and read by its workers; results outside a store keep nothing and hash every time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson

SEEN_FILE = ".inputs-seen.json"
STORE_SUFFIX = ".geodx"  # geodx.outdir.store_of: the versions' folder ``.DIR.geodx``
StatKey = tuple[int, int, int, int, int]

__all__ = ["SeenDigests", "seen_file", "stat_key"]


def stat_key(path: Path) -> StatKey:
    """Device, inode, size, modification and change times (ns) of ``path``."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def seen_file(results_folder: Path) -> Path | None:
    """Where the digests seen are kept for a pinned results version, if in a store."""
    store = Path(os.path.realpath(results_folder)).parent
    if store.name.startswith(".") and store.name.endswith(STORE_SUFFIX):
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
        if path is not None:
            self._known = _read_seen(path)

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
        return digest

    def save(self) -> None:
        """Write the digests seen (atomically); a folder not writable keeps none."""
        if self.path is None or not self.hashed:
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(orjson.dumps(self._known))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)


def _read_seen(path: Path) -> dict[str, list[int | str]]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {
        str(k): v
        for k, v in doc.items()
        if isinstance(v, list)
        and len(v) == 6
        and all(isinstance(x, int) for x in v[:5])
        and isinstance(v[5], str)
    }
