"""Field-by-field comparison of the engine's outputs with the oracle's expectations.

Every helper returns a list of human-readable mismatches instead of failing on the first
one, so a failing test shows every wrong number at once.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

PCT_TOLERANCE = Fraction(1, 20000) + Fraction(1, 10**12)  # half of the 4th decimal


def load_json(path: Path) -> Any:
    """Parse strict JSON: NaN and Infinity are not JSON (RFC 8259) and are rejected."""

    def reject(constant: str) -> Any:
        raise ValueError(f"{path.name} contains {constant}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_pct(got: Any, want: Fraction | None) -> str | None:
    """A percentage: null when undefined, else the exact value rounded to 4 decimals."""
    if want is None:
        return None if got is None else f"expected null, got {got!r}"
    if not _is_number(got) or not math.isfinite(got):
        return f"expected {float(want):.6f}, got {got!r}"
    if abs(Fraction(got) - want) > PCT_TOLERANCE:
        return f"expected {float(want):.6f} (rounded to 4 decimals), got {got!r}"
    if abs(got * 10_000 - round(got * 10_000)) > 1e-6:
        return f"{got!r} is not rounded to 4 decimals"
    return None


def check_value(key: str, got: Any, want: Any) -> str | None:
    """Compare one field by the rule its name implies."""
    if key == "pct" or key.endswith("_pct"):
        return check_pct(got, want)
    if isinstance(want, bool) or (want is None and key.endswith(("_met", "_covered"))):
        ok = got is want or (isinstance(got, bool) and got == want)
        return None if ok else f"expected {want!r}, got {got!r}"
    if isinstance(want, int):
        if isinstance(got, bool) or not isinstance(got, int):
            return f"expected the integer {want}, got {got!r} ({type(got).__name__})"
        return None if got == want else f"expected {want}, got {got}"
    return None if got == want else f"expected {want!r}, got {got!r}"


def compare_rows(
    label: str, got: dict[str, Any], want: dict[str, Any], keys: list[str]
) -> list[str]:
    """Mismatches between one output row and its expected row, over ``keys``."""
    problems = []
    for key in keys:
        if key not in got:
            problems.append(f"{label}: missing field {key!r}")
            continue
        problem = check_value(key, got[key], want[key])
        if problem:
            problems.append(f"{label}: {key}: {problem}")
    return problems


def find_key(doc: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in a JSON document."""
    found: list[Any] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == key:
                found.append(v)
            found.extend(find_key(v, key))
    elif isinstance(doc, list):
        for item in doc:
            found.extend(find_key(item, key))
    return found


def all_strings(doc: Any) -> set[str]:
    """Every string value anywhere in a JSON document."""
    if isinstance(doc, str):
        return {doc}
    values = (
        doc.values() if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    )
    return set().union(*(all_strings(v) for v in values))


def iter_positions(coords: Any) -> list[tuple[float, float]]:
    """Every (x, y) position in a GeoJSON coordinates array."""
    if coords and _is_number(coords[0]):
        return [(coords[0], coords[1])]
    out: list[tuple[float, float]] = []
    for item in coords:
        out.extend(iter_positions(item))
    return out


def report(problems: list[str], limit: int = 40) -> str:
    """A readable assertion message for a list of mismatches."""
    shown = "\n".join(problems[:limit])
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} mismatches:\n{shown}{more}"
