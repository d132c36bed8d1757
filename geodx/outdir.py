"""The output folder of a run: checked, locked, written aside and swapped in whole.

``--out DIR`` is a symbolic link to a version folder ``.DIR.geodx/<version>/`` beside it.
A run writes a new version folder, fsyncs it, and replaces the link with one atomic
rename, so ``DIR`` is always present and whole. The previous version is kept (a reader
may have pinned it, see :func:`snapshot`); older ones are deleted. Every version folder
holds a marker, ``.geodx-output.json`` (format, version id, engine version, time, the
files written), and geodx only ever replaces or deletes a folder it marked.

Before any work a run refuses a ``DIR`` that holds files geodx did not write, that is or
contains an input, or that lies inside the region folder without being a marked output
folder. It then takes a lock (``fcntl.flock`` on ``.DIR.geodx/lock``): a second run into
the same ``DIR`` is refused at once. Holding the lock, it deletes the temporaries that
earlier killed runs left.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geodx.errors import GeodxWarning, OutputDirError

MARKER = ".geodx-output.json"
MARKER_FORMAT = 1
# What geodx 0.1 wrote, without a marker: such a folder is migrated once.
LEGACY_FILES = frozenset(
    {"communes.geojson", "districts.geojson", "summary.json", "cells.parquet"}
)
_TMP, _LINK, _MIGRATED, _LOCK = "tmp-", "link-", "migrated-", "lock"


def store_of(out: Path) -> Path:
    """The hidden sibling ``.DIR.geodx`` holding the versions, temporaries and lock.

    Examples
    --------
    >>> store_of(Path("/data/out")).as_posix()
    '/data/.out.geodx'
    """
    return out.parent / f".{out.name}.geodx"


def new_version() -> str:
    """A run's version id: UTC time, sortable, plus random hex (two runs never share one)."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"


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


def _own_link(out: Path) -> str | None:
    """The version name ``out`` links to when it is a link geodx made, else None."""
    try:
        target = Path(os.readlink(out))
    except OSError:
        return None
    parts = target.parts
    if len(parts) != 2 or parts[0] != store_of(out).name:
        return None
    name = parts[1]
    return name if name[:1].isdigit() or name.startswith(_MIGRATED) else None


def _absolute(out: Path) -> Path:
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
        if _own_link(out) is None:
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
    out = _absolute(out)
    if out.parent.name.startswith(".") and out.parent.name.endswith(".geodx"):
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            _fsync(Path(dirpath) / name)
        _fsync(Path(dirpath))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    False where the system or file system does not offer it.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange):
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            return False
        raise OSError(code, os.strerror(code), str(b))
    return True


def _remove_stale(store: Path) -> None:
    """Delete what killed runs left in the store: temporary folders and links."""
    for entry in store.iterdir():
        if entry.name.startswith(_LINK) and entry.is_symlink():
            entry.unlink()
        elif entry.name.startswith(_TMP) and entry.is_dir():
            shutil.rmtree(entry)


def _remove_legacy_stale(out: Path) -> None:
    """Delete the ``.DIR.tmp-*`` / ``.DIR.old-*`` folders geodx 0.1 could leave behind."""
    prefixes = (f".{out.name}.tmp-", f".{out.name}.old-")
    for entry in out.parent.iterdir():
        if not entry.name.startswith(prefixes) or entry.is_symlink():
            continue
        if not entry.is_dir():
            continue
        if set(os.listdir(entry)) <= LEGACY_FILES:
            shutil.rmtree(entry)


def _prune(store: Path, keep: set[str]) -> None:
    """Delete versions other than ``keep``; one holding files geodx did not write stays."""
    for entry in sorted(store.iterdir()):
        name = entry.name
        if name in keep or name == _LOCK or entry.is_symlink() or not entry.is_dir():
            continue
        if name.startswith((_TMP, _LINK)):
            continue
        if is_held(entry):
            continue  # a server serves this version (see hold)
        foreign = foreign_files(entry)
        if foreign:
            warnings.warn(
                f"kept {entry}: it holds {foreign[0]!r}, which geodx did not write",
                GeodxWarning,
                stacklevel=2,
            )
            continue
        shutil.rmtree(entry)


class OutputDir:
    """A checked, locked output folder: :meth:`write` yields a new version, swapped in whole."""

    def __init__(self, out: Path, store: Path) -> None:
        self.out = out
        self.store = store
        self.version: str | None = None

    @contextlib.contextmanager
    def write(self, *, engine: str) -> Iterator[Path]:
        """Yield an empty folder (mode from the umask); on success it becomes ``out``.

        On any error the folder is removed and ``out`` stays the previous whole version.
        """
        version = new_version()
        tmp = self.store / f"{_TMP}{version}"
        tmp.mkdir()
        try:
            yield tmp
            _write_marker(tmp, version, engine)
            _fsync_tree(tmp)
            os.rename(tmp, self.store / version)
            _fsync(self.store)
            previous = self._swap(version)
            self.version = version
            try:  # the new version is in place: a failed clean-up only warns
                _prune(self.store, {version, previous or version})
            except OSError as exc:
                warnings.warn(
                    f"{self.store}: could not delete an old version ({exc.strerror})",
                    GeodxWarning,
                    stacklevel=3,
                )
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _swap(self, version: str) -> str | None:
        """Point ``out`` at ``version`` in one rename; the name of the version it replaced."""
        link = self.store / f"{_LINK}{version}"
        os.symlink(f"{self.store.name}/{version}", link)
        out = self.out
        if out.is_symlink() or not out.exists():
            previous = _own_link(out)
            os.replace(link, out)
        else:  # a real folder (empty, marked, or geodx 0.1's), checked under the lock
            previous = f"{_MIGRATED}{version}"
            if _exchange(link, out):
                os.rename(link, self.store / previous)
            else:  # no exchange rename here: a moment without ``out``
                os.rename(out, self.store / previous)
                os.replace(link, out)
            if not os.listdir(self.store / previous):  # it was an empty folder
                (self.store / previous).rmdir()
                previous = None
        _fsync(out.parent)
        return previous


def _write_marker(folder: Path, version: str, engine: str) -> None:
    marker = {
        "format": MARKER_FORMAT,
        "version": version,
        "engine_version": engine,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


@contextlib.contextmanager
def locked_output_dir(
    out: Path, *, inputs: Iterable[Path] = (), region_root: Path | None = None
) -> Iterator[OutputDir]:
    """Check ``out`` (see :func:`check_output_dir`), lock it, clean stale temporaries.

    Raises
    ------
    OutputDirError
        ``out`` must not be replaced, or another run holds its lock.
    """
    inputs = list(inputs)
    out = _absolute(out)
    check_output_dir(out, inputs=inputs, region_root=region_root)
    store = store_of(out)
    try:
        store.mkdir(parents=True, exist_ok=True)
        fd = os.open(store / _LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputDirError(
            f"--out {out}: cannot create {store} beside it ({exc.strerror}); choose a"
            " folder you can write"
        ) from None
    try:
        _lock(fd, store / _LOCK, out)
    except OutputDirError:
        os.close(fd)
        raise
    try:  # from here on this run holds the lock
        check_output_dir(out, inputs=inputs, region_root=region_root)
        _remove_stale(store)
        _remove_legacy_stale(out)
        yield OutputDir(out, store)
    finally:
        _remove_unused_store(out, store)
        os.close(fd)


def _lock(fd: int, path: Path, out: Path) -> None:
    """Take the lock, and check it is still the store's lock file (not one just removed)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        current = os.stat(path).st_ino
    except (BlockingIOError, FileNotFoundError):
        current = None
    if current != os.fstat(fd).st_ino:
        raise OutputDirError(
            f"--out {out}: another geodx run is writing it now; wait for it to"
            " finish, or choose another folder"
        )


def _remove_unused_store(out: Path, store: Path) -> None:
    """After a first run that wrote nothing, leave nothing beside ``out`` (lock held)."""
    with contextlib.suppress(OSError):
        if not os.path.lexists(out) and os.listdir(store) == [_LOCK]:
            (store / _LOCK).unlink()
            store.rmdir()


@contextlib.contextmanager
def atomic_output_dir(
    out: Path,
    *,
    inputs: Iterable[Path] = (),
    region_root: Path | None = None,
    engine: str = "",
) -> Iterator[Path]:
    """Check and lock ``out``, yield a new folder; on success it replaces ``out`` whole."""
    with (
        locked_output_dir(out, inputs=inputs, region_root=region_root) as target,
        target.write(engine=engine) as tmp,
    ):
        yield tmp


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
