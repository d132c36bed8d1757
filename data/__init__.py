"""Demo regions: a synthetic province, or synthetic data on real commune boundaries.

Everything a demo region contains that is made up is labelled synthetic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data.real import build_real_region
    from data.synthetic import build_synthetic_region

__all__ = ["build_real_region", "build_synthetic_region"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `geodx --help` and `geodx run` stay quick.
    if name == "build_real_region":
        from data.real import build_real_region

        return build_real_region
    if name == "build_synthetic_region":
        from data.synthetic import build_synthetic_region

        return build_synthetic_region
    raise AttributeError(name)
