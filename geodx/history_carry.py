"""A vintage on old communes carried to new ones through the crosswalk (the 2025 merger).

So that a trend stays continuous across a boundary change, a vintage computed on the
old communes is recorded on the new ones (``geodx run … --history STORE --crosswalk
FILE``). The rule, exactly (also in ``docs/definitions.md``, History store):

- An old commune whose code the crosswalk lists goes to its new code(s); one not listed
  keeps its own code (it may already be a new one) and is named in ``not_in_crosswalk``.
  A new code that the store's latest vintage on the new boundaries does not have, but
  whose crosswalk name is that of exactly one of its communes, becomes that commune's
  code (the ``crosswalk-name`` rule of ``geodx counts``).
- Counts are summed into the new commune. An old commune split over several new ones
  shares its counts by the rule ``geodx counts`` documents (``geodx.carry``): the
  crosswalk's ``share`` column when it gives one for every target, else equally, in
  whole households (largest remainder, ties to the smaller code) when the vintage's
  counts are whole numbers. ``households`` are shared by those weights;
  ``fibre_households`` and ``mobile_households`` in proportion to the households each
  target got, and ``mobile_5g_households`` to the mobile households each got, so no
  target gets more covered households than households (nor more 5G than 4G/5G).
- Percentages, flags and gaps are recomputed from the sums by the contract's rules
  (``geodx.contract``) with the vintage's targets; district fields are null (since
  July 2025 communes sit directly under the province); ``carried_from`` lists the old
  codes. Other per-commune fields (per layer, per operator) are not carried.
- The summary keeps the region's totals (the same households) and recomputes the
  commune counts (``communes``, ``communes_with_households``,
  ``communes_mobile_covered``, ``mobile_commune_pct``, ``mobile_target_met``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geodx.carry import apportion
from geodx.carry_names import name_key
from geodx.carry_scope import Crosswalk
from geodx.contract_figures import count, gap, pct, target_met, targets_from

COUNTS = ("households", "fibre_households", "mobile_households", "mobile_5g_households")
#: which count each count is shared in proportion to, when a commune is split
SHARED_BY = {
    "fibre_households": "households",
    "mobile_households": "households",
    "mobile_5g_households": "mobile_households",
}


def _value(props: Mapping[str, Any], key: str) -> float:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def targets_of(crosswalk: Crosswalk, code: str) -> dict[str, float]:
    """An old code's new codes with their weights (shares, else 1 each)."""
    options = crosswalk.targets.get(code) or ((crosswalk.target[code], None),)
    shares = dict(options)
    given = all(s is not None and s > 0 for s in shares.values())
    return {new: (s or 0.0) if given else 1.0 for new, s in shares.items()}


def share(
    total: float, weights: Mapping[str, float], *, whole: bool
) -> dict[str, float]:
    """``total`` shared by ``weights``: whole households (largest remainder) or exactly.

    Examples
    --------
    >>> share(5, {"a": 1.0, "b": 1.0}, whole=True)
    {'a': 3.0, 'b': 2.0}
    >>> share(5, {"a": 1.0, "b": 1.0}, whole=False)
    {'a': 2.5, 'b': 2.5}
    """
    positive = {c: w for c, w in weights.items() if w > 0}
    if total <= 0 or not positive:
        return {}
    if whole:
        return {c: float(n) for c, n in apportion(round(total), positive).items()}
    weight = sum(positive.values())
    return {c: total * w / weight for c, w in positive.items()}


def split_counts(
    props: Mapping[str, Any], weights: Mapping[str, float], *, whole: bool
) -> dict[str, dict[str, float]]:
    """One old commune's counts per new code (see the module notes)."""
    out: dict[str, dict[str, float]] = {code: {} for code in weights}
    parts = {"households": share(_value(props, "households"), weights, whole=whole)}
    for key, base in SHARED_BY.items():
        parts[key] = share(_value(props, key), parts[base], whole=whole)
    for key, got in parts.items():
        for code in out:
            out[code][key] = got.get(code, 0.0)
    return out


def _figures(
    code: str,
    name: Any,
    sums: Mapping[str, float],
    goal: Mapping[str, float],
    whole: bool,
) -> dict[str, Any]:
    h, f = sums["households"], sums["fibre_households"]
    m, m5 = sums["mobile_households"], sums["mobile_5g_households"]
    rule = goal["mobile_commune_household_pct"]
    return {
        "commune_code": code,
        "commune_name": name,
        "district_code": None,
        "district_name": None,
        **{key: count(sums[key], whole) for key in COUNTS},
        "fibre_pct": pct(f, h),
        "fibre_target_met": target_met(f, h, goal["fibre_household_pct"]),
        "fibre_gap_households": gap(f, h, goal["fibre_household_pct"]),
        "mobile_pct": pct(m, h),
        "mobile_5g_pct": pct(m5, h),
        "mobile_covered": target_met(m, h, rule),
        "mobile_gap_households": gap(m, h, rule),
    }


def resolver(crosswalk: Crosswalk, known: Mapping[str, str] | None) -> dict[str, str]:
    """New codes of the crosswalk that ``known`` lacks -> the known code of that name.

    The ``crosswalk-name`` rule of ``geodx counts``: sources disagree on a few codes
    (three in Đắk Lắk), never on the name; a code is renamed only when exactly one
    known commune has the crosswalk's name for it (names compared by their key).
    """
    if not known:
        return {}
    by_key: dict[str, list[str]] = {}
    for code, name in known.items():
        by_key.setdefault(name_key(str(name)), []).append(code)
    out = {}
    for code, name in crosswalk.new_names.items():
        found = by_key.get(name_key(name), [])
        if code not in known and len(found) == 1:
            out[code] = found[0]
    return out


def carry_communes(
    communes: Sequence[Mapping[str, Any]],
    crosswalk: Crosswalk,
    targets: Mapping[str, Any] | None,
    *,
    whole: bool = True,
    known: Mapping[str, str] | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The communes' figures on the new codes, and the old codes the crosswalk lacks.

    ``whole``: the counts are whole numbers (``summary["counts_exact"]``), and splits
    share whole households. ``known``: the new communes (code -> name) of a vintage
    computed on the new boundaries, to settle codes the crosswalk spells otherwise
    (:func:`resolver`).
    """
    goal = targets_from(dict(targets) if targets is not None else None)
    renamed = resolver(crosswalk, known)
    sums: dict[str, dict[str, float]] = {}
    sources: dict[str, list[str]] = {}
    names: dict[str, Any] = dict(known or {})
    missing = []
    for props in communes:
        code = str(props.get("commune_code"))
        if code in crosswalk.target:
            weights: dict[str, float] = {}
            for new, weight in targets_of(crosswalk, code).items():
                settled = renamed.get(new, new)
                weights[settled] = weights.get(settled, 0.0) + weight
        else:
            weights = {code: 1.0}
            missing.append(code)
            names.setdefault(code, props.get("commune_name"))  # kept as it was
        for new, got in split_counts(props, weights, whole=whole).items():
            into = sums.setdefault(new, dict.fromkeys(COUNTS, 0.0))
            for key in COUNTS:
                into[key] += got[key]
            sources.setdefault(new, []).append(code)
    out = []
    for new in sorted(sums):
        name = names[new] if new in names else crosswalk.new_names.get(new)
        row = _figures(new, name, sums[new], goal, whole)
        row["carried_from"] = sorted(set(sources[new]))
        out.append(row)
    return out, sorted(missing)


def carry_summary(
    summary: Mapping[str, Any], communes: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The summary with its commune counts recomputed on the carried communes."""
    goal = targets_from(summary.get("targets"))
    served = [c for c in communes if _value(c, "households") > 0]
    covered = sum(1 for c in served if c.get("mobile_covered") is True)
    out = dict(summary)
    out["communes"] = len(communes)
    out["communes_with_households"] = len(served)
    out["communes_mobile_covered"] = covered
    out["mobile_commune_pct"] = pct(covered, len(served))
    out["mobile_target_met"] = target_met(
        covered, len(served), goal["mobile_commune_pct"]
    )
    return out


__all__ = ["carry_communes", "carry_summary", "share", "split_counts", "targets_of"]
