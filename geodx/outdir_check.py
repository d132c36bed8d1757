"""The checks before a run replaces its output folder, and the marker it leaves.

A run refuses a ``DIR`` that holds files geodx did not write, that is or contains an
input, or that lies inside the region folder without being a marked output folder
(:func:`check_output_dir`). Every version folder holds the marker :data:`MARKER`;
:func:`foreign_files` is what geodx did not write there. :mod:`geodx.outdir` writes
and swaps the versions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geodx.errors import OutputDirError

MARKER = ".geodx-output.json"
MARKER_FORMAT = 1
# What geodx 0.1 wrote, without a marker: such a folder is migrated once.
LEGACY_FILES = frozenset(
    {"communes.geojson", "districts.geojson", "summary.json", "cells.parquet"}
)
TMP_PREFIX, LINK_PREFIX, MIGRATED_PREFIX, LOCK_NAME = (
    "tmp-",
    "link-",
    "migrated-",
    "lock",
)


def store_of(out: Path) -> Path:
    """The hidden sibling ``.DIR.geodx`` holding the versions, temporaries and lock.

    Examples
    --------
    >>> store_of(Path("/data/out")).as_posix()
    '/data/.out.geodx'
    """
    return out.parent / f".{out.name}.geodx"


def is_store(folder: Path) -> bool:
    """Whether ``folder``'s name is that of a version store (:func:`store_of`).

    Examples
    --------
    >>> is_store(Path("/data/.out.geodx")), is_store(Path("/data/out"))
    (True, False)
    """
    return folder.name.startswith(".") and folder.name.endswith(".geodx")


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of an output folder, or None when ``folder`` carries none (or a bad one)."""
    try:
        data = json.loads((folder / MARKER).read_bytes())
    except (OSError, ValueError):
        return None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("format"), int)
        and isinstance(data.get("version"), str)
    ):
        return None
    return data


def _is_legacy(folder: Path, names: list[str]) -> bool:
    """An unmarked folder holding only what geodx 0.1 wrote, with its summary."""
    if not names or not set(names) <= LEGACY_FILES:
        return False
    try:
        summary = json.loads((folder / "summary.json").read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and {"engine_version", "inputs"} <= set(summary)


def foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that geodx did not write (its marker lists what it wrote)."""
    names = sorted(os.listdir(folder))
    marker = read_marker(folder)
    if marker is not None:
        own = {str(n) for n in marker.get("files", LEGACY_FILES)} | {MARKER}
        return [n for n in names if n not in own]
    return [] if _is_legacy(folder, names) else names


def own_link(out: Path) -> str | None:
    """The version name ``out`` links to when it is a link geodx made, else None."""
    try:
        target = Path(os.readlink(out))
    except OSError:
        return None
    parts = target.parts
    if len(parts) != 2 or parts[0] != store_of(out).name:
        return None
    name = parts[1]
    return name if name[:1].isdigit() or name.startswith(MIGRATED_PREFIX) else None


def absolute(out: Path) -> Path:
    """``out`` made absolute without following a final symbolic link."""
    out = Path(os.path.abspath(out))
    if not out.name:
        raise OutputDirError(
            f"--out {out}: not a folder geodx can write; name a folder"
        )
    return Path(os.path.realpath(out.parent)) / out.name


def _check_inputs(out: Path, inputs: Iterable[Path]) -> None:
    places = {out, Path(os.path.realpath(out)), store_of(out)}
    for path in inputs:
        real = Path(os.path.realpath(path))
        for place in places:
            if real == place or real.is_relative_to(place):
                raise OutputDirError(
                    f"--out {out} is or contains the input {path}; geodx replaces its"
                    " output folder whole: choose a folder outside the region's files"
                )


def _marked_contents(out: Path) -> tuple[bool, list[str]]:
    """Whether ``out`` is a marked output folder, and the names in it geodx did not write."""
    if out.is_symlink():
        if own_link(out) is None:
            raise OutputDirError(
                f"--out {out} is a symbolic link geodx did not make; choose a new folder"
            )
        current = Path(os.path.realpath(out))
        if not current.is_dir():
            return True, []
        return read_marker(current) is not None, foreign_files(current)
    if out.is_dir():
        names = sorted(os.listdir(out))
        marked = read_marker(out) is not None or _is_legacy(out, names)
        return marked, foreign_files(out)
    if out.exists():
        raise OutputDirError(
            f"--out {out} is a file, not a folder; choose a new folder"
        )
    return False, []


def check_output_dir(
    out: Path, *, inputs: Iterable[Path] = (), region_root: Path | None = None
) -> None:
    """Refuse an ``--out`` folder geodx must not replace, in one line saying what to do.

    Raises
    ------
    OutputDirError
        ``out`` holds files geodx did not write, is or contains an input, lies inside
        the region folder without being a marked output folder, or is a file.
    """
    out = absolute(out)
    if is_store(out.parent):
        raise OutputDirError(
            f"--out {out} is inside geodx's version store {out.parent}; name the"
            " output folder itself, beside the store"
        )
    _check_inputs(out, inputs)
    try:
        marked, foreign = _marked_contents(out)
    except PermissionError as exc:
        raise OutputDirError(f"--out {out}: cannot read it ({exc.strerror})") from None
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise OutputDirError(
            f"--out {out} holds {foreign[0]!r}{more}, which geodx did not write; geodx"
            " replaces its output folder whole: choose a new or empty folder"
        )
    if region_root is not None and not marked:
        root = Path(os.path.realpath(region_root))
        if out.is_relative_to(root):
            raise OutputDirError(
                f"--out {out} is inside the region folder {root}; write results outside"
                f" it, e.g. --out {root.parent / (root.name + '-out')}"
            )
