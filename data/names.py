"""Vietnamese-style place names for the synthetic demo province.

The names are made up from common syllables of Central Highlands place names; every
name carries the ``(mô phỏng)`` ("simulated") label so it is never mistaken for a real
administrative unit.
"""

from __future__ import annotations

import itertools

import numpy as np

SYNTHETIC_LABEL = "mô phỏng"
REGION_NAME = "Tỉnh Đắk Lắk (dữ liệu mô phỏng / synthetic)"

_FIRST = (
    "Hòa",
    "Tân",
    "Ea",
    "Cư",
    "Krông",
    "Đắk",
    "Yang",
    "Phú",
    "Bình",
    "Quảng",
    "Thuận",
    "Hiệp",
    "Vĩnh",
    "Phước",
    "Xuân",
    "Buôn",
    "Dray",
    "Long",
    "Thống",
    "Nam",
)
_SECOND = (
    "Phú",
    "An",
    "Thắng",
    "Lợi",
    "Hiệp",
    "Bình",
    "Thành",
    "Đông",
    "Tây",
    "Sơn",
    "Hưng",
    "Thịnh",
    "Kao",
    "Tiêu",
    "Nuôl",
    "Drông",
    "M'nga",
    "Pô",
    "Sar",
    "Bông",
    "Phê",
    "Knốp",
    "Rông",
    "Tân",
    "Lộc",
    "Mai",
    "Hòa",
    "Ktur",
    "Wer",
    "Yên",
)


def labelled(kind: str, base: str) -> str:
    """Return an administrative name with its type prefix and the synthetic label.

    Examples
    --------
    >>> labelled("Xã", "Hòa Phú")
    'Xã Hòa Phú (mô phỏng)'
    """
    return f"{kind} {base} ({SYNTHETIC_LABEL})"


def unique_names(count: int, rng: np.random.Generator) -> list[str]:
    """Draw ``count`` distinct two-syllable place names.

    Parameters
    ----------
    count : int
        How many names; at most ``len(_FIRST) * len(_SECOND)`` (a few hundred).
    rng : numpy.random.Generator
        Source of randomness, so that the same seed gives the same names.

    Returns
    -------
    list of str
        Names such as ``"Hòa Phú"``, in random order, without repeats.
    """
    pairs = [f"{a} {b}" for a, b in itertools.product(_FIRST, _SECOND) if a != b]
    if count > len(pairs):
        raise ValueError(f"count was {count}; at most {len(pairs)} names exist")
    order = rng.permutation(len(pairs))[:count]
    return [pairs[i] for i in order]
