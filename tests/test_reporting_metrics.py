"""helpers.reporting.metrics: key figures in metrics.json (flat, dotted, JSON-safe, declared),
their labels in metric_info.json, and where a run or a JupyterLab session writes them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import reporting as rep
from helpers.core import runfiles
from helpers.core.registry import Domain, Metric
from notebook_factory import registry_with

TEST_DOMAIN = Domain(
    name="clv",
    title="Customer lifetime value (test stand-in)",
    metrics=(
        Metric("bgnbd.r", "BG/NBD r", kind="float"),
        Metric("bgnbd.converged", "BG/NBD converged", kind="text"),
        Metric("customers", "Customers", kind="int"),
        Metric("clv.total", "Total CLV", kind="money", unit="EUR"),
        Metric("clv.top_tier_share", "Share of value in the top tier", kind="share"),
    ),
)
ROWS = Metric("rows.{input}.read", "Rows read ({input})", kind="int", unit="rows of {input}")


@pytest.fixture
def declared():
    with registry_with(TEST_DOMAIN, shared=[ROWS]):
        yield


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A JupyterLab session: no run folder from the runner, working folder notebooks/."""
    monkeypatch.delenv("WORKBENCH_RUN_DIR", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr(runfiles, "_lab_notebook", None)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    return tmp_path / "reports" / "_lab"


def test_metrics_are_flat_dotted_and_json_safe(tmp_path, monkeypatch, declared):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    rep.record_metrics({"bgnbd": {"r": np.float64(0.25), "converged": np.bool_(True)}, "customers": np.int64(10)})
    rep.record_metric("clv.total", float("nan"))
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data == {"bgnbd.r": 0.25, "bgnbd.converged": True, "customers": 10, "clv.total": None}
    assert (tmp_path / "metrics.json").stat().st_mode & 0o044  # readable by others, not only the owner


def test_undeclared_metric_names_are_rejected_with_the_closest_declared(tmp_path, monkeypatch, declared):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    with pytest.raises(ValueError) as err:
        rep.record_metrics({"customers": 3, "clv.totl": 1.0})
    msg = str(err.value)
    assert msg.startswith("Metric 'clv.totl' is not declared by any domain")
    assert "closest declared: clv.total" in msg
    assert not (tmp_path / "metrics.json").exists()  # nothing half-recorded
    rep.record_metrics({"scratch.value": 1}, strict=False)  # an explicit opt-out for one call
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"scratch.value": 1}


def test_names_are_not_checked_while_no_domain_is_registered(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    with registry_with():
        rep.record_metrics({"anything.at_all": 1})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"anything.at_all": 1}
    assert not (tmp_path / "metric_info.json").exists()


def test_metric_info_gives_label_unit_and_kind_per_key(tmp_path, monkeypatch, declared):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    rep.record_metrics({"clv": {"top_tier_share": 0.7867, "total": 1234.5}})
    rep.record_metric("rows.transactions.read", 2357)
    info = json.loads((tmp_path / "metric_info.json").read_text())
    assert info == {
        "clv.top_tier_share": {"label": "Share of value in the top tier", "unit": "", "kind": "share"},
        "clv.total": {"label": "Total CLV", "unit": "EUR", "kind": "money"},
        "rows.transactions.read": {"label": "Rows read (transactions)", "unit": "rows of transactions", "kind": "int"},
    }
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == {"clv.top_tier_share": 0.7867, "clv.total": 1234.5, "rows.transactions.read": 2357}


def test_lab_session_writes_per_notebook_and_start_clears_it(lab, declared):
    assert rep.start(notebook="clv") == lab / "clv"
    rep.record_metrics({"customers": 10, "bgnbd": {"r": 0.2}})
    rep.record_input("transactions", {"path": "../data/t.csv", "rows_read": 3})
    rep.record_metric("customers", 11)  # re-running one cell updates its figure
    assert json.loads((lab / "clv" / "metrics.json").read_text()) == {"customers": 11, "bgnbd.r": 0.2}
    (lab / "clv" / "quarantine").mkdir()
    rep.start(notebook="data_quality.ipynb")  # another notebook has its own folder
    rep.record_metric("customers", 1)
    assert json.loads((lab / "data_quality" / "metrics.json").read_text()) == {"customers": 1}
    assert (lab / "clv" / "metrics.json").exists()
    rep.start(notebook="clv")  # a fresh top-to-bottom run starts clean, the last figures kept to compare
    assert sorted(p.name for p in (lab / "clv").iterdir()) == ["previous.json"]
    assert rep.previous_run()["metrics"] == {"customers": 11, "bgnbd.r": 0.2}
    assert not (lab / "metrics.json").exists()


def test_lab_session_detects_the_notebook_name(lab, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/project/notebooks/survey.ipynb")
    assert rep.run_dir() == lab / "survey"
    assert rep.start() == lab / "survey"


def test_under_the_runner_start_changes_nothing(tmp_path, monkeypatch, declared):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path / "run"))
    rep.record_metric("customers", 5)
    assert rep.start(notebook="clv") == tmp_path / "run"
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == {"customers": 5}


def test_a_unit_that_depends_on_the_run_is_recorded_over_the_declared_one(tmp_path, monkeypatch, declared):
    monkeypatch.setenv("WORKBENCH_RUN_DIR", str(tmp_path))
    rep.record_metrics({"bgnbd": {"r": 0.24}, "customers": 3}, units={"bgnbd.r": "weeks", "not.recorded": "days"})
    info = json.loads((tmp_path / "metric_info.json").read_text())
    assert info["bgnbd.r"]["unit"] == "weeks" and info["customers"]["unit"] == "" and "not.recorded" not in info
