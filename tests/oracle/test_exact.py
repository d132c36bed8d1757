"""The engine's outputs against a brute-force computation, world by world.

Every number of ``geodx run`` (communes, districts, summary, cells) must equal what the
oracle in ``bruteforce.py`` / ``rollup.py`` computes one household at a time from the
same files, following docs/definitions.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa
import pyproj
import shapely
from shapely.geometry import shape

from .bruteforce import read_communes
from .compare import all_strings, compare_rows, find_key, iter_positions, report
from .conftest import Outputs
from .rollup import COUNTS, Expected
from .worlds import World

INDICATORS = [
    "households", "fibre_households", "fibre_pct", "fibre_target_met",
    "fibre_gap_households", "mobile_households", "mobile_pct",
    "mobile_5g_households", "mobile_5g_pct",
]  # fmt: skip
COMMUNE_FIELDS = [
    "commune_code", "commune_name", "district_code", "district_name",
    *INDICATORS, "mobile_covered",
]  # fmt: skip
DISTRICT_OPTIONAL = [
    "communes",
    "communes_with_households",
    "communes_mobile_covered",
    "mobile_commune_pct",
]


def _layer_fields(oracle: Expected) -> list[str]:
    slugs = [layer.slug for layer in oracle.manifest.layers]
    return [f"layer_{s}_{k}" for s in slugs for k in ("households", "pct")]


def _by_code(collection: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {f["properties"][key]: f["properties"] for f in collection["features"]}


def test_oracle_agrees_with_hand_derived_facts(world: World, oracle: Expected) -> None:
    problems = []
    for fact in world.household_facts:
        got = oracle.households.loc[fact.key, fact.column]
        if not (got == fact.value or (got is None and fact.value is None)):
            problems.append(f"household {fact.key} ({fact.why}): {fact.column}={got!r}")
    communes = {c["commune_code"]: c for c in oracle.communes}
    for fact in world.commune_facts:
        got = communes[str(fact.key)][fact.column]
        if got != fact.value:
            problems.append(f"commune {fact.key} ({fact.why}): {fact.column}={got!r}")
    assert not problems, report(problems)


def test_commune_values(outputs: Outputs, oracle: Expected) -> None:
    got = _by_code(outputs.communes, "commune_code")
    assert len(outputs.communes["features"]) == len(oracle.communes), (
        "one Feature per commune"
    )
    assert set(got) == {c["commune_code"] for c in oracle.communes}
    keys = COMMUNE_FIELDS + _layer_fields(oracle)
    problems = []
    for want in oracle.communes:
        code = want["commune_code"]
        problems += compare_rows(f"commune {code}", got[code], want, keys)
    assert not problems, report(problems)


def test_commune_geometry_is_the_input_in_lon_lat(
    outputs: Outputs, oracle: Expected
) -> None:
    source = read_communes(oracle.manifest.communes).frame.to_crs(4326)
    code_column = oracle.manifest.communes["code"]
    inputs = dict(zip(source[code_column].astype(str), source.geometry, strict=True))
    problems = []
    for feature in outputs.communes["features"]:
        code = feature["properties"]["commune_code"]
        geom, want = shape(feature["geometry"]), inputs[code]
        if feature["geometry"]["type"] not in {"Polygon", "MultiPolygon"}:
            problems.append(
                f"commune {code}: geometry type {feature['geometry']['type']}"
            )
        elif geom.symmetric_difference(want).area > 1e-3 * want.area:
            problems.append(
                f"commune {code}: geometry differs from the input (lon/lat order?)"
            )
    assert not problems, report(problems)


def test_feature_collections_follow_rfc7946(outputs: Outputs, oracle: Expected) -> None:
    west, south, east, north = (
        read_communes(oracle.manifest.communes).frame.to_crs(4326).total_bounds
    )
    for collection in (outputs.communes, outputs.districts):
        assert collection["type"] == "FeatureCollection"
        assert "crs" not in collection or "CRS84" in str(collection["crs"])
        for feature in collection["features"]:
            assert feature["type"] == "Feature"
            assert isinstance(feature["properties"], dict)
            for x, y in iter_positions(feature["geometry"]["coordinates"]):
                assert west - 0.01 <= x <= east + 0.01, f"longitude {x} out of place"
                assert south - 0.01 <= y <= north + 0.01, f"latitude {y} out of place"


def test_district_values(outputs: Outputs, oracle: Expected) -> None:
    got = _by_code(outputs.districts, "district_code")
    assert set(got) == set(oracle.districts), "one Feature per district, none without"
    problems = []
    for code, want in oracle.districts.items():
        keys = ["district_name", *INDICATORS, *_layer_fields(oracle)]
        keys += [k for k in DISTRICT_OPTIONAL if k in got[code]]
        problems += compare_rows(f"district {code}", got[code], want, keys)
    assert not problems, report(problems)


def test_district_geometry_holds_its_communes(
    outputs: Outputs, oracle: Expected
) -> None:
    communes = {
        f["properties"]["commune_code"]: shape(f["geometry"])
        for f in outputs.communes["features"]
    }
    for feature in outputs.districts["features"]:
        code = feature["properties"]["district_code"]
        district = shape(feature["geometry"]).buffer(1e-9)
        members = [c for c in oracle.communes if c["district_code"] == code]
        for member in members:
            point = communes[member["commune_code"]].representative_point()
            assert district.covers(point), (
                f"district {code} misses {member['commune_code']}"
            )


def _province(outputs: Outputs, oracle: Expected) -> dict[str, Any]:
    """Province totals are over households assigned to a commune.

    The contract leaves this open; the engine states it in ``definitions.households``
    ("households assigned to a commune; unassigned_households are outside every
    commune"), so the totals are checked against the assigned base, and the unassigned
    households only through ``unassigned_households`` and the cells table.
    """
    del outputs
    return oracle.province_assigned


def test_summary_values(outputs: Outputs, oracle: Expected) -> None:
    want = _province(outputs, oracle)
    keys = [
        "households", "unassigned_households", "overlap_households", "fibre_households",
        "fibre_pct", "fibre_gap_households", "mobile_pct", "mobile_5g_pct", "communes",
        "communes_with_households", "communes_mobile_covered", "mobile_commune_pct",
    ]  # fmt: skip
    keys += [
        k for k in ("mobile_households", "mobile_5g_households") if k in outputs.summary
    ]
    problems = compare_rows("summary", outputs.summary, want, keys)
    for flag in ("fibre_target_met", "mobile_target_met"):
        found = find_key(outputs.summary, flag)
        if not found:
            problems.append(f"summary: no {flag!r} anywhere")
        problems += [f"summary: {flag}={v!r}, expected {want[flag]}" for v in found
                     if v is not want[flag]]  # fmt: skip
    for target, value in oracle.manifest.targets.items():
        if not any(v == value for v in find_key(outputs.summary, target)):
            problems.append(f"summary: target {target}={float(value)} not reported")
    assert not problems, report(problems)


def test_summary_layers(outputs: Outputs, oracle: Expected) -> None:
    want = _province(outputs, oracle)
    layers = {entry["id"]: entry for entry in outputs.summary["layers"]}
    assert set(layers) == {layer.id for layer in oracle.manifest.layers}
    problems = []
    for layer in oracle.manifest.layers:
        entry, slug = layers[layer.id], layer.slug
        expect = {
            "slug": slug,
            "kind": layer.kind,
            "technology": layer.technology,
            "operator": layer.operator,
            "source": oracle.layer_sources[slug],
            "households": want[f"layer_{slug}_households"],
            "pct": want[f"layer_{slug}_pct"],
        }
        problems += compare_rows(f"layer {layer.id}", entry, expect, list(expect))
    assert not problems, report(problems)


def test_summary_names_definitions_and_input_checksums(
    outputs: Outputs, oracle: Expected
) -> None:
    assert "definitions" in outputs.summary, (
        "summary.json must state the definitions used"
    )
    strings = all_strings(outputs.summary)
    manifest = oracle.manifest
    inputs = [manifest.path, manifest.communes["path"], manifest.households["path"]]
    inputs += [layer.path for layer in manifest.layers]
    missing = []
    for path in inputs:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in strings:
            missing.append(f"{path.name} (sha256 {digest[:12]}...)")
    assert not missing, f"summary.json has no SHA-256 of the bytes of {missing}"
    assert manifest.name in strings, "region name (with diacritics) kept exactly"


def test_cells_schema(outputs: Outputs, oracle: Expected) -> None:
    schema = outputs.cells.schema
    missing = [c for c in oracle.cell_columns if c not in schema.names]
    assert not missing, f"cells.parquet lacks {missing}"
    for name in ("h3", "commune_code"):
        kind = schema.field(name).type
        assert pa.types.is_string(kind) or pa.types.is_large_string(kind), (name, kind)
    for name in oracle.cell_columns[2:]:
        assert pa.types.is_integer(schema.field(name).type), (
            name,
            schema.field(name).type,
        )


def test_cells_rows(outputs: Outputs, oracle: Expected) -> None:
    columns = list(oracle.cell_columns)
    table = outputs.cells.select(columns).to_pylist()
    got = [tuple(row[c] for c in columns) for row in table]
    assert len(got) == len(set(got)), "one row per (h3, commune_code)"
    extra, missing = set(got) - oracle.cells, oracle.cells - set(got)
    detail = (
        f"{columns}\nunexpected: {sorted(extra, key=str)[:5]}"
        f"\nmissing: {sorted(missing, key=str)[:5]}"
    )
    assert not extra and not missing, detail


def test_cells_add_up_to_every_household(outputs: Outputs, oracle: Expected) -> None:
    table = outputs.cells.to_pydict()
    for count in COUNTS:
        assert sum(table[count]) == oracle.province_all[count]


def test_codes_stay_strings(outputs: Outputs) -> None:
    codes = [f["properties"]["commune_code"] for f in outputs.communes["features"]]
    assert all(isinstance(code, str) for code in codes), codes


def test_region_crs_is_utm_49n(oracle: Expected) -> None:
    """Guards the worlds themselves: distances are measured where the docs say."""
    from .bruteforce import metric_crs

    communes = read_communes(oracle.manifest.communes)
    assert metric_crs(communes).equals(pyproj.CRS.from_epsg(32649))
    assert shapely.is_valid(communes.geoms).all()


def test_polygon_rings_follow_the_right_hand_rule(outputs: Outputs) -> None:
    """RFC 7946 section 3.1.6: exterior rings counter-clockwise, holes clockwise."""
    problems = []
    for collection, key in (
        (outputs.communes, "commune_code"),
        (outputs.districts, "district_code"),
    ):
        for feature in collection["features"]:
            geometry = feature["geometry"]
            polygons = (
                [geometry["coordinates"]]
                if geometry["type"] == "Polygon"
                else geometry["coordinates"]
            )
            for rings in polygons:
                for i, ring in enumerate(rings):
                    ccw = shapely.LinearRing(ring).is_ccw
                    if ccw != (i == 0):
                        kind = "exterior" if i == 0 else "hole"
                        problems.append(
                            f"{feature['properties'][key]}: {kind} ring winds the wrong way"
                        )
    assert not problems, report(problems)
