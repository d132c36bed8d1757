"""Finding communes by name: folded names, so spelling variants of one name match.

Five real 2025 Đắk Lắk names hold an apostrophe (Cư M’gar, Ea H’leo, M’Drắk…), typed as
``’``, ``'``, ``ʼ`` or left out; hyphens and spaces vary too. Names are compared folded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

_APOSTROPHES = re.compile("['`\u2018\u2019\u02bc\u02b9\u00b4\u2032]")


def fold(text: str) -> str:
    """Search form of a name: lower case, no diacritics (đ -> d), no apostrophes.

    Other punctuation and symbols become a space; spaces are collapsed.

    Examples
    --------
    >>> fold("Xã Cư M’gar"), fold("M'Drắk"), fold("Ea-H’leo  (mới)")
    ('xa cu mgar', 'mdrak', 'ea hleo moi')
    """
    text = _APOSTROPHES.sub("", text.replace("đ", "d").replace("Đ", "D"))
    chars = []
    for c in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(c)
        if cat.startswith("M"):
            continue
        chars.append(" " if cat[0] in "PSZC" else c)
    return " ".join("".join(chars).casefold().split())


@dataclass(frozen=True)
class NameSearch:
    """Folded commune names, codes and district names, for :meth:`find`."""

    names: list[str]
    compact: list[str]
    codes: list[str]
    districts: list[str]

    @classmethod
    def build(cls, communes: pd.DataFrame) -> NameSearch:
        """Fold every name once."""
        names = [fold(str(n)) for n in communes["commune_name"]]
        districts = [
            "" if d is None or d != d else fold(str(d))
            for d in communes["district_name"]
        ]
        return cls(
            names,
            [n.replace(" ", "") for n in names],
            [fold(str(c)) for c in communes["commune_code"]],
            [d.replace(" ", "") for d in districts],
        )

    def find(self, query: str) -> list[int]:
        """Rows matching ``query``: commune names and codes first, then by district.

        Apostrophes, punctuation and spaces do not matter: "cu mgar", "Cư M'gar" and
        "CưM’gar" all find "Cư M’gar"; "buon ma thuot" finds that district's communes.
        """
        needle = fold(query)
        tight = needle.replace(" ", "")
        if not tight:
            return []
        ranked = []
        for i, name in enumerate(self.names):
            if needle in name or tight in self.compact[i] or needle in self.codes[i]:
                ranked.append((0, not name.endswith(needle), name, i))
            elif tight in self.districts[i]:
                ranked.append((1, False, name, i))
        return [r[-1] for r in sorted(ranked)]
