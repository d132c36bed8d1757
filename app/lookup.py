"""``geodx lookup REGION LON LAT``: "is this house covered?" on the command line.

Register with ``app.command("lookup")(lookup_command)``. Prints the answer of
``GET /lookup`` (:meth:`app.live.LiveRegion.lookup`) as JSON on stdout; one-line errors
on stderr. A negative coordinate follows ``--``: ``geodx lookup REGION -- -70.6 -33.4``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from geodx.errors import GeodxError


def lookup_command(
    region: Annotated[
        Path, typer.Argument(help="Region folder holding region.toml, or the file.")
    ],
    lon: Annotated[float, typer.Argument(help="Longitude, WGS84 degrees.")],
    lat: Annotated[float, typer.Argument(help="Latitude, WGS84 degrees.")],
) -> None:
    """Commune, H3 cell, fibre, 4G/5G and each layer at one point, as JSON."""
    import orjson

    from app.live import LiveRegion, check_point
    from geodx.gdal import lock_down
    from geodx.limits import limits_from_env

    lock_down()
    try:
        check_point(lon, lat)  # before reading the region
        live = LiveRegion.open(region, limits=limits_from_env(os.environ))
        answer = live.lookup(lon, lat)
    except GeodxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    text = orjson.dumps(answer, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    typer.echo(text.decode())
