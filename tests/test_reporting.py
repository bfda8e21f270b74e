"""Report pieces: metrics files, rounded tables, key-figure cards."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from helpers import reporting as rep


def test_metrics_are_flat_dotted_and_json_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    rep.record_metrics({"bgnbd": {"r": np.float64(0.25), "converged": np.bool_(True)}, "customers": np.int64(10)})
    rep.record_metric("clv.total", float("nan"))
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data == {"bgnbd.r": 0.25, "bgnbd.converged": True, "customers": 10, "clv.total": None}
    assert (tmp_path / "metrics.json").stat().st_mode & 0o044  # readable by others, not only the owner


def test_tables_round_numbers_blank_missing_values_and_name_columns_in_words():
    frame = pd.DataFrame(
        {
            "share_pct": [12.345, np.nan],
            "customers": pd.array([1234, None], dtype="Int64"),
            "mixed_min": [pd.Timestamp("2024-01-02"), None],
            "mixed_max": [3.14159, "text"],
        }
    )
    html = rep.table(frame, decimals={"share_pct": 1}).data
    assert "12.3" in html and "12.35" not in html
    assert "1,234" in html and "2024-01-02" in html and "00:00:00" not in html
    assert ">None<" not in html and ">nan<" not in html.lower() and "&lt;NA&gt;" not in html
    assert "share pct" in html and "mixed min" in html
    assert "3.14" in html and "3.14159" not in html


def test_key_figures_escape_html():
    html = rep.key_figures({"<b>customers</b>": "1,000"}).data
    assert "&lt;b&gt;customers&lt;/b&gt;" in html and "wb-card" in html
