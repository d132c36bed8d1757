"""The report of ``geodx run``: fibre gaps and 4G/5G misses, one commune a line."""

from __future__ import annotations

import pandas as pd

from geodx.report import report_lines

SUMMARY = {
    "region": "Tỉnh X (synthetic)",
    "synthetic": True,
    "households": 30,
    "communes": 3,
    "unassigned_households": 0,
    "overlap_households": 0,
    "fibre_pct": 50.0,
    "fibre_target_met": False,
    "fibre_gap_households": 12,
    "mobile_commune_pct": 33.33,
    "communes_mobile_covered": 1,
    "communes_with_households": 3,
    "mobile_target_met": False,
    "mobile_pct": 80.0,
    "mobile_5g_pct": 0.0,
    "targets": {
        "fibre_household_pct": 90,
        "mobile_commune_pct": 100,
        "mobile_commune_household_pct": 95,
    },
}


def test_communes_missing_the_mobile_target_are_listed_least_covered_first() -> None:
    communes = pd.DataFrame(
        {
            "commune_code": ["1", "2", "3", "4"],
            "commune_name": ["Xã A", "Xã {{ 7*7 }}", "Xã C", "Xã D"],
            "district_name": [None, "Huyện B", None, None],
            "fibre_pct": [100.0, 10.0, 50.0, None],
            "fibre_gap_households": [0, 9, 1, 0],
            "mobile_pct": [100.0, 50.0, 90.0, None],
            "mobile_covered": [True, False, False, None],
            "mobile_gap_households": [0, 5, 1, 0],
        }
    )
    lines = report_lines(SUMMARY, communes)
    at = lines.index(
        "  communes not 4G/5G-covered (< 95% of households): 2; least covered:"
    )
    assert lines[at + 1 :] == [
        "    2  Xã {{ 7*7 }}, Huyện B: 50.0% of households — 5 households missing",
        "    3  Xã C: 90.0% of households — 1 household missing",
    ]
    assert "    3  Xã C: 50.0% — 1 household missing" in lines
