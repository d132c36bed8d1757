"""Which boundary communes a census row may land on: only those of its own province.

Used by :mod:`geodx.carry` (``geodx counts``) and the demo generator (``data``).

A national census table holds every province, and commune names repeat across the
country (there is a Xã Hòa Phú in several provinces), so a row is matched only among
the boundary communes of its own province, and of its own district where both sides know
it. The province of each side is found as follows.

- **Census row** (an old, pre-2025 commune): its province code column
  (``province_code_2024``...), else the code the table gives the same province name on its
  other rows. That old province becomes a new (2025) province through the crosswalk: the
  new province of most of its coded rows (the 2025 merger joined whole provinces; old
  Đắk Lắk and Phú Yên became the new Đắk Lắk); a target's province is the
  crosswalk's ``new_province_code``, else its boundary commune's. Without a crosswalk,
  or when none of its rows is in it, a province keeps its code; a province with no code
  at all is matched on its name against the boundaries' province names.
- **Boundary commune**: its ``province_code`` column, else the crosswalk's new province of
  its code; a commune still unknown takes the province of the others when they share one.

A table without a province column is taken to be of the boundaries' province. A table of
several provinces on boundaries whose province is unknown is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from geodx.errors import CountsError

ANY = "*"  # a row of a table without provinces: it may land anywhere in the boundaries
UNKNOWN = "?"  # a row without a province, in a table with provinces: not placed
PREFIXES = ("thị trấn", "thị xã", "thành phố", "phường", "đặc khu", "xã")


@dataclass(frozen=True)
class Communes:
    """The boundary communes: code -> name; code -> province and district codes."""

    names: Mapping[str, str]
    provinces: Mapping[str, str] = field(default_factory=dict)
    districts: Mapping[str, str] = field(default_factory=dict)
    province_names: Mapping[str, str] = field(default_factory=dict)  # code -> name


@dataclass(frozen=True)
class Crosswalk:
    """Old commune code -> new commune code (default target); new codes' names, provinces.

    ``targets`` lists every new code of an old one with its share (None: not given);
    an old code missing there has its default target only.
    """

    target: Mapping[str, str]
    new_names: Mapping[str, str] = field(default_factory=dict)
    new_provinces: Mapping[str, str] = field(default_factory=dict)
    targets: Mapping[str, tuple[tuple[str, float | None], ...]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class CensusRow:
    """One row of the household table: code (may be missing), name, households.

    ``province``/``district`` are the old province and district codes when the table has
    them; ``province_name``/``district_name`` their names.
    """

    code: str | None
    name: str | None
    households: int
    province: str | None = None
    district: str | None = None
    province_name: str | None = None
    district_name: str | None = None


def normalise_code(value: object, width: int = 5) -> str | None:
    """Return a code as a zero-padded string (5 digits: commune); None when missing.

    Examples
    --------
    >>> normalise_code(4), normalise_code(24247.0), normalise_code(""), normalise_code(6, 2)
    ('00004', '24247', None, '06')
    """
    if value is None:
        return None
    text = str(value).strip()
    if text in ("", "nan", "None"):
        return None
    if re.fullmatch(r"\d+(\.0+)?", text):
        return text.split(".")[0].zfill(width)
    return text


def normalise_name(name: str) -> str:
    """Compare-ready name: NFC, lower case, single spaces, no type prefix.

    Examples
    --------
    >>> normalise_name("Phường  Buôn Ma Thuột")
    'buôn ma thuột'
    """
    text = " ".join(unicodedata.normalize("NFC", name).lower().split())
    for prefix in PREFIXES:
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1 :]
    return text


def normalise_province(name: str) -> str:
    """Compare-ready province name: as :func:`normalise_name`, without ``Tỉnh``.

    Examples
    --------
    >>> normalise_province("Tỉnh  Đắk Lắk"), normalise_province("Thành phố Cần Thơ")
    ('đắk lắk', 'cần thơ')
    """
    text = normalise_name(name)
    return text[len("tỉnh ") :] if text.startswith("tỉnh ") else text


def row_provinces(rows: Sequence[CensusRow]) -> list[str | None]:
    """The old province code of each row: its own, or the one its province name has."""
    by_name: dict[str, set[str]] = {}
    for row in rows:
        if row.province is not None and row.province_name:
            key = normalise_province(row.province_name)
            by_name.setdefault(key, set()).add(row.province)
    learned = {k: next(iter(v)) for k, v in by_name.items() if len(v) == 1}
    out: list[str | None] = []
    for row in rows:
        if row.province is not None:
            out.append(row.province)
        elif row.province_name:
            out.append(learned.get(normalise_province(row.province_name)))
        else:
            out.append(None)
    return out


def new_provinces(
    rows: Sequence[CensusRow],
    old: Sequence[str | None],
    crosswalk: Crosswalk | None,
    boundary: Mapping[str, str | None],
) -> dict[str, str]:
    """Old province code -> new province code: the crosswalk's choice for most rows.

    A crosswalk target's province is the crosswalk's ``new_province_code``, else that of
    the boundary commune with the target's code.
    """
    votes: dict[str, Counter[str]] = {}
    if crosswalk is not None:
        for row, province in zip(rows, old, strict=True):
            target = crosswalk.target.get(row.code or "") or ""
            new = crosswalk.new_provinces.get(target) or boundary.get(target)
            if province is not None and new is not None:
                votes.setdefault(province, Counter())[new] += 1
    out = {
        p: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for p, c in votes.items()
    }
    for province in old:
        if province is not None:
            out.setdefault(province, province)
    return out


def commune_provinces(
    communes: Communes, crosswalk: Crosswalk | None
) -> dict[str, str | None]:
    """The new province of each boundary commune (None where it cannot be told)."""
    known = crosswalk.new_provinces if crosswalk is not None else {}
    out: dict[str, str | None] = {
        code: communes.provinces.get(code) or known.get(code) for code in communes.names
    }
    found = {p for p in out.values() if p is not None}
    if len(found) == 1:
        only = next(iter(found))
        return dict.fromkeys(out, only)
    return out


def row_scopes(
    rows: Sequence[CensusRow],
    communes: Communes,
    crosswalk: Crosswalk | None,
    boundary: Mapping[str, str | None],
) -> list[str | None]:
    """The new province each row may land in.

    A province code; ``ANY`` (the table has no provinces); ``UNKNOWN`` (this row has no
    province, others have); None (a province that is none of the boundaries').

    Raises
    ------
    CountsError
        The table lists several provinces and the boundaries' provinces are unknown.
    """
    old = row_provinces(rows)
    if all(r.province is None and not r.province_name for r in rows):
        return [ANY] * len(rows)
    if all(p is None for p in boundary.values()):
        listed = {
            p or normalise_province(r.province_name or "")
            for r, p in zip(rows, old, strict=True)
        } - {""}
        if len(listed) > 1:
            raise CountsError(
                f"the households table lists {len(listed)} provinces and the boundaries "
                "have no province_code column: add one, or pass --crosswalk"
            )
        return [ANY] * len(rows)
    new = new_provinces(rows, old, crosswalk, boundary)
    by_name = {
        normalise_province(name): code
        for code, name in communes.province_names.items()
        if name
    }
    return [
        new[p]
        if p is not None
        else by_name.get(normalise_province(r.province_name))
        if r.province_name
        else UNKNOWN
        for r, p in zip(rows, old, strict=True)
    ]
