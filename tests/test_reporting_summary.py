"""helpers.reporting.summary: the section every report opens with (cards with labels, units and
the change since the last successful run; up to three findings), and the lab's previous run."""

from __future__ import annotations

import json
import re

import pytest

from helpers import reporting as rep
from helpers.core import runfiles
from helpers.core.registry import Domain, Metric
from notebook_factory import registry_with

DOMAIN = Domain(
    name="clv",
    title="stand-in",
    metrics=(
        Metric("customers", "Customers", kind="int"),
        Metric("clv.total", "Predicted value", kind="money"),
        Metric("clv.top_tier_share", "Value in the top tier", kind="share"),
        Metric("date_max", "Last date", kind="date"),
    ),
)
MINUS = "\u2212"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    with registry_with(DOMAIN):
        rep.start(currency="$")
        yield tmp_path
    rep.start()  # back to no currency for other tests in this worker


def cards(html: str) -> list[tuple[str, str, str]]:
    """(value, label, change) of every card, as text."""
    found = re.findall(
        r'<div class="wb-card-value">(.*?)</div><div class="wb-card-label">(.*?)</div>'
        r'(?:<div class="wb-card-change [^"]*">(.*?)</div>)?',
        html,
    )
    return [(v, label, c) for v, label, c in found]


def test_cards_show_labels_units_and_formats_never_the_dotted_key(run):
    rep.record_metrics({"customers": 2357, "clv.total": 68813.24, "clv.top_tier_share": 0.7867})
    html = rep.summary(["customers", "clv.total", "clv.top_tier_share"], ["One.", "", "Two."]).data
    assert cards(html) == [
        ("2,357", "Customers", ""),
        ("$68,813", "Predicted value", ""),
        ("79 %", "Value in the top tier", ""),
    ]
    assert "clv.total" not in html and '<h2 id="summary">Summary</h2>' in html
    assert html.count("<li>") == 2  # the empty finding is skipped


def test_labels_given_by_the_notebook_win(run):
    rep.record_metrics({"customers": 10})
    html = rep.summary({"customers": "Customers scored"}).data
    assert cards(html) == [("10", "Customers scored", "")]


def test_change_since_the_last_successful_run(run):
    (run / runfiles.PREVIOUS_FILE).write_text(
        json.dumps({"started_at": "2026-11-30T09:00:00+00:00", "metrics": {"customers": 2300, "clv.top_tier_share": 0.80,
                                                                            "clv.total": 68813.24, "date_max": "1998-05-31"}})
    )  # fmt: skip
    rep.record_metrics(
        {"customers": 2357, "clv.total": 68813.24, "clv.top_tier_share": 0.788, "date_max": "1998-06-30"}
    )
    html = rep.summary(["customers", "clv.total", "clv.top_tier_share", "date_max"]).data
    changes = [c for _, _, c in cards(html)]
    assert changes == [
        "+57 since 2026-11-30 09:00",
        "unchanged since 2026-11-30 09:00",
        f"{MINUS}1.2 pts since 2026-11-30 09:00",
        "was 1998-05-31 since 2026-11-30 09:00",
    ]
    assert 'class="wb-card-change wb-up"' in html and 'class="wb-card-change wb-down"' in html


def test_at_most_three_findings_escaped_by_their_authors(run):
    rep.record_metrics({"customers": 1})
    html = rep.summary(["customers"], ["a **b**", "c", "d", "e <script>x</script>"]).data
    assert html.count("<li>") == 3 and "<strong>b</strong>" in html and "<script" not in html


def test_a_figure_the_run_did_not_record_is_an_error_naming_it(run):
    rep.record_metrics({"customers": 1})
    with pytest.raises(ValueError, match=r"'clv\.total' not recorded"):
        rep.summary(["customers", "clv.total"])


def test_labels_from_data_are_escaped(run):
    rep.record_metrics({"customers": 1})
    html = rep.summary({"customers": "<img src=x onerror=alert(1)>"}).data
    assert "<img" not in html and "&lt;img" in html


def test_lab_session_keeps_the_earlier_figures_as_previous(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_RUN_DIR", raising=False)
    monkeypatch.setattr(runfiles, "_lab_notebook", None)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    with registry_with(DOMAIN):
        rep.start(notebook="clv")
        rep.record_metrics({"customers": 5})
        assert rep.previous_run() == {}
        rep.start(notebook="clv")  # the analyst runs the notebook again from the top
        assert rep.previous_run()["metrics"] == {"customers": 5}
        rep.record_metrics({"customers": 7})
        html = rep.summary(["customers"]).data
    assert cards(html)[0][2].startswith("+2 since ")


def test_money_metrics_take_the_run_currency(run):
    rep.record_metrics({"clv.total": 12.5})
    info = json.loads((run / runfiles.METRIC_INFO_FILE).read_text())
    assert info["clv.total"]["unit"] == "$" and rep.currency() == "$"
