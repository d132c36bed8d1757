"""Commune names as census tables, code lists and boundary files spell them.

Names of the same commune differ between sources in ways that do not change the commune:
the type prefix (a ``Xã`` became a ``Thị trấn`` or a ``Phường``), case and spaces,
apostrophes (``Ea H'leo``, ``Ea H’Leo``, ``Ea Hleo``), and where the tone mark sits on
a diphthong (``Hoà``/``Hòa``, ``Thuỷ``/``Thủy``). :func:`name_key` removes exactly these
differences and keeps every other letter and mark, so ``Sa Pa`` and ``Sa Pả`` stay apart.

The legacy (pre-July-2025) communes, with their district and province codes, come from
the ``vietnamadminunits`` package (its ``admin_units_legacy`` table, the GSO list of
2025-03): :func:`legacy_communes` reads it, :class:`LegacyNames` looks names up in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Type prefixes of communes, districts and provinces; the longest first.
TYPE_PREFIXES = (
    "thị trấn",
    "thị xã",
    "thành phố",
    "đặc khu",
    "phường",
    "huyện",
    "quận",
    "tỉnh",
    "xã",
)
# The five tone marks (combining): grave, acute, tilde, hook above, dot below.
TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
APOSTROPHES = re.compile(r"['’‘ʼ`´]\s*")


def _syllable(word: str) -> str:
    """A word without its tone mark, the tone written after it (``hòa`` -> ``hoa2``)."""
    parts = unicodedata.normalize("NFD", word)
    tones = [TONES[c] for c in parts if c in TONES]
    bare = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
    if bare.isdigit():
        bare = bare.lstrip("0") or "0"
    return bare + "".join(tones)


def name_key(name: str) -> str:
    """Compare-ready name: no type prefix, case, apostrophes or tone-mark placement.

    Examples
    --------
    >>> name_key("Thị trấn Hoà Hiệp") == name_key("Phường  Hòa Hiệp")
    True
    >>> name_key("Xã Ea H'Leo") == name_key("Xã Ea H’leo") == name_key("xã ea hleo")
    True
    >>> name_key("Sa Pa") == name_key("Sa Pả"), name_key("Phường 03")
    (False, '3')
    """
    text = " ".join(unicodedata.normalize("NFC", name).lower().split())
    text = APOSTROPHES.sub("", text).replace("-", " ")
    for prefix in TYPE_PREFIXES:
        if text.startswith(prefix + " "):
            text = text[len(prefix) + 1 :]
            break
    return " ".join(_syllable(w) for w in text.split())


@dataclass(frozen=True)
class LegacyCommune:
    """A pre-2025 commune: province, district and commune codes and names."""

    province: str
    district: str
    code: str
    name: str
    district_name: str


class LegacyNames:
    """Look old communes and districts up by name, within a province (and district)."""

    def __init__(self, communes: Iterable[LegacyCommune]) -> None:
        self.by_name: dict[tuple[str, str, str], list[str]] = {}
        self.district_by_name: dict[tuple[str, str], set[str]] = {}
        self.district_of_code: dict[str, str] = {}
        self.by_province_name: dict[tuple[str, str], list[str]] = {}
        for c in communes:
            key = (c.province, c.district, name_key(c.name))
            self.by_name.setdefault(key, []).append(c.code)
            pkey = (c.province, name_key(c.name))
            self.by_province_name.setdefault(pkey, []).append(c.code)
            dkey = (c.province, name_key(c.district_name))
            self.district_by_name.setdefault(dkey, set()).add(c.district)
            self.district_of_code[c.code] = c.district

    def code_of(self, province: str, district: str, name: str) -> str | None:
        """The one old commune of that district with this name (key), else None."""
        hits = self.by_name.get((province, district, name_key(name)), [])
        return hits[0] if len(hits) == 1 else None

    def code_in_province(self, province: str, name: str) -> str | None:
        """The one old commune of that province with this name (key), else None."""
        hits = self.by_province_name.get((province, name_key(name)), [])
        return hits[0] if len(hits) == 1 else None

    def district_of(self, province: str, name: str) -> str | None:
        """The one old district of that province with this name (key), else None."""
        hits = self.district_by_name.get((province, name_key(name)), set())
        return next(iter(hits)) if len(hits) == 1 else None


def legacy_communes() -> list[LegacyCommune]:
    """The 10,040 pre-2025 communes of ``vietnamadminunits`` (GSO list of 2025-03)."""
    from vietnamadminunits.database import (  # type: ignore[import-untyped]
        get_data,
    )

    fields = ["provinceCode", "districtCode", "wardCode", "ward", "district"]
    return [
        LegacyCommune(
            province=str(r["provinceCode"]).zfill(2),
            district=str(r["districtCode"]).zfill(3),
            code=str(r["wardCode"]).zfill(5),
            name=str(r["ward"]),
            district_name=str(r["district"]),
        )
        for r in get_data(fields=fields, table="admin_units_legacy")
        if r["wardCode"] and r["districtCode"] and r["provinceCode"]
    ]


def legacy_names() -> LegacyNames:
    """The :class:`LegacyNames` of :func:`legacy_communes`."""
    return LegacyNames(legacy_communes())
