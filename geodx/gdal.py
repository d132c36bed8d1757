"""GDAL without the network: one switch for every GDAL copy in the process.

pyogrio and rasterio each bundle their own libgdal. Both read configuration options from
the process environment whenever they look one up, so setting ``os.environ`` works for
both, before or after they load. That alone is not enough: a GeoJSON ``crs`` member of
type ``link`` makes GDAL fetch the URL with ``CPLHTTPFetch``, and libcurl sends a request
straight past ``GDAL_HTTP_PROXY`` to any host in ``no_proxy``. So every loaded libgdal
also gets a fetch callback that refuses every URL (``CPLHTTPSetFetchCallback``, GDAL
>= 3.2), and ``/vsicurl/`` is limited to a file name that cannot exist.

:func:`lock_down` is called when :mod:`geodx.io` is imported and by the CLI at start-up;
calling it again is harmless.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import threading
from pathlib import Path

# Options GDAL and PROJ read from the environment; each one closes one way out.
NETWORK_OFF: dict[str, str] = {
    # /vsicurl/ (and /vsis3/, /vsigs/, ... built on it) opens only this one name.
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/geodx-network-access-is-disabled",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geodx-network-access-is-disabled",
    # CPLHTTPFetch through a proxy that does not exist; fail fast, never retry.
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    # PROJ grids from the CDN.
    "PROJ_NETWORK": "OFF",
    # A GeoPackage's triggers and views may not open other datasets or call OGR SQL.
    "ALLOW_VIRTUAL_OGR_FROM_TRIGGER_AND_VIEW": "NO",
    "ALLOW_OGR_SQL_FUNCTIONS_FROM_TRIGGER_AND_VIEW": "NO",
}

# CPLHTTPResult *(*)(const char *url, CSLConstList options, GDALProgressFunc,
#                    void *progress_arg, CPLHTTPFetchWriteFunc, void *write_arg,
#                    void *user_data)
_FETCH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.c_char_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
)


# Callbacks handed to GDAL, one per library; kept alive for the life of the process
# (GDAL holds a bare pointer to each).
_CALLBACKS: dict[str, object] = {}
_LOCK = threading.Lock()
# CPLHTTPResult starts {int nStatus; char *pszContentType; char *pszErrBuf; ...};
# zeroed room for the whole struct, whatever the GDAL version adds at its end.
_RESULT_BYTES = 256
_CURLE_COULDNT_CONNECT = 7
_REFUSAL = b"geodx: network access is disabled"


def lock_down() -> list[str]:
    """Turn GDAL's and PROJ's network access off for the whole process.

    Returns
    -------
    list of str
        The GDAL libraries that now refuse every HTTP fetch (empty when none could be
        found; the environment options still apply).
    """
    with _LOCK:
        os.environ.update(NETWORK_OFF)
        _proj_offline()
        for library in gdal_libraries():
            if library not in _CALLBACKS:
                _install_refusal(library)
        return sorted(_CALLBACKS)


def _proj_offline() -> None:
    from pyproj.network import set_network_enabled  # type: ignore[attr-defined]

    set_network_enabled(active=False)


def gdal_libraries() -> list[str]:
    """The libgdal shared libraries pyogrio and rasterio load (bundled or system)."""
    import pyogrio  # noqa: F401 - loads its libgdal

    with contextlib.suppress(ImportError):  # rasterio loads its own libgdal
        import rasterio  # noqa: F401
    found = _mapped_gdal()
    if found:
        return found
    return _bundled_gdal()  # no /proc (macOS): the wheels' own folders


def _mapped_gdal() -> list[str]:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    names = set()
    for line in maps.read_text(encoding="utf-8", errors="replace").splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "libgdal" in Path(path).name:
            names.add(path)
    return sorted(names)


def _bundled_gdal() -> list[str]:
    names: set[str] = set()
    for package in ("pyogrio", "rasterio"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for folder in (root.parent / f"{package}.libs", root / ".dylibs"):
            names.update(str(p) for p in folder.glob("libgdal*"))
    return sorted(names)


def _install_refusal(library: str) -> None:
    """Make every CPLHTTPFetch of ``library`` fail as a refused connection.

    A callback that returns NULL falls through to curl, so it returns a result of
    that library's own allocation (``CPLHTTPDestroyResult`` frees it) with a curl
    error status and message.
    """
    try:
        gdal = ctypes.CDLL(library)
        setter, calloc, strdup = (
            gdal.CPLHTTPSetFetchCallback,
            gdal.VSICalloc,
            gdal.CPLStrdup,
        )
    except (OSError, AttributeError):
        return
    calloc.argtypes, calloc.restype = (
        [ctypes.c_size_t, ctypes.c_size_t],
        ctypes.c_void_p,
    )
    strdup.argtypes, strdup.restype = [ctypes.c_char_p], ctypes.c_void_p

    def refuse(*_: object) -> int | None:
        result: int | None = calloc(1, _RESULT_BYTES)
        if result:
            ctypes.c_int.from_address(result).value = _CURLE_COULDNT_CONNECT
            errbuf = result + 2 * ctypes.sizeof(ctypes.c_void_p)
            ctypes.c_void_p.from_address(errbuf).value = strdup(_REFUSAL)
        return result

    callback = _FETCH_CALLBACK(refuse)
    setter.argtypes, setter.restype = [_FETCH_CALLBACK, ctypes.c_void_p], None
    setter(callback, None)
    _CALLBACKS[library] = callback
