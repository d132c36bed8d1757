"""The figures block of bench/README.md, rewritten by every `make bench`.

The block sits between two marker lines; everything outside them is left as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
START = (
    "<!-- bench:figures:start (written by `make bench`; edits here are overwritten) -->"
)
END = "<!-- bench:figures:end -->"


def block(
    *,
    title: str,
    date: str,
    machine: dict[str, Any],
    load: tuple[float, float],
    command: str,
    table: str,
    targets: list[dict[str, Any]],
    agreements: list[str],
    estimates: list[str] | None = None,
) -> str:
    """Markdown for the block: when, where, the table, the targets, the agreement."""
    met = {True: "**met**", False: "**not met**", None: "not measured"}
    lines = [
        f"Measured {date} with `{command}` on {machine['cpu']} ({machine['cores']} cores),"
        f" load average {load[0]:.2f} → {load[1]:.2f} during the runs (the bench's own"
        f" load included). Region: {title}."
        + (
            " **Busy machine** (load above half the cores before the runs): wall"
            " times are inflated; the CPU-seconds row is the steadier figure."
            if load[0] > machine["cores"] / 2
            else ""
        ),
        "",
        table,
        "",
        "Targets (issues 2 and 9):",
    ]
    for t in targets:
        figure = "—" if t["figure"] is None else f"{t['figure']:,.2f}"
        cpu = t.get("cpu_ratio")
        beside = "" if cpu is None else f"; CPU ratio {cpu:,.2f}×"
        lines.append(
            f"- {t['target']}: {figure} ({t['goal']}) — {met[t['met']]}{beside}"
        )
    if agreements:
        lines += ["", "Agreement of the counts per commune and per cell:"]
        lines += [f"- {a}" for a in agreements]
    if estimates:
        lines += ["", "Estimated inputs, each beside its naive way (same run):", ""]
        lines += estimates
    return "\n".join(lines)


def update(text: str, figures: str) -> str:
    """``text`` with the block between the markers replaced (appended when missing)."""
    new = f"{START}\n{figures}\n{END}"
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: new, text, count=1)
    return text.rstrip("\n") + f"\n\n## Latest figures\n\n{new}\n"


def write(figures: str, path: Path = README) -> None:
    """Rewrite the figures block of ``path``."""
    path.write_text(update(path.read_text(encoding="utf-8"), figures), encoding="utf-8")
