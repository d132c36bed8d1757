"""A census row of a district dissolved before 2024: its name within its province."""

from __future__ import annotations

from geodx.carry import carry_households
from geodx.carry_names import LegacyCommune, LegacyNames
from geodx.carry_scope import CensusRow, Communes, Crosswalk

# Old 79: Quận 2 and Quận 9 became Thành phố Thủ Đức (769) in 2021; the legacy list
# (2025-03) knows their communes only under 769.
LEGACY = LegacyNames(
    [
        LegacyCommune("79", "769", "26794", "Phường Thảo Điền", "Thành phố Thủ Đức"),
        LegacyCommune("79", "769", "26800", "Phường An Phú", "Thành phố Thủ Đức"),
        LegacyCommune("79", "760", "26734", "Phường An Phú", "Quận 1"),  # not unique
    ]
)
NEW = Communes(
    names={"26740": "Phường An Khánh", "26760": "Phường Bình Trưng"},
    provinces={"26740": "79", "26760": "79"},
)
TO_NEW = Crosswalk(
    target={"26794": "26740", "26800": "26760", "26734": "26760"},
    new_provinces={"26740": "79", "26760": "79"},
)


def test_a_unique_old_name_of_the_province_is_found_without_its_district() -> None:
    rows = [
        CensusRow(None, "Phường Thảo Điền", 7286, "79", None, "TP HCM", "Quận 2"),
        CensusRow(None, "Phường An Phú", 500, "79", None, "TP HCM", "Quận 2"),
    ]
    report = carry_households(rows, NEW, TO_NEW, LEGACY)
    # Brute force: Thảo Điền is one old commune of 79 (-> 26740); An Phú is two.
    assert report.per_commune == {"26740": 7286}
    assert report.rows_by_rule == {"name": 1, "not-placed": 1}
    [entry] = report.not_placed
    assert (entry.name, entry.households) == ("Phường An Phú", 500)
    assert entry.reason.endswith("old district unknown")


def test_a_known_district_still_looks_only_there() -> None:
    # District 760 is known: Thảo Điền is not one of its communes, so no name match.
    rows = [CensusRow(None, "Phường Thảo Điền", 9, "79", "760")]
    report = carry_households(rows, NEW, TO_NEW, LEGACY)
    assert report.per_commune == {}
    assert report.rows_by_rule == {"not-placed": 1}
