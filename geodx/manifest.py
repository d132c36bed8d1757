"""The region manifest (``region.toml``): parsing and validation.

The manifest is a contract (see the design card): keys keep their meaning; unknown keys
are errors, so that a typo never silently falls back to a default.

The values it parses into are :mod:`geodx.manifest_specs`; a table's keys and values
are checked with :mod:`geodx.manifest_reader`, the ``[[layers]]`` with
:mod:`geodx.manifest_layers`.
"""

from __future__ import annotations

import datetime
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from geodx.errors import ManifestError
from geodx.manifest_layers import LayerReader
from geodx.manifest_specs import (
    CommunesSpec,
    CountsSpec,
    HouseholdsSpec,
    Manifest,
    Targets,
)

MANIFEST_NAME = "region.toml"


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
_TARGET_KEYS = {
    "fibre_household_pct",
    "mobile_commune_pct",
    "mobile_commune_household_pct",
}


class _Parser(LayerReader):
    """Validates one manifest document; every message names the file and the key."""

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
