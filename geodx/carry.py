"""Carrying census household counts from old communes onto the communes of a boundary file.

The 2019 census lists the communes of its day; the 2025 boundaries list the merged
communes. Each census row goes to boundary communes by the first rule that applies:

1. ``crosswalk``: its code is an old code of the crosswalk with one new code in the
   boundaries; ``split``: with several (an old commune divided among new ones): its
   households are shared among them in proportion to the crosswalk's ``share`` column
   when it gives one for each, else equally.
2. ``crosswalk-name``: as 1, but no new code is in the boundaries (sources disagree on
   codes); the default target's name matches exactly one boundary name.
3. ``code``: its code is itself a commune code of the boundaries.
4. ``name``: its name matches exactly one old commune of its own old district in the
   legacy list (``vietnamadminunits``), whose code then goes by rule 1 or 3; else
   exactly one boundary commune's name. Names are compared by
   :func:`geodx.carry_names.name_key` (type prefix, case, apostrophes, tone placement).
5. ``district-spread``: a row still unmatched whose old district is known is shared
   among the boundary communes that rows of the same old district reached by rules 1-4,
   in proportion to the households those rows brought them.

Every rule looks only at the boundary communes of the row's own province
(:mod:`geodx.carry_scope`): a census row never lands outside its province. Rows of
other provinces are left out (``other-province``); rows matching nothing are not placed
(``not-placed``, with the reason). Shares are whole households: the largest-remainder
rule (:func:`apportion`), so every placed row's households add up exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from geodx.carry_names import LegacyNames, name_key
from geodx.carry_scope import (
    ANY,
    UNKNOWN,
    CensusRow,
    Communes,
    Crosswalk,
    commune_provinces,
    row_provinces,
    row_scopes,
)

BY_CODE = ("crosswalk", "split", "crosswalk-name", "code")
BY_NAME = ("name",)
SPREAD = ("district-spread",)
METHODS = {
    **dict.fromkeys(BY_CODE, "by_code"),
    **dict.fromkeys(BY_NAME, "by_name"),
    **dict.fromkeys(SPREAD, "spread"),
}


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
class Placement:
    """What became of one census row: its rule, the communes it went to, why not."""

    row: CensusRow
    rule: str
    targets: Mapping[str, int] = field(default_factory=dict)
    reason: str = ""
    district: str | None = None  # the old district code used, when known


@dataclass(frozen=True)
class CarryReport:
    """Where the census households went."""

    census_rows: int
    census_households: int
    per_commune: dict[str, int]
    rows_by_rule: dict[str, int]
    not_placed: list[NotPlaced]
    outside: dict[str, int]  # province (name or code) -> households left out
    placements: list[Placement] = field(default_factory=list)  # one per census row

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

    def by_method(self) -> dict[str, Counter[str]]:
        """Commune -> households by method (``by_code``, ``by_name``, ``spread``)."""
        out: dict[str, Counter[str]] = {}
        for p in self.placements:
            method = METHODS.get(p.rule)
            for code, n in p.targets.items():
                if method is not None:
                    out.setdefault(code, Counter())[method] += n
        return out

    def rows_per_commune(self) -> Counter[str]:
        """Commune -> the number of census rows that brought it households."""
        return Counter(code for p in self.placements for code in p.targets)

    def summary(self) -> str:
        """One line: placed, not placed and left-out households."""
        spread = sum(p.row.households for p in self.placements if p.rule in SPREAD)
        line = (
            f"{self.carried_households:,} of {self.region_households:,} census "
            f"households placed on {len(self.per_commune)} communes "
            f"({spread:,} spread over their old district); "
            f"{self.not_placed_households:,} in {len(self.not_placed)} rows not placed"
        )
        if self.outside:
            line += (
                f"; {self.outside_households:,} households of {len(self.outside)} "
                "other province(s) left out"
            )
        return line


def apportion(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Share ``total`` whole households in proportion to ``weights`` (largest remainder).

    Each code gets the whole part of its quota; the households left over go one each to
    the largest fractional parts, ties to the smaller code. Codes getting none are left
    out. The shares add up to ``total`` exactly.

    Examples
    --------
    >>> apportion(10, {"b": 1.0, "a": 1.0, "c": 1.0})
    {'a': 4, 'b': 3, 'c': 3}
    >>> apportion(5, {"x": 3.0, "y": 1.0})
    {'x': 4, 'y': 1}
    """
    codes = sorted(c for c, w in weights.items() if w > 0)
    whole = sum(weights[c] for c in codes)
    quotas = [total * weights[c] / whole for c in codes]
    base = [int(q) for q in quotas]
    left = total - sum(base)
    order = sorted(range(len(codes)), key=lambda i: (-(quotas[i] - base[i]), codes[i]))
    for i in order[:left]:
        base[i] += 1
    return {c: n for c, n in zip(codes, base, strict=True) if n > 0}


def carry_households(
    rows: Sequence[CensusRow],
    boundaries: Communes | Mapping[str, str],
    crosswalk: Crosswalk | None = None,
    legacy: LegacyNames | None = None,
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
    legacy : LegacyNames, optional
        The old communes by name (:func:`geodx.carry_names.legacy_names`); without
        it names are matched against the boundaries' names only, and districts are
        known only from the table's district code column.

    Returns
    -------
    CarryReport

    Raises
    ------
    CountsError
        The table lists several provinces and the boundaries' provinces are unknown.
    """
    communes = boundaries if isinstance(boundaries, Communes) else Communes(boundaries)
    matcher = _Matcher(communes, crosswalk, legacy)
    scopes = row_scopes(rows, communes, crosswalk, matcher.provinces)
    region = set(matcher.provinces.values()) | {ANY}
    old = row_provinces(rows)
    placements = []
    for row, scope, province in zip(rows, scopes, old, strict=True):
        if scope == UNKNOWN:
            placements.append(Placement(row, "no-province", reason="no province given"))
        elif scope not in region:
            placements.append(Placement(row, "other-province"))
        else:
            placements.append(matcher.match(row, str(scope), province))
    placements = _spread_over_districts(placements, old)
    return _report(rows, placements)


def _spread_over_districts(
    placements: list[Placement], old: Sequence[str | None]
) -> list[Placement]:
    """Share the unmatched rows of a known old district as its matched rows went."""
    reached: dict[tuple[str | None, str], Counter[str]] = {}
    for p, province in zip(placements, old, strict=True):
        if p.targets and p.district is not None:
            reached.setdefault((province, p.district), Counter()).update(p.targets)
    out = []
    for p, province in zip(placements, old, strict=True):
        if p.rule != "unmatched":
            out.append(p)
            continue
        weights = reached.get((province, p.district or ""), Counter())
        if p.district is None or not weights:
            why = "old district unknown" if p.district is None else "no row matched"
            out.append(
                Placement(
                    p.row,
                    "not-placed",
                    reason=f"{p.reason}; {why}",
                    district=p.district,
                )
            )
            continue
        targets = apportion(p.row.households, {c: float(n) for c, n in weights.items()})
        out.append(Placement(p.row, "district-spread", targets, p.reason, p.district))
    return out


def _report(rows: Sequence[CensusRow], placements: list[Placement]) -> CarryReport:
    """Add the placements up."""
    per_commune: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    not_placed = []
    for p in placements:
        per_commune.update(p.targets)
        if p.rule == "other-province":
            outside[p.row.province_name or p.row.province or "?"] += p.row.households
        elif p.rule in ("not-placed", "no-province"):
            not_placed.append(_entry(p.row, p.reason))
    return CarryReport(
        census_rows=len(rows),
        census_households=sum(r.households for r in rows),
        per_commune=dict(sorted(per_commune.items())),
        rows_by_rule=dict(sorted(Counter(p.rule for p in placements).items())),
        not_placed=not_placed,
        outside=dict(sorted(outside.items())),
        placements=placements,
    )


class _Matcher:
    """The matching rules, each limited to the row's province (and district)."""

    def __init__(
        self,
        communes: Communes,
        crosswalk: Crosswalk | None,
        legacy: LegacyNames | None,
    ) -> None:
        self.communes = communes
        self.crosswalk = crosswalk
        self.legacy = legacy
        self.provinces = commune_provinces(communes, crosswalk)
        self.by_name: dict[str, list[str]] = {}
        for code, name in communes.names.items():
            self.by_name.setdefault(name_key(name), []).append(code)

    def allowed(self, code: str | None, row: CensusRow, scope: str) -> bool:
        """Whether ``code`` is a boundary commune of the row's province and district."""
        if code is None or code not in self.communes.names:
            return False
        if scope != ANY and self.provinces.get(code) != scope:
            return False
        district = self.communes.districts.get(code)
        return row.district is None or district is None or district == row.district

    def named(self, name: str | None, row: CensusRow, scope: str) -> list[str]:
        """The allowed boundary communes called ``name`` (by :func:`name_key`)."""
        hits = self.by_name.get(name_key(name), []) if name else []
        return [c for c in hits if self.allowed(c, row, scope)]

    def district(self, row: CensusRow, province: str | None) -> str | None:
        """The row's old district code: its own, its code's, or by its district name."""
        if row.district is not None:
            return row.district
        if self.legacy is None:
            return None
        if row.code is not None and row.code in self.legacy.district_of_code:
            return self.legacy.district_of_code[row.code]
        if province is None or not row.district_name:
            return None
        return self.legacy.district_of(province, row.district_name)

    def by_code(
        self, code: str | None, row: CensusRow, scope: str
    ) -> tuple[str, dict[str, int]] | None:
        """Rules 1-3 for an old code: the rule and the households per target."""
        if code is None:
            return None
        n = row.households
        cw = self.crosswalk
        if cw is not None and code in cw.target:
            options = cw.targets.get(code) or ((cw.target[code], None),)
            shares = {new: s for new, s in options if self.allowed(new, row, scope)}
            if len(shares) == 1:
                return "crosswalk", {next(iter(shares)): n}
            if shares:
                given = all(s is not None and s > 0 for s in shares.values())
                weights = {c: (s or 0.0) if given else 1.0 for c, s in shares.items()}
                return "split", apportion(n, weights)
            by_new_name = self.named(cw.new_names.get(cw.target[code]), row, scope)
            if len(by_new_name) == 1:
                return "crosswalk-name", {by_new_name[0]: n}
        if self.allowed(code, row, scope):
            return "code", {code: n}
        return None

    def match(self, row: CensusRow, scope: str, province: str | None) -> Placement:
        """Apply rules 1-4 in order (rule 5 comes once every row is matched)."""
        district = self.district(row, province)
        hit = self.by_code(row.code, row, scope)
        if hit is None and self.legacy is not None and row.name and province:
            old_code = (  # no district known (dissolved before 2024): the province's
                self.legacy.code_of(province, district, row.name)
                if district
                else self.legacy.code_in_province(province, row.name)
            )
            found = self.by_code(old_code, row, scope)
            hit = ("name", found[1]) if found else None
        if hit is None:
            same = self.named(row.name, row, scope)
            if len(same) == 1:
                hit = ("name", {same[0]: row.households})
        if hit is None:
            return Placement(
                row, "unmatched", reason=self.reason(row, scope), district=district
            )
        return Placement(row, hit[0], hit[1], district=district)

    def reason(self, row: CensusRow, scope: str) -> str:
        """Why a row matched no commune by code or name."""
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
            name = "name not found in its district or province"
        return f"{code}; {name}"


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
