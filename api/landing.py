"""The HTML landing page: what the region is, links to maps, tables and the API."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from api.results import RegionResults

_STYLE = """body{font:15px/1.5 sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}.synthetic{background:#c51b7d;color:#fff;padding:.4rem .7rem;
border-radius:4px;font-weight:bold}table{border-collapse:collapse}
td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}"""


def csp_hash(source: str) -> str:
    """The CSP source expression allowing one inline ``<style>`` or ``<script>``."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


# The page's only style is the inline one above; no script, no frame, no form.
LANDING_CSP = (
    f"default-src 'none'; style-src {csp_hash(_STYLE)}; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _pct(value: object) -> str:
    return f"{value:.2f} %" if isinstance(value, int | float) else "–"


def landing_html(results: RegionResults, base: str = "") -> str:
    """The landing page; every value from the data is escaped.

    Links start with ``base`` (the configured public URL); empty: relative ones.
    """
    s = results.summary
    b = escape(base.rstrip("/") + "/" if base else "")
    name = escape(results.name or "geodx")
    banner = (
        '<p class="synthetic">DỮ LIỆU GIẢ LẬP — SYNTHETIC DATA: generated for '
        "demonstration, not real coverage.</p>"
        if results.synthetic
        else ""
    )
    rows = [
        ("Số hộ / households", s.get("households")),
        ("Cáp quang / fibre", _pct(s.get("fibre_pct"))),
        ("4G/5G", _pct(s.get("mobile_pct"))),
        ("5G", _pct(s.get("mobile_5g_pct"))),
        ("Xã có 4G/5G / communes covered", _pct(s.get("mobile_commune_pct"))),
        ("Hộ còn thiếu cáp quang / fibre gap", s.get("fibre_gap_households")),
    ]
    table = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>geodx — {name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style></head><body>
<h1>geodx — {name}</h1>{banner}
<table>{table}</table>
<h2>Bản đồ / maps</h2><ul>
<li><a href="{b}maps/coverage?indicator=fibre">Cáp quang / fibre</a></li>
<li><a href="{b}maps/coverage?indicator=mobile">4G/5G</a></li>
<li><a href="{b}maps/coverage?indicator=mobile_5g">5G</a></li></ul>
<h2>Bảng / tables</h2><ul>
<li><a href="{b}gaps?indicator=fibre&amp;format=xlsx&amp;lang=vi">Xã chưa đạt cáp quang (Excel)</a>
 · <a href="{b}gaps?indicator=fibre&amp;format=csv&amp;lang=vi">CSV</a></li>
<li><a href="{b}gaps?indicator=mobile&amp;format=xlsx&amp;lang=vi">Xã chưa đạt 4G/5G (Excel)</a>
 · <a href="{b}gaps?indicator=mobile&amp;format=csv&amp;lang=vi">CSV</a></li>
<li><a href="{b}summary">summary (JSON)</a></li></ul>
<h2>API</h2><ul><li><a href="{b}docs">OpenAPI documentation</a></li>
<li><a href="{b}collections">OGC API – Features collections</a></li>
<li><a href="{b}conformance">conformance</a></li></ul>
</body></html>"""
