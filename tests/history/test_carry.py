"""A vintage on old communes carried to new ones: a generated merger, then the real one."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from app.history import carried, read_vintage
from geodx.carry_scope import Crosswalk
from geodx.history import (
    Vintage,
    commune_history,
    known_communes,
    record_vintage,
    vintages,
)
from geodx.history_carry import carry_communes

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
TARGETS = {"fibre_household_pct": 90.0, "mobile_commune_household_pct": 95.0,
           "mobile_commune_pct": 100.0}  # fmt: skip

# old communes: (code, households, fibre, mobile, 5G)
OLD = [("A1", 100, 95, 99, 10), ("A2", 50, 20, 40, 0), ("B1", 71, 70, 70, 7),
       ("C1", 9, 5, 9, 3), ("Z9", 12, 12, 12, 12)]  # fmt: skip
# A1 + A2 merge into N1; B1 stays as N2; C1 is split over N2 and N3; Z9 not listed
CROSSWALK = Crosswalk(
    target={"A1": "N1", "A2": "N1", "B1": "N2", "C1": "N2"},
    new_names={"N1": "Xã Mới ’{{", "N2": "Phường Hai", "N3": "Xã Ba"},
    targets={"C1": (("N2", None), ("N3", None))},
)


def props(code: str, h: int, f: int, m: int, m5: int) -> dict[str, Any]:
    return {"commune_code": code, "commune_name": f"old {code}", "district_code": "D",
            "households": h, "fibre_households": f, "mobile_households": m,
            "mobile_5g_households": m5, "layer_x_households": 1}  # fmt: skip


def naive(h: float, f: float, m: float) -> dict[str, Any]:
    """The contract's rules written again: pct, met, gap, commune rule."""
    return {
        "fibre_pct": round(100 * f / h, 4),
        "fibre_target_met": f * 100 >= 90 * h,
        "fibre_gap_households": max(0, math.ceil(0.9 * h - f - 1e-9)),
        "mobile_pct": round(100 * m / h, 4),
        "mobile_covered": m * 100 >= 95 * h,
    }


def test_a_merger_sums_counts_and_splits_by_the_counts_rule() -> None:
    rows, missing = carry_communes([props(*o) for o in OLD], CROSSWALK, TARGETS)
    by = {r["commune_code"]: r for r in rows}
    assert missing == ["Z9"] and set(by) == {"N1", "N2", "N3", "Z9"}
    # C1 split equally in whole households (largest remainder, ties to the smaller
    # code): 9 -> 5 + 4; its fibre 5 -> in proportion to those households: 3 + 2
    expected = {"N1": (150, 115, 139, 10), "N2": (71 + 5, 70 + 3, 70 + 5, 7 + 2),
                "N3": (4, 2, 4, 1), "Z9": (12, 12, 12, 12)}  # fmt: skip
    for code, (h, f, m, m5) in expected.items():
        row = by[code]
        assert (row["households"], row["fibre_households"], row["mobile_households"],
                row["mobile_5g_households"]) == (h, f, m, m5), code  # fmt: skip
        assert {k: row[k] for k in naive(h, f, m)} == naive(h, f, m), code
        assert row["district_code"] is None and "layer_x_households" not in row
    assert (
        by["N1"]["commune_name"] == "Xã Mới ’{{"
        and by["Z9"]["commune_name"] == "old Z9"
    )
    assert by["N1"]["carried_from"] == ["A1", "A2"]
    assert by["N3"]["carried_from"] == ["C1"]
    for key in ("households", "fibre_households", "mobile_households"):
        assert sum(r[key] for r in rows) == sum(props(*o)[key] for o in OLD)


def test_split_shares_and_estimates() -> None:
    shared = Crosswalk(
        target={"C1": "N2"}, targets={"C1": (("N2", 0.25), ("N3", 0.75))}
    )
    rows, _ = carry_communes([props("C1", 8, 6, 8, 4)], shared, TARGETS)
    assert [(r["households"], r["fibre_households"]) for r in rows] == [(2, 2), (6, 4)]
    estimate = props("C1", 9, 5, 9, 3) | {"households": 9.5}
    rows, _ = carry_communes([estimate], CROSSWALK, TARGETS, whole=False)
    assert [r["households"] for r in rows] == [4.75, 4.75]
    assert [r["fibre_households"] for r in rows] == [2.5, 2.5]
    for row in rows:
        assert (
            row["mobile_5g_households"] <= row["mobile_households"] <= row["households"]
        )


def test_a_carried_vintage_continues_the_new_communes_trend(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    old = Vintage(dt.date(2024, 12, 31), {"households": 242, "targets": TARGETS,
                                          "counts_exact": True, "communes": 5},
                  [props(*o) for o in OLD])  # fmt: skip
    new = [props("N1", 160, 150, 160, 40), props("N2", 80, 78, 80, 20),
           props("N3", 4, 4, 4, 1)]  # fmt: skip
    crosswalk = tmp_path / "crosswalk.csv"
    pl.DataFrame({"old_ward_code": ["A1", "A2", "B1", "C1", "C1"],
                  "new_ward_code": ["N1", "N1", "N2", "N2", "N3"],
                  "is_default": [True, True, True, True, False]}).write_csv(crosswalk)  # fmt: skip
    record_vintage(store, Vintage(dt.date(2025, 6, 30), {"households": 244}, new))
    known = known_communes(store)
    assert known == {"N1": "old N1", "N2": "old N2", "N3": "old N3"}
    vintage = carried(old, crosswalk, known=known)
    assert vintage.carried is not None and vintage.carried["not_in_crosswalk"] == ["Z9"]
    assert vintage.summary["communes"] == 4  # N1, N2, N3 and the unlisted Z9
    record_vintage(store, vintage)
    assert known_communes(store) == known  # a carried vintage is not a boundary
    history = commune_history(store, "N1")
    assert [(h["as_of"], h["households"], h["fibre_households"]) for h in history] == [
        ("2024-12-31", 150, 115), ("2025-06-30", 160, 150)]  # fmt: skip
    assert vintages(store)[0]["carried"]["crosswalk"] == "crosswalk.csv"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not here")
def test_the_real_crosswalk_carries_old_dak_lak_and_phu_yen_onto_the_102_communes() -> (
    None
):
    old = pl.read_parquet(DATA / "vn_communes_pre2025_points.parquet",
                          columns=["ward_code", "province_code"])  # fmt: skip
    old = old.filter(pl.col("province_code").is_in(["66", "54"]))
    communes = [props(code, 100 + i % 7, i % 90, 100, i % 3)
                for i, code in enumerate(old["ward_code"].to_list())]  # fmt: skip
    vintage = Vintage(dt.date(2024, 12, 31), {"targets": TARGETS}, communes)
    new = pl.read_parquet(DATA / "daklak_communes_2025.parquet",
                          columns=["ward_code", "official_name"])  # fmt: skip
    known = dict(zip(new["ward_code"], new["official_name"], strict=True))
    crosswalk = DATA / "vn_commune_crosswalk_2024_2025.parquet"
    got = carried(vintage, crosswalk, known=known)
    codes = {row["commune_code"] for row in got.communes}
    assert codes == set(new["ward_code"].to_list()), "every new commune, only those"
    assert got.carried is not None and got.carried["not_in_crosswalk"] == []
    for key in ("households", "fibre_households", "mobile_5g_households"):
        assert sum(r[key] for r in got.communes) == sum(c[key] for c in communes)


def test_geodx_run_crosswalk_records_a_results_folder_on_the_new_communes(
    tmp_path: Path,
) -> None:
    from app.history import record_run
    from tests.api.conftest import write_results

    out = write_results(tmp_path / "out")
    store = tmp_path / "h.sqlite"
    record_vintage(store, Vintage(dt.date(2025, 7, 31), {"targets": TARGETS},
                                  [props("99001", 1, 1, 1, 0) | {"commune_name": "Xã Mới"}]))  # fmt: skip
    crosswalk = tmp_path / "cw.csv"  # every old commune of the folder into one new one,
    first = read_vintage(out, dt.date(2024, 12, 31))  # spelt 99999 by the crosswalk
    codes = [c["commune_code"] for c in first.communes]
    pl.DataFrame({"old_ward_code": codes, "new_ward_code": ["99999"] * len(codes),
                  "new_ward_name": ["Phường Mới"] * len(codes)}).write_csv(crosswalk)  # fmt: skip
    got = record_run(store, out, dt.date(2024, 12, 31), crosswalk=crosswalk)
    assert [c["commune_code"] for c in got.communes] == ["99001"]  # by its name
    merged = commune_history(store, "99001")
    assert [h["as_of"] for h in merged] == ["2024-12-31", "2025-07-31"]
    assert merged[0]["households"] == sum(c["households"] for c in first.communes)
    assert merged[0]["carried_from"] == sorted(codes)
