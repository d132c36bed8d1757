"""Child process: run `app.pipeline.run_region` and save its stage timings.

``python -m bench.geodx_stages REGION OUT TIMINGS_JSON``. The result object's
``.timings`` (stage -> seconds) is used when the engine provides it; otherwise only the
total is known and the bench shows geodx without a stage breakdown. Two stages are
added: the imports before the run, and the run's time outside its stages.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

#: Extra stages: the imports before ``run_region``, and its time outside its stages
#: (the output folder's check, lock, fsync and swap; the metric CRS; waits).
IMPORTS = "start-up imports"
OUTSIDE = "outside the stages"


def main(argv: list[str]) -> None:
    region, out, timings = Path(argv[0]), Path(argv[1]), Path(argv[2])
    start = time.perf_counter()
    from app.pipeline import run_region  # imports are part of what is timed
    from geodx.heap import tune_heap

    tune_heap()  # as ``geodx run`` does

    imports = time.perf_counter() - start
    result = run_region(region, out)
    total = time.perf_counter() - start
    stages = dict(getattr(result, "timings", None) or {})
    if stages:
        # The default engine's stages follow one another (threads' own times, named
        # "(thread)", overlap them): the rest of the run is the time outside them.
        staged = sum(v for k, v in stages.items() if "(thread)" not in k)
        stages[IMPORTS] = imports
        stages[OUTSIDE] = total - imports - staged
    info = {"stages": stages, "in_process_s": total}
    timings.write_text(json.dumps(info), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
