"""The results contract end to end: what ``geodx run`` writes is what the service reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from geodx.contract import input_path
from geodx.contract_figures import (
    gap,
    target_met,
)
from geodx.contract_geojson import (
    collection_bytes,
    feature_bytes,
)
from geodx.contract_names import (
    CELL_COLUMNS,
    COMMUNE_COLUMNS,
    GAP_COLUMNS,
    OUTPUT_FILES,
    SUMMARY_KEYS,
)
from geodx.search import fold

FIBRE_TARGET = 90


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _region(root: Path, elsewhere: Path) -> Path:
    """Two communes, fractional household weights, a fibre polygon outside the folder."""
    root.mkdir()
    elsewhere.mkdir()
    communes = [
        ("24001", "Xã Cư M’gar", "01", "Huyện Cư M’gar", box(108.0, 12.6, 108.01, 12.61)),
        ("24002", "=HYPERLINK(1)", "01", "Huyện Cư M’gar", box(108.01, 12.6, 108.02, 12.61)),
    ]  # fmt: skip
    _write(
        root / "communes.geojson",
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": mapping(g),
                    "properties": {
                        "commune_code": c,
                        "commune_name": n,
                        "district_code": d,
                        "district_name": dn,
                    },
                }
                for c, n, d, dn, g in communes
            ],
        },
    )
    rows = []  # commune 1: 9.3 of 10.3 households covered (90.3%: met, no gap)
    for i in range(10):
        rows.append((108.0005 + i * 0.0009, 12.605, 0.93 if i < 10 else 0))
    rows.append((108.0095, 12.609, 1.0))  # not covered
    for i in range(10):  # commune 2: 7.5 of 10.3 covered -> 1.77 missing -> gap 2
        rows.append((108.0105 + i * 0.0009, 12.605, 0.75 if i < 10 else 0))
    rows.append((108.0195, 12.609, 2.8))  # not covered
    hh = pd.DataFrame(rows, columns=["lon", "lat", "households"])
    hh.to_csv(root / "households.csv", index=False)
    fibre = box(108.0, 12.6, 108.02, 12.607)
    _write(
        elsewhere / "fibre.geojson",
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": mapping(fibre), "properties": {}}
            ],
        },
    )
    (root / "region.toml").write_text(
        f"""[region]
name = "Test"
h3_resolution = 9
synthetic = true

[communes]
path = "communes.geojson"

[households]
path = "households.csv"
weight = "households"

[[layers]]
id = "fibre"
kind = "fibre"
operator = "VNPT"
path = "{(elsewhere / "fibre.geojson").as_posix()}"

[targets]
fibre_household_pct = {FIBRE_TARGET}
""",
        encoding="utf-8",
    )
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TestClient]]:
    from api.main import create_app
    from api.settings import Settings
    from app.pipeline import run_region

    tmp = tmp_path_factory.mktemp("contract")
    region = _region(tmp / "region", tmp / "elsewhere")
    run_region(region, tmp / "out")
    app = create_app(Settings(results_dir=tmp / "out", warm_maps=False))
    with TestClient(app) as client:
        yield tmp / "out", client


def _read(out: Path, name: str) -> Any:
    return json.loads((out / name).read_text(encoding="utf-8"))


def test_the_run_writes_the_contract_files(run: tuple[Path, TestClient]) -> None:
    out, _ = run
    assert all((out / name).is_file() for name in OUTPUT_FILES)
    for feature in _read(out, "communes.geojson")["features"]:
        assert set(COMMUNE_COLUMNS) <= set(feature["properties"])
    assert set(SUMMARY_KEYS) <= set(_read(out, "summary.json"))
    assert set(CELL_COLUMNS) <= set(pd.read_parquet(out / "cells.parquet").columns)


def test_fractional_weights_gap_is_zero_exactly_when_met(
    run: tuple[Path, TestClient],
) -> None:
    out, client = run
    props = {
        f["properties"]["commune_code"]: f["properties"]
        for f in _read(out, "communes.geojson")["features"]
    }
    one, two = props["24001"], props["24002"]
    assert one["fibre_target_met"] is True and one["fibre_gap_households"] == 0
    assert two["fibre_target_met"] is False and two["fibre_gap_households"] == 2
    for p in props.values():  # the mobile gap too: nobody has mobile here
        assert p["mobile_covered"] is False
        assert p[GAP_COLUMNS["mobile"]] == gap(0, p["households"], 95)
        assert isinstance(p[GAP_COLUMNS["mobile"]], int)
    body = client.get("/gaps?indicator=mobile").json()
    assert {g["commune_code"]: g["gap_households"] for g in body["gaps"]} == {
        c: p[GAP_COLUMNS["mobile"]] for c, p in props.items()
    }
    report = client.get("/communes/24002").json()
    by = {t["indicator"]: t for t in report["targets"]}
    assert by["fibre"]["gap_households"] == 2
    assert by["mobile"]["gap_households"] == two[GAP_COLUMNS["mobile"]] == 10
    summary = _read(out, "summary.json")
    assert summary["fibre_target_met"] is (summary["fibre_gap_households"] == 0)


def test_every_geojson_written_and_served_is_marked_synthetic(
    run: tuple[Path, TestClient],
) -> None:
    out, client = run
    assert _read(out, "communes.geojson")["synthetic"] is True
    assert _read(out, "districts.geojson")["synthetic"] is True
    for cid in ("communes", "districts", "cells", "gaps"):
        page = client.get(f"/collections/{cid}/items")
        assert page.json()["synthetic"] is True, cid
        fid = page.json()["features"][0]["id"]
        one = client.get(f"/collections/{cid}/items/{fid}").json()
        assert one["synthetic"] is True and one["type"] == "Feature", cid


def test_no_absolute_path_in_the_summary(run: tuple[Path, TestClient]) -> None:
    out, client = run
    for summary in (_read(out, "summary.json"), client.get("/summary").json()):
        paths = {i["role"]: i["path"] for i in summary["inputs"]}
        assert paths["layer:fibre"] == "fibre.geojson"
        assert paths["households"] == "households.csv"
        assert not any(Path(p).is_absolute() for p in paths.values())
        assert str(out.parent) not in json.dumps(summary)


def test_search_folds_apostrophes_and_finds_a_districts_communes(
    run: tuple[Path, TestClient],
) -> None:
    _, client = run
    for q in ("cu mgar", "Cư M'gar", "CƯ M’GAR", "cumgar", "cư-m’gar"):
        codes = [
            c["commune_code"] for c in client.get(f"/communes?q={q}").json()["communes"]
        ]
        assert codes == ["24001", "24002"], q  # the commune first, then its district's


def test_writer_and_service_serialise_alike(run: tuple[Path, TestClient]) -> None:
    out, client = run
    written = _read(out, "communes.geojson")["features"]
    served = client.get("/collections/communes/items?limit=10").json()["features"]
    assert [f["geometry"] for f in served] == [f["geometry"] for f in written]
    assert [f["id"] for f in served] == [f["id"] for f in written]


def test_rfc7946_one_pass_rounds_then_orients() -> None:
    clockwise = shapely.Polygon([(0, 0), (0, 1.123456789), (1, 1), (1, 0)])
    frame = pd.DataFrame({"code": ["a"], "n": [float("nan")]})
    (feature,) = feature_bytes([clockwise], frame, ["a"])
    doc = json.loads(collection_bytes([feature], members={"synthetic": False}))
    assert doc["synthetic"] is False and doc["type"] == "FeatureCollection"
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert [0, 1.1234568] in ring
    assert shapely.Polygon(ring).exterior.is_ccw
    assert doc["features"][0]["properties"] == {"code": "a", "n": None}


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("cu mgar", "Xã Cư M’gar"),
        ("Cư M'gar", "Xã Cư M’gar"),
        ("mdrak", "Xã M’Drắk"),
        ("ea hleo", "Xã Ea H‘leo"),
        ("ea hleo", "Xã Ea Hʼleo"),
        ("dak lieng", "Xã Đắk-Liêng"),
    ],
)
def test_fold_apostrophes_and_punctuation(query: str, name: str) -> None:
    assert fold(query) in fold(name)


def test_real_2025_names_with_apostrophes_are_found() -> None:
    from geodx.search import NameSearch

    path = Path(__file__).parents[2] / ".." / "shared" / "data"
    path = path / "daklak_communes_2025.parquet"
    if not path.is_file():
        pytest.skip("real Đắk Lắk 2025 communes not available")
    real = pd.read_parquet(path, columns=["ward_code", "official_name"])
    communes = pd.DataFrame(
        {
            "commune_code": real["ward_code"].astype(str),
            "commune_name": real["official_name"].astype(str),
            "district_name": None,  # 2025 communes sit directly under the province
        }
    )
    assert communes["commune_name"].str.contains("’").sum() >= 5
    search = NameSearch.build(communes)
    for query, name in [
        ("cu mgar", "Xã Cư M’gar"),
        ("Cư M'gar", "Xã Cư M’gar"),
        ("mdrak", "Xã M’Drắk"),
        ("ea hleo", "Xã Ea H’leo"),
        ("EA M'DROH", "Xã Ea M’Droh"),
    ]:
        found = communes["commune_name"].iloc[search.find(query)].tolist()
        assert found[:1] == [name], (query, found)


def test_input_paths_are_never_absolute() -> None:
    assert input_path("/data/region/a/b.csv", "/data/region") == "a/b.csv"
    assert input_path("/home/me/secret/x.tif", "/data/region") == "x.tif"
    assert input_path("/home/me/x.tif", None) == "x.tif"


def test_fractional_flag_and_gap_agree_on_the_rule() -> None:
    assert target_met(9.3, 10.3, 90) and gap(9.3, 10.3, 90) == 0
