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
import json
import os
import secrets
import shutil
import time
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geodx.errors import GeodxWarning, OutputDirError
from geodx.outdir_check import (
    LEGACY_FILES,
    LINK_PREFIX,
    LOCK_NAME,
    MARKER,
    MARKER_FORMAT,
    MIGRATED_PREFIX,
    TMP_PREFIX,
    absolute,
    check_output_dir,
    foreign_files,
    own_link,
    store_of,
)
from geodx.outdir_snapshot import is_held

#: fsyncs in flight while a version is made durable.
_SYNC_THREADS = 8


def new_version() -> str:
    """A run's version id: UTC time, sortable, plus random hex (two runs never share one)."""
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Every file and folder of ``folder`` on disk, a few at a time.

    The file system's journal commits fsyncs that wait together at once: a busy disk
    takes about one commit's time, not one per file.
    """
    paths: list[Path] = []
    for dirpath, _dirs, files in os.walk(folder):
        paths += [Path(dirpath) / name for name in files]
        paths.append(Path(dirpath))  # its entries
    # All done before the caller renames the folder: the order does not matter.
    with ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="geodx-fsync") as pool:
        for _ in pool.map(_fsync, paths):
            pass  # an error is raised here


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
        if entry.name.startswith(LINK_PREFIX) and entry.is_symlink():
            entry.unlink()
        elif entry.name.startswith(TMP_PREFIX) and entry.is_dir():
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
        if (
            name in keep
            or name == LOCK_NAME
            or entry.is_symlink()
            or not entry.is_dir()
        ):
            continue
        if name.startswith((TMP_PREFIX, LINK_PREFIX)):
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
        tmp = self.store / f"{TMP_PREFIX}{version}"
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
        link = self.store / f"{LINK_PREFIX}{version}"
        os.symlink(f"{self.store.name}/{version}", link)
        out = self.out
        if out.is_symlink() or not out.exists():
            previous = own_link(out)
            os.replace(link, out)
        else:  # a real folder (empty, marked, or geodx 0.1's), checked under the lock
            previous = f"{MIGRATED_PREFIX}{version}"
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
    out = absolute(out)
    check_output_dir(out, inputs=inputs, region_root=region_root)
    store = store_of(out)
    try:
        store.mkdir(parents=True, exist_ok=True)
        fd = os.open(store / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputDirError(
            f"--out {out}: cannot create {store} beside it ({exc.strerror}); choose a"
            " folder you can write"
        ) from None
    try:
        _lock(fd, store / LOCK_NAME, out)
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
        if not os.path.lexists(out) and os.listdir(store) == [LOCK_NAME]:
            (store / LOCK_NAME).unlink()
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
