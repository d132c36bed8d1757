"""Medians, the side-by-side table, the targets, and `latest.json`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.runner import Run

TARGET_WALL_S = 3.0
TARGET_VS_NAIVE = 10.0
TARGET_VS_CONVENTIONAL = 3.0
TARGET_RSS_MIB = 2048.0
#: Issue 9: the whole ``geodx run`` of 1M households, start-up and exit included.
TARGET_WALL_1M_S = 1.2


@dataclass
class Contender:
    """All the runs of one contender, and how to read them."""

    name: str
    runs: list[Run] = field(default_factory=list)
    stage_runs: list[Run] = field(default_factory=list)  # in-process, for stages
    error: str | None = None

    @property
    def extrapolated_from(self) -> int | None:
        """Household rows of the sample, when the runs worked on a sample."""
        run = self.runs[0] if self.runs else None
        if run and run.rows and run.rows_total and run.rows < run.rows_total:
            return run.rows
        return None

    def _scaled(self, run: Run) -> tuple[float, dict[str, float]]:
        """Wall and stages, extrapolated linearly to every row past "read"."""
        if not (run.rows and run.rows_total and run.rows < run.rows_total):
            return run.wall_s, dict(run.stages)
        scale = run.rows_total / run.rows
        stages = {k: v if k == "read" else v * scale for k, v in run.stages.items()}
        wall = run.wall_s - sum(run.stages.values()) + sum(stages.values())
        return wall, stages

    @property
    def wall_s(self) -> float | None:
        walls = [self._scaled(r)[0] for r in self.runs]
        return statistics.median(walls) if walls else None

    @property
    def stages(self) -> dict[str, float]:
        """Median seconds per stage over the runs that report stages."""
        sources = self.stage_runs or self.runs
        scaled = [self._scaled(r)[1] for r in sources if r.stages]
        names = list(dict.fromkeys(k for s in scaled for k in s))
        return {k: statistics.median(s.get(k, 0.0) for s in scaled) for k in names}

    @property
    def cpu_s(self) -> float | None:
        """Median CPU seconds (user + system) of the end-to-end runs (not extrapolated)."""
        cpus = [r.cpu_s for r in self.runs]
        return statistics.median(cpus) if cpus and not self.extrapolated_from else None

    @property
    def peak_rss_mib(self) -> float | None:
        """Largest peak RSS over the end-to-end runs (the conservative figure)."""
        return max((r.peak_rss_mib for r in self.runs), default=None)


GROUPS = ["read", "communes", "h3", "fibre", "mobile", "overlay", "aggregate", "write"]
OVERLAY_PARTS = ("communes", "h3", "fibre", "mobile")


def grouped(stages: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Stages in the table's groups, and the ones that fit none (geodx's detail).

    The baselines' stages are the groups; their `overlay` is communes + h3 + fibre +
    mobile. geodx's `read …` stages add up to `read`, `checksum …` and `write …` to
    `write`, `overlay (wall)` is its overlay; its per-layer and per-step figures run
    in threads that overlap, so they are listed apart and never added up.
    """
    groups: dict[str, float] = {}
    detail: dict[str, float] = {}
    for name, secs in stages.items():
        key = name if name in GROUPS else None
        if name.startswith("read "):
            key = "read"
        elif name.startswith(("checksum", "write")):
            key = "write"
        elif name.startswith("overlay"):
            key = "overlay"
        if key is None:
            detail[name] = secs
        else:
            groups[key] = groups.get(key, 0.0) + secs
    if "overlay" not in groups and any(k in groups for k in OVERLAY_PARTS):
        groups["overlay"] = sum(groups.get(k, 0.0) for k in OVERLAY_PARTS)
    return groups, detail


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def _line(label: str, values: list[str]) -> str:
    return f"{label:<26}" + "".join(f"{v:>15}" for v in values)


def table(contenders: list[Contender], households: int) -> str:
    """Stage seconds, wall, households/s, peak RSS and speed-up, one column each."""
    shown = [c for c in contenders if c.runs]
    ref = next((c.wall_s for c in shown if c.name == "geodx"), None)
    ref_cpu = next((c.cpu_s for c in shown if c.name == "geodx"), None)
    heads = [c.name + ("*" if c.extrapolated_from else "") for c in shown]
    split = [grouped(c.stages) for c in shown]
    lines = [_line("seconds (median)", heads)]
    for name in GROUPS:
        if any(name in g for g, _ in split):
            lines.append(
                _line(
                    f"  {name}",
                    [_fmt(g.get(name)) if name in g else "" for g, _ in split],
                )
            )
    lines += [
        _line("total wall, end to end", [_fmt(c.wall_s) for c in shown]),
        _line("CPU s (user+sys)", [_fmt(c.cpu_s) for c in shown]),
        _line(
            "households / s",
            [_fmt(households / c.wall_s, ",.0f") if c.wall_s else "—" for c in shown],
        ),
        _line("peak RSS MiB", [_fmt(c.peak_rss_mib, ",.0f") for c in shown]),
        _line("runs", [str(len(c.runs)) for c in shown]),
        _line("geodx faster by", [_ratio(c.wall_s, ref) for c in shown]),
        _line("geodx less CPU by", [_ratio(c.cpu_s, ref_cpu) for c in shown]),
    ]
    for c, (_, detail) in zip(shown, split, strict=True):
        if detail:
            lines.append(f"{c.name} steps (s, median; threads overlap, not additive):")
            lines += [f"    {k:<40}{v:>8.2f}" for k, v in detail.items()]
    for c in shown:
        if c.extrapolated_from:
            rows_total = c.runs[0].rows_total or 0
            lines.append(
                f"* {c.name}: EXTRAPOLATED — ran on {c.extrapolated_from:,} of "
                f"{rows_total:,} household rows; stages after 'read' scaled by "
                f"{rows_total / c.extrapolated_from:.1f}; peak RSS is the sample's"
            )
    return "\n".join(lines)


def _ratio(value: float | None, ref: float | None) -> str:
    return "—" if value is None or not ref else f"{value / ref:.1f}×"


def targets(by_name: dict[str, Contender], households: int) -> list[dict[str, Any]]:
    """The four targets of the issue, each with its figure and met / not met."""
    geodx = by_name.get("geodx")
    wall = geodx.wall_s if geodx else None
    out: list[dict[str, Any]] = []

    def add(name: str, figure: float | None, goal: str, met: bool | None) -> None:
        out.append({"target": name, "figure": figure, "goal": goal, "met": met})

    if households == 1_000_000:
        add(
            "geodx run wall, start to exit (issue 9)",
            wall,
            f"<= {TARGET_WALL_1M_S} s",
            None if wall is None else wall <= TARGET_WALL_1M_S,
        )

    add(
        f"geodx run wall, {households:,} households",
        wall,
        f"< {TARGET_WALL_S} s",
        None if wall is None else wall < TARGET_WALL_S,
    )
    for other, goal in (
        ("naive", TARGET_VS_NAIVE),
        ("conventional", TARGET_VS_CONVENTIONAL),
    ):
        c = by_name.get(other)
        ratio = c.wall_s / wall if c and c.wall_s and wall else None
        add(
            f"geodx faster than {other}",
            ratio,
            f">= {goal:g}×",
            None if ratio is None else ratio >= goal,
        )
        # Beside the wall ratio (issue 9): CPU seconds, which a busy machine's load
        # inflates far less than wall time.
        cpu = geodx.cpu_s if geodx else None
        out[-1]["cpu_ratio"] = c.cpu_s / cpu if c and c.cpu_s and cpu else None
    rss = geodx.peak_rss_mib if geodx else None
    add(
        "geodx peak RSS",
        rss,
        f"< {TARGET_RSS_MIB:g} MiB",
        None if rss is None else rss < TARGET_RSS_MIB,
    )
    return out


def targets_text(rows: list[dict[str, Any]]) -> str:
    lines = ["targets:"]
    for r in rows:
        met = {True: "met", False: "NOT MET", None: "not measured"}[r["met"]]
        fig = "—" if r["figure"] is None else f"{r['figure']:,.2f}"
        cpu = r.get("cpu_ratio")
        beside = "" if cpu is None else f"; CPU ratio {cpu:,.2f}×"
        lines.append(f"  {r['target']:<40} {fig:>10}  ({r['goal']}): {met}{beside}")
    return "\n".join(lines)


def _cell(groups: dict[str, float], name: str) -> str:
    """A stage's figure, or where a contender that does not time it apart counts it."""
    if name in groups:
        return _fmt(groups[name])
    if name in OVERLAY_PARTS and "overlay" in groups:
        return "(in overlay)"
    return "(in write)" if name == "aggregate" and "write" in groups else ""


def markdown_table(contenders: list[Contender], households: int) -> str:
    """The side-by-side table as Markdown, for the figures block of bench/README.md."""
    shown = [c for c in contenders if c.runs]
    ref = next((c.wall_s for c in shown if c.name == "geodx"), None)
    ref_cpu = next((c.cpu_s for c in shown if c.name == "geodx"), None)
    heads = [c.name + (" †" if c.extrapolated_from else "") for c in shown]
    split = [grouped(c.stages)[0] for c in shown]
    rows = [
        f"| {households:,} households | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(shown),
    ]

    def row(label: str, values: list[str]) -> None:
        rows.append(f"| {label} | " + " | ".join(values) + " |")

    for name in GROUPS:
        if any(name in g for g in split):
            row(f"{name} (s, median)", [_cell(g, name) for g in split])
    row(
        "**total wall, end to end (s, median)**",
        [f"**{_fmt(c.wall_s)}**" for c in shown],
    )
    row("CPU s (user + sys)", [_fmt(c.cpu_s) for c in shown])
    row(
        "households / s",
        [_fmt(households / c.wall_s, ",.0f") if c.wall_s else "—" for c in shown],
    )
    row("peak RSS MiB (max of runs)", [_fmt(c.peak_rss_mib, ",.0f") for c in shown])
    row("runs", [str(len(c.runs)) for c in shown])
    row("geodx faster by", [_ratio(c.wall_s, ref) for c in shown])
    row("geodx less CPU by", [_ratio(c.cpu_s, ref_cpu) for c in shown])
    for c in shown:
        if c.extrapolated_from:
            rows.append(
                f"\n† {c.name}: extrapolated from {c.extrapolated_from:,} of "
                f"{c.runs[0].rows_total or 0:,} household rows (stages after `read` "
                "scaled linearly); its peak RSS is the sample's."
            )
    return "\n".join(rows)
