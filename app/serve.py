"""``geodx serve REGION``: compute the region (unless its results are current) and serve it.

The lead CLI registers it: ``app.command("serve")(serve_command)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geodx.outdir_snapshot import (
    Snapshot,
    hold,
    snapshot,
)

if TYPE_CHECKING:
    from app.inputs import SeenDigests

DEFAULT_OUT = Path("build") / "serve"
HTTP_PROTOCOL = "api.protocol:HeaderTimeoutProtocol"
KEEP_ALIVE_S = 5  # idle keep-alive connections close after this (uvicorn's default)
# uvicorn's parent kills a worker that does not answer its health ping in this long and
# starts another. The answer needs the worker's GIL, which its imports (GDAL's shared
# libraries, read from a cold disk) and its start-up work hold for seconds on a loaded
# machine: uvicorn's 5 s killed national workers while they started, again and again.
WORKER_HEALTHCHECK_S = 60
# glibc's malloc arenas in a spawned worker (it reads this at its start). Its default,
# eight a core, leaves each thread's freed memory in its own arena: a national worker
# that answered every kind of page held 965-1,046 MiB, with two arenas 930-962 MiB.
# A value set by the user is kept.
WORKER_MALLOC_ARENAS = "2"
#: What a spawned worker runs as its ``__main__`` (:func:`spawned_main`): no more
#: than the app factory's module, whose imports are all lazy.
WORKER_MAIN = "app.services"


def default_out(region: Path) -> Path:
    """``build/serve/<region folder name>`` for a region folder or its ``region.toml``."""
    folder = region.parent if region.suffix == ".toml" else region
    return DEFAULT_OUT / (folder.resolve().name or "region")


def serve_command(
    region: Annotated[
        Path, typer.Argument(help="Region folder holding region.toml, or the file.")
    ],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Results folder (default build/serve/<region>)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            max=64,
            help="Server processes; 0: one per CPU core, at most 4.",
        ),
    ] = 0,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="History store to serve at /history (geodx run --history): an SQLite"
            " file path or a postgresql:// URL.",
        ),
    ] = None,
) -> None:
    """Compute coverage for a region (or reuse current results) and serve the API and maps."""
    from app.inputs import SeenDigests, seen_file
    from geodx.errors import GeodxError

    out_dir = out or default_out(region)
    try:
        if history:  # a bad store name fails here in one line, not in every worker
            from geodx.history_store import HistoryStore

            HistoryStore(history).check()
        seen = SeenDigests(seen_file(out_dir))
        if seen.still_current(region, snapshot(out_dir).version):
            typer.echo(f"results in {out_dir} are current; not recomputing", err=True)
            pinned = pin(out_dir)
        else:
            pinned = check_or_run(region, out_dir, seen)
        seen.save()  # the workers read it before answering /lookup
    except GeodxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    shown = f"[{host}]" if ":" in host else host
    # The public URL where GEODX_BASE_URL gives one (a proxy, maybe with a path).
    root = os.environ.get("GEODX_BASE_URL", "").strip().rstrip("/")
    root = root or f"http://{shown}:{port}"
    typer.echo(f"map: {root}/maps/coverage?indicator=fibre")
    typer.echo(f"API: {root}/  (OpenAPI: {root}/docs)")
    typer.echo(f"results version {pinned.version} ({pinned.path})", err=True)
    if history:  # every worker opens it (GEODX_HISTORY, Settings.history)
        url = "://" in history
        os.environ["GEODX_HISTORY"] = history if url else str(Path(history).resolve())
        typer.echo(f"history: {root}/history")
    serve_snapshot(pinned, host=host, port=port, workers=workers, region=region)


def check_or_run(region: Path, out_dir: Path, seen: SeenDigests) -> Snapshot:
    """Reuse ``out_dir``'s results if current for ``region``'s inputs, else compute them.

    Inputs whose stat is unchanged since they were last hashed are not read again;
    the verdict is kept in ``seen`` (with the stats taken before the check), so the
    next start need not check again while nothing changed.
    """
    from app.inputs import input_stats, seen_file
    from app.pipeline import input_files, results_are_current, run_region
    from geodx.errors import GeodxError
    from geodx.limits import limits_from_env
    from geodx.manifest import load_manifest

    try:
        stats = input_stats(input_files(load_manifest(region)))
    except (OSError, GeodxError):
        stats = {}  # the check or the run says what is wrong
    if results_are_current(region, out_dir, digest=seen.sha256):
        typer.echo(f"results in {out_dir} are current; not recomputing", err=True)
    else:
        typer.echo(f"computing {region} into {out_dir} …", err=True)
        run_region(region, out_dir, limits=limits_from_env(os.environ))
    pinned = pin(out_dir)
    seen.path = seen_file(pinned.path)  # the store, also after a first run
    if stats:
        seen.record(region, pinned.version, stats)
    return pinned


def pin(out_dir: Path) -> Snapshot:
    """The results version ``out_dir`` names now; every worker serves this one.

    Raises
    ------
    InputFileError
        ``out_dir`` holds no results (no ``summary.json``).
    """
    from geodx.errors import InputFileError

    pinned = snapshot(out_dir)
    if not (pinned.path / "summary.json").is_file():
        raise InputFileError(f"{out_dir}: no results here (no summary.json)")
    hold(pinned)  # later runs into out_dir keep this version while we serve it
    return pinned


def serve_snapshot(
    pinned: Snapshot,
    *,
    host: str,
    port: int,
    workers: int = 0,
    region: Path | None = None,
) -> None:
    """Serve one pinned results version with uvicorn, in ``workers`` processes.

    Every worker reads the version folder itself (``GEODX_RESULTS_DIR``), never the
    output folder's link, and refuses to start on another version
    (``GEODX_RESULTS_VERSION``): a run landing meanwhile is served after a restart.
    """
    import uvicorn

    from app.services import served_app

    os.environ["GEODX_RESULTS_DIR"] = str(pinned.path)
    os.environ["GEODX_RESULTS_VERSION"] = pinned.version
    if region is not None:
        os.environ["GEODX_REGION"] = str(region.resolve())
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "http": HTTP_PROTOCOL,  # uvicorn's, plus a deadline for the headers
        "timeout_keep_alive": KEEP_ALIVE_S,
    }
    workers = workers or min(4, os.cpu_count() or 1)
    if workers == 1:
        uvicorn.run(served_app(), **options)
        return
    # several processes: each builds the app from the environment set above
    os.environ.setdefault("MALLOC_ARENA_MAX", WORKER_MALLOC_ARENAS)
    with spawned_main(WORKER_MAIN):
        uvicorn.run(
            "app.services:served_app", factory=True, workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, **options,
        )  # fmt: skip


@contextmanager
def spawned_main(module: str) -> Iterator[None]:
    """Processes spawned meanwhile start as ``module``, not as this ``__main__``.

    uvicorn spawns its workers (``multiprocessing``'s spawn: a fresh interpreter), and
    a spawned child first runs its parent's ``__main__`` again: for ``geodx serve``,
    the geodx script, so the whole CLI (typer, rich: 0.1-0.4 s of every worker's
    start). A child runs the module the main module's spec names instead; the spec is
    given back on leaving.
    """
    from importlib.util import find_spec

    main = sys.modules["__main__"]
    had, old = hasattr(main, "__spec__"), getattr(main, "__spec__", None)
    main.__spec__ = find_spec(module)
    try:
        yield
    finally:
        if had:
            main.__spec__ = old
        else:
            del main.__spec__
