"""Exact duplicate rows in a transaction log: counted and stated in the report, dropped on request.

CDNOW with every row duplicated (an export that ran twice) inflates every customer's CLV; the
report says so with the count, and with ``drop_duplicates=True`` the CLV is the original's."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from helpers.clv import narrative
from helpers.clv.domain import DOMAIN
from helpers.clv.workflow import CLVAnalysis

SETTINGS = dict(calibration_end="1997-09-30", observation_end="1998-06-30", time_unit="W")


@pytest.fixture(scope="module")
def logs(engine, cdnow_transactions):
    original = cdnow_transactions.drop_duplicates(ignore_index=True)  # a log without repeats
    doubled = pd.concat([original, original], ignore_index=True)
    engine.con.register("tx_original", original)
    engine.con.register("tx_doubled", doubled)
    return original, engine.table("tx_original"), engine.table("tx_doubled")


@pytest.fixture(scope="module")
def original_view(logs):
    return CLVAnalysis(**SETTINGS).fit(logs[1]).present()


def test_every_row_duplicated_is_counted_and_the_report_warns(logs, original_view):
    original, _, doubled = logs
    view = CLVAnalysis(**SETTINGS).fit(doubled).present()
    m = view.metrics()
    assert m["transactions.duplicate_rows"] == len(original) == 6898
    assert m["transactions.duplicates_dropped"] == 0
    sentence = view.findings()["duplicates"]
    assert sentence == narrative.duplicate_rows(len(original), 2 * len(original), dropped=False)
    assert "**6,898** of the 13,796 transaction rows are an exact copy of an earlier row (50.0 %)" in sentence
    assert sentence.startswith("**Warning:**") and "drop_duplicates" in sentence
    assert m["clv.total"] > 1.2 * original_view.metrics()["clv.total"]  # what nobody was told before


def test_drop_duplicates_gives_the_original_clv(logs, original_view):
    original, _, doubled = logs
    view = CLVAnalysis(**SETTINGS, drop_duplicates=True).fit(doubled).present()
    m, m0 = view.metrics(), original_view.metrics()
    assert m["transactions.duplicate_rows"] == m["transactions.duplicates_dropped"] == len(original)
    assert m["clv.total"] == pytest.approx(m0["clv.total"], rel=1e-9)
    assert m["bgnbd.r"] == pytest.approx(m0["bgnbd.r"], rel=1e-9) and m["customers"] == m0["customers"]
    got = view.customers_table().set_index("customer_id").sort_index()
    want = original_view.customers_table().set_index("customer_id").sort_index()
    pd.testing.assert_series_equal(got["clv"], want["clv"], rtol=0, atol=0.01)  # cents
    assert "were dropped before fitting" in view.findings()["duplicates"]


def test_a_log_without_repeats_says_nothing_about_them(original_view):
    m = original_view.metrics()
    assert m["transactions.duplicate_rows"] == 0 and m["transactions.duplicates_dropped"] == 0
    assert original_view.findings()["duplicates"] == ""


def test_duplicate_metrics_are_declared():
    declared = {metric.name for metric in DOMAIN.metrics}
    assert {"transactions.duplicate_rows", "transactions.duplicates_dropped"} <= declared


def test_clv_notebook_has_the_drop_duplicates_option_and_shows_the_sentence():
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "clv.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    params = next(c for c in code if "drop_duplicates: bool = False  #" in c)
    assert "tier_shares" in params
    assert any("drop_duplicates=drop_duplicates," in c and ".fit(tx.table)" in c for c in code)
    assert any("rep.summary(" in c and "view.summary_findings()" in c for c in code)  # the warning leads the findings
