"""The region manifest (``region.toml``): parsing and validation.

The manifest is a contract (see the design card): keys keep their meaning; unknown keys
are errors, so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import datetime
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geodx.errors import ManifestError

MANIFEST_NAME = "region.toml"

DEFAULT_SERVICE_DISTANCE_M = 250.0
DEFAULT_MIN_RSRP_DBM = -105.0
# 3GPP TS 36.133 reports RSRP from -156 dBm to -31 dBm.
RSRP_RANGE_DBM = (-156.0, -31.0)
MAX_SERVICE_DISTANCE_M = 50_000.0

KINDS = ("fibre", "mobile", "measured")
# Measured speeds (Ookla open tiles): a household counts at or above the speed when its
# zoom-16 tile has at least DEFAULT_MIN_TESTS tests averaging DEFAULT_MIN_DOWNLOAD_MBPS.
DEFAULT_MIN_DOWNLOAD_MBPS = 10.0
DEFAULT_MIN_TESTS = 3
MAX_MIN_TESTS = 1_000_000
MODELS = ("cost231-hata",)
ENVIRONMENTS = ("urban", "suburban", "rural")
MAX_INDOOR_LOSS_DB = 60.0
TECHNOLOGIES = ("4G", "5G")


@dataclass(frozen=True)
class CommunesSpec:
    """Where the communes are and which columns hold their codes and names."""

    path: Path
    code: str = "commune_code"
    name: str = "commune_name"
    district_code: str = "district_code"
    district_name: str = "district_name"
    # Whether the district columns were named explicitly (then they must exist).
    districts_required: bool = False
    layer: str | None = None


@dataclass(frozen=True)
class HouseholdsSpec:
    """Where the households are: a point vector file, or a table with lon/lat columns."""

    path: Path
    lon: str = "lon"
    lat: str = "lat"
    weight: str | None = None
    layer: str | None = None


@dataclass(frozen=True)
class CountsSpec:
    """Households as counts per commune, spread over a density raster or buildings."""

    counts: Path
    code: str = "commune_code"
    households: str = "households"
    spread: Path | None = None
    vintage: str | None = None
    layer: str | None = None

    @property
    def path(self) -> Path:
        """The counts table (what the run checksums as its households input)."""
        return self.counts


@dataclass(frozen=True)
class LayerSpec:
    """One coverage layer of the manifest."""

    id: str
    kind: str
    path: Path
    operator: str | None = None
    technology: str | None = None
    service_distance_m: float = DEFAULT_SERVICE_DISTANCE_M
    min_rsrp_dbm: float = DEFAULT_MIN_RSRP_DBM
    band: int = 1
    layer: str | None = None
    # Predicted from a sector list (DESIGN.md "Mobile coverage predicted from sites").
    model: str | None = None
    environment: str | None = None
    indoor_loss_db: float | None = None
    # Measured speeds (``kind = "measured"``): None on other kinds.
    min_download_mbps: float | None = None
    min_tests: int | None = None

    @property
    def slug(self) -> str:
        """The id as a column-name fragment: ``vnpt-fibre`` -> ``vnpt_fibre``."""
        return slugify(self.id)


@dataclass(frozen=True)
class Targets:
    """The targets, as percentages 0-100."""

    fibre_household_pct: float = 90.0
    mobile_commune_pct: float = 100.0
    mobile_commune_household_pct: float = 95.0


@dataclass(frozen=True)
class Manifest:
    """A parsed and validated region manifest."""

    path: Path
    name: str
    h3_resolution: int
    communes: CommunesSpec
    households: HouseholdsSpec | CountsSpec
    layers: tuple[LayerSpec, ...]
    targets: Targets = field(default_factory=Targets)
    # ``kind = "measured"`` layers: kept apart, so no coverage figure reads them.
    measured: tuple[LayerSpec, ...] = ()
    synthetic: bool = False
    source: str | None = None

    @property
    def root(self) -> Path:
        """The folder relative paths resolve against."""
        return self.path.parent


def slugify(text: str) -> str:
    """Lower-case ``text`` and replace every character outside ``[a-z0-9]`` by ``_``.

    Examples
    --------
    >>> slugify("VNPT-Fibre 1")
    'vnpt_fibre_1'
    """
    return re.sub(r"[^a-z0-9]", "_", text.lower())


# A URL (http:, ftp:, s3:, file:, ...) or a GDAL prefix (GPKG:, NETCDF:, ...): a
# scheme of two or more letters, so that a Windows drive (C:) is still a path.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
# GDAL's virtual file systems: /vsicurl/, /vsizip/, /vsimem/, ... anywhere in the path.
_VSI = re.compile(r"(^|[/\\])vsi[a-z0-9]*(?:_streaming)?([/\\]|$)", re.IGNORECASE)


def refused_path(raw: str) -> str | None:
    """Why a manifest path is refused (a URL or a GDAL ``/vsi`` path), else ``None``.

    Examples
    --------
    >>> refused_path("/vsicurl/http://127.0.0.1/x.tif")
    'is a GDAL virtual file system path (/vsi...)'
    >>> refused_path("https://example.org/communes.geojson")
    'is a URL or GDAL prefix (https:)'
    >>> refused_path("data/communes.gpkg") is None
    True
    """
    if _VSI.search(raw):
        return "is a GDAL virtual file system path (/vsi...)"
    match = _SCHEME.match(raw)
    if match:
        return f"is a URL or GDAL prefix ({match.group(0)})"
    if "\x00" in raw:
        return "holds a NUL character"
    return None


def find_manifest(region: str | Path) -> Path:
    """Return the manifest path for a region folder or a manifest file.

    Raises
    ------
    ManifestError
        When neither exists.
    """
    path = Path(region)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: region manifest not found")
    return path


def load_manifest(region: str | Path) -> Manifest:
    """Read and validate ``region.toml``.

    Parameters
    ----------
    region : str or Path
        A folder holding ``region.toml``, or the manifest file itself.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        Malformed TOML, unknown or missing keys, wrong types, values out of range,
        input files that do not exist.
    """
    path = find_manifest(region).resolve()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    return _Parser(path).manifest(doc)


def with_layers(manifest: Manifest, tables: Any, *, source: Path) -> Manifest:
    """``manifest`` with more ``[[layers]]`` tables, checked as its own layers are.

    Paths resolve against ``source``'s folder and messages name ``source``; ids must
    not clash with each other or with the manifest's (the same column rule). Used by
    scenarios (``app.scenarios``): the region as if these layers were in its manifest.

    Raises
    ------
    ManifestError
    """
    parser = _Parser(source)
    if not isinstance(tables, list):
        raise parser.fail("layers", "must be an array of tables: [[layers]]")
    added = tuple(parser.layer(i, t) for i, t in enumerate(tables))
    parser.check_unique(manifest.layers + manifest.measured + added)
    return replace(
        manifest,
        layers=manifest.layers + tuple(s for s in added if s.kind != "measured"),
        measured=manifest.measured + tuple(s for s in added if s.kind == "measured"),
    )


def load_layers_file(manifest: Manifest, path: Path) -> Manifest:
    """``manifest`` with the ``[[layers]]`` of a TOML file added (see :func:`with_layers`).

    Raises
    ------
    ManifestError
        Not a file, not TOML, a key other than ``layers``, or a bad layer.
    """
    path = path.resolve()
    parser = _Parser(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None
    parser.check_keys("top level", doc, {"layers"})
    return with_layers(manifest, doc.get("layers", []), source=path)


_SECTIONS = {"region", "communes", "households", "layers", "targets"}
_REGION_KEYS = {"name", "h3_resolution", "synthetic", "source"}
_COMMUNE_KEYS = {"path", "code", "name", "district_code", "district_name", "layer"}
_HOUSEHOLD_KEYS = {"path", "lon", "lat", "weight", "layer"}
_COUNTS_KEYS = {"counts", "code", "households", "spread", "vintage", "layer"}
_LAYER_KEYS = {
    "id",
    "kind",
    "operator",
    "technology",
    "path",
    "service_distance_m",
    "min_rsrp_dbm",
    "band",
    "layer",
    "model",
    "environment",
    "indoor_loss_db",
    "min_download_mbps",
    "min_tests",
}
_TARGET_KEYS = {
    "fibre_household_pct",
    "mobile_commune_pct",
    "mobile_commune_household_pct",
}


class _Parser:
    """Validates one manifest document; every message names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ManifestError:
        return ManifestError(f"{self.path}: [{where}] {message}")

    def check_keys(self, where: str, table: Any, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise self.fail(where, f"unknown key '{key}'{hint}")
        return table

    def get(
        self, where: str, table: dict[str, Any], key: str, kind: type | tuple[type, ...]
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        ok = isinstance(value, kind) and not (
            isinstance(value, bool) and kind in (int, float, (int, float))
        )
        if not ok:
            names = {"str": "a string", "int": "an integer", "bool": "true or false"}
            name = (
                names.get(kind.__name__, "a number")
                if isinstance(kind, type)
                else "a number"
            )
            raise self.fail(where, f"'{key}' must be {name}, got {value!r}")
        return value

    def number(
        self,
        where: str,
        table: dict[str, Any],
        key: str,
        default: float,
        low: float,
        high: float,
        *,
        open_low: bool = False,
    ) -> float:
        value = self.get(where, table, key, (int, float))
        if value is None:
            return default
        if not math.isfinite(value):  # TOML allows nan and inf
            raise self.fail(where, f"'{key}' was {value}; expected a finite number")
        too_low = value <= low if open_low else value < low
        if too_low or value > high:
            bracket = "(" if open_low else "["
            raise self.fail(
                where,
                f"'{key}' was {value}; expected a value in {bracket}{low}, {high}]",
            )
        return float(value)

    def file(self, where: str, table: dict[str, Any], key: str = "path") -> Path:
        raw = self.get(where, table, key, str)
        if not raw:
            raise self.fail(where, f"'{key}' is required")
        refused = refused_path(raw)
        if refused:
            raise self.fail(where, f"'{key}' {refused}; give a local file")
        path: Path = (self.path.parent / raw).resolve()
        if not path.exists():
            raise self.fail(where, f"{key} '{raw}' does not exist ({path})")
        if not path.is_file():
            raise self.fail(where, f"{key} '{raw}' is not a file ({path})")
        return path

    def manifest(self, doc: dict[str, Any]) -> Manifest:
        self.check_keys("top level", doc, _SECTIONS)
        for section in ("region", "communes", "households"):
            if section not in doc:
                raise self.fail(section, "section is missing")
        region = self.check_keys("region", doc["region"], _REGION_KEYS)
        resolution = self.get("region", region, "h3_resolution", int)
        if resolution is None:
            raise self.fail("region", "'h3_resolution' is required")
        if not 0 <= resolution <= 15:
            raise self.fail(
                "region", f"'h3_resolution' was {resolution}; expected 0-15"
            )
        layers_doc = doc.get("layers", [])
        if not isinstance(layers_doc, list):
            raise self.fail("layers", "must be an array of tables: [[layers]]")
        every = tuple(self.layer(i, t) for i, t in enumerate(layers_doc))
        self.check_unique(every)
        layers = tuple(spec for spec in every if spec.kind != "measured")
        return Manifest(
            path=self.path,
            name=self.get("region", region, "name", str) or self.path.parent.name,
            h3_resolution=resolution,
            communes=self.communes(doc["communes"]),
            households=self.households(doc["households"]),
            layers=layers,
            measured=tuple(spec for spec in every if spec.kind == "measured"),
            targets=self.targets(doc.get("targets", {})),
            synthetic=bool(self.get("region", region, "synthetic", bool)),
            source=self.get("region", region, "source", str),
        )

    def communes(self, table: Any) -> CommunesSpec:
        t = self.check_keys("communes", table, _COMMUNE_KEYS)
        cols = {k: self.get("communes", t, k, str) for k in _COMMUNE_KEYS - {"path"}}
        named = {k: v for k, v in cols.items() if v is not None and k != "layer"}
        return CommunesSpec(
            path=self.file("communes", t),
            districts_required=bool({"district_code", "district_name"} & set(named)),
            layer=cols["layer"],
            **named,
        )

    def households(self, table: Any) -> HouseholdsSpec | CountsSpec:
        if isinstance(table, dict) and "counts" in table:
            return self.counts(table)
        t = self.check_keys("households", table, _HOUSEHOLD_KEYS)
        cols = {
            k: self.get("households", t, k, str) for k in _HOUSEHOLD_KEYS - {"path"}
        }
        return HouseholdsSpec(
            path=self.file("households", t),
            **{k: v for k, v in cols.items() if v is not None},
        )

    def counts(self, table: dict[str, Any]) -> CountsSpec:
        if "path" in table:
            raise self.fail(
                "households", "give 'path' (points) or 'counts' (per commune), not both"
            )
        t = self.check_keys("households", table, _COUNTS_KEYS)
        cols = {k: self.get("households", t, k, str) for k in ("code", "households")}
        vintage = self.vintage(t.get("vintage"))
        return CountsSpec(
            counts=self.file("households", t, "counts"),
            spread=self.file("households", t, "spread") if "spread" in t else None,
            vintage=vintage.isoformat() if vintage is not None else None,
            layer=self.get("households", t, "layer", str),
            **{k: v for k, v in cols.items() if v is not None},
        )

    def vintage(self, value: Any) -> datetime.date | None:
        """An ISO date, as a TOML date or a string."""
        if value is None or type(value) is datetime.date:
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(
            "households", f"'vintage' was {value!r}; expected an ISO date (YYYY-MM-DD)"
        )

    def layer(self, index: int, table: Any) -> LayerSpec:
        where = f"layers #{index + 1}"
        t = self.check_keys(where, table, _LAYER_KEYS)
        layer_id = self.get(where, t, "id", str)
        if not layer_id:
            raise self.fail(where, "'id' is required")
        where = f"layers '{layer_id}'"
        kind = self.get(where, t, "kind", str)
        if kind not in KINDS:
            raise self.fail(where, f"'kind' was {kind!r}; expected one of {KINDS}")
        technology = self.get(where, t, "technology", str)
        if technology is not None:
            technology = technology.upper()
        if kind == "mobile" and technology not in TECHNOLOGIES:
            raise self.fail(
                where,
                f"'technology' was {technology!r}; expected one of {TECHNOLOGIES}",
            )
        band = self.get(where, t, "band", int)
        return LayerSpec(
            id=layer_id,
            kind=kind,
            path=self.file(where, t),
            operator=self.get(where, t, "operator", str),
            technology=technology,
            service_distance_m=self.number(
                where,
                t,
                "service_distance_m",
                DEFAULT_SERVICE_DISTANCE_M,
                0.0,
                MAX_SERVICE_DISTANCE_M,
                open_low=True,
            ),
            min_rsrp_dbm=self.number(
                where, t, "min_rsrp_dbm", DEFAULT_MIN_RSRP_DBM, *RSRP_RANGE_DBM
            ),
            band=1 if band is None else band,
            layer=self.get(where, t, "layer", str),
            **self.prediction(where, t, kind),
            **self.measured(where, t, kind),
        )

    def measured(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """``min_download_mbps`` and ``min_tests``: measured layers only."""
        if kind != "measured":
            for key in ("min_download_mbps", "min_tests"):
                if key in t:
                    raise self.fail(where, f"'{key}' is for measured layers only")
            return {}
        tests = self.get(where, t, "min_tests", int)
        if tests is not None and not 1 <= tests <= MAX_MIN_TESTS:
            raise self.fail(
                where, f"'min_tests' was {tests}; expected 1 to {MAX_MIN_TESTS:,}"
            )
        speed = self.number(
            where, t, "min_download_mbps", DEFAULT_MIN_DOWNLOAD_MBPS, 0.0, 100_000.0
        )
        return {
            "min_download_mbps": speed,
            "min_tests": DEFAULT_MIN_TESTS if tests is None else tests,
        }

    def prediction(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """``model``, ``environment``, ``indoor_loss_db``: mobile layers of sectors."""
        model = self.get(where, t, "model", str)
        if model is None:
            return self.raster_indoor(where, t, kind)
        if kind != "mobile":
            raise self.fail(where, "'model' is for mobile layers only")
        if model not in MODELS:
            raise self.fail(where, f"'model' was {model!r}; expected one of {MODELS}")
        environment = self.get(where, t, "environment", str)
        if environment not in ENVIRONMENTS:
            raise self.fail(
                where,
                f"'environment' was {environment!r}; expected one of {ENVIRONMENTS}",
            )
        loss = None
        if "indoor_loss_db" in t:
            loss = self.number(where, t, "indoor_loss_db", 0.0, 0.0, MAX_INDOOR_LOSS_DB)
        return {"model": model, "environment": environment, "indoor_loss_db": loss}

    def raster_indoor(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """Without ``model``: ``indoor_loss_db`` on a mobile raster (``.tif``) only."""
        if "environment" in t:
            raise self.fail(where, "'environment' needs 'model' (a sector list)")
        if "indoor_loss_db" not in t:
            return {}
        raw = self.get(where, t, "path", str) or ""
        if kind != "mobile" or Path(raw).suffix.lower() not in (".tif", ".tiff"):
            raise self.fail(
                where,
                "'indoor_loss_db' needs 'model' (a sector list) or a mobile raster (.tif)",
            )
        loss = self.number(where, t, "indoor_loss_db", 0.0, 0.0, MAX_INDOOR_LOSS_DB)
        return {"indoor_loss_db": loss}

    def check_unique(self, layers: tuple[LayerSpec, ...]) -> None:
        seen: dict[str, str] = {}
        for spec in layers:
            if spec.slug in seen:
                raise self.fail(
                    f"layers '{spec.id}'",
                    f"id clashes with layer '{seen[spec.slug]}' (same column name)",
                )
            seen[spec.slug] = spec.id
        self.check_view_columns(layers)

    def check_view_columns(self, layers: tuple[LayerSpec, ...]) -> None:
        """Operators and indoor layers name columns too: no two may share one."""
        operators: dict[str, str] = {}
        for spec in layers:
            name = spec.operator
            if name is not None and operators.setdefault(slugify(name), name) != name:
                raise self.fail(
                    f"layers '{spec.id}'",
                    f"operator {name!r} clashes with operator "
                    f"{operators[slugify(name)]!r} (same column operator_"
                    f"{slugify(name)}_*); spell them the same or apart",
                )
        slugs = {spec.slug: spec.id for spec in layers}
        for spec in layers:
            other = slugs.get(f"{spec.slug}_indoor")
            if spec.indoor_loss_db is not None and other is not None:
                raise self.fail(
                    f"layers '{other}'",
                    f"id clashes with the indoor column of layer '{spec.id}' "
                    f"(layer_{spec.slug}_indoor_households)",
                )

    def targets(self, table: Any) -> Targets:
        t = self.check_keys("targets", table, _TARGET_KEYS)
        d = Targets()
        return Targets(
            **{
                key: self.number(
                    "targets", t, key, getattr(d, key), 0.0, 100.0, open_low=True
                )
                for key in _TARGET_KEYS
            }
        )
