"""Service settings, read from ``GEODX_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of the geodx web service.

    Only ``api/`` and the CLI build these; the core never reads them.
    """

    model_config = SettingsConfigDict(
        env_prefix="GEODX_", env_file=".env", extra="ignore"
    )

    results_dir: Path = Field(
        default=Path("build/demo-out"),
        description="Folder written by `geodx run` (communes.geojson, summary.json, ...).",
    )
    results_version: str | None = Field(
        default=None,
        description="Version `geodx serve` pinned; a worker loading another one refuses "
        "to start (every worker serves the same results).",
    )
    default_limit: int = Field(default=100, ge=1, le=10_000)
    max_limit: int = Field(default=1000, ge=1, le=100_000)
    map_max_cells: int = Field(
        default=6000,
        ge=1,
        description="Hexagons on a coverage map are rolled up until fewer.",
    )
    map_tiles_above: int = Field(
        default=1000,
        ge=0,
        description="A coverage map of more communes draws communes and hexagons "
        "from /tiles by zoom instead of inlining them.",
    )
    warm_maps: bool = Field(
        default=True,
        description="Render the coverage maps in the background at startup.",
    )
    tiles_url: str | None = Field(
        default=None,
        description="Base-map tile URL template; none by default (works offline).",
    )
    tiles_attribution: str = "Base map"
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=["*"],
        description="Origins allowed to read the API from a browser: a comma list "
        "(`https://a.example,https://b.example`), a JSON list, or `*`.",
    )
    cache_control: str = "public, max-age=300"
    base_url: str | None = Field(
        default=None,
        description="Public URL of the service (`https://geodx.example.vn/api`); every "
        "link is built from it. Unset: from the address the server listens on, never "
        "from the request's Host header.",
    )
    region: Path | None = Field(
        default=None,
        description="Region folder (or its region.toml) the results were computed from; "
        "`geodx serve` sets it. Needed by the endpoints that test new points or layers "
        "(`/lookup`, `/scenarios`); unset, those answer 503.",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Keys accepted for writes (`Authorization: Bearer <key>`), a comma "
        "list; none: every write is refused with 401.",
    )
    history: str | None = Field(
        default=None,
        description="History store (`geodx run --history`): an SQLite file path or a "
        "`postgresql://` URL; unset, `/history` answers 503.",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Folder for the service's own state shared by its workers "
        "(scenarios); default `<results folder>/../.geodx-state`.",
    )
    live_in_background: bool = Field(
        default=False,
        description="Prepare the region for `/lookup` in a background thread at start-up "
        "(`geodx serve` sets it): the worker serves at once, a lookup meanwhile waits "
        "up to 10 s, then 503.",
    )
    scenarios_max_households: int = Field(
        default=5_000_000,
        ge=0,
        description="`/scenarios` keeps the whole region in every worker: above this "
        "many households (the served summary's) it is not prepared (503 saying so).",
    )
    scenario_max_body_bytes: int = Field(
        default=5_000_000,
        ge=1,
        description="`POST /scenarios`: bytes of a request body, read up to this (413).",
    )
    scenario_max_layers: int = Field(
        default=5, ge=1, description="Layers one scenario may add (413)."
    )
    scenario_max_features: int = Field(
        default=10_000, ge=1, description="Features of one scenario, all layers (413)."
    )
    scenario_max_vertices: int = Field(
        default=200_000, ge=1, description="Vertices of one scenario, all layers (413)."
    )
    scenarios_kept: int = Field(
        default=100,
        ge=1,
        description="Scenarios kept in the state folder; past it the oldest are deleted.",
    )
    scenario_rate_per_minute: float = Field(
        default=6.0,
        gt=0,
        description="Scenarios one API key may create per minute (a token bucket shared "
        "by the workers, in the state folder); past it 429 with Retry-After.",
    )
    scenario_burst: int = Field(
        default=3, ge=1, description="Scenarios one key may create at once (bucket)."
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="`geodx serve` closes a connection whose request line and headers "
        "are not complete within this many seconds (slow clients, slowloris).",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        """``k1,k2`` from the environment; empty parts dropped; lists pass."""
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """``a,b`` or ``["a", "b"]`` (JSON) from the environment; lists pass."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                return json.loads(text)
            except ValueError:
                raise ValueError(
                    "cors_origins: not a JSON list; give a comma list instead"
                ) from None
        return [part.strip() for part in text.split(",") if part.strip()]

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        """An absolute ``http(s)`` URL with a host, without query or fragment."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"base_url was {value[:80]!r}; expected an absolute http(s) URL "
                "such as https://geodx.example.vn/api"
            )
        if parts.query or parts.fragment:
            raise ValueError("base_url: expected no query string or fragment")
        return value.strip().rstrip("/")
