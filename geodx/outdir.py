"""The output folder of a run: written beside its final place and swapped in whole."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@contextlib.contextmanager
def atomic_output_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; on success it replaces ``out`` whole.

    On any error the temporary folder is removed and ``out`` is left as it was.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class Snapshot:
    """One immutable version of a results folder: where its files are, and its id."""

    path: Path
    version: str


def snapshot(out: Path) -> Snapshot:
    """The results version ``out`` names now, pinned: read every file from ``path``.

    A reader that resolves the snapshot once and reads all files from it never mixes
    the files of two runs, even when a new run replaces ``out`` meanwhile.
    """
    path = Path(os.path.realpath(out))
    summary = path / "summary.json"
    try:
        digest = hashlib.sha256(summary.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "missing"
    return Snapshot(path, digest)
