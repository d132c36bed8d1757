"""Do two output folders hold the same results? File by file, by content.

    python -m bench.same_outputs REFERENCE OTHER

The check to run after changing the engine for speed: a run of the old code and a
run of the new one on the same region must agree in every file. Parquet tables are
compared as Arrow tables (values, types and schema metadata, not the file's bytes,
which carry the writer's version); JSON and GeoJSON as parsed documents (so the
order of keys does not matter but every number does, to the last bit); every other
file byte for byte. In ``.geodx-output.json`` the run's own stamps (``version``,
``created``, ``engine``) are left out: they say when and by what, not what.

Prints one line per file that differs, or is only in one folder, and exits 1 if
any does; prints the number of files compared and exits 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

STAMP_FILE = ".geodx-output.json"
STAMPS = ("version", "created", "engine")


def files_of(folder: Path) -> set[str]:
    """Every file below ``folder``, as a path relative to it."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _json(path: Path) -> Any:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if path.name == STAMP_FILE and isinstance(doc, dict):
        for key in STAMPS:
            doc.pop(key, None)
    return doc


def differs(a: Path, b: Path) -> str | None:
    """Why file ``b`` differs from ``a``, or None when they hold the same content."""
    suffix = a.suffix.lower()
    if suffix == ".parquet":
        ta, tb = pq.read_table(a), pq.read_table(b)
        if ta.schema != tb.schema:
            return "schema differs"
        if ta.schema.metadata != tb.schema.metadata:
            return "schema metadata differs"
        if ta.num_rows != tb.num_rows:
            return f"{ta.num_rows:,} rows against {tb.num_rows:,}"
        for name in ta.column_names:
            if not ta[name].equals(tb[name]):
                return f"column {name!r} differs"
        return None
    if suffix in (".json", ".geojson"):
        return None if _json(a) == _json(b) else "content differs"
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


def compare(reference: Path, other: Path) -> tuple[int, list[str]]:
    """The number of files compared and one line per difference."""
    ours, theirs = files_of(reference), files_of(other)
    problems = [f"{name}: only in {reference}" for name in sorted(ours - theirs)]
    problems += [f"{name}: only in {other}" for name in sorted(theirs - ours)]
    both = sorted(ours & theirs)
    for name in both:
        why = differs(reference / name, other / name)
        if why:
            problems.append(f"{name}: {why}")
    return len(both), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.same_outputs", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "reference", type=Path, help="an output folder (geodx run --out)"
    )
    parser.add_argument(
        "other", type=Path, help="the output folder to check against it"
    )
    args = parser.parse_args(argv)
    for folder in (args.reference, args.other):
        if not folder.is_dir():
            print(f"same_outputs: {folder} is not a folder", file=sys.stderr)
            return 2
    count, problems = compare(args.reference, args.other)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} difference(s) in {count} file(s) compared")
        return 1
    print(f"{count} file(s), the same content")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
