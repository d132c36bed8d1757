"""``make bench`` writes the figures block bench/README.md shows."""

from __future__ import annotations

from pathlib import Path

import pytest

readme = pytest.importorskip("bench.readme")
report = pytest.importorskip("bench.report")
runner = pytest.importorskip("bench.runner")


def contender(name: str, wall: float, rss: float) -> object:
    run = runner.Run(wall_s=wall, peak_rss_mib=rss, cpu_s=wall * 1.5)
    return report.Contender(name, runs=[run, run])


def test_the_block_is_replaced_and_the_rest_kept() -> None:
    text = f"intro\n{readme.START}\nold 4.46 s\n{readme.END}\nanalysis\n"
    new = readme.update(text, "new 1.72 s")
    assert new == f"intro\n{readme.START}\nnew 1.72 s\n{readme.END}\nanalysis\n"
    assert readme.update(new, "again").count(readme.START) == 1


def test_the_table_holds_the_measured_figures() -> None:
    found = [contender("geodx", 1.72, 600), contender("conventional", 5.23, 900)]
    table = report.markdown_table(found, 1_000_000)
    assert "| **total wall, end to end (s, median)** | **1.72** | **5.23** |" in table
    assert "| geodx faster by | 1.0× | 3.0× |" in table
    assert "| peak RSS MiB (max of runs) | 600 | 900 |" in table
    block = readme.block(
        title="demo, 1,000,000 households",
        date="2026-12-01",
        machine={"cpu": "cpu", "cores": 2},
        load=(0.5, 1.5),
        command="make bench",
        table=table,
        targets=report.targets({c.name: c for c in found}, 1_000_000),
        agreements=["geodx vs conventional: yes"],
    )
    assert "Measured 2026-12-01 with `make bench`" in block
    assert "Busy machine" not in block
    assert "| communes (s, median) | (in overlay) |" not in table  # no stages here
    assert "geodx faster than conventional: 3.04 (>= 3×) — **met**" in block


def test_bench_readme_has_the_markers() -> None:
    text = Path(readme.README).read_text(encoding="utf-8")
    assert text.count(readme.START) == 1 and text.count(readme.END) == 1


def test_a_busy_machine_is_said_and_geodx_stages_are_placed() -> None:
    geodx = report.Contender("geodx", runs=[runner.Run(wall_s=2.0, peak_rss_mib=1)])
    geodx.runs[0].stages = {"read communes": 0.1, "overlay (wall)": 1.0, "write": 0.2}
    base = report.Contender("conventional", runs=[runner.Run(wall_s=6, peak_rss_mib=1)])
    base.runs[0].stages = {"read": 0.5, "communes": 1.0, "aggregate": 0.1}
    table = report.markdown_table([geodx, base], 10)
    assert "| communes (s, median) | (in overlay) | 1.00 |" in table
    assert "| aggregate (s, median) | (in write) | 0.10 |" in table
    block = readme.block(
        title="t",
        date="d",
        machine={"cpu": "c", "cores": 2},
        load=(4.0, 5.0),
        command="make bench",
        table=table,
        targets=[],
        agreements=[],
    )
    assert "**Busy machine**" in block
