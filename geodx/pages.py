"""The one constant page every geodx map is served in, and its map's JSON blob.

Folium builds the page (the Leaflet map ``map_geodx``, its assets, a slot for the data)
once, with no data in it: branca compiles the text its elements render as Jinja
templates, so no value from data or settings may ever reach it (issue 6, C6). A map is
then this page with its data as one ``<script type="application/json">`` blob
(:meth:`MapPage.render`): a JSON dump, escaped for ``</script>`` and ``<!--``. The
page's only inline scripts and styles are Folium's own; :class:`MapPage` gives their
hashes for a Content-Security-Policy. Folium and branca are imported by the first
skeleton built (:func:`map_page`), not by importing this module.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

if TYPE_CHECKING:
    import folium

DATA_ELEMENT_ID = "geodx-map-data"
_SLOT = "@@geodx-map-data@@"  # where a page's JSON goes in the constant skeleton
_INLINE = {
    tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.S) for tag in ("script", "style")
}


class MapAssets(NamedTuple):
    """Where the page loads Leaflet and geodx's constant map script and style from."""

    leaflet_js: str
    leaflet_css: str
    script: str
    stylesheet: str


class MapPage(NamedTuple):
    """The constant page around a map's JSON blob, and the hashes of its inline code.

    ``script_hashes`` and ``style_hashes`` are CSP sources (``'sha256-…'``) of the
    page's inline ``<script>`` and ``<style>`` elements; the JSON blob is data, not a
    script, and needs none.
    """

    head: bytes
    tail: bytes
    script_hashes: tuple[str, ...]
    style_hashes: tuple[str, ...]

    def render(self, data: dict[str, Any]) -> bytes:
        """The page of one map: the skeleton with ``data`` as its JSON blob."""
        return b"".join((self.head, script_json(data), self.tail))


@functools.cache
def _tag_class() -> type[Any]:
    from branca.element import Element

    class _Tag(Element):
        """A tag whose template is a constant; the URL it holds is a template variable."""

        def __init__(self, template: Any, url: str) -> None:
            super().__init__()
            self._template = template
            self.url = url

    return _Tag


@functools.cache
def _tag_templates() -> tuple[Any, Any]:
    """The deferred script's and the stylesheet's constant templates."""
    from folium.template import Template

    return (
        Template('<script defer src="{{ this.url|e }}"></script>'),
        Template('<link rel="stylesheet" href="{{ this.url|e }}"/>'),
    )


# No favicon request: behind a path prefix the browser's /favicon.ico leaves the app.
_NO_ICON = '<link rel="icon" href="data:,"/>'
_DATA = f'<script type="application/json" id="{DATA_ELEMENT_ID}">{_SLOT}</script>'


def script_json(data: Any) -> bytes:
    r"""``data`` as JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\u`` escapes, so neither ``</script>`` nor
    ``<!--`` can occur; NaN becomes ``null``.

    Examples
    --------
    >>> script_json({"name": "</script><!--{{ 7*7 }}"})
    b'{"name":"\\u003c/script\\u003e\\u003c!--{{ 7*7 }}"}'
    """
    raw = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
    return (
        raw.replace(b"<", b"\\u003c")
        .replace(b">", b"\\u003e")
        .replace(b"&", b"\\u0026")
    )


def _csp_hashes(tag: str, page: str) -> tuple[str, ...]:
    found = _INLINE[tag].findall(page)
    digests = (hashlib.sha256(body.encode()).digest() for body in found)
    return tuple(
        dict.fromkeys(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests)
    )


@functools.lru_cache(maxsize=4)
def map_page(assets: MapAssets) -> MapPage:
    """Folium's page skeleton for every map: a Leaflet map, its assets, a data slot.

    It holds no data, and its element ids are fixed, so every process renders the
    same bytes (and the same CSP hashes).
    """
    import folium
    from branca.element import Element, Figure

    m = folium.Map(location=[0, 0], zoom_start=2, tiles=None, control_scale=True)
    m._id = "geodx"  # the map's JS variable is map_geodx, in every process
    m.default_js = [("leaflet", assets.leaflet_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css)]
    root = m.get_root()
    assert isinstance(root, Figure)
    root.title = "geodx"
    root.header.add_child(Element(_NO_ICON), name="geodx_icon")
    script, stylesheet = _tag_templates()
    tag = _tag_class()
    root.header.add_child(tag(stylesheet, assets.stylesheet), name="geodx_css")
    root.header.add_child(tag(script, assets.script), name="geodx_js")
    root.html.add_child(Element(_DATA), name="geodx_data")
    check_offline(m, assets)
    page = str(root.render())
    head, slot, tail = page.partition(_SLOT)
    assert slot and _SLOT not in tail, "the data slot must occur once"
    return MapPage(
        head.encode(),
        tail.encode(),
        _csp_hashes("script", page),
        _csp_hashes("style", page),
    )


def check_offline(m: folium.Map, assets: MapAssets) -> None:
    """Raise if any element of the map would load a script or stylesheet elsewhere."""
    allowed = set(assets)
    tag = _tag_class()
    for element in _walk(m.get_root()):
        urls = [u for _, u in getattr(element, "default_js", [])]
        urls += [u for _, u in getattr(element, "default_css", [])]
        urls += [element.url] if isinstance(element, tag) else []
        for url in urls:
            if url not in allowed:
                raise ValueError(f"map element {type(element).__name__} loads {url}")


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


# --- tooltips: columns of raw values, formatted by maps.js ---------------------------
