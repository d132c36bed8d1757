"""Demo regions: a synthetic province, or synthetic data on real commune boundaries.

Everything a demo region contains that is made up is labelled synthetic.
"""

from __future__ import annotations

from geodx.demo.real import build_real_region
from geodx.demo.synthetic import build_synthetic_region

__all__ = ["build_real_region", "build_synthetic_region"]
