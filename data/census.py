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

Rows matching no rule (communes renamed or merged between the census and the code list)
are not placed; they are listed in the report with their households.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from geodx.errors import InputFileError, MissingColumn

CODE_COLUMNS = ("ward_code_2024", "ward_code", "commune_code", "ma_xa", "code")
COUNT_COLUMNS = ("hh_total", "households", "so_ho")
NAME_COLUMNS = ("commune_name", "ward_name", "official_name", "ten_xa", "name")
PREFIXES = ("thị trấn", "thị xã", "thành phố", "phường", "đặc khu", "xã")


@dataclass(frozen=True)
class CensusRow:
    """One row of the household table: code (may be missing), name, households."""

    code: str | None
    name: str | None
    households: int


@dataclass(frozen=True)
class Crosswalk:
    """Old commune code -> new commune code (default target), and new codes' names."""

    target: Mapping[str, str]
    new_names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CarryReport:
    """Where the census households went."""

    census_rows: int
    census_households: int
    per_commune: dict[str, int]
    rows_by_rule: dict[str, int]
    unmatched: list[tuple[str, int]]

    @property
    def carried_households(self) -> int:
        """Households placed on a boundary commune."""
        return sum(self.per_commune.values())

    @property
    def unmatched_households(self) -> int:
        """Households of census rows that matched no commune."""
        return sum(n for _, n in self.unmatched)

    def summary(self) -> str:
        """One line: carried and unmatched households and rows."""
        return (
            f"{self.carried_households:,} of {self.census_households:,} census "
            f"households carried to {len(self.per_commune)} communes; "
            f"{self.unmatched_households:,} in {len(self.unmatched)} rows not matched"
        )


def normalise_code(value: object) -> str | None:
    """Return a commune code as a zero-padded 5-digit string; None when missing.

    Examples
    --------
    >>> normalise_code(4), normalise_code(24247.0), normalise_code("")
    ('00004', '24247', None)
    """
    if value is None:
        return None
    text = str(value).strip()
    if text in ("", "nan", "None"):
        return None
    if re.fullmatch(r"\d+(\.0+)?", text):
        return text.split(".")[0].zfill(5)
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


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet table with every column as text."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
            return frame.select(pl.all().cast(pl.String))
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputFileError(f"{path}: cannot read table ({exc})") from exc


def read_census(
    path: Path,
    *,
    code_column: str | None = None,
    count_column: str | None = None,
    name_column: str | None = None,
) -> list[CensusRow]:
    """Read the household table: one row per (old) commune with its household count."""
    frame = read_table(path)
    code = pick_column(frame.columns, code_column, CODE_COLUMNS, path)
    count = pick_column(frame.columns, count_column, COUNT_COLUMNS, path)
    names = [c for c in NAME_COLUMNS if c in frame.columns]
    name = name_column or (names[0] if names else None)
    rows = []
    for rec in frame.iter_rows(named=True):
        try:
            n = round(float(rec[count] or 0))
        except ValueError:
            raise InputFileError(
                f"{path}: {count} {rec[count]!r} is not a number"
            ) from None
        if n < 0:
            raise InputFileError(f"{path}: {count} {rec[count]!r} is negative")
        rows.append(
            CensusRow(normalise_code(rec[code]), rec[name] if name else None, n)
        )
    return rows


def read_crosswalk(path: Path) -> Crosswalk:
    """Read ``old_ward_code -> new_ward_code``, ``is_default`` and ``new_ward_name``."""
    frame = read_table(path)
    for col in ("old_ward_code", "new_ward_code"):
        pick_column(frame.columns, col, (), path)
    default = frame["is_default"] if "is_default" in frame.columns else None
    names = frame["new_ward_name"] if "new_ward_name" in frame.columns else None
    candidates: dict[str, list[tuple[int, str]]] = {}
    new_names: dict[str, str] = {}
    for i, (old, new) in enumerate(
        zip(frame["old_ward_code"], frame["new_ward_code"], strict=True)
    ):
        old_code, new_code = normalise_code(old), normalise_code(new)
        if old_code is None or new_code is None:
            continue
        rank = 0 if default is not None and str(default[i]).lower() == "true" else 1
        candidates.setdefault(old_code, []).append((rank, new_code))
        if names is not None and names[i]:
            new_names[new_code] = str(names[i])
    target = {old: min(options)[1] for old, options in candidates.items()}
    return Crosswalk(target, new_names)


def carry_households(
    rows: Sequence[CensusRow],
    boundary_names: Mapping[str, str],
    crosswalk: Crosswalk | None = None,
) -> CarryReport:
    """Match census rows to boundary communes (see the module notes for the rules).

    Parameters
    ----------
    rows : sequence of CensusRow
        The census table.
    boundary_names : mapping
        Boundary commune code -> name.
    crosswalk : Crosswalk, optional
        Old codes to new codes; without it codes must be boundary codes already.

    Returns
    -------
    CarryReport
    """
    by_name: dict[str, list[str]] = {}
    for code, name in boundary_names.items():
        by_name.setdefault(normalise_name(name), []).append(code)

    def unique_name(name: str | None) -> str | None:
        hits = by_name.get(normalise_name(name), []) if name else []
        return hits[0] if len(hits) == 1 else None

    per_commune: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    unmatched: list[tuple[str, int]] = []
    for row in rows:
        rule, target = _match(row, boundary_names, crosswalk, unique_name)
        rules[rule] += 1
        if target is None:
            unmatched.append((row.name or row.code or "?", row.households))
        else:
            per_commune[target] += row.households
    return CarryReport(
        census_rows=len(rows),
        census_households=sum(r.households for r in rows),
        per_commune=dict(sorted(per_commune.items())),
        rows_by_rule=dict(sorted(rules.items())),
        unmatched=unmatched,
    )


def _match(
    row: CensusRow,
    boundary_names: Mapping[str, str],
    crosswalk: Crosswalk | None,
    unique_name: Callable[[str | None], str | None],
) -> tuple[str, str | None]:
    """Apply the matching rules in order; return the rule's name and the target code."""
    if crosswalk is not None and row.code is not None and row.code in crosswalk.target:
        new = crosswalk.target[row.code]
        if new in boundary_names:
            return "crosswalk", new
        by_new_name = unique_name(crosswalk.new_names.get(new))
        if by_new_name is not None:
            return "crosswalk-name", by_new_name
    if row.code in boundary_names:
        return "code", row.code
    by_name = unique_name(row.name)
    if by_name is not None:
        return "name", by_name
    return "unmatched", None
