"""helpers.runner.index: the index lists every run with its key figures, labelled and formatted as
their metrics are declared (metric_info.json), else by dotted key."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import runner


def _run_folder(out: Path, name: str, metrics: dict, info: dict | None, key_metrics=None, history=None) -> None:
    folder = out / name
    folder.mkdir(parents=True)
    state = {"name": name, "title": name, "status": "ok", "last_action": "ran", "key_metrics": key_metrics}
    if history is not None:
        state["history"] = history
    (folder / "run.json").write_text(json.dumps(state))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if info is not None:
        (folder / "metric_info.json").write_text(json.dumps(info))


def test_index_shows_labels_and_formats_values_by_kind(tmp_path):
    metrics = {"clv.top_tier_share": 0.7867, "customers": 2357, "clv.total": 123456.789, "bgnbd.r": 0.2426}
    info = {
        "clv.top_tier_share": {"label": "Share of value in the top tier", "unit": "", "kind": "share"},
        "customers": {"label": "Customers", "unit": "", "kind": "int"},
        "clv.total": {"label": "Total CLV", "unit": "$", "kind": "money"},
    }
    _run_folder(tmp_path, "labelled", metrics, info, key_metrics=list(metrics))
    _run_folder(tmp_path, "plain", {"answer": 10, "share": 0.5}, None)
    runner.write_index(tmp_path)
    page = (tmp_path / "index.html").read_text()

    def card(value: str, label: str) -> str:
        return f'<div class="wb-card-value">{value}</div><div class="wb-card-label">{label}</div>'

    assert card("79 %", "Share of value in the top tier") in page
    assert card("2,357", "Customers") in page
    assert card("$123,457", "Total CLV") in page
    assert card("0.2426", "bgnbd.r") in page  # recorded without a declaration: key and plain number
    assert card("10", "answer") in page and card("0.5", "share") in page
    assert "clv.top_tier_share" not in page


def test_index_shows_each_figures_trend_and_change_and_the_report_thumbnail(tmp_path):
    runs = [
        {"started_at": f"2026-11-0{i}T10:00:00", "status": s, "metrics": {"customers": v}}
        for i, (s, v) in enumerate([("ok", 2000), ("failed", 1), ("ok", 2300), ("ok", 2357)], start=1)
    ]
    info = {"customers": {"label": "Customers", "unit": "", "kind": "int"}}
    _run_folder(tmp_path, "trend", {"customers": 2357}, info, ["customers"], history=runs)
    (tmp_path / "trend" / "report.html").write_text("<html></html>")
    (tmp_path / "trend" / "preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _run_folder(tmp_path, "first", {"customers": 5}, info, ["customers"], history=runs[:1])
    runner.write_index(tmp_path)
    page = (tmp_path / "index.html").read_text()
    sections = {name: page[page.index(f'id="run-{name}"') :].split("</section>")[0] for name in ("trend", "first")}
    trend = sections["trend"]
    assert '<img src="trend/preview.png"' in trend and 'href="trend/report.html"' in trend
    assert trend.count('<svg class="wb-spark"') == 1 and "last 3 successful runs" in trend  # the failed run is left out
    assert "+57</span>" in trend  # 2,300 -> 2,357
    first = sections["first"]
    assert "wb-spark" not in first and "<img" not in first  # one run: no trend; no preview: no thumbnail
