"""The run's map layers drawn in a thread while the partitions run.

What a run draws for the maps (:func:`layers.mapdraw.write_map_layers`) depends on
the manifest, the layers read and the communes' WGS84 bounds, never on the results;
once the local engine has read the region's layers (every vector layer kept by
``layers.vector.reads_kept``, the site layers open), or once Dask's workers are up
(they read the region themselves; the drawing reads and opens the layers it draws),
the drawing starts in a thread
into a scratch folder beside the versions (``tmp-layers-*``, deleted by the next run
when this one is killed) and is moved into the run's output folder once that exists.
GEOS, PROJ, numpy and the PNG and GeoTIFF encoders free the GIL for most of the work.
The files are the ones drawn after the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pyproj import CRS

from geodx.contract_names import MAP_LAYERS_DIR
from geodx.limits import Limits
from geodx.manifest_specs import Manifest
from layers.mapdraw import write_map_layers
from layers.sites import SiteLayer

Bounds = tuple[float, float, float, float]


class MapDrawing:
    """The map layers of one run, drawn in a thread once :meth:`start` is called."""

    def __init__(self, manifest: Manifest, limits: Limits, scratch: Path) -> None:
        self.manifest, self.limits, self.scratch = manifest, limits, scratch
        self.folder: Path | None = None
        self.job: Future[dict[str, Any]] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self, bounds: Bounds, utm: CRS, sites: Mapping[str, SiteLayer]) -> None:
        """Start drawing (the region's layers read; ``sites``: every site layer)."""
        self.folder = Path(tempfile.mkdtemp(prefix="tmp-layers-", dir=self.scratch))
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="geodx-maps")
        self.job = self._pool.submit(
            write_map_layers, self.folder, self.manifest, region_bounds=bounds,
            metric_crs=utm, limits=self.limits, sites=dict(sites),
        )  # fmt: skip

    @property
    def started(self) -> bool:
        """Whether the drawing was started."""
        return self.job is not None

    def move_into(self, out: Path) -> None:
        """Wait for the drawing and move its ``layers`` folder into ``out``.

        Raises whatever the drawing raised.
        """
        if self.job is None or self.folder is None:
            raise RuntimeError("the map layers were not started")
        self.job.result()
        os.rename(self.folder / MAP_LAYERS_DIR, out / MAP_LAYERS_DIR)

    def close(self) -> None:
        """Wait for a drawing still running (never left behind) and delete its folder."""
        if self.job is not None:
            self.job.exception()  # waits; a failure was raised by move_into, or is moot
        if self._pool is not None:
            self._pool.shutdown()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
