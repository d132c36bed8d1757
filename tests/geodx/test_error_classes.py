"""Every geodx error class is raised somewhere: no dead entries in the error table."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import geodx.errors

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("geodx", "layers", "api", "app", "data")


def raised_names() -> set[str]:
    names: set[str] = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    target = (
                        node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                    )
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                    elif isinstance(target, ast.Attribute):
                        names.add(target.attr)
    return names


def test_every_error_class_is_raised() -> None:
    classes = {
        name
        for name, obj in inspect.getmembers(geodx.errors, inspect.isclass)
        if issubclass(obj, geodx.errors.GeodxError)
        and obj is not geodx.errors.GeodxError
        and obj.__module__ == "geodx.errors"
    }
    assert classes  # the guard sees the module
    assert not classes - raised_names()
