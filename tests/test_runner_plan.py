"""helpers.runner.plan: every check happens before anything executes."""

from __future__ import annotations

import re

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers import runner
from helpers.core.registry import Domain, Metric
from helpers.runner import RunOptions, WorkbenchError
from notebook_factory import bad_notebook, good_notebook, params_cell, registry_with, run, write_nb


def test_unknown_parameter_stops_before_anything_runs(tmp_path):
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    bad_notebook(tmp_path / "notebooks" / "bad.ipynb")
    with pytest.raises(WorkbenchError) as err:
        run(tmp_path, "bad", "good", assignments=["n=4"])  # bad has no parameter n
    assert "Unknown parameter 'n' for notebook bad" in str(err.value)
    assert re.search(r"^  x: int = 1 +# a number$", str(err.value), re.M)
    assert not (tmp_path / "reports").exists()


def test_a_value_outside_the_choices_stops_before_anything_runs(tmp_path):
    write_nb(
        tmp_path / "notebooks" / "units.ipynb",
        [
            params_cell(
                "from typing import Literal\n"
                'time_unit: Literal["W", "D"] = "W"  # unit of time\n'
                "rate: float = 0.1  # discount rate; range [0, 1]\n"
            ),
            new_code_cell("print(time_unit)"),
        ],
    )
    with pytest.raises(WorkbenchError) as err:
        run(tmp_path, "units", assignments=["time_unit=M"])
    assert str(err.value) == "Parameter 'time_unit' of notebook units must be one of W, D; got M."
    with pytest.raises(WorkbenchError, match=r"^Parameter 'rate' of notebook units must lie in \[0, 1\]; got 2\.$"):
        run(tmp_path, "units", assignments=["rate=2"])
    assert not (tmp_path / "reports").exists()


CLV_LIKE = Domain(
    name="clv",
    title="Customer lifetime value (test stand-in)",
    metrics=(Metric("clv.total", "Total CLV", kind="money"), Metric("customers", "Customers", kind="int")),
)
OTHER = Domain(name="survey", title="Survey (test stand-in)", metrics=(Metric("nps", "NPS", kind="float"),))
ROWS = Metric("rows.{input}.read", "Rows read", kind="int")


def _key_metrics_project(tmp_path, key_metrics: str):
    write_nb(
        tmp_path / "notebooks" / "value.ipynb",
        [
            new_markdown_cell("# Value"),
            params_cell("n: int = 1  # n"),
            new_code_cell("if False:\n    from helpers.clv.workflow import CLVAnalysis\nprint(n)"),
        ],
    )
    (tmp_path / "reports.yaml").write_text(
        f"runs:\n  - name: value-run\n    notebook: value\n    key_metrics: {key_metrics}\n"
    )
    return runner.open_project(tmp_path / "notebooks", tmp_path / "reports", tmp_path / "reports.yaml", tmp_path)


def test_key_metrics_must_be_declared_by_the_notebooks_domains(tmp_path):
    project = _key_metrics_project(tmp_path, "[clv.total, rows.transactions.read, nps, clv.totl]")
    with registry_with(CLV_LIKE, OTHER, shared=[ROWS]), pytest.raises(WorkbenchError) as err:
        runner.plan_runs(project, RunOptions())
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("reports.yaml, run 'value-run': key_metrics nps, clv.totl not declared for notebook value")
    assert "domain(s) clv" in msg  # survey is registered but not imported by the notebook
    assert msg.endswith("it can record: rows.{input}.read, clv.total, customers.")


def test_declared_key_metrics_pass_planning(tmp_path):
    project = _key_metrics_project(tmp_path, "[clv.total, rows.transactions.read, customers]")
    with registry_with(CLV_LIKE, OTHER, shared=[ROWS]):
        (spec,) = runner.plan_runs(project, RunOptions())
    assert spec.key_metrics == ["clv.total", "rows.transactions.read", "customers"]
    with registry_with():  # no domain registered yet: nothing to check against
        assert runner.plan_runs(project, RunOptions())
