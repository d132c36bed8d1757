"""Pinned versions of a results folder: a reader's :class:`Snapshot`, a server's hold.

A version stays on disk until the run after next, or while a process holds it
(:func:`hold`); a run's clean-up asks :func:`is_held`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from geodx.outdir_check import MARKER, read_marker


@dataclass(frozen=True)
class Snapshot:
    """One immutable version of a results folder: where its files are, and its id."""

    path: Path
    version: str


def snapshot(out: Path) -> Snapshot:
    """The results version ``out`` names now, pinned: read every file from ``path``.

    ``path`` is the version folder ``out`` links to and ``version`` the run's version id
    from its marker. A reader that resolves the snapshot once and reads all files from it
    never mixes the files of two runs, even when a new run replaces ``out`` meanwhile; the
    version stays on disk until the run after next, or while a server holds it
    (:func:`hold`).
    """
    path = Path(os.path.realpath(out))
    marker = read_marker(path)
    if marker is not None:
        return Snapshot(path, str(marker["version"]))
    try:  # an unmarked folder (geodx 0.1): the summary's digest
        digest = hashlib.sha256((path / "summary.json").read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "missing"
    return Snapshot(path, digest)


# Versions held by a running server: their open marker files, kept for the process's life.
_HELD: dict[Path, int] = {}


def hold(pinned: Snapshot) -> None:
    """Keep ``pinned`` on disk while this process lives: runs do not prune it.

    A shared ``flock`` on the version's marker; :func:`is_held` is how a run's clean-up
    sees it. Released when the process exits (also when it is killed).
    """
    marker = pinned.path / MARKER
    if pinned.path in _HELD or not marker.is_file():
        return
    fd = os.open(marker, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    _HELD[pinned.path] = fd


def is_held(version: Path) -> bool:
    """Whether a process holds ``version`` (see :func:`hold`)."""
    try:
        fd = os.open(version / MARKER, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return False
