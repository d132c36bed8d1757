"""B4: every vector input is opened with the one driver its extension names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geodx.errors import InputFileError, UnsupportedFormat
from geodx.io import read_communes, read_households, read_vector

from .helpers import communes, communes_file, households

SECRET = "root:x:0:0:Nguyen Van Bi Mat:/root:/bin/bash"


def ogr_vrt(target: Path) -> str:
    """An OGR VRT that turns the lines of a CSV into commune features."""
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="communes">
    <SrcDataSource>{target}</SrcDataSource>
    <SrcLayer>{target.stem}</SrcLayer>
    <GeometryType>wkbPoint</GeometryType>
    <LayerSRS>EPSG:4326</LayerSRS>
    <GeometryField encoding="PointFromColumns" x="x" y="y"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""


@pytest.mark.parametrize("name", ["x.geojson", "x.json", "x.gpkg", "x.fgb", "x.shp"])
def test_a_vrt_under_a_vector_name_is_refused_without_leaking(
    tmp_path: Path, name: str
) -> None:
    target = tmp_path / "secret.csv"
    target.write_text(f"commune_code,commune_name,x,y\n1,{SECRET},108,12.6\n")
    path = tmp_path / name
    path.write_text(ogr_vrt(target))
    with pytest.raises(UnsupportedFormat) as info:
        read_vector(path, role="communes")
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message and "VRT" in message
    assert "Bi Mat" not in message and "root:x" not in message


def test_a_vrt_as_communes_never_becomes_commune_names(tmp_path: Path) -> None:
    target = tmp_path / "passwd.csv"
    target.write_text(f"commune_code,commune_name,x,y\n1,{SECRET},108,12.6\n")
    path = tmp_path / "communes.geojson"
    path.write_text(ogr_vrt(target))
    with pytest.raises(UnsupportedFormat, match="communes.geojson"):
        read_communes(communes(path))


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("x.vrt", ("'.vrt'", "accepted")),
        ("x.zip", ("'.zip'", "unpack")),
        ("x.shp.zip", ("'.shp.zip'", "unpack")),
        ("x.kml", ("'.kml'",)),
        ("x.gml", ("'.gml'",)),
        ("x", ("no extension",)),
    ],
)
def test_other_extensions_are_refused_in_one_line(
    tmp_path: Path, name: str, words: tuple[str, ...]
) -> None:
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(UnsupportedFormat) as info:
        read_vector(path, role="communes")
    assert "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_another_format_under_a_geojson_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.geojson"
    path.write_text('WKT,name\n"POINT (108 12.6)",a\n')
    with pytest.raises(UnsupportedFormat, match="not GeoJSON"):
        read_vector(path, role="communes")


def test_esri_json_under_a_geojson_name_is_refused(tmp_path: Path) -> None:
    """Starts with ``{`` like GeoJSON; GDAL says it opened it as ESRIJSON."""
    doc = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "fields": [{"name": "a", "type": "esriFieldTypeInteger"}],
        "features": [{"attributes": {"a": 1}, "geometry": {"x": 108, "y": 12.6}}],
    }
    path = tmp_path / "x.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(UnsupportedFormat, match="ESRIJSON"):
        read_vector(path, role="communes")


def test_a_geopackage_that_is_plain_sqlite_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "x.gpkg"
    with sqlite3.connect(path) as db:
        db.execute("create table t (a int)")
    with pytest.raises(UnsupportedFormat, match="not GPKG"):
        read_vector(path, role="communes")


@pytest.mark.parametrize("name", ["c.geojson", "c.gpkg", "c.fgb", "c.shp", "c.json"])
def test_each_vector_format_still_reads(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".json"):
        communes_file(path, driver="GeoJSON")
    else:
        communes_file(path)
    frame = read_communes(communes(path))
    assert list(frame["commune_code"]) == ["24000", "24001"]


def test_geoparquet_still_reads(tmp_path: Path) -> None:
    import geopandas as gpd

    path = tmp_path / "c.geoparquet"
    gpd.read_file(communes_file(tmp_path / "c.gpkg")).to_parquet(path)
    assert len(read_communes(communes(path))) == 2


def test_a_households_table_with_another_extension_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ho.txt"
    path.write_text("lon,lat\n108.01,12.61\n")
    with pytest.raises(UnsupportedFormat, match="'.txt'"):
        read_households(households(path))


def test_a_parquet_households_table_that_is_not_parquet_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ho.parquet"
    path.write_text("lon,lat\n108.01,12.61\n")
    with pytest.raises(UnsupportedFormat, match="not Parquet"):
        read_households(households(path))


def test_two_layers_and_no_layer_key_is_refused_listing_them(tmp_path: Path) -> None:
    path = tmp_path / "xa.gpkg"
    communes_file(path, layer="xa_2019")
    communes_file(path, layer="xa_2025")
    with pytest.raises(InputFileError) as info:
        read_communes(communes(path))
    message = str(info.value)
    assert "\n" not in message
    for word in ("'xa_2019'", "'xa_2025'", "[communes] layer", "2 layers"):
        assert word in message
    assert len(read_communes(communes(path, layer="xa_2025"))) == 2
    with pytest.raises(InputFileError, match="no layer 'xa_2030'.*'xa_2019'"):
        read_communes(communes(path, layer="xa_2030"))


def test_an_attribute_table_beside_one_layer_is_not_a_second_layer(
    tmp_path: Path,
) -> None:
    import pandas as pd
    import pyogrio

    path = communes_file(tmp_path / "xa.gpkg", layer="xa")
    pyogrio.write_dataframe(pd.DataFrame({"note": ["x"]}), path, layer="ghi_chu")
    assert len(pyogrio.list_layers(path)) == 2
    assert len(read_communes(communes(path))) == 2
