"""helpers.reporting.display and .plots: rounded tables, key-figure cards, CSV exports, the theme."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from helpers import reporting as rep


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


def test_write_table_writes_a_csv_beside_the_report(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    path = rep.write_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "out.csv")
    assert path == tmp_path / "out.csv" and path.read_text() == 'a,b\n1,"x"\n2,"y"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_write_table_keeps_dates_categories_missing_values_and_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2025-01-31", "2025-02-01", None]),
            "when": pd.to_datetime(["2025-01-31 10:15:00", "2025-02-01 00:00:00", "2025-02-02 00:00:00"]),
            "tier": pd.Categorical(["top", None, "bottom"]),
            "share": [0.25, float("nan"), 1e-5],
            "flag": [True, False, True],
        },
        index=pd.Index([7, 8, 9], name="row"),
    )
    text = rep.write_table(frame, "t.csv", index=True).read_text()
    assert text.splitlines() == [
        "row,day,when,tier,share,flag",
        '7,2025-01-31,2025-01-31 10:15:00,"top",0.25,true',
        "8,2025-02-01,2025-02-01 00:00:00,,,false",
        '9,,2025-02-02 00:00:00,"bottom",0.00001,true',
    ]
    back = pd.read_csv(tmp_path / "t.csv", index_col="row", parse_dates=["day", "when"])
    pd.testing.assert_frame_equal(back, frame.assign(tier=frame["tier"].astype(object)), check_dtype=False)


def test_write_table_writes_parquet_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame({"customer_id": ["=A1", "b"], "clv": [1.5, 2.25], "tier": pd.Categorical(["top", "low"])})
    path = rep.write_table(frame, "customers.parquet")
    assert path == tmp_path / "customers.parquet"
    back = pd.read_parquet(path)
    assert list(back["customer_id"]) == ["=A1", "b"] and list(back["clv"]) == [1.5, 2.25]  # kept as typed
    assert [p.name for p in tmp_path.iterdir()] == ["customers.parquet"]


def test_write_table_falls_back_to_pandas_for_columns_arrow_cannot_hold(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame({"mixed": [1, "two", 3.5], "n": [1, 2, 3]})
    back = pd.read_csv(rep.write_table(frame, "m.csv"), dtype=str)
    assert list(back["mixed"]) == ["1", "two", "3.5"] and list(back["n"]) == ["1", "2", "3"]


def test_plots_live_in_reporting():
    from helpers.reporting import plots

    assert callable(plots.use_theme) and callable(plots.bar)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("helpers.plots")


def test_long_tables_show_their_first_rows_and_link_the_whole_table_saved_beside(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)], "clv": np.arange(30) * 1000.5})
    html = rep.table(frame, max_rows=10, csv="customers.csv").data
    assert html.count("<tr>") == 11  # header + 10 rows
    assert "Showing the first 10 of 30 rows" in html and '<a href="customers.csv">customers.csv</a>' in html
    saved = pd.read_csv(tmp_path / "customers.csv")
    assert len(saved) == 30 and saved["customer_id"].iloc[-1] == "c29"


def test_a_table_already_saved_is_linked_not_written_again(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    (tmp_path / "quarantine").mkdir()
    saved = tmp_path / "quarantine" / "orders.csv"
    saved.write_text("line,reason\n")
    html = rep.table(pd.DataFrame({"line": range(25)}), max_rows=20, saved_as=saved).data
    assert '<a href="quarantine/orders.csv">orders.csv</a>' in html
    assert saved.read_text() == "line,reason\n" and sorted(p.name for p in tmp_path.iterdir()) == ["quarantine"]


def test_short_tables_write_nothing_and_cells_are_classed_for_alignment_and_wrapping(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    frame = pd.DataFrame({"n": [1], "share": [0.5], "raw_line": ["x;" * 40], "flag": [True]})
    html = rep.table(frame).data
    assert list(tmp_path.iterdir()) == []
    assert '<div class="wb-table-wrap">' in html  # a wide table scrolls inside its own box
    assert '<td class="num">1</td>' in html and '<td class="num">0.50</td>' in html
    assert '<td class="text long">' in html and '<td class="text">yes</td>' in html
    assert '<th scope="col" class="text">raw line</th>' in html
