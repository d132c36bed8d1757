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


VIEWS = {
    **SUMMARY,
    "operators": [
        {"operator": "VNPT", "slug": "vnpt", "layers": {"fibre": ["f"], "mobile": []}},
        {"operator": "Viettel", "slug": "viettel", "layers": {"mobile": ["m"]}},
    ],
    "operator_vnpt_fibre_households": 15,
    "operator_vnpt_fibre_pct": 50.0,
    "operator_vnpt_mobile_households": None,
    "operator_vnpt_mobile_pct": None,
    "operator_viettel_fibre_households": None,
    "operator_viettel_fibre_pct": None,
    "operator_viettel_mobile_households": 24,
    "operator_viettel_mobile_pct": 80.0,
    "mobile_operators_0_households": 6,
    "mobile_operators_1_households": 24,
    "mobile_operators_2_households": 0,
    "mobile_operators_3plus_households": 0,
    "mobile_all_operators_households": 24,
    "mobile_indoor_households": 1,
    "mobile_indoor_pct": 3.3333,
    "mobile_households_minus3db": 20,
    "mobile_households_plus3db": 26,
    "communes_mobile_covered_sensitive": 1,
    "measured_ookla_households": 10,
    "measured_ookla_below_households": 5,
    "measured_ookla_too_few_tests_households": 15,
    "measured_ookla_untested_households": 12,
    "mobile_covered_measured_below_households": 4,
    "definitions": {
        "measured_layers": [
            {"id": "ookla", "slug": "ookla", "min_download_mbps": 10.0, "min_tests": 3}
        ]
    },
}
ONE = pd.DataFrame(
    {
        "commune_code": ["1"],
        "commune_name": ["Xã Ea H’leo"],
        "district_name": [None],
        "fibre_pct": [100.0],
        "fibre_gap_households": [0],
        "mobile_pct": [100.0],
        "mobile_covered": [True],
    }
)


def test_the_report_gives_operators_indoor_margin_and_measured() -> None:
    lines = report_lines(VIEWS, ONE)
    at = lines.index("  per operator: households with its fibre · with its 4G/5G")
    assert lines[at + 1 : at + 9] == [
        "    VNPT     fibre        15 (50.00%)  4G/5G                  —",
        "    Viettel  fibre                  —  4G/5G        24 (80.00%)",
        "  4G/5G households by operators serving: 0: 6 · 1: 24 · 2: 0 · 3+: 0 · all: 24",
        "  4G/5G indoors: 1 (3.33%) of households",
        "  ±3 dB: 4G/5G households 20 at −3 dB to 26 at +3 dB; 1 commune changes"
        " 4G/5G status",
        "  measured ookla (>= 10 Mbit/s, >= 3 tests): 10 at or above, 5 below,"
        " 15 too few tests",
        "    covered by 4G/5G but measured below: 4 households",
        "  communes below the fibre target: 0; largest gaps:",
    ]


def test_the_report_says_the_views_are_estimates() -> None:
    summary = {**VIEWS, "households_estimated": True}
    summary["mobile_indoor_households"] = 1.25
    lines = report_lines(summary, ONE)
    assert "  4G/5G indoors (estimated): 1.2 (3.33%) of households" in lines
    assert any(x.startswith("  per operator (estimated):") for x in lines)
    assert any(x.startswith("  ±3 dB (estimated):") for x in lines)


def test_results_without_views_give_no_view_lines() -> None:
    lines = report_lines(SUMMARY, ONE)
    assert not [x for x in lines if "operator" in x or "dB" in x or "measured" in x]
