"""One batch through helpers.runner: a good, a failing and a contract-failing notebook, run two
at a time; then its reports, their headers and failure banners, and the index.

Notebooks are tiny and built with nbformat; they run on the ``python3`` kernel (ipykernel's own
kernel for this interpreter, always available). Every file lives under a temporary folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from notebook_factory import (
    GOOD_METRICS,
    SECRET,
    bad_notebook,
    build_once,
    good_notebook,
    registry_with,
    run,
    state,
    write_nb,
)

EXTERNAL_URL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*|@import\s+(?:url\()?\s*["']?|url\(\s*["']?)(?:https?:)?//""", re.I
)


def contract_notebook(path: Path) -> Path:
    return write_nb(
        path,
        [
            new_markdown_cell("# Contract failure"),
            new_code_cell(
                "class ContractError(ValueError):\n    pass\n"
                "raise ContractError(\"File sales.csv has no column 'amount' (input 'sales', kind transactions).\")"
            ),
        ],
    )


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """Run the batch once per test session, shared by the pytest-xdist workers (the tests only
    read its outputs)."""

    def build(tmp: Path) -> dict:
        nbdir = tmp / "notebooks"
        good_notebook(nbdir / "good.ipynb")
        bad_notebook(nbdir / "bad.ipynb")
        contract_notebook(nbdir / "contract.ipynb")
        (tmp / "reports.yaml").write_text(
            "runs:\n"
            "  - name: good-run\n    notebook: good\n    title: 'Good report: <yaml> title'\n"
            "    parameters: {n: 5, label: from-yaml}\n    key_metrics: [answer]\n"
            "  - {notebook: bad}\n"
            "  - {notebook: contract}\n"
        )
        with registry_with(shared=GOOD_METRICS):  # what the good notebook declares in its kernel
            code, out = run(tmp, config=tmp / "reports.yaml", jobs=2)
        return {"code": code, "out": out}

    tmp, result = build_once(tmp_path_factory, "workbench-batch", build)
    return tmp, result["code"], result["out"]


def report(tmp: Path, name: str) -> str:
    return (tmp / "reports" / name / "report.html").read_text()


def test_batch_exit_code_and_states(batch):
    tmp, code, out = batch
    assert code == 1
    assert state(tmp, "good-run")["status"] == "ok"
    assert state(tmp, "bad")["status"] == "failed"
    assert state(tmp, "contract")["status"] == "failed"
    for name in ("good-run", "bad", "contract"):
        for f in ("report.html", "notebook.ipynb", "metrics.json", "run.json"):
            assert (tmp / "reports" / name / f).is_file(), (name, f)
    assert json.loads((tmp / "reports" / "good-run" / "metrics.json").read_text())["answer"] == 10
    assert "[good-run] cell 3/8 (SECRET_SOURCE_MARKER_4711 = n * 2) ..." in out  # number and first line
    assert re.search(r"^\[good-run\] ok \d", out, re.M)
    assert re.search(r"^\[bad\] failed .*ValueError: the input has no rows \(cell 4\)$", out, re.M)
    assert "3 run(s): 1 ok, 2 failed" in out


def test_batch_records_each_cells_time(batch):
    """Run two at a time, the cells are timed in the worker processes: run.json lists them in
    order (a failed run's up to the failing cell) with the slowest, the notebook holds the same."""
    tmp, _, _ = batch
    good, bad = state(tmp, "good-run"), state(tmp, "bad")
    assert [c["cell"] for c in good["cells"]] == [2, 3, 4, 5, 7, 8]
    assert [c["cell"] for c in bad["cells"]] == [2, 3, 4]
    assert bad["cells"][-1]["label"] == "rows = []"
    for st in (good, bad):
        assert all(c["elapsed_s"] >= 0 for c in st["cells"])
        assert sum(c["elapsed_s"] for c in st["cells"]) <= st["duration_s"]
        assert st["slowest_cell"]["elapsed_s"] == max(c["elapsed_s"] for c in st["cells"])
    nb = json.loads((tmp / "reports" / "good-run" / "notebook.ipynb").read_text())
    timed = [
        c["metadata"]["workbench"]["elapsed_s"]
        for c in nb["cells"]
        if c["cell_type"] == "code" and "injected-parameters" not in c["metadata"].get("tags", [])
    ]
    assert timed == [c["elapsed_s"] for c in good["cells"]]


def test_report_hides_code_and_noise(batch):
    tmp, _, _ = batch
    page = report(tmp, "good-run")
    assert '<h1 class="wb-title">Good report: &lt;yaml&gt; title</h1>' in page
    assert SECRET not in page and "reporting.record_metrics" not in page  # code hidden
    assert "label=from-yaml n=5" in page  # stdout kept
    assert "STDERR_NOISE" not in page and "WARN_NOISE" not in page
    assert "REMOVED_OUTPUT" not in page
    assert "TABLE_CELL" in page
    assert "data:image/png;base64," in page
    assert "In&nbsp;[" not in page and "jp-InputPrompt" not in page.split("<style")[0]
    assert page.count("A good notebook") == 0  # the notebook's own H1 gives way to the header title
    assert "Intro for readers." in page


def test_report_header_and_about_section(batch):
    """The header has the title and run facts only; parameters (set ones first, defaults folded
    away), data and software come last, under "About this run"."""
    tmp, _, _ = batch
    page = report(tmp, "good-run")
    header = page[page.index('<header class="wb-header" id="top">') : page.index("</header>")]
    assert "Run 20" in header and "took " in header and "<code>n</code>" not in header
    about = page[page.index('<h2 id="about">') :]
    assert '<code>n</code></td><td class="wb-wrap">5</td><td class="wb-wrap">how many things</td>' in about
    folded = about[about.index("<details") : about.index("</details>")]
    assert "at their default" in folded or "at its default" in folded
    assert '<code>start</code></td><td class="wb-wrap">2020-01-01</td>' in folded
    assert "Python 3." in about and "pandas " in about
    assert page.rindex('id="about"') > page.rindex("wb-body")  # the last section


def test_reports_and_index_are_offline(batch):
    tmp, _, _ = batch
    for page in (report(tmp, "good-run"), report(tmp, "bad"), (tmp / "reports" / "index.html").read_text()):
        assert not EXTERNAL_URL.search(page)
        assert "<script src" not in page and "require.js" not in page and "mathjax" not in page.lower()
        assert "<style" in page  # self-contained stylesheet


def test_failure_banner(batch):
    tmp, _, _ = batch
    page = report(tmp, "bad")
    assert 'class="wb-banner"' in page
    assert "stopped with an error in cell 4" in page
    assert "ValueError: the input has no rows" in page
    assert "raise ValueError('the input has no rows')" in page  # the failing cell's source
    assert "BEFORE_FAILURE" in page
    assert "AFTER_FAILURE" not in page and "Never reached" not in page
    assert "Traceback" not in page and "----&gt;" not in page
    nb = nbformat.read(tmp / "reports" / "bad" / "notebook.ipynb", as_version=4)  # kept, with the error
    assert any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    err = state(tmp, "bad")["error"]
    assert err["cell"] == 4 and err["message"] == "ValueError: the input has no rows"


def test_contract_error_is_one_sentence(batch):
    tmp, _, _ = batch
    sentence = "File sales.csv has no column 'amount' (input 'sales', kind transactions)."
    page = report(tmp, "contract")
    assert f"<p>{sentence}</p>" in page
    assert "ContractError:" not in page
    assert state(tmp, "contract")["error"]["message"].startswith("File sales.csv has no column")


def test_index_contents(batch):
    tmp, _, _ = batch
    page = (tmp / "reports" / "index.html").read_text()
    assert page.index("good-run") < page.index('id="run-bad"') < page.index('id="run-contract"')  # reports.yaml order
    assert '<a href="good-run/report.html">Good report: &lt;yaml&gt; title</a>' in page
    assert '<span class="wb-badge wb-badge-ok">ok</span>' in page
    assert page.count('<span class="wb-badge wb-badge-failed">failed</span>') == 2
    assert "<code>n=5</code>" in page and "<code>label=from-yaml</code>" in page
    assert '<div class="wb-card-value">10</div><div class="wb-card-label">answer</div>' in page
    assert "Failed at cell 4:</strong> ValueError: the input has no rows" in page
    assert "1 ok" in page and "2 failed" in page
