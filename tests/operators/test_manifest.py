"""Operators and indoor layers name columns: clashes are refused in the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from geodx.errors import ManifestError
from geodx.manifest import load_manifest

HEAD = """
[region]
name = "X"
h3_resolution = 8
[communes]
path = "c.geojson"
[households]
path = "h.csv"
"""


def _layer(lid: str, operator: str, extra: str = "", path: str = "f.geojson") -> str:
    return (
        f'\n[[layers]]\nid = "{lid}"\nkind = "mobile"\ntechnology = "4G"\n'
        f'operator = "{operator}"\npath = "{path}"\n{extra}\n'
    )


def _write(folder: Path, layers: str) -> Path:
    for name in ("c.geojson", "h.csv", "f.geojson", "s.csv"):
        (folder / name).write_text("x")
    path = folder / "region.toml"
    path.write_text(HEAD + layers, encoding="utf-8")
    return path


def test_two_operator_names_of_one_slug_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _layer("a", "Viettel") + _layer("b", "VIETTEL"))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    message = str(err.value)
    assert "\n" not in message
    assert "[layers 'b']" in message and "operator_viettel_" in message


def test_the_same_operator_name_twice_is_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, _layer("a", "Viettel") + _layer("b", "Viettel"))
    assert [s.operator for s in load_manifest(path).layers] == ["Viettel", "Viettel"]


def test_a_layer_id_clashing_with_an_indoor_column_is_refused(tmp_path: Path) -> None:
    sites = 'model = "cost231-hata"\nenvironment = "rural"\nindoor_loss_db = 10'
    path = _write(
        tmp_path, _layer("vt", "V", sites, path="s.csv") + _layer("vt-indoor", "V")
    )
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    message = str(err.value)
    assert "\n" not in message
    assert "layer_vt_indoor_households" in message and "'vt-indoor'" in message
    # Without indoor_loss_db there is no indoor column, so no clash.
    path = _write(
        tmp_path,
        _layer("vt", "V", 'model = "cost231-hata"\nenvironment = "rural"', "s.csv")
        + _layer("vt-indoor", "V"),
    )
    assert len(load_manifest(path).layers) == 2
