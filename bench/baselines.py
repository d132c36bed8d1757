"""Two baselines that compute what `geodx run` computes, the usual geopandas ways.

- ``naive``: `gpd.sjoin` for communes, one `h3.latlng_to_cell` call per household in a
  Python loop, `rasterio`'s `DatasetReader.sample()` per household, `gpd.sjoin_nearest`
  with `max_distance` (in a metric CRS) for fibre lines and points, `gpd.sjoin` for
  polygons, pandas group-by.
- ``conventional``: `gpd.sjoin` for communes and polygons,
  `gpd.sjoin(predicate="dwithin")` in the metric CRS for lines and points, raster
  values by numpy array indexing through `~transform` (coordinates transformed as
  arrays with pyproj), H3 vectorised with polars-h3 (as UInt64, strings made for
  the unique cells only), pandas group-by.

Both follow docs/definitions.md (boundary counts as inside; smallest commune code wins)
and write communes.geojson, districts.geojson, summary.json and cells.parquet.

Run one in this process: ``python -m bench.baselines naive REGION OUT [TIMINGS_JSON]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import polars as pl
import polars_h3 as plh3
import rasterio
from pyproj import CRS, Transformer

from bench import common
from bench.manifest import LayerSpec, Region, read_region

POLYGONAL = ("Polygon", "MultiPolygon")


def _points_in(
    hh: gpd.GeoDataFrame, crs: object, cache: dict[object, gpd.GeoSeries] | None
) -> gpd.GeoSeries:
    """Household points in `crs` (straight from their own CRS), cached when asked."""
    if cache is not None and crs in cache:
        return cache[crs]
    pts = hh.geometry.to_crs(crs)
    if cache is not None:
        cache[crs] = pts
    return pts


def _hit(joined: gpd.GeoDataFrame, n: int) -> np.ndarray:
    """Households (left index) that a join matched at least once."""
    flags = np.zeros(n, bool)
    flags[np.unique(joined.index.to_numpy())] = True
    return flags


def _in_polygons(pts: gpd.GeoSeries, polys: gpd.GeoDataFrame) -> np.ndarray:
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=pts), polys[["geometry"]], predicate="intersects"
    )
    return _hit(joined, len(pts))


def _near_naive(
    pts_m: gpd.GeoSeries, net_m: gpd.GeoDataFrame, distance: float
) -> np.ndarray:
    left = gpd.GeoDataFrame(geometry=pts_m)
    joined = gpd.sjoin_nearest(left, net_m[["geometry"]], max_distance=distance)
    return _hit(joined, len(pts_m))


def _near_conventional(
    pts_m: gpd.GeoSeries, net_m: gpd.GeoDataFrame, distance: float
) -> np.ndarray:
    left = gpd.GeoDataFrame(geometry=pts_m)
    joined = gpd.sjoin(
        left, net_m[["geometry"]], predicate="dwithin", distance=distance
    )
    return _hit(joined, len(pts_m))


def _vector_layer(
    hh: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    spec: LayerSpec,
    ctx: dict[str, object],
    near: Callable[[gpd.GeoSeries, gpd.GeoDataFrame, float], np.ndarray],
) -> np.ndarray:
    cache = ctx.get("cache")  # type: ignore[assignment]
    polygonal = layer.geom_type.isin(POLYGONAL).to_numpy()
    flags = np.zeros(len(hh), bool)
    if polygonal.any():
        flags |= _in_polygons(_points_in(hh, layer.crs, cache), layer[polygonal])  # type: ignore[arg-type]
    if (~polygonal).any():
        crs = common.metric_crs(layer.crs, ctx["communes"])  # type: ignore[arg-type]
        net = layer[~polygonal].to_crs(crs)
        flags |= near(_points_in(hh, crs, cache), net, spec.service_distance_m)  # type: ignore[arg-type]
    return flags


def _raster_sample(hh: gpd.GeoDataFrame, spec: LayerSpec) -> np.ndarray:
    """Naive: `DatasetReader.sample()` for every household."""
    with rasterio.open(spec.path) as ds:
        pts = hh.geometry.to_crs(ds.crs)
        xy = zip(pts.x.to_numpy(), pts.y.to_numpy(), strict=True)
        values = np.ma.stack(list(ds.sample(xy, indexes=1, masked=True)))[:, 0].astype(
            float
        )
    valid = ~np.ma.getmaskarray(values) & ~np.isnan(values.filled(np.nan))
    return valid & (values.filled(-np.inf) >= spec.min_rsrp_dbm)


def _raster_index(hh: gpd.GeoDataFrame, spec: LayerSpec) -> np.ndarray:
    """Conventional: read the band, index it through `~transform`."""
    with rasterio.open(spec.path) as ds:
        band = ds.read(1)
        transform, crs, nodata = ds.transform, ds.crs, ds.nodata
    own = CRS.from_user_input(hh.crs)
    if own.equals(CRS.from_epsg(4326)):
        x, y = hh["lng"].to_numpy(), hh["lat"].to_numpy()
    else:
        x, y = hh.geometry.x.to_numpy(), hh.geometry.y.to_numpy()
    if not own.equals(CRS.from_user_input(crs)):
        x, y = Transformer.from_crs(own, crs, always_xy=True).transform(x, y)
    colf, rowf = ~transform * (np.asarray(x), np.asarray(y))
    col, row = np.floor(colf), np.floor(rowf)
    inside = (col >= 0) & (row >= 0) & (col < band.shape[1]) & (row < band.shape[0])
    values = np.full(len(hh), np.nan)
    values[inside] = band[row[inside].astype(np.intp), col[inside].astype(np.intp)]
    ok = inside & ~np.isnan(values)
    if nodata is not None:
        ok &= values != nodata
    return ok & (values >= spec.min_rsrp_dbm)


def _h3_loop(hh: gpd.GeoDataFrame, res: int) -> list[str]:
    return [
        h3.latlng_to_cell(lat, lng, res)
        for lat, lng in zip(hh["lat"], hh["lng"], strict=True)
    ]


def _h3_vector(hh: gpd.GeoDataFrame, res: int) -> np.ndarray:
    frame = pl.DataFrame({"lat": hh["lat"].to_numpy(), "lng": hh["lng"].to_numpy()})
    return frame.select(plh3.latlng_to_cell("lat", "lng", res).alias("h3"))[
        "h3"
    ].to_numpy()


def _sample(hh: gpd.GeoDataFrame, n: int | None) -> gpd.GeoDataFrame:
    """A fixed random sample of `n` household rows (all of them when `n` is None)."""
    if n is None or n >= len(hh):
        return hh
    rows = np.sort(np.random.default_rng(0).choice(len(hh), n, replace=False))
    return hh.iloc[rows].reset_index(drop=True)


def run(
    contender: str, region_path: Path, out: Path, *, sample: int | None = None
) -> dict[str, object]:
    """Run one baseline on a region.

    Returns ``{"stages": {stage: seconds}, "rows": n, "rows_total": N}``; with
    `sample`, every stage after "read" works on `n` of the `N` household rows only.
    """
    naive = contender == "naive"
    if contender not in ("naive", "conventional"):
        raise ValueError(f"contender was {contender!r}; expected naive or conventional")
    sw = common.Stopwatch()
    with sw.stage("read"):
        region = read_region(region_path)
        communes = common.read_communes(region)
        hh = common.read_households(region, engine="c" if naive else "pyarrow")
        vectors = {
            s.id: common.read_vector(s.path) for s in region.layers if not s.is_raster
        }
    rows_total = len(hh)
    hh = _sample(hh, sample)
    with sw.stage("communes"):
        hh["commune_code"], overlap = common.assign_communes(hh, communes)
    with sw.stage("h3"):
        hh["h3"] = (
            _h3_loop(hh, region.h3_resolution)
            if naive
            else _h3_vector(hh, region.h3_resolution)
        )
    covered = _coverage(hh, region, communes, vectors, sw, naive=naive)
    with sw.stage("aggregate"):
        kinds = {s.slug: (s.kind, s.technology == "5G") for s in region.layers}
        cells = common.aggregate(hh, covered, kinds)
        if not naive:
            ints = pl.DataFrame({"h3": cells["h3"].to_numpy()})
            cells["h3"] = ints.select(plh3.int_to_str("h3"))["h3"].to_numpy()
        com_out, districts = common.roll_up(cells, communes, region.targets)
        summ = common.summary(cells, com_out, region, overlap)
    with sw.stage("write"):
        common.write_outputs(out, cells, com_out, districts, summ)
    return {"stages": sw.timings, "rows": len(hh), "rows_total": rows_total}


def _coverage(
    hh: gpd.GeoDataFrame,
    region: Region,
    communes: gpd.GeoDataFrame,
    vectors: dict[str, gpd.GeoDataFrame],
    sw: common.Stopwatch,
    *,
    naive: bool,
) -> dict[str, np.ndarray]:
    cache: dict[object, gpd.GeoSeries] | None = None if naive else {}
    ctx: dict[str, object] = {"communes": communes, "cache": cache}
    near = _near_naive if naive else _near_conventional
    covered: dict[str, np.ndarray] = {}
    for spec in region.layers:
        with sw.stage(spec.kind):
            if spec.is_raster:
                flags = _raster_sample(hh, spec) if naive else _raster_index(hh, spec)
            else:
                flags = _vector_layer(hh, vectors[spec.id], spec, ctx, near)
            covered[spec.slug] = flags
    return covered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines")
    parser.add_argument("contender", choices=["naive", "conventional"])
    parser.add_argument("region", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--timings", type=Path, help="write the result JSON here")
    parser.add_argument("--sample", type=int, help="household rows to sample")
    args = parser.parse_args(argv)
    result = run(args.contender, args.region, args.out, sample=args.sample)
    if args.timings:
        args.timings.write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
