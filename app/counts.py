"""``geodx counts``: carry a census table on old communes onto the communes of boundaries.

Register with ``app.command("counts")(counts_command)``. The rules are
:mod:`geodx.carry`'s (docs/definitions.md, "Households carried from the census").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from geodx.errors import GeodxError


def counts_command(
    census: Annotated[
        Path,
        typer.Option(help="Census households per old commune (CSV or Parquet)."),
    ],
    crosswalk: Annotated[
        Path,
        typer.Option(help="Old -> new commune codes (CSV or Parquet)."),
    ],
    boundaries: Annotated[
        Path,
        typer.Option(help="The (new) commune boundaries (vector file or GeoParquet)."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="The table to write: .parquet or .csv; the report "
            "<stem>_report.csv is written beside it.",
        ),
    ],
) -> None:
    """Carry census households onto the boundaries' communes: a table and a report."""
    from geodx.carry_io import report_path
    from geodx.gdal import lock_down

    lock_down()
    if out.suffix.lower() not in (".parquet", ".csv"):
        _fail(f"{out}: --out must end in .parquet or .csv")
    inputs = {p.resolve() for p in (census, crosswalk, boundaries)}
    if {out.resolve(), report_path(out).resolve()} & inputs:
        _fail(f"{out}: --out (or its report) is one of the inputs")
    try:
        summary, communes, empty, rows = carry_files(census, crosswalk, boundaries, out)
    except GeodxError as exc:
        _fail(str(exc))
    typer.echo(summary)
    typer.echo(
        f"wrote {out} ({communes} communes, {empty} without households) and "
        f"{report_path(out)} ({rows} census rows)"
    )


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def carry_files(
    census: Path, crosswalk: Path, boundaries: Path, out: Path
) -> tuple[str, int, int, int]:
    """Read, carry, write; return the summary line, communes, empty ones, census rows."""
    from geodx.carry import carry_households
    from geodx.carry_io import (
        boundary_communes,
        counts_table,
        placements_table,
        read_boundaries,
        read_census,
        read_crosswalk,
        report_path,
        write_frame,
    )
    from geodx.carry_names import legacy_names
    from geodx.limits import limits_from_env

    limits = limits_from_env(os.environ)
    rows = read_census(census, limits=limits)
    table = read_crosswalk(crosswalk, limits=limits)
    frame, code, name = read_boundaries(boundaries, limits=limits)
    communes = boundary_communes(frame, code, name)
    report = carry_households(rows, communes, table, legacy_names())
    result = counts_table(report, communes)
    write_frame(out, result)
    write_frame(report_path(out), placements_table(report))
    empty = int((result["households"] == 0).sum())
    return report.summary(), result.height, empty, len(report.placements)
