"""Carrying census household counts onto the communes of a boundary file.

The 2019 census lists the communes of its day; the 2025 boundaries list the merged
communes. Each census row is matched to one boundary commune by the first rule that
applies:

1. ``crosswalk``: its code is an old code of the crosswalk, and the new code is in the
   boundaries. An old commune split among several new ones goes whole to its default
   target (``is_default``; the smallest new code when no default is marked).
2. ``crosswalk-name``: as 1, but the new code is not in the boundaries (sources disagree
   on codes); the crosswalk's new name matches exactly one boundary name.
3. ``code``: its code is itself a commune code of the boundaries.
4. ``name``: its name matches exactly one boundary name. Names are compared without the
   type prefix (Xã, Phường, Thị trấn ...), case and extra spaces.

Every rule looks only at the boundary communes of the row's own province, and of its
own district where both sides know it (see :mod:`data.scope`): a census row never lands
outside its province. Rows of provinces that are not in the boundaries are left out and
counted per province. Rows of the boundaries' provinces matching no rule (communes
renamed or merged between the census and the code list) are not placed; they are listed
with their province, district, code, name, households and the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data.scope import (
    ANY,
    UNKNOWN,
    CensusRow,
    Communes,
    Crosswalk,
    commune_provinces,
    normalise_code,
    normalise_name,
    row_scopes,
)
from geodx.errors import InputFileError, MissingColumn

__all__ = [
    "CarryReport",
    "CensusRow",
    "Communes",
    "Crosswalk",
    "NotPlaced",
    "carry_households",
    "normalise_code",
    "normalise_name",
    "pick_column",
    "read_census",
    "read_crosswalk",
    "read_table",
]

CODE_COLUMNS = ("ward_code_2024", "ward_code", "commune_code", "ma_xa", "code")
COUNT_COLUMNS = ("hh_total", "households", "so_ho")
NAME_COLUMNS = ("commune_name", "ward_name", "official_name", "ten_xa", "name")
PROVINCE_CODE_COLUMNS = ("province_code_2024", "province_code", "ma_tinh")
PROVINCE_NAME_COLUMNS = ("province_name", "ten_tinh")
DISTRICT_CODE_COLUMNS = ("district_code_2024", "district_code", "ma_huyen")
DISTRICT_NAME_COLUMNS = ("district_name", "ten_huyen")


@dataclass(frozen=True)
class NotPlaced:
    """A census row of the region's provinces that was not placed, and why."""

    province: str
    district: str
    code: str
    name: str
    households: int
    reason: str


@dataclass(frozen=True)
class CarryReport:
    """Where the census households went."""

    census_rows: int
    census_households: int
    per_commune: dict[str, int]
    rows_by_rule: dict[str, int]
    not_placed: list[NotPlaced]
    outside: dict[str, int]  # province (name or code) -> households left out

    @property
    def carried_households(self) -> int:
        """Households placed on a boundary commune."""
        return sum(self.per_commune.values())

    @property
    def not_placed_households(self) -> int:
        """Households of the region's provinces whose rows matched no commune."""
        return sum(r.households for r in self.not_placed)

    @property
    def outside_households(self) -> int:
        """Households of provinces that are not in the boundaries."""
        return sum(self.outside.values())

    @property
    def region_households(self) -> int:
        """Households of the census rows of the boundaries' provinces."""
        return self.census_households - self.outside_households

    def summary(self) -> str:
        """One line: placed, not placed and left-out households."""
        line = (
            f"{self.carried_households:,} of {self.region_households:,} census "
            f"households placed on {len(self.per_commune)} communes; "
            f"{self.not_placed_households:,} in {len(self.not_placed)} rows not placed"
        )
        if self.outside:
            line += (
                f"; {self.outside_households:,} households of {len(self.outside)} "
                "other province(s) left out"
            )
        return line


def pick_column(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str], path: Path
) -> str:
    """Return ``wanted`` or the first candidate present; raise naming file and field."""
    if wanted is not None:
        if wanted not in columns:
            raise MissingColumn(f"{path}: column {wanted!r} not found")
        return wanted
    for name in candidates:
        if name in columns:
            return name
    raise MissingColumn(f"{path}: none of the columns {', '.join(candidates)} found")


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate column present, or None."""
    return next((c for c in candidates if c in columns), None)


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet table with every column as text."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
            return frame.select(pl.all().cast(pl.String))
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputFileError(f"{path}: cannot read table ({exc})") from exc


def _count(path: Path, column: str, row: int, value: str | None) -> int:
    """A household count: a number, not negative; else one line naming the row."""
    try:
        n = round(float(value or 0))
    except (ValueError, OverflowError):
        raise InputFileError(
            f"{path}: row {row}: {column} {value!r} is not a number"
        ) from None
    if n < 0:
        raise InputFileError(f"{path}: row {row}: {column} {value!r} is negative")
    return n


def read_census(
    path: Path,
    *,
    code_column: str | None = None,
    count_column: str | None = None,
    name_column: str | None = None,
) -> list[CensusRow]:
    """Read the household table: one row per (old) commune with its household count.

    Province and district columns (``province_code_2024``/``province_name``,
    ``district_code_2024``/``district_name``...) are read when present.
    """
    frame = read_table(path)
    cols = frame.columns
    code = pick_column(cols, code_column, CODE_COLUMNS, path)
    count = pick_column(cols, count_column, COUNT_COLUMNS, path)
    name = name_column or _first(cols, NAME_COLUMNS)
    extra = [
        _first(cols, c)
        for c in (
            PROVINCE_CODE_COLUMNS,
            DISTRICT_CODE_COLUMNS,
            PROVINCE_NAME_COLUMNS,
            DISTRICT_NAME_COLUMNS,
        )
    ]
    rows = []
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        pc, dc, pn, dn = (rec[c] if c else None for c in extra)
        rows.append(
            CensusRow(
                normalise_code(rec[code]),
                rec[name] if name else None,
                _count(path, count, i, rec[count]),
                province=normalise_code(pc, 2),
                district=normalise_code(dc, 3),
                province_name=pn or None,
                district_name=dn or None,
            )
        )
    return rows


def read_crosswalk(path: Path) -> Crosswalk:
    """Read the crosswalk: old -> new codes, default targets, new names and provinces.

    Columns ``old_ward_code``, ``new_ward_code``; optional ``is_default``,
    ``new_ward_name`` and ``new_province_code``.
    """
    frame = read_table(path)
    for col in ("old_ward_code", "new_ward_code"):
        pick_column(frame.columns, col, (), path)
    n = frame.height
    default = frame["is_default"] if "is_default" in frame.columns else [None] * n
    names = frame["new_ward_name"] if "new_ward_name" in frame.columns else [None] * n
    province_col = "new_province_code"
    provinces = frame[province_col] if province_col in frame.columns else [None] * n
    candidates: dict[str, list[tuple[int, str]]] = {}
    new_names: dict[str, str] = {}
    new_provinces: dict[str, str] = {}
    for old, new, is_default, new_name, province in zip(
        frame["old_ward_code"], frame["new_ward_code"], default, names, provinces,
        strict=True,
    ):  # fmt: skip
        old_code, new_code = normalise_code(old), normalise_code(new)
        if new_code is not None:
            if new_name:
                new_names[new_code] = str(new_name)
            if (p := normalise_code(province, 2)) is not None:
                new_provinces[new_code] = p
        if old_code is None or new_code is None:
            continue
        rank = 0 if str(is_default).lower() == "true" else 1
        candidates.setdefault(old_code, []).append((rank, new_code))
    target = {old: min(options)[1] for old, options in candidates.items()}
    return Crosswalk(target, new_names, new_provinces)


def carry_households(
    rows: Sequence[CensusRow],
    boundaries: Communes | Mapping[str, str],
    crosswalk: Crosswalk | None = None,
) -> CarryReport:
    """Match census rows to boundary communes (see the module notes for the rules).

    Parameters
    ----------
    rows : sequence of CensusRow
        The census table.
    boundaries : Communes or mapping
        The boundary communes (a plain mapping: code -> name, province unknown).
    crosswalk : Crosswalk, optional
        Old codes to new codes; without it codes must be boundary codes already.

    Returns
    -------
    CarryReport

    Raises
    ------
    DemoInputError
        The table lists several provinces and the boundaries' provinces are unknown.
    """
    communes = boundaries if isinstance(boundaries, Communes) else Communes(boundaries)
    matcher = _Matcher(communes, crosswalk)
    scopes = row_scopes(rows, communes, crosswalk, matcher.provinces)
    region = set(matcher.provinces.values()) | {ANY}
    per_commune: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    not_placed: list[NotPlaced] = []
    outside: Counter[str] = Counter()
    for row, scope in zip(rows, scopes, strict=True):
        if scope == UNKNOWN:
            rules["no-province"] += 1
            not_placed.append(_entry(row, "no province given"))
            continue
        if scope not in region:
            outside[row.province_name or row.province or "?"] += row.households
            rules["other-province"] += 1
            continue
        rule, target = matcher.match(row, str(scope))
        rules[rule] += 1
        if target is None:
            not_placed.append(matcher.not_placed(row, str(scope)))
        else:
            per_commune[target] += row.households
    return CarryReport(
        census_rows=len(rows),
        census_households=sum(r.households for r in rows),
        per_commune=dict(sorted(per_commune.items())),
        rows_by_rule=dict(sorted(rules.items())),
        not_placed=not_placed,
        outside=dict(sorted(outside.items())),
    )


class _Matcher:
    """The matching rules, each limited to the row's province (and district)."""

    def __init__(self, communes: Communes, crosswalk: Crosswalk | None) -> None:
        self.communes = communes
        self.crosswalk = crosswalk
        self.provinces = commune_provinces(communes, crosswalk)
        self.by_name: dict[str, list[str]] = {}
        for code, name in communes.names.items():
            self.by_name.setdefault(normalise_name(name), []).append(code)

    def allowed(self, code: str | None, row: CensusRow, scope: str) -> bool:
        """Whether ``code`` is a boundary commune of the row's province and district."""
        if code is None or code not in self.communes.names:
            return False
        if scope != ANY and self.provinces.get(code) != scope:
            return False
        district = self.communes.districts.get(code)
        return row.district is None or district is None or district == row.district

    def named(self, name: str | None, row: CensusRow, scope: str) -> list[str]:
        """The allowed boundary communes called ``name`` (prefix and case aside)."""
        hits = self.by_name.get(normalise_name(name), []) if name else []
        return [c for c in hits if self.allowed(c, row, scope)]

    def match(self, row: CensusRow, scope: str) -> tuple[str, str | None]:
        """Apply the rules in order; return the rule's name and the target code."""
        crosswalk = self.crosswalk
        if crosswalk is not None and row.code in crosswalk.target:
            new = crosswalk.target[str(row.code)]
            if self.allowed(new, row, scope):
                return "crosswalk", new
            by_new_name = self.named(crosswalk.new_names.get(new), row, scope)
            if len(by_new_name) == 1:
                return "crosswalk-name", by_new_name[0]
        if self.allowed(row.code, row, scope):
            return "code", row.code
        by_name = self.named(row.name, row, scope)
        if len(by_name) == 1:
            return "name", by_name[0]
        return "unmatched", None

    def not_placed(self, row: CensusRow, scope: str) -> NotPlaced:
        """The list entry of a row that matched no commune, with the reason."""
        same_name = self.named(row.name, row, scope)
        code = (
            "no code"
            if row.code is None
            else "code not in its province or the crosswalk"
        )
        if not row.name:
            name = "no name"
        elif same_name:
            name = f"name shared by {len(same_name)} communes of its province"
        else:
            name = "name not found in its province"
        return _entry(row, f"{code}; {name}")


def _entry(row: CensusRow, reason: str) -> NotPlaced:
    """The list entry of a census row that was not placed."""
    return NotPlaced(
        province=row.province_name or row.province or "",
        district=row.district_name or row.district or "",
        code=row.code or "",
        name=row.name or "",
        households=row.households,
        reason=reason,
    )
