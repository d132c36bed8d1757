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


def test_a_run_imports_neither_the_history_store_nor_dask(tmp_path: Path) -> None:
    """``geodx run`` imports SQLAlchemy only with ``--history``, Dask only with
    ``--engine dask``: a run (of a region that is not there) leaves both out."""
    code = (
        "import sys; from typer.testing import CliRunner; import app.cli, app.engine; "
        "import app.drawing, app.small; "
        f"got = CliRunner().invoke(app.cli.app, ['run', {str(tmp_path / 'none')!r}, "
        f"'--out', {str(tmp_path / 'out')!r}]); "
        "assert got.exit_code == 2 and 'error:' in got.output, got.output; "
        "found = {m.split('.')[0] for m in sys.modules}; "
        "assert not {'sqlalchemy', 'dask', 'distributed'} & found, found; "
        "assert 'app.history' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
