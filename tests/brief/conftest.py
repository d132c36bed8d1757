"""A real ``geodx run`` of a small generated region, and helpers that read a brief back."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geodx.history import (
    Vintage,
    record_vintage,
)
from geodx.history_store import HistoryStore
from tests.shared_runs import demo_run


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results of ``geodx run`` on a synthetic region of 3,000 households."""
    return demo_run(tmp_path_factory, seed=11, households=3000)


@pytest.fixture(scope="session")
def demo(demo_out: Path) -> Iterator[TestClient]:
    app = create_app(Settings(results_dir=demo_out, warm_maps=False))
    with TestClient(app) as client:
        yield client


NAMES = {
    "commune_name": "{{ 7*7 }} Xã ’Ea",
    "district_name": "<script>alert(1)</script>",
    "region": "=1+1 {% raw %}",
    "operator": "’<b>Op</b>",
}


@pytest.fixture(scope="module")
def hostile(demo_out: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    out = copy_results(demo_out, tmp_path_factory.mktemp("hostile") / "out")
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    props = doc["features"][0]["properties"]
    props["commune_name"], props["district_name"] = (
        NAMES["commune_name"],
        NAMES["district_name"],
    )
    (out / "communes.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary["region"] = NAMES["region"]
    summary["operators"][0]["operator"] = NAMES["operator"]
    summary["definitions"]["households"] = "<img src=x onerror=alert(1)>"
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), "utf-8")
    return TestClient(create_app(Settings(results_dir=out, warm_maps=False)))


@pytest.fixture(scope="module")
def with_history(
    demo_out: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, list[dict[str, Any]]]]:
    """Two vintages: an earlier one with every fibre figure 10 points lower."""
    store = str(tmp_path_factory.mktemp("history") / "history.sqlite")
    summary = json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))
    now = [f["properties"] for f in communes(demo_out)]
    before = [{**p, "fibre_pct": None if p["fibre_pct"] is None else max(0.0, p["fibre_pct"] - 10),
               "fibre_target_met": False} for p in now]  # fmt: skip
    record_vintage(store, Vintage(dt.date(2024, 12, 31), summary, before))
    record_vintage(store, Vintage(dt.date(2025, 6, 30), summary, now))
    settings = Settings(results_dir=demo_out, warm_maps=False, history=store)
    app = create_app(
        settings, services={"history": lambda s: HistoryStore(str(s.history))}
    )
    with TestClient(app) as client:
        client.store = store  # type: ignore[attr-defined]
        yield client, now


def communes(out: Path) -> list[dict[str, Any]]:
    """The features of ``communes.geojson``."""
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    features: list[dict[str, Any]] = doc["features"]
    return features


def copy_results(out: Path, dest: Path) -> Path:
    """A plain copy of a results folder (the version it links to), to edit."""
    shutil.copytree(out.resolve(), dest)
    return dest


class Page(HTMLParser):
    """A brief read back: every ``data-field`` cell, texts by id, the SVG elements."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[tuple[str, Any, str]] = []  # (field, exact value, text)
        self.by_id: dict[str, str] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.label_text: list[str] = []  # outside style and translate="no" (data)
        self._open: list[tuple[str, dict[str, str], list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag in ("br", "meta", "path", "rect", "line", "circle", "polyline"):
            return
        self._open.append((tag, a, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, a, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if "data-field" in a:
                self.values.append((a["data-field"], json.loads(a["data-value"]), text))
            if "id" in a:
                self.by_id[a["id"]] = text
            if self._open:
                self._open[-1][2].append("".join(parts))
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if any(t in ("style", "title") for t, _, _ in self._open):
            return
        self.text.append(data)
        if not any(a.get("translate") == "no" for _, a, _ in self._open):
            self.label_text.append(data)
        if self._open:
            self._open[-1][2].append(data)

    def field(self, name: str) -> list[tuple[Any, str]]:
        """Every (exact value, text) shown for one field."""
        return [(v, t) for f, v, t in self.values if f == name]

    def all_text(self) -> str:
        """The page's text (not its stylesheet or title)."""
        return " ".join(" ".join(self.text).split())

    def labels(self) -> str:
        """The page's text outside its data (elements marked ``translate="no"``)."""
        return " ".join(" ".join(self.label_text).split())
