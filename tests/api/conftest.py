"""A tiny results folder, written by hand to the output contract of ``geodx run``.

Five communes in two districts (one without households, one whose name holds
``<``, ``"`` and ``&``), households on a grid, three layers; every figure is
aggregated here the way docs/definitions.md defines it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import h3
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from api.main import create_app
from api.settings import Settings

RES = 9
TARGET_FIBRE = 90
TARGET_MOBILE_HH = 95
SPECIAL_NAME = 'Xã Ea <Tu> "Mới" & Co'
# code, name, district code, district name, west, south, fibre share of columns, 4G rows
COMMUNES = [
    ("24121", "Xã Hòa Phú", "643", "Thành phố Buôn Ma Thuột", 108.00, 12.60, 1.0, 6),
    (
        "24115",
        "Phường Tân Lập",
        "643",
        "Thành phố Buôn Ma Thuột",
        108.02,
        12.60,
        0.5,
        5,
    ),
    ("24133", SPECIAL_NAME, "643", "Thành phố Buôn Ma Thuột", 108.04, 12.60, 0.17, 6),
    ("24340", "Xã Đắk Liêng", "654", "Huyện Lắk", 108.00, 12.62, 0.84, 3),
    ("24343", "Xã Buôn Triết", "654", "Huyện Lắk", 108.02, 12.62, 0.0, 0),
]
SIZE = 0.02
LAYERS = [
    {
        "id": "vnpt-fibre",
        "slug": "vnpt_fibre",
        "kind": "fibre",
        "technology": None,
        "operator": "VNPT",
        "source": "polygons",
    },
    {
        "id": "viettel-4g",
        "slug": "viettel_4g",
        "kind": "mobile",
        "technology": "4G",
        "operator": "Viettel",
        "source": "raster",
    },
    {
        "id": "Viettel 5G",
        "slug": "viettel_5g",
        "kind": "mobile",
        "technology": "5G",
        "operator": "Viettel",
        "source": "raster",
    },
]


def households() -> pd.DataFrame:
    """Household points with weights, commune codes and per-layer coverage flags."""
    rows = []
    for code, _, _, _, west, south, fibre_share, rows_4g in COMMUNES:
        if code == "24343":
            continue
        for i in range(6):
            for j in range(6):
                lon, lat = west + 0.0015 + i * 0.003, south + 0.0015 + j * 0.003
                rows.append(
                    {
                        "lon": lon,
                        "lat": lat,
                        "weight": (i + j) % 3 + 1,
                        "commune_code": code,
                        "vnpt_fibre": i < round(fibre_share * 6),
                        "viettel_4g": j < rows_4g,
                        "viettel_5g": code == "24121" and i < 3,
                    }
                )
    for k in range(3):  # outside every commune
        rows.append(
            {
                "lon": 108.07 + 0.002 * k,
                "lat": 12.61,
                "weight": 2,
                "commune_code": None,
                "vnpt_fibre": k == 0,
                "viettel_4g": True,
                "viettel_5g": False,
            }
        )
    hh = pd.DataFrame(rows)
    hh["h3"] = [
        h3.latlng_to_cell(la, lo, RES)
        for lo, la in zip(hh["lon"], hh["lat"], strict=True)
    ]
    hh["fibre"] = hh["vnpt_fibre"]
    hh["mobile"] = hh["viettel_4g"] | hh["viettel_5g"]
    hh["mobile_5g"] = hh["viettel_5g"]
    return hh


def _pct(covered: int, total: int) -> float | None:
    return None if total == 0 else round(100 * covered / total, 4)


def _sums(hh: pd.DataFrame) -> dict[str, Any]:
    w = hh["weight"]
    out: dict[str, Any] = {"households": int(w.sum())}
    for ind in ("fibre", "mobile", "mobile_5g"):
        out[f"{ind}_households"] = int(w[hh[ind]].sum())
        out[f"{ind}_pct"] = _pct(out[f"{ind}_households"], out["households"])
    for layer in LAYERS:
        s = layer["slug"]
        out[f"layer_{s}_households"] = int(w[hh[s]].sum())
        out[f"layer_{s}_pct"] = _pct(out[f"layer_{s}_households"], out["households"])
    h, f, m = out["households"], out["fibre_households"], out["mobile_households"]
    out["fibre_target_met"] = None if h == 0 else f * 100 >= TARGET_FIBRE * h
    out["fibre_gap_households"] = max(0, math.ceil(Fraction(TARGET_FIBRE, 100) * h) - f)
    out["mobile_covered"] = None if h == 0 else m * 100 >= TARGET_MOBILE_HH * h
    return out


def _write_geojson(path: Path, features: list[dict[str, Any]]) -> None:
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def write_results(out: Path, *, synthetic: bool = True) -> Path:
    """Write communes.geojson, districts.geojson, summary.json and cells.parquet."""
    out.mkdir(parents=True, exist_ok=True)
    hh = households()
    communes, boxes = [], {}
    for code, name, dcode, dname, west, south, *_ in COMMUNES:
        boxes[code] = shapely.box(west, south, west + SIZE, south + SIZE, ccw=False)
        props = {
            "commune_code": code,
            "commune_name": name,
            "district_code": dcode,
            "district_name": dname,
            **_sums(hh[hh["commune_code"] == code]),
        }
        communes.append(
            {"type": "Feature", "geometry": mapping(boxes[code]), "properties": props}
        )
    _write_geojson(out / "communes.geojson", communes)
    districts = []
    for dcode in ("643", "654"):
        codes = [c[0] for c in COMMUNES if c[2] == dcode]
        dname = next(c[3] for c in COMMUNES if c[2] == dcode)
        geom = shapely.union_all([boxes[c] for c in codes])
        props = {
            "district_code": dcode,
            "district_name": dname,
            **_sums(hh[hh["commune_code"].isin(codes)]),
        }
        districts.append(
            {"type": "Feature", "geometry": mapping(geom), "properties": props}
        )
    _write_geojson(out / "districts.geojson", districts)
    counts = ["weight", "fibre", "mobile", "mobile_5g", *[x["slug"] for x in LAYERS]]
    weighted = hh.assign(**{c: hh["weight"] * hh[c] for c in counts[1:]})
    cells = (
        weighted.groupby(["h3", "commune_code"], dropna=False)[counts]
        .sum()
        .reset_index()
    )
    cells = cells.rename(
        columns={
            "weight": "households",
            "fibre": "fibre_households",
            "mobile": "mobile_households",
            "mobile_5g": "mobile_5g_households",
            **{x["slug"]: f"layer_{x['slug']}_households" for x in LAYERS},
        }
    )
    cells["commune_code"] = (
        cells["commune_code"].astype(object).where(cells["commune_code"].notna(), None)
    )
    cells.to_parquet(out / "cells.parquet", index=False)
    # plan.parquet (planning endpoints): the households without fibre, fixture metres
    plan = hh[~hh["fibre"]]
    pd.DataFrame(
        {
            "commune_code": plan["commune_code"].astype(object),
            "h3": plan["h3"],
            "households": plan["weight"].astype("int64"),
            "extension_m": (plan["lon"] * 1e5 % 997).round(1),
        }
    ).to_parquet(out / "plan.parquet", index=False)
    total = _sums(hh[hh["commune_code"].notna()])  # households in communes
    with_hh = [c for c in communes if c["properties"]["households"] > 0]
    covered = sum(bool(c["properties"]["mobile_covered"]) for c in with_hh)
    summary = {
        "region": "Tỉnh Đắk Lắk (thử nghiệm)",
        "h3_resolution": RES,
        "synthetic": synthetic,
        **{k: v for k, v in total.items() if not k.startswith("layer_")},
        "unassigned_households": int(hh.loc[hh["commune_code"].isna(), "weight"].sum()),
        "communes": len(communes),
        "communes_with_households": len(with_hh),
        "communes_mobile_covered": covered,
        "mobile_commune_pct": round(100 * covered / len(with_hh), 4),
        "targets": {
            "fibre_household_pct": TARGET_FIBRE,
            "mobile_commune_pct": 100,
            "mobile_commune_household_pct": TARGET_MOBILE_HH,
        },
        "definitions": {
            "fibre": "inside any fibre polygon or within 250 m of a fibre line"
        },
        "inputs": {"communes.geojson": "sha256:0"},
        "layers": [
            {
                **x,
                "households": total[f"layer_{x['slug']}_households"],
                "pct": total[f"layer_{x['slug']}_pct"],
            }
            for x in LAYERS
        ],
    }
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False), encoding="utf-8"
    )
    return out


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def client(results_dir: Path) -> Iterator[TestClient]:
    app = create_app(Settings(results_dir=results_dir, default_limit=2, max_limit=3))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def big_client(results_dir: Path) -> Iterator[TestClient]:
    """Default paging (100 a page): whole collections in one page."""
    app = create_app(Settings(results_dir=results_dir))
    with TestClient(app) as c:
        yield c


@contextmanager
def live_server(
    build: Callable[[str], Any], *, prefix: str = "", name: str = "live"
) -> Iterator[str]:
    """An app on a free 127.0.0.1 port, served by uvicorn in a thread: its base URL.

    ``build(base)`` makes the ASGI app for that base URL (``prefix`` a path under it).
    No second interpreter to start; the server stops when the block ends.
    """
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}{prefix}"
    config = uvicorn.Config(build(base), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "no server"
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
