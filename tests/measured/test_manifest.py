"""``kind = "measured"`` in the manifest: its two keys, defaults, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from geodx.errors import GeodxError, ManifestError
from geodx.manifest import load_manifest
from geodx.manifest_specs import (
    DEFAULT_MIN_DOWNLOAD_MBPS,
    DEFAULT_MIN_TESTS,
)
from layers.registry import open_layer

HEAD = """
[region]
h3_resolution = 8
[communes]
path = "c.geojson"
[households]
path = "h.csv"
[[layers]]
id = "f"
kind = "fibre"
path = "t.parquet"
"""


def _load(tmp_path: Path, layer: str) -> object:
    for name in ("c.geojson", "h.csv", "t.parquet"):
        (tmp_path / name).write_text("x")
    (tmp_path / "region.toml").write_text(HEAD + layer, encoding="utf-8")
    return load_manifest(tmp_path)


def test_measured_layers_are_kept_apart_with_defaults(tmp_path: Path) -> None:
    m = _load(
        tmp_path, '[[layers]]\nid = "ookla"\nkind = "measured"\npath = "t.parquet"\n'
    )
    assert [s.id for s in m.layers] == ["f"]  # type: ignore[attr-defined]
    (spec,) = m.measured  # type: ignore[attr-defined]
    assert (spec.min_download_mbps, spec.min_tests) == (
        DEFAULT_MIN_DOWNLOAD_MBPS,
        DEFAULT_MIN_TESTS,
    )
    assert m.layers[0].min_tests is None  # type: ignore[attr-defined]
    with pytest.raises(GeodxError, match="measured speeds"):
        open_layer(spec, metric_crs=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (
            '[[layers]]\nid = "m"\nkind = "mobile"\ntechnology = "4G"\npath = "t.parquet"\nmin_tests = 3\n',
            "'min_tests' is for measured layers only",
        ),
        (
            '[[layers]]\nid = "m"\nkind = "mobile"\ntechnology = "4G"\npath = "t.parquet"\nmin_download_mbps = 3\n',
            "'min_download_mbps' is for measured layers only",
        ),
        (
            '[[layers]]\nid = "o"\nkind = "measured"\npath = "t.parquet"\nmin_tests = 0\n',
            "'min_tests' was 0",
        ),
        (
            '[[layers]]\nid = "o"\nkind = "measured"\npath = "t.parquet"\nmin_tests = 2.5\n',
            "'min_tests' must be an integer",
        ),
        (
            '[[layers]]\nid = "o"\nkind = "measured"\npath = "t.parquet"\nmin_download_mbps = -1\n',
            "min_download_mbps",
        ),
        ('[[layers]]\nid = "f"\nkind = "measured"\npath = "t.parquet"\n', "id clashes"),
    ],
)
def test_bad_measured_keys_are_refused(
    tmp_path: Path, layer: str, message: str
) -> None:
    with pytest.raises(ManifestError, match=message):
        _load(tmp_path, layer)
