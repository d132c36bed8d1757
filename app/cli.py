"""The ``geodx`` command: ``run`` a region, ``counts``, a ``demo`` region, ``serve``."""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from geodx.errors import GeodxError, GeodxWarning
from geodx.heap import tune_heap

if TYPE_CHECKING:
    from collections.abc import Callable

    from geodx.limits import Limits

app = typer.Typer(
    help="Connectivity coverage of households and communes against the targets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich help shows flags as ``--quiet <bool>``, and users then type
    # ``--quiet true``.
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)


class _Script:
    """What the ``geodx`` script knows of its process (else a program calls ``app``)."""

    running = False  # set by ``main``: this process is the geodx command
    #: A ``run`` wrote, renamed and closed everything: the script may leave without
    #: tearing the heap down (0.3-0.4 s at 1M households).
    finished = False


def _print_version(value: bool) -> None:
    if value:
        from geodx import __version__

        typer.echo(f"geodx {__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: Annotated[  # noqa: ARG001 - handled eagerly by the callback
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print geodx's version and exit.",
        ),
    ] = False,
) -> None:
    """Connectivity coverage of households and communes against the targets."""


out = Console(highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and exit non-zero."""
    err.print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # type: ignore[no-untyped-def]  # noqa: ARG001 - warnings.showwarning signature
    err.print(f"warning: {message}", markup=False, soft_wrap=True)


def _freeze_imports() -> None:
    """In the ``geodx`` script, the collector stops walking the modules' objects.

    They live to the end of the process (1M households: 0.6 s of collection becomes
    0.3 s). Not in another process that calls the command (a test's runner). The
    collector, off while ``main`` imported them (``geodx run``), runs again.
    """
    if _Script.running:
        gc.freeze()
        gc.enable()


def _recorder(
    as_of: str | None, history: str | None, crosswalk: Path | None
) -> Callable[[Path, Limits], str] | None:
    """``app.history.recorder``; its store (SQLAlchemy) is imported only when asked."""
    if as_of is None and history is None and crosswalk is None:
        return None
    from app.history import recorder

    return recorder(as_of, history, crosswalk)


@app.command("run")
def run_command(
    region: Annotated[
        Path, typer.Argument(help="Region folder holding region.toml, or the file.")
    ],
    out_dir: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Output folder: new, empty, or one geodx wrote (replaced whole, never"
            " a folder of other files); '-' writes communes GeoJSON to stdout.",
        ),
    ],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress, no report.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date (ISO) the inputs describe; with --history."),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="Record the run's vintage under --as-of in this store: an SQLite"
            " file path or a postgresql:// URL (same date: replaced).",
        ),
    ] = None,
    crosswalk: Annotated[
        Path | None,
        typer.Option(
            "--crosswalk",
            help="Old -> new commune crosswalk: record the vintage on the new communes.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local: partitions by H3 parent cell, one at a time; dask: the"
            " partitions as Dask tasks; single: every household at once. Same outputs.",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="With --engine dask: the scheduler's address (tcp://host:8786);"
            " a LocalCluster of one worker per core when not given.",
        ),
    ] = None,
) -> None:
    """Compute coverage for a region and write communes, districts, summary and cells."""
    from app.pipeline import run_region
    from geodx.gdal import lock_down
    from geodx.limits import limits_from_env
    from geodx.report import report_lines

    lock_down()  # GDAL's network off before any input is opened (issue 6, B4)
    _freeze_imports()

    # Users see geodx's own warnings (repairs, ignored settings), not library chatter.
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", GeodxWarning)
    warnings.showwarning = _show_warning
    start = time.perf_counter()
    to_stdout = out_dir == "-"
    scratch = tempfile.TemporaryDirectory(prefix="geodx-") if to_stdout else None
    target = Path(scratch.name) / "out" if scratch else Path(out_dir)
    try:
        with err.status("starting", spinner="dots") as status:

            def progress(stage: str) -> None:
                if not quiet:
                    status.update(f"{stage} …")

            limits = limits_from_env(os.environ)  # GEODX_MAX_* (README: limits)
            record = _recorder(as_of, history, crosswalk)  # checked before any work
            result = run_region(
                region, target, progress=progress, limits=limits, engine=engine,
                scheduler=scheduler,
            )  # fmt: skip
            recorded = record(result.out_dir, limits) if record else None
    except GeodxError as exc:
        if debug:
            raise
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - one line for users; --debug shows the rest
        if debug:
            raise
        fail(
            f"internal error ({type(exc).__name__}): {exc}; run again with --debug",
            code=1,
        )
    _Script.finished = engine != "dask" and recorded is None  # no cluster, no store
    if scratch is not None:
        # GeoJSON on stdout, ready to pipe; the report goes to stderr.
        sys.stdout.buffer.write((target / "communes.geojson").read_bytes())
        sys.stdout.buffer.flush()
        scratch.cleanup()
    if quiet:
        return
    total = time.perf_counter() - start
    console = err if to_stdout else out
    for line in report_lines(result.summary, result.communes):
        console.print(line, markup=False, soft_wrap=True)
    if recorded:
        console.print(recorded, markup=False, soft_wrap=True)
    if to_stdout:
        return
    from geodx.outdir_snapshot import snapshot

    out.print(
        f"wrote {result.out_dir}/ (communes.geojson, districts.geojson, summary.json, "
        f"cells.parquet; version {snapshot(result.out_dir).version}) in {total:.1f} s",
        markup=False,
        soft_wrap=True,
    )


def _register_commands() -> None:
    """The counts, demo and serve commands; their modules import heavy libraries lazily."""
    from app.counts import counts_command
    from app.lookup import lookup_command
    from app.scenario_cli import scenario_command
    from app.serve import serve_command
    from data.cli import demo_command

    app.command("counts")(counts_command)
    app.command("demo")(demo_command)
    app.command("lookup")(lookup_command)
    app.command("scenario")(scenario_command)
    app.command("serve")(serve_command)


_register_commands()


def main() -> None:
    """Entry point of the ``geodx`` script."""
    _Script.running = True
    if sys.argv[1:2] == ["run"]:
        tune_heap()  # before any thread: one arena, blocks reused (geodx.heap)
        # Imports make no garbage: no collection until they are frozen (0.1-0.15 s
        # of CPU at start-up); ``run`` turns it on again.
        gc.disable()
    try:
        app()
    except SystemExit as exc:
        if not (_Script.finished and exc.code in (0, None)):
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
