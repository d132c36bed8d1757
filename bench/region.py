"""The bench region: the demo generator's province, built once and cached."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyogrio

from bench.manifest import Region

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 2025


def _generator_digest() -> str:
    """A digest of the demo generator's source: a changed generator means a rebuild."""
    import data

    digest = hashlib.sha256()
    for path in sorted(Path(data.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def region_dir(households: int, *, counts: bool = False) -> Path:
    """`bench/results/region-1m` for a million households, `region-<N>` otherwise.

    The counts variant (households as counts per commune) has `-counts` appended.
    """
    name = "region-1m" if households == 1_000_000 else f"region-{households}"
    return RESULTS / (name + ("-counts" if counts else ""))


def ensure_region(households: int, *, seed: int = SEED, counts: bool = False) -> Path:
    """Build the demo region with that many households unless it is cached already.

    The points region leaves out the demo's site-list layer and its measured tiles:
    the baselines read coverage maps only, and the predicted layer is timed apart
    (`bench.sites`). The counts region leaves out the measured tiles.
    """
    folder = region_dir(households, counts=counts)
    stamp_path = folder / "bench-stamp.json"
    stamp = {"seed": seed, "households": households, "generator": _generator_digest()}
    cached = (folder / "region.toml").exists() and stamp_path.exists()
    if cached and json.loads(stamp_path.read_text(encoding="utf-8")) == stamp:
        return folder / "region.toml"
    from data import build_synthetic_region

    manifest = Path(
        build_synthetic_region(folder, seed=seed, households=households, counts=counts)
    )
    text = manifest.read_text(encoding="utf-8")
    text = without_measured_layers(text)
    if not counts:
        text = without_model_layers(text)
    manifest.write_text(text, encoding="utf-8")
    stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
    return manifest


def without_model_layers(text: str) -> str:
    r"""The demo's `region.toml` without its `[[layers]]` tables that have a `model`.

    Examples
    --------
    >>> text = "[[layers]]\nid = \"a\"\n\n[[layers]]\nid = \"s\"\nmodel = \"x\"\n\n[t]\n"
    >>> without_model_layers(text)
    '[[layers]]\nid = "a"\n\n[t]\n'
    """
    tables = text.split("\n\n")
    keep = [t for t in tables if not (t.startswith("[[layers]]") and "\nmodel = " in t)]
    return "\n\n".join(keep)


def without_measured_layers(text: str) -> str:
    r"""The demo's `region.toml` without its `kind = "measured"` `[[layers]]` tables.

    Examples
    --------
    >>> text = "[[layers]]\nid = \"a\"\n\n[[layers]]\nkind = \"measured\"\n\n[t]\n"
    >>> without_measured_layers(text)
    '[[layers]]\nid = "a"\n\n[t]\n'
    """
    tables = text.split("\n\n")
    measured = '\nkind = "measured"\n'
    keep = [
        t for t in tables if not (t.startswith("[[layers]]") and measured in t + "\n")
    ]
    return "\n\n".join(keep)


def household_total(region: Region) -> tuple[int, int]:
    """(sum of household weights, household rows) of a region's households file."""
    path = region.households_path
    cols = [region.weight] if region.weight else []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, usecols=cols or [region.lon])
    elif suffix in (".parquet", ".pq"):
        frame = pq.read_table(path, columns=cols or None).to_pandas()
    else:
        frame = pyogrio.read_dataframe(path, columns=cols, read_geometry=False)
    weight = int(frame[region.weight].sum()) if region.weight else len(frame)
    return weight, len(frame)
