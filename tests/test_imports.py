"""Imports point one way: ``app`` -> ``api`` -> ``layers`` -> ``geodx``; ``data`` -> ``geodx``.

``app`` (the run pipeline and the command line) is the composition root, the one
package that may import all the others. The demo-region generator (``data``) builds
input files with the core's helpers and knows nothing of layers or the service.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "geodx": {"layers", "api", "app", "data"},
    "layers": {"api", "app", "data"},
    "api": {"app", "data"},
    "data": {"layers", "api", "app"},
}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]
    names += [
        n.module or ""
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.level == 0
    ]
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    modules = sorted((REPO / package).rglob("*.py"))
    assert modules, package
    wrong = {
        str(path.relative_to(REPO)): sorted(imported(path) & FORBIDDEN[package])
        for path in modules
        if imported(path) & FORBIDDEN[package]
    }
    assert not wrong


def test_the_guard_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import api.main\nfrom layers.vector import x\nfrom . import y\n")
    assert imported(module) == {"api", "layers"}


@pytest.mark.parametrize(
    "module",
    [
        "geodx.coverage",
        "geodx.outputs",
        "geodx.contract",
        "geodx.manifest",
        "geodx.outdir",
        "geodx.history",
        "geodx.brief",
        "layers.registry",
    ],
)
def test_core_and_layers_do_not_pull_in_the_web_stack(module: str) -> None:
    code = (
        f"import {module}, sys; "
        "assert not {'fastapi', 'starlette', 'api', 'app'} & set(sys.modules), module"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


#: What a plain ``geodx run`` (no --history, no Dask, no server) never imports: the
#: history store, Dask, the web stack, the map pages' templates and the exports.
NOT_IN_A_PLAIN_RUN = {
    "sqlalchemy", "dask", "distributed", "fastapi", "starlette", "uvicorn",
    "folium", "branca", "jinja2", "openpyxl", "api",
}  # fmt: skip


def test_a_whole_run_leaves_out_what_it_does_not_need(tmp_path: Path) -> None:
    """The ``geodx`` script's ``main`` runs a generated region to the end (it leaves
    through ``os._exit``); the modules loaded by then are listed at that exit."""
    from data import build_synthetic_region

    manifest = build_synthetic_region(tmp_path / "region", seed=3, households=400)
    code = (
        "import os, sys, gc; real = os._exit\n"
        "def leave(status):\n"
        "    found = sorted({m.split('.')[0] for m in sys.modules})\n"
        "    found += [m for m in sys.modules if m.startswith('app.')]\n"
        "    print('MODULES', ' '.join(found), 'GC', gc.isenabled(), flush=True)\n"
        "    real(status)\n"
        "os._exit = leave\n"
        f"sys.argv = ['geodx', 'run', {str(manifest)!r}, '--out', "
        f"{str(tmp_path / 'out')!r}, '-q']\n"
        "import app.cli; app.cli.main()\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out" / "summary.json").is_file()
    line = next(x for x in got.stdout.splitlines() if x.startswith("MODULES"))
    found = set(line.split()[1:-2])
    assert "pyarrow" in found and "geodx" in found  # the listing is real
    assert not NOT_IN_A_PLAIN_RUN & found, NOT_IN_A_PLAIN_RUN & found
    assert "app.history" not in line.split()  # SQLAlchemy's caller, by name too
    assert line.endswith("GC True")  # collected again after the imports
