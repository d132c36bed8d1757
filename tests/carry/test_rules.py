"""The rules of ``geodx counts`` on small made-up tables, against naive recomputations."""

from __future__ import annotations

import math
import random

import pytest

from geodx.carry import apportion, carry_households
from geodx.carry_names import LegacyCommune, LegacyNames, legacy_names, name_key
from geodx.carry_scope import CensusRow, Communes, Crosswalk

# New province 66 = old 66 + old 54; province 92 elsewhere.
NEW = Communes(
    names={
        "10001": "Xã Hòa Phú",
        "10002": "Phường Tân An",
        "10003": "Xã Ea H'Leo",
        "10004": "Xã Krông Pắc",
        "31001": "Xã Hòa Phú",
    },
    provinces={
        "10001": "66",
        "10002": "66",
        "10003": "66",
        "10004": "66",
        "31001": "92",
    },
)


def test_apportion_is_whole_and_largest_remainder() -> None:
    rng = random.Random(7)
    for _ in range(300):
        total = rng.randrange(0, 5000)
        weights = {f"{i:05d}": rng.choice([0.0, rng.random() * 10]) for i in range(6)}
        if not any(weights.values()):
            continue
        got = apportion(total, weights)
        assert sum(got.values()) == total
        whole = sum(weights.values())
        for code, w in weights.items():
            quota = total * w / whole
            # Each share is its quota rounded down or up: never further away.
            assert math.floor(quota) <= got.get(code, 0) <= math.floor(quota) + 1


def test_a_split_commune_is_shared_equally_without_shares() -> None:
    crosswalk = Crosswalk(
        target={"20001": "10001"},
        targets={"20001": (("10001", None), ("10002", None), ("10004", None))},
    )
    rows = [CensusRow("20001", "Xã X", 100, "66")]
    report = carry_households(rows, NEW, crosswalk)
    assert report.per_commune == {"10001": 34, "10002": 33, "10004": 33}
    assert report.rows_by_rule == {"split": 1}


def test_a_split_commune_follows_the_crosswalks_shares() -> None:
    crosswalk = Crosswalk(
        target={"20001": "10001"},
        targets={"20001": (("10001", 0.75), ("10002", 0.25))},
    )
    report = carry_households([CensusRow("20001", "Xã X", 1001, "66")], NEW, crosswalk)
    assert report.per_commune == {"10001": 751, "10002": 250}


def test_a_split_part_in_another_province_is_never_used() -> None:
    crosswalk = Crosswalk(
        target={"20001": "10001"},
        targets={"20001": (("10001", None), ("31001", None))},
        new_provinces={"10001": "66", "31001": "92"},
    )
    report = carry_households([CensusRow("20001", "Xã X", 90, "66")], NEW, crosswalk)
    assert report.per_commune == {"10001": 90}
    assert report.rows_by_rule == {"crosswalk": 1}


def test_name_keys_forgive_prefix_case_apostrophe_and_tone_placement() -> None:
    assert name_key("Thị trấn Hoà Hiệp Trung") == name_key("Phường Hòa Hiệp Trung")
    assert name_key("Xã Ea H’leo") == name_key("xã  EA H'LEO") == name_key("Xã Ea Hleo")
    assert name_key("Xã Thuỷ An") == name_key("Xã Thủy An")
    assert name_key("Xã Hòa An") != name_key("Xã Hóa An")  # another tone: another name
    assert name_key("Xã Tân An") != name_key("Xã Tân Ân")


# Old communes (legacy list): old 66, districts 640 and 641; old 54, district 555.
LEGACY = LegacyNames(
    [
        LegacyCommune("66", "640", "20001", "Thị trấn Hòa Phú", "Huyện Cư Kuin"),
        LegacyCommune("66", "640", "20002", "Xã Ea H'Leo", "Huyện Cư Kuin"),
        LegacyCommune("66", "641", "20003", "Xã Hòa Phú", "Huyện Krông Pắc"),
        LegacyCommune("54", "555", "20004", "Phường Tân An", "Thành phố Tuy Hoà"),
    ]
)
TO_NEW = Crosswalk(
    target={"20001": "10001", "20002": "10003", "20003": "10004", "20004": "10002"},
    new_provinces=dict.fromkeys(("10001", "10002", "10003", "10004"), "66"),
)


def test_names_find_old_codes_within_the_district_then_the_crosswalk() -> None:
    rows = [
        # Xã became Thị trấn, Hoà/Hòa; district by name (its type changed too).
        CensusRow(None, "Xã Hoà Phú", 10, "66", None, "Tỉnh Đắk Lắk", "Thị xã Cư Kuin"),
        # The same name in the other district goes to that district's commune.
        CensusRow(None, "Xã Hòa Phú", 20, "66", "641"),
        # Apostrophe and case.
        CensusRow(None, "Xã Ea H’leo", 30, "66", "640"),
        # Old Phú Yên: Tuy Hòa's district spelt with Hoà.
        CensusRow(None, "Phường Tân An", 40, "54", None, None, "Thành phố Tuy Hòa"),
        # (A coded row of old 54: the crosswalk takes old 54 into the new 66.)
        CensusRow("20004", "Phường Tân An", 1, "54", "555"),
    ]
    report = carry_households(rows, NEW, TO_NEW, LEGACY)
    assert report.rows_by_rule == {"crosswalk": 1, "name": 4}
    assert report.per_commune == {"10001": 10, "10002": 41, "10003": 30, "10004": 20}
    assert [p.district for p in report.placements] == ["640", "641", "640", "555"] + [
        "555"
    ]


def test_without_a_district_a_shared_old_name_falls_back_to_the_new_names() -> None:
    # Xã Hòa Phú is in two old districts; by the new names it is one commune of 66.
    rows = [CensusRow(None, "Xã Hoà Phú", 5, "66")]
    report = carry_households(rows, NEW, TO_NEW, LEGACY)
    assert report.per_commune == {"10001": 5}
    assert report.rows_by_rule == {"name": 1}


def test_the_real_legacy_list_knows_renamed_prefixes() -> None:
    legacy = legacy_names()
    district = legacy.district_of("54", "Huyện Đông Hòa")  # a thị xã since 2020
    assert district == "564"
    assert legacy.code_of("54", "564", "Thị trấn Hoà Hiệp Trung") == "22261"
    assert legacy.code_of("66", "648", "Xã Ea H'Đing") == "24274"
    assert legacy.code_of("54", "555", "Phường 3") is None  # merged before 2025


def naive_district_spread(
    rows: list[CensusRow], crosswalk: dict[str, str], provinces: dict[str, str]
) -> dict[str, float]:
    """Rule 1 for coded rows, then rule 5 for the rest, written out the plain way."""
    per: dict[str, float] = {}
    reached: dict[str, dict[str, float]] = {}
    for r in rows:
        new = crosswalk.get(r.code or "")
        if new is not None and provinces[new] == "66":
            per[new] = per.get(new, 0) + r.households
            d = reached.setdefault(str(r.district), {})
            d[new] = d.get(new, 0) + r.households
    for r in rows:
        new = crosswalk.get(r.code or "")
        if new is None or provinces[new] != "66":
            d = reached.get(str(r.district), {})
            total = sum(d.values())
            for code, n in d.items():
                per[code] = per.get(code, 0) + r.households * n / total
    return per


@pytest.mark.parametrize("seed", range(5))
def test_unmatched_rows_are_spread_over_their_district_as_matched_ones(
    seed: int,
) -> None:
    rng = random.Random(seed)
    new_codes = [f"1{i:04d}" for i in range(12)]
    provinces = {c: "66" if i < 9 else "92" for i, c in enumerate(new_codes)}
    communes = Communes(
        names={c: f"Xã N{c}" for c in new_codes},
        provinces=provinces,
    )
    crosswalk = {f"2{i:04d}": rng.choice(new_codes[:9]) for i in range(40)}
    rows = []
    for i in range(60):
        district = rng.choice(["640", "641", "642"])
        code = f"2{i:04d}" if i < 40 else None  # the last 20 match nothing
        rows.append(CensusRow(code, f"Xã O{i}", rng.randrange(1, 3000), "66", district))
    report = carry_households(
        rows, communes, Crosswalk(crosswalk, new_provinces=provinces)
    )
    expected = naive_district_spread(rows, crosswalk, provinces)
    assert set(report.per_commune) == set(expected)
    for code, n in report.per_commune.items():
        assert abs(n - expected[code]) <= 20  # whole households: < 1 per spread row
    assert report.carried_households == sum(r.households for r in rows)
    assert report.rows_by_rule == {"crosswalk": 40, "district-spread": 20}
    for p in report.placements:
        assert p.rule != "district-spread" or "no code" in p.reason


def test_a_district_nothing_reached_is_not_placed() -> None:
    rows = [
        CensusRow("x", "Xã A", 10, "66", "640"),
        CensusRow(None, "Xã B", 7, "66", "641"),
    ]
    crosswalk = Crosswalk({"x": "10001"}, new_provinces={"10001": "66"})
    report = carry_households(rows, NEW, crosswalk)
    assert report.per_commune == {"10001": 10}
    [entry] = report.not_placed
    assert (entry.households, entry.reason) == (
        7,
        "no code; name not found in its district or province; no row matched",
    )


NEW_PROVINCE = {"66": "66", "54": "66", "92": "92"}  # the 2025 merger


@pytest.mark.parametrize("seed", range(5))
def test_no_row_ever_lands_in_another_province(seed: int) -> None:
    rng = random.Random(100 + seed)
    names = ["Xã Hòa Phú", "Xã Tân An", "Phường 1", "Xã Ea Kao"]  # in both provinces
    new = {p: [f"{p}{i:03d}" for i in range(8)] for p in ("66", "92")}
    communes = Communes(
        names={c: names[i % 4] for p in new for i, c in enumerate(new[p])},
        provinces={c: p for p in new for c in new[p]},
    )
    # Old codes of each new province; a row mostly has one of its own province's.
    old = {p: [f"{p}9{i:02d}" for i in range(15)] for p in new}
    targets = {
        o: tuple((rng.choice(new[p]), None) for _ in range(rng.randint(1, 3)))
        for p in old
        for o in old[p]
    }
    crosswalk = Crosswalk(
        {o: t[0][0] for o, t in targets.items()},
        new_provinces={c: c[:2] for c in communes.names},
        targets=targets,
    )
    rows = []
    for _ in range(80):
        province = rng.choice(["66", "54", "92", "01"])
        if province not in NEW_PROVINCE:  # its codes are none of the crosswalk's
            pool: list[str | None] = [None, f"{province}999", "66000"]
        elif rng.random() < 0.8:
            pool = list(old[NEW_PROVINCE[province]])
        else:
            pool = [*old["66"], *old["92"], None]
        code = rng.choice(pool)
        district = rng.choice(["640", "641"])
        rows.append(
            CensusRow(
                code, rng.choice(names), rng.randrange(1, 500), province, district
            )
        )
    report = carry_households(rows, communes, crosswalk)
    for r, p in zip(rows, report.placements, strict=True):
        if r.province not in NEW_PROVINCE:
            assert p.rule == "other-province"
        for code in p.targets:
            assert communes.provinces[code] == NEW_PROVINCE[str(r.province)]
    placed = report.carried_households + report.not_placed_households
    assert placed + report.outside_households == sum(r.households for r in rows)
