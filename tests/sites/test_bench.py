"""``python -m bench.sites`` runs and prints the three ways side by side."""

from __future__ import annotations

import pytest

from bench.sites import main


def test_bench_prints_three_ways(capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "--households",
            "3000",
            "--sectors",
            "60",
            "--repeat",
            "1",
            "--naive-sample",
            "30",
            "--dense-sample",
            "300",
        ]
    )
    out = capsys.readouterr().out
    assert "3,000 households x 60 sectors" in out
    for way in ("geodx", "dense numpy", "naive loop"):
        assert way in out
