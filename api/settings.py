"""Service settings, read from ``GEODX_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    default_limit: int = Field(default=100, ge=1, le=10_000)
    max_limit: int = Field(default=1000, ge=1, le=100_000)
    map_max_cells: int = Field(
        default=6000,
        ge=1,
        description="Hexagons on a coverage map are rolled up until fewer.",
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
    cors_origins: list[str] = ["*"]
    cache_control: str = "public, max-age=300"
