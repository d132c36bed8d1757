"""The ``geodx`` command run in this process: its exit code, stdout and stderr.

What a test would read from ``subprocess.run([... "geodx", ...])``, without a second of
imports per run. The command's own warning filters and display (``geodx run`` sets
them) are undone afterwards; an exception that escaped the command is put on stderr as
the script would print it (a traceback), so "no traceback" checks still see it. The
tests that need a real process (output written below Python, the script's exit path,
the environment of a fresh interpreter) keep a subprocess.
"""

from __future__ import annotations

import subprocess
import traceback
import warnings
from collections.abc import Mapping

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}


def geodx_in_process(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``geodx ARGS`` through the command's typer app, captured (not thread-safe)."""
    from typer.testing import CliRunner

    from app.cli import app

    with warnings.catch_warnings():
        got = CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})
    stderr = got.stderr
    if got.exception is not None and not isinstance(got.exception, SystemExit):
        stderr += "".join(traceback.format_exception(got.exception))
    return subprocess.CompletedProcess(
        ["geodx", *args], got.exit_code, got.stdout, stderr
    )
