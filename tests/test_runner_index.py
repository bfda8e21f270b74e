"""helpers.runner.index: the index lists every run with its key figures, labelled and formatted as
their metrics are declared (metric_info.json), else by dotted key."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import runner


def _run_folder(out: Path, name: str, metrics: dict, info: dict | None, key_metrics=None) -> None:
    folder = out / name
    folder.mkdir(parents=True)
    state = {"name": name, "title": name, "status": "ok", "last_action": "ran", "key_metrics": key_metrics}
    (folder / "run.json").write_text(json.dumps(state))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if info is not None:
        (folder / "metric_info.json").write_text(json.dumps(info))


def test_index_shows_labels_and_formats_values_by_kind(tmp_path):
    metrics = {"clv.top_tier_share": 0.7867, "customers": 2357, "clv.total": 123456.789, "bgnbd.r": 0.2426}
    info = {
        "clv.top_tier_share": {"label": "Share of value in the top tier", "unit": "", "kind": "share"},
        "customers": {"label": "Customers", "unit": "", "kind": "int"},
        "clv.total": {"label": "Total CLV", "unit": "", "kind": "money"},
    }
    _run_folder(tmp_path, "labelled", metrics, info, key_metrics=list(metrics))
    _run_folder(tmp_path, "plain", {"answer": 10, "share": 0.5}, None)
    runner.write_index(tmp_path)
    page = (tmp_path / "index.html").read_text()

    def card(value: str, label: str) -> str:
        return f'<div class="wb-card-value">{value}</div><div class="wb-card-label">{label}</div>'

    assert card("78.7 %", "Share of value in the top tier") in page
    assert card("2,357", "Customers") in page
    assert card("123,456.79", "Total CLV") in page
    assert card("0.2426", "bgnbd.r") in page  # recorded without a declaration: key and plain number
    assert card("10", "answer") in page and card("0.5", "share") in page
    assert "clv.top_tier_share" not in page
