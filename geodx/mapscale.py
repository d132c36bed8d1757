"""The colour classes of the maps: a diverging scale centred on a target percentage.

Below the target the classes start 40, 20 and 10 points under it (issue 8: an official
reads "< 50, 50–70, 70–80, 80–90" for a 90 % target, and 68 % is not 89 %); at or above
it, two classes (the target to half-way to 100 %, then the rest). The legend of every
map says so (``STEPS_NOTE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NO_DATA = "#bdbdbd"
BELOW = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7")  # far below ... just below target
ABOVE = ("#a6dba0", "#1b7837")  # target met ... full coverage


#: How far below the target each class starts, in percentage points (issue 8): a 90 %
#: target reads < 50, 50–70, 70–80, 80–90, so 68 % and 89 % are told apart.
BELOW_STEPS = (40.0, 20.0, 10.0)
STEPS_NOTE = "Dưới mục tiêu / below the target: −40, −20, −10 điểm / points"


@dataclass(frozen=True)
class DivergingScale:
    """Colour classes below and above a target percentage.

    Below the target the classes start 40, 20 and 10 points under it
    (``BELOW_STEPS``), edges at or under 0 % dropped; at or above it, up to two
    classes (the target to half-way to 100 %, then the rest). A value on an edge
    belongs to the class above it.

    Examples
    --------
    >>> scale = DivergingScale(90.0)
    >>> scale.edges()
    [0.0, 50.0, 70.0, 80.0, 90.0, 95.0, 100.0]
    >>> scale.colour(68.0) == scale.colour(89.0)
    False
    >>> scale.colour(92.0) == ABOVE[0], scale.colour(10.0) == BELOW[0]
    (True, True)
    >>> scale.colour(None) == NO_DATA
    True
    >>> [label for label, _ in DivergingScale(25.0).classes()][:3]
    ['< 5 %', '5–15 %', '15–25 %']
    """

    target_pct: float

    def below_edges(self) -> list[float]:
        """Where each class below the target starts (the first at 0 %)."""
        t = self.target_pct
        return [0.0] + [t - step for step in BELOW_STEPS if t - step > 0]

    def edges(self) -> list[float]:
        """Class edges: the classes below the target, up to two above it."""
        t = self.target_pct
        above = [(t + 100.0) / 2, 100.0] if t < 100 else [100.0]
        return [*self.below_edges(), t, *above] if t > 0 else [0.0, 100.0]

    def _below_colours(self) -> tuple[str, ...]:
        """The palette's darkest reds for the lowest classes, the lightest nearest."""
        return BELOW[len(BELOW) - len(self.below_edges()) :]

    def colour(self, pct: float | None) -> str:
        """Fill colour of a percentage (grey when there is none)."""
        if pct is None or (isinstance(pct, float) and math.isnan(pct)):
            return NO_DATA
        if pct >= self.target_pct:
            mid = (self.target_pct + 100.0) / 2
            return ABOVE[0] if pct < mid and self.target_pct < 100 else ABOVE[-1]
        starts = self.below_edges()
        i = sum(1 for edge in starts[1:] if pct >= edge)
        return self._below_colours()[i]

    def classes(self) -> list[tuple[str, str]]:
        """``(label, colour)`` of every class, lowest first, then "no households"."""
        starts, t = self.below_edges(), self.target_pct
        ends = [*starts[1:], t]
        out = [
            (f"< {end:g} %" if i == 0 else f"{start:g}–{end:g} %", colour)
            for i, (start, end, colour) in enumerate(
                zip(starts, ends, self._below_colours(), strict=True)
            )
        ] if t > 0 else []  # fmt: skip
        if self.target_pct < 100:
            mid = (t + 100.0) / 2
            out += [(f"{t:g}–{mid:g} %", ABOVE[0]), (f"{mid:g}–100 %", ABOVE[1])]
        else:
            out.append(("100 %", ABOVE[1]))
        return out + [("không có hộ / no households", NO_DATA)]
