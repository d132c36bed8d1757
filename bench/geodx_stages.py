"""Child process: run `app.pipeline.run_region` and save its stage timings.

``python -m bench.geodx_stages REGION OUT TIMINGS_JSON``. The result object's
``.timings`` (stage -> seconds) is used when the engine provides it; otherwise only the
total is known and the bench shows geodx without a stage breakdown.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    region, out, timings = Path(argv[0]), Path(argv[1]), Path(argv[2])
    start = time.perf_counter()
    from app.pipeline import run_region  # imports are part of what is timed

    result = run_region(region, out)
    total = time.perf_counter() - start
    stages = getattr(result, "timings", None)
    info = {"stages": dict(stages) if stages else {}, "in_process_s": total}
    timings.write_text(json.dumps(info), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
