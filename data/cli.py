"""``geodx demo``: build the demo region folder, atomically.

Register with ``app.command("demo")(demo_command)``. The folder is built beside
``--out`` and renamed into place, so a reader never sees half a region; the parameters
are kept in ``demo.json`` so that an unchanged request does not rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from data.errors import DemoInputError
from geodx.errors import GeodxError

PARAMS_NAME = "demo.json"


def demo_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write the demo region into [default: build/demo; "
            "build/country with --country].",
            show_default=False,
        ),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(help="Real commune boundaries (vector file or GeoParquet)."),
    ] = None,
    households_table: Annotated[
        Path | None,
        typer.Option(help="Households per commune (CSV/Parquet); with --boundaries."),
    ] = None,
    crosswalk: Annotated[
        Path | None,
        typer.Option(help="Old -> new commune codes for the households table."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; same seed, same files.")
    ] = 2025,
    households: Annotated[
        str,
        typer.Option(
            help="Households of the synthetic province: N (points), 'points', "
            "'counts' (a per-commune counts table spread over density.tif), or "
            "'points:N' / 'counts:N'.",
        ),
    ] = "points",
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when up to date.")
    ] = False,
    country: Annotated[
        bool,
        typer.Option(
            "--country",
            help="The national region: --boundaries of every 2025 commune, the "
            "national census as --households-table, with --crosswalk.",
        ),
    ] = False,
) -> Path:
    """Build a demo region: synthetic, or synthetic data on real boundaries."""
    if (boundaries is None) != (households_table is None):
        raise typer.BadParameter("--boundaries and --households-table go together")
    if crosswalk is not None and boundaries is None:
        raise typer.BadParameter(
            "--crosswalk needs --boundaries and --households-table"
        )
    form, size = households_form(households)
    out = out or Path("build/country" if country else "build/demo")
    if country and boundaries is None:
        raise typer.BadParameter(
            "needs --boundaries and --households-table (see the README)",
            param_hint="--country",
        )
    if boundaries is not None and households != "points":
        raise typer.BadParameter(
            "is for the synthetic province; with --boundaries the households come "
            "from --households-table",
            param_hint="--households",
        )
    try:
        params = demo_params(boundaries, households_table, crosswalk, seed, size)
        extra = {"counts": True} if form == "counts" else {}
        if form == "counts":
            params["households_form"] = "counts"  # points builds keep their params
        manifest = out / "region.toml"
        if not force and manifest.is_file() and _stored_params(out) == params:
            typer.echo(f"Demo region ({params['mode']}) is up to date: {manifest}")
            return manifest
        if boundaries is None or households_table is None:
            build_into(
                out,
                params,
                lambda d: _earlier()(
                    _synthetic()(d, seed=seed, households=size, **extra)
                ),  # and region-2024.toml: `make run` records two vintages
            )
            kind = (
                "households as counts per commune" if form == "counts" else "households"
            )
            typer.echo(
                f"Built the synthetic demo province (synthetic data, {size:,} "
                f"{kind}, seed {seed}): {manifest}"
            )
            return manifest
        if country:
            params["mode"] = "country"
        return _build_real(
            out, params, boundaries, households_table, crosswalk, seed, country
        )
    except GeodxError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


DEFAULT_HOUSEHOLDS = 500_000
HOUSEHOLD_FORMS = ("points", "counts")


def households_form(value: str) -> tuple[str, int]:
    """Parse ``--households``: ``N``, ``points``, ``counts``, ``points:N`` or ``counts:N``.

    Examples
    --------
    >>> households_form("2000"), households_form("counts"), households_form("counts:900")
    (('points', 2000), ('counts', 500000), ('counts', 900))
    """
    form, _, number = value.strip().lower().rpartition(":")
    if not form and number in HOUSEHOLD_FORMS:
        form, number = number, str(DEFAULT_HOUSEHOLDS)
    form = form or "points"
    try:
        size = int(number.replace("_", ""))
    except ValueError:
        size = -1
    if form not in HOUSEHOLD_FORMS or size < 100:
        raise typer.BadParameter(
            f"was {value!r}; expected N >= 100, 'points', 'counts', 'points:N' or "
            "'counts:N'",
            param_hint="--households",
        )
    return form, size


def _build_real(
    out: Path,
    params: dict[str, Any],
    boundaries: Path,
    households_table: Path,
    crosswalk: Path | None,
    seed: int,
    country: bool = False,
) -> Path:
    """Build the real-boundary (or national) region and print what was carried."""
    build = _country() if country else _real()
    build_into(
        out,
        params,
        lambda d: build(
            d,
            boundaries=boundaries,
            households_table=households_table,
            crosswalk=crosswalk,
            seed=seed,
        ),
    )
    report = json.loads((out / _report_name()).read_text(encoding="utf-8"))
    manifest = out / "region.toml"
    typer.echo(
        "Built a demo region on real boundaries (household positions and networks "
        f"synthetic): {manifest}\n{carry_lines(out, report)}"
    )
    return manifest


def carry_lines(out: Path, report: dict[str, Any]) -> str:
    """Say where the census households went: placed, not placed (and the list), left out."""
    lines = [
        f"  {report['carried_households']:,} of {report['region_households']:,} census "
        "households of the boundaries' provinces placed; "
        f"{report['not_placed_households']:,} in {report['not_placed_rows']:,} rows "
        f"not placed, listed in {out / report['not_placed_list']}"
    ]
    empty = report["communes_without_households"]
    if empty:
        lines.append(
            f"  {len(empty)} of {report['communes']} boundary communes got no "
            "households (a province merged in 2025 needs a table holding all its old "
            "provinces: the national census table with --crosswalk)"
        )
    repairs = report.get("repairs")
    if repairs:
        lines.append(
            f"  repaired: {len(repairs['communes_coded_from_crosswalk'])} uncoded "
            "communes coded from the crosswalk, "
            f"{repairs['communes_made_valid']} invalid communes made valid "
            f"({repairs['communes_made_valid_projected']} more once projected), "
            f"{repairs['rows_province_from_renamed_name']} rows of a renamed "
            "province given its code"
        )
    if report["outside_households"]:
        lines.append(
            f"  {report['outside_households']:,} households of "
            f"{len(report['outside_by_province'])} other provinces left out "
            f"(a row lands only in its own province; see {out / _report_name()})"
        )
    return "\n".join(lines)


def demo_params(
    boundaries: Path | None,
    households_table: Path | None,
    crosswalk: Path | None,
    seed: int,
    households: int,
) -> dict[str, Any]:
    """Describe a build: generator code, mode, seed, size, and the input files."""
    params: dict[str, Any] = {"generator": generator_digest(), "seed": seed}
    if boundaries is None:
        return {**params, "mode": "synthetic", "households": households}
    inputs = {"boundaries": boundaries, "households_table": households_table}
    if crosswalk is not None:
        inputs["crosswalk"] = crosswalk
    return {**params, "mode": "real", **{k: _fingerprint(p) for k, p in inputs.items()}}


def generator_digest() -> str:
    """Hash of the generator's source, so that a changed generator rebuilds."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _fingerprint(path: Path | None) -> dict[str, Any] | None:
    """Path, size and modification time of an input file."""
    if path is None:
        return None
    if not path.is_file():
        raise DemoInputError(f"{path}: input file not found")
    stat = path.stat()
    return {
        "path": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def _stored_params(out: Path) -> dict[str, Any] | None:
    """Read the parameters ``out`` was built with; None when unknown."""
    try:
        data = json.loads((out / PARAMS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def build_into(
    out: Path, params: dict[str, Any], build: Callable[[Path], Path]
) -> None:
    """Build in a temporary folder beside ``out``, then swap it into place.

    An existing ``out`` is replaced only when it is a demo region (has ``demo.json``)
    or is empty; anything else is refused rather than deleted.
    """
    if out.exists() and not _replaceable(out):
        raise DemoInputError(f"{out}: not a demo region folder; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a region folder is for sharing
        build(tmp)
        from data.writer import write_json

        write_json(tmp / PARAMS_NAME, params)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _replaceable(out: Path) -> bool:
    """Whether ``out`` may be replaced: an empty folder or an earlier demo build."""
    return out.is_dir() and ((out / PARAMS_NAME).is_file() or not any(out.iterdir()))


# The generators pull in geopandas and rasterio: imported when a demo is built.
def _synthetic() -> Callable[..., Path]:
    from data.synthetic import build_synthetic_region

    return build_synthetic_region


def _earlier() -> Callable[[Path], Path]:
    from data.vintages import write_earlier

    return write_earlier


def _real() -> Callable[..., Path]:
    from data.real import build_real_region

    return build_real_region


def _country() -> Callable[..., Path]:
    from data.country import build_country_region

    return build_country_region


def _report_name() -> str:
    from data.real import REPORT_NAME

    return REPORT_NAME
