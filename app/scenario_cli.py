"""``geodx scenario REGION --add-layer FILE …``: the region with new layers, and who crosses.

Each FILE is a small TOML of ``[[layers]]`` entries exactly as in a region manifest
(paths relative to FILE), checked by the manifest's own parser; the recompute is the
web service's (:mod:`app.scenarios`). The lead CLI registers the command.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

FIGURES = (
    ("fibre_pct", "fibre", "fibre_target_met"),
    ("mobile_pct", "4G/5G", "mobile_covered"),
)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}%"


def diff_lines(diff: list[dict[str, Any]]) -> list[str]:
    """One line per commune whose figures change: fibre and 4G/5G, and who crosses.

    Examples
    --------
    >>> diff_lines([{"commune_code": "1", "commune_name": "Xã A", "crosses": [
    ...     "fibre_target_met"], "changed": {"fibre_pct": {"baseline": 80.0,
    ...     "scenario": 95.5}}}])
    ['1 Xã A: fibre 80.00% -> 95.50%, crosses the fibre target']
    """
    lines = []
    for entry in diff:
        parts = []
        for key, label, flag in FIGURES:
            change = entry["changed"].get(key)
            if change is not None:
                part = (
                    f"{label} {_pct(change['baseline'])} -> {_pct(change['scenario'])}"
                )
                if flag in entry["crosses"]:
                    part += f", crosses the {label} target"
                parts.append(part)
        if parts:
            name = entry.get("commune_name") or ""
            lines.append(f"{entry['commune_code']} {name}: " + "; ".join(parts))
    return lines


@contextmanager
def _target(out: Path | None, inputs: list[Path], root: Path) -> Iterator[Path]:
    """A folder to write into: a new version of ``out``, else a temporary one."""
    from geodx import __version__
    from geodx.outdir import atomic_output_dir

    if out is None:
        with tempfile.TemporaryDirectory(prefix="geodx-scenario-") as tmp:
            yield Path(tmp)
        return
    with atomic_output_dir(
        out, inputs=inputs, region_root=root, engine=__version__
    ) as tmp:
        yield tmp


def scenario_command(
    region: Annotated[
        Path, typer.Argument(help="Region folder holding region.toml, or the file.")
    ],
    add_layer: Annotated[
        list[Path],
        typer.Option(
            "--add-layer",
            help="A TOML file of [[layers]] entries as in region.toml (paths relative "
            "to it); repeat for more.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the scenario's outputs here (as geodx run)."
        ),
    ] = None,
) -> None:
    """The region recomputed with new layers added: the communes that change, and who crosses a target."""
    from app.cli import fail
    from app.cli import out as console
    from app.pipeline import input_files
    from app.scenarios import (
        added_layers,
        commune_diff,
        crossing,
        prepare_baseline,
        write_scenario,
    )
    from geodx.errors import GeodxError
    from geodx.gdal import lock_down
    from geodx.limits import limits_from_env
    from geodx.manifest import load_layers_file, load_manifest

    lock_down()
    try:
        manifest = load_manifest(region)
        combined = manifest
        for path in add_layer:
            combined = load_layers_file(combined, path)
        baseline = prepare_baseline(manifest, limits=limits_from_env(os.environ))
        added = added_layers(baseline, combined)
        with _target(out, input_files(combined), manifest.root) as folder:
            props = write_scenario(baseline, combined, added, folder)
    except GeodxError as exc:
        fail(str(exc))
    diff = commune_diff(baseline.communes_props, props)
    for line in diff_lines(diff) or ["no commune's fibre or 4G/5G figures change"]:
        console.print(line, markup=False, soft_wrap=True)
    crossed = crossing(diff)
    console.print(
        f"{len(crossed['fibre_target_met'])} commune(s) cross the fibre target, "
        f"{len(crossed['mobile_covered'])} the 4G/5G commune rule"
        + (f"; wrote {out}/" if out is not None else ""),
        markup=False,
        soft_wrap=True,
    )
