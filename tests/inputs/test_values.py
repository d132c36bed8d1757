"""D10: NaN, infinite and out-of-range values: one line naming file, field and row."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodx.errors import (
    CRSError,
    GeometryError,
    InputFileError,
    InputTooLarge,
    ManifestError,
)
from geodx.io import read_communes, read_households, read_vector
from geodx.manifest import load_manifest

from .helpers import SQUARE, communes, communes_file, households


def polygon_with(bad: float) -> shapely.Polygon:
    """A square commune with one vertex's y replaced by ``bad``."""
    with quiet():
        return shapely.Polygon(
            [(108.02, 12.60), (108.04, bad), (108.04, 12.62), (108.02, 12.62)]
        )


@contextmanager
def quiet() -> Iterator[None]:
    """Shapely and GDAL warn while building and writing NaN vertices on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def one_line(exc: pytest.ExceptionInfo[Exception], *words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# A shapefile cannot hold them: GDAL refuses to write one.
@pytest.mark.parametrize("name", ["c.gpkg", "c.fgb", "c.geoparquet"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_or_inf_vertices_in_communes_are_refused(
    tmp_path: Path, name: str, bad: float
) -> None:
    geom = polygon_with(bad)
    path = tmp_path / name
    with quiet():
        if name.endswith(".geoparquet"):
            frame = gpd.GeoDataFrame({"ma_xa": ["1", "2"], "ten_xa": ["a", "b"]},
                                     geometry=[SQUARE, geom], crs=4326)  # fmt: skip
            frame.to_parquet(path)
        elif name.endswith(".fgb"):  # unindexed: the rows keep their order
            communes_file(path, [SQUARE, geom], SPATIAL_INDEX="NO")
        else:
            communes_file(path, [SQUARE, geom])
    with pytest.raises(GeometryError) as info:
        read_communes(communes(path))
    one_line(info, str(path), "row 2", "NaN or infinite")


def test_nan_vertices_in_a_layer_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "fibre.gpkg"
    with quiet():
        geoms = [SQUARE, SQUARE, polygon_with(math.nan)]
        gpd.GeoDataFrame(geometry=geoms, crs=4326).to_file(path)
    with pytest.raises(GeometryError) as info:
        read_vector(path, columns=[], role="layer 'vnpt-fibre'")
    one_line(info, "fibre.gpkg", "layer 'vnpt-fibre'", "row 3")


@pytest.mark.parametrize("name", ["ho.gpkg", "ho.geoparquet"])
def test_an_empty_point_in_households_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    geoms = [
        shapely.Point(108.01, 12.61),
        shapely.from_wkt("POINT EMPTY"),
        shapely.Point(108.02, 12.61),
    ]
    frame = gpd.GeoDataFrame({"ho": [1, 2, 3]}, geometry=geoms, crs=4326)
    if name.endswith(".geoparquet"):
        frame.to_parquet(path)
    else:
        frame.to_file(path)
    with pytest.raises(GeometryError) as info:
        read_households(households(path, "ho"))
    one_line(info, name, "row 2", "empty point")


def test_a_missing_household_geometry_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "ho.gpkg"
    geoms = [shapely.Point(108.01, 12.61), None]
    gpd.GeoDataFrame({"ho": [1, 2]}, geometry=geoms, crs=4326).to_file(path)
    with pytest.raises(GeometryError) as info:
        read_households(households(path))
    one_line(info, "row 2", "no geometry")


@pytest.mark.parametrize(
    ("lon", "lat", "words"),
    [
        (1e300, 12.61, ("'lon'", "data row 2", "1e+300")),
        (-180.5, 12.61, ("'lon'", "data row 2")),
        (108.01, 90.5, ("'lat'", "data row 2")),
    ],
)
def test_lon_lat_out_of_range_is_refused(
    tmp_path: Path, lon: float, lat: float, words: tuple[str, ...]
) -> None:
    path = tmp_path / "ho.csv"
    pd.DataFrame({"lon": [108.0, lon], "lat": [12.6, lat]}).to_csv(path, index=False)
    with pytest.raises(CRSError) as info:
        read_households(households(path))
    one_line(info, "ho.csv", *words)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_infinite_or_nan_coordinates_in_a_table_are_refused(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "ho.csv"
    path.write_text(f"lon,lat\n108.01,12.61\n{value},12.61\n")
    with pytest.raises(InputFileError) as info:
        read_households(households(path))
    one_line(info, "ho.csv", "'lon'", "data row 2")


@pytest.mark.parametrize("xy", [(1e300, 1.4e6), (5e5, 1e300), (1e12, 1.4e6)])
def test_projected_points_off_the_earth_are_refused(
    tmp_path: Path, xy: tuple[float, float]
) -> None:
    path = tmp_path / "ho.gpkg"
    geoms = [shapely.Point(800_000, 1_396_000), shapely.Point(*xy)]
    gpd.GeoDataFrame({"ho": [1, 1]}, geometry=geoms, crs=32648).to_file(path)
    with pytest.raises(CRSError) as info:
        read_households(households(path))
    one_line(info, "ho.gpkg", "row 2", "WGS 84 / UTM zone 48N")


def test_projected_points_on_the_earth_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ho.gpkg"
    geoms = [shapely.Point(800_000, 1_396_000), shapely.Point(210_000, 1_396_000)]
    gpd.GeoDataFrame({"ho": [1, 1]}, geometry=geoms, crs=32648).to_file(path)
    assert len(read_households(households(path))) == 2


@pytest.mark.parametrize(
    ("weights", "kind"),
    [
        ([1.0, 1e308], InputTooLarge),
        ([1.0, 2e6], InputTooLarge),
        ([1.0, math.inf], InputFileError),
        ([1.0, -1.0], InputFileError),
    ],
)
@pytest.mark.parametrize("name", ["ho.csv", "ho.gpkg"])
def test_implausible_weights_are_refused(
    tmp_path: Path, weights: list[float], kind: type[Exception], name: str
) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        pd.DataFrame(
            {"lon": [108.0, 108.01], "lat": [12.6, 12.6], "ho": weights}
        ).to_csv(path, index=False)
    else:
        geoms = [shapely.Point(108.0, 12.6), shapely.Point(108.01, 12.6)]
        gpd.GeoDataFrame({"ho": weights}, geometry=geoms, crs=4326).to_file(path)
    with pytest.raises(kind) as info:
        read_households(households(path, "ho"))
    one_line(info, name, "'ho'", "row 2")


def test_a_million_households_at_one_point_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "ho.csv"
    pd.DataFrame({"lon": [108.0], "lat": [12.6], "ho": [1e6]}).to_csv(path, index=False)
    assert read_households(households(path, "ho")).weight.sum() == 1e6


def _region(tmp_path: Path, extra: str) -> Path:
    communes_file(tmp_path / "communes.gpkg")
    (tmp_path / "households.csv").write_text("lon,lat\n108.01,12.61\n")
    gpd.GeoDataFrame(geometry=[SQUARE], crs=4326).to_file(tmp_path / "fibre.gpkg")
    (tmp_path / "region.toml").write_text(
        '[region]\nh3_resolution = 9\n[communes]\npath = "communes.gpkg"\n'
        'code = "ma_xa"\nname = "ten_xa"\n[households]\npath = "households.csv"\n'
        + extra,
        encoding="utf-8",
    )
    return tmp_path


LAYER = '[[layers]]\nid = "fibre"\nkind = "fibre"\npath = "fibre.gpkg"\n'


@pytest.mark.parametrize("value", ["nan", "+nan", "-nan", "inf", "+inf", "-inf"])
@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("layers 'fibre'", "service_distance_m"),
        ("layers 'fibre'", "min_rsrp_dbm"),
        ("targets", "fibre_household_pct"),
        ("targets", "mobile_commune_pct"),
        ("targets", "mobile_commune_household_pct"),
    ],
)
def test_nan_and_inf_manifest_numbers_are_refused(
    tmp_path: Path, value: str, section: str, key: str
) -> None:
    extra = LAYER + (f"{key} = {value}\n" if section.startswith("layers") else "")
    if section == "targets":
        extra += f"[targets]\n{key} = {value}\n"
    with pytest.raises(ManifestError) as info:
        load_manifest(_region(tmp_path, extra))
    one_line(info, "region.toml", f"[{section}]", f"'{key}'")


def test_a_clean_manifest_still_loads(tmp_path: Path) -> None:
    manifest = load_manifest(_region(tmp_path, LAYER + "service_distance_m = 300\n"))
    assert manifest.layers[0].service_distance_m == 300.0


def test_a_folder_where_a_file_should_be_is_refused(tmp_path: Path) -> None:
    _region(tmp_path, "")
    (tmp_path / "communes.gpkg").unlink()
    (tmp_path / "communes.gpkg").mkdir()
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    one_line(info, "[communes]", "is not a file")


def test_an_unreadable_vector_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "xa.gpkg"
    folder.mkdir()
    with pytest.raises(InputFileError) as info:
        read_vector(folder, role="communes")
    one_line(info, "xa.gpkg", "cannot read")
