"""Tests of helpers.runner: parameters, execution, reports, index, incremental runs.

Notebooks are tiny and built here with nbformat; they run on the ``python3`` kernel (ipykernel's
own kernel for this interpreter, always available). Every file lives under tmp_path.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import runner
from helpers.runner import Parameter, RunOptions, WorkbenchError
from notebook_factory import write_nb

# A 1x1 PNG, shown by the good notebook as a chart would be.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
SECRET = "SECRET_SOURCE_MARKER_4711"
EXTERNAL_URL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*|@import\s+(?:url\()?\s*["']?|url\(\s*["']?)(?:https?:)?//""", re.I
)


def params_cell(source: str):
    return new_code_cell(source, metadata={"tags": ["parameters"]})


def good_notebook(path: Path) -> Path:
    return write_nb(
        path,
        [
            new_markdown_cell("# A good notebook\n\nIntro for readers."),
            params_cell(
                "n: int = 3  # how many things\n"
                'label: str = "alpha"  # label shown\n'
                'start: str = "2020-01-01"  # first day\n'
            ),
            new_code_cell(
                f"{SECRET} = n * 2\n"
                "from helpers import reporting\n"
                "reporting.record_metrics({'answer': n * 2, 'label': label, 'start_type': type(start).__name__})\n"
                "print(f'label={label} n={n}')"
            ),
            new_code_cell("import sys, warnings\nprint('STDERR_NOISE', file=sys.stderr)\nwarnings.warn('WARN_NOISE')"),
            new_code_cell("print('REMOVED_OUTPUT')", metadata={"tags": ["remove"]}),
            new_markdown_cell("## Results"),
            new_code_cell(
                "import base64\nfrom IPython.display import Image, display\n"
                f"display(Image(data=base64.b64decode('{PNG_B64}')))"
            ),
            new_code_cell("from IPython.display import HTML\nHTML('<table><tr><td>TABLE_CELL</td></tr></table>')"),
        ],
    )


def bad_notebook(path: Path) -> Path:
    return write_nb(
        path,
        [
            new_markdown_cell("# A failing notebook"),
            params_cell("x: int = 1  # a number"),
            new_code_cell("print('BEFORE_FAILURE')"),
            new_code_cell("rows = []\nraise ValueError('the input has no rows')"),
            new_markdown_cell("## Never reached"),
            new_code_cell("print('AFTER_FAILURE')"),
        ],
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


def run(tmp: Path, *notebooks: str, **kw) -> tuple[int, str]:
    out = io.StringIO()
    options = RunOptions(
        notebooks=list(notebooks),
        notebooks_dir=tmp / "notebooks",
        output_dir=tmp / "reports",
        config=kw.pop("config", None),
        **kw,
    )
    code = runner.run_reports(options, progress=runner.Progress(out, tty=False), cwd=tmp)
    return code, out.getvalue()


@pytest.fixture
def stable_helpers(tmp_path_factory, monkeypatch):
    """Helper code is part of a run's key, and other people edit src/helpers while tests run:
    hash a stable stand-in package instead, so that "unchanged" really is unchanged."""
    fake = tmp_path_factory.mktemp("helpers_pkg")
    (fake / "__init__.py").write_text("")
    monkeypatch.setattr(runner, "PACKAGE_DIR", fake)
    return fake


def state(tmp: Path, name: str) -> dict:
    return json.loads((tmp / "reports" / name / "run.json").read_text())


# --------------------------------------------------------------------------------------------
# Parameters


def test_parse_parameters_names_types_defaults_help():
    src = (
        "import math\n"
        'time_unit: str = "W"  # unit of time (D, W or M)\n'
        "churn_threshold: float = 0.3  # probability below which a customer counts as lost\n"
        "# number of customers\n# to show\n"
        "top = 10\n"
        "columns: dict = {\n    'a': 1,  # inner comment\n    'b': 2,\n}\n"
        "cutoff: str | None = None\n"
        "scale = (1, 5)  # answer scale\n"
        "derived: float = math.pi / 2  # computed\n"
        "required_one: int  # must be given\n"
    )
    params = {p.name: p for p in runner.parse_parameters(src)}
    assert list(params) == [
        "time_unit",
        "churn_threshold",
        "top",
        "columns",
        "cutoff",
        "scale",
        "derived",
        "required_one",
    ]
    assert params["time_unit"] == Parameter("time_unit", "str", "W", '"W"', "unit of time (D, W or M)")
    assert params["churn_threshold"].type == "float" and params["churn_threshold"].default == 0.3
    assert (
        params["top"].type == "int"
        and params["top"].default == 10
        and params["top"].help == "number of customers to show"
    )
    assert params["columns"].default == {"a": 1, "b": 2} and params["columns"].help == "inner comment"
    assert params["cutoff"].type == "str | None" and params["cutoff"].default is None and params["cutoff"].help == ""
    assert params["scale"].type == "tuple" and params["scale"].default == (1, 5)
    assert params["derived"].literal is False and params["derived"].default_source == "math.pi / 2"
    assert params["required_one"].required and params["required_one"].describe_default() == "(required)"


def test_parse_parameters_rejects_invalid_python():
    with pytest.raises(WorkbenchError, match="not valid Python"):
        runner.parse_parameters("x: int = = 3")


def test_read_notebook_info(tmp_path):
    info = runner.read_notebook_info(good_notebook(tmp_path / "good.ipynb"))
    assert [p.name for p in info.parameters] == ["n", "label", "start"]
    assert info.title == "A good notebook"
    assert info.kernel_name == "python3"
    # what the notebook does is hashed, not incidental outputs/metadata
    nb = nbformat.read(tmp_path / "good.ipynb", as_version=4)
    nb.cells[2].outputs = [new_output("stream", name="stdout", text="x")]
    nb.cells[2].execution_count = 5
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert runner.read_notebook_info(tmp_path / "good.ipynb").content_hash == info.content_hash
    nb.cells[2].source += "\n# changed"
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert runner.read_notebook_info(tmp_path / "good.ipynb").content_hash != info.content_hash


def test_yaml_values_of_p_options():
    values = {
        k: v
        for k, (v, _) in runner.parse_assignments(
            [
                "a=3",
                "b=0.25",
                "c=2020-01-31",
                "d=null",
                "e=[x, 2]",
                "f={k: v, n: 1}",
                "g=W",
                "h=",
                "i=a=b",
                "j=true",
            ]
        ).items()
    }
    assert values == {
        "a": 3,
        "b": 0.25,
        "c": "2020-01-31",
        "d": None,
        "e": ["x", 2],
        "f": {"k": "v", "n": 1},
        "g": "W",
        "h": None,
        "i": "a=b",
        "j": True,
    }
    with pytest.raises(WorkbenchError, match="NAME=VALUE"):
        runner.parse_assignments(["novalue"])
    with pytest.raises(WorkbenchError, match="YAML"):
        runner.parse_assignments(["x=[1, 2"])


def test_check_value_types():
    p = lambda typ: Parameter("x", typ, None, "None", "")  # noqa: E731
    assert runner.check_value(p("str"), 2020, "2020", "nb") == "2020"  # -p x=2020 for a str
    assert runner.check_value(p("str"), False, "no", "nb") == "no"
    assert runner.check_value(p("str"), {"a": "b"}, "a: b", "nb") == "a: b"
    assert runner.check_value(p("dict | str"), {"a": "b"}, "a: b", "nb") == {"a": "b"}
    assert runner.check_value(p("float"), 1, "1", "nb") == 1
    assert runner.check_value(p("str | None"), None, "null", "nb") is None
    assert runner.check_value(p("list | str | None"), ["a"], "[a]", "nb") == ["a"]
    assert runner.check_value(p("date"), "anything", None, "nb") == "anything"  # not checked
    with pytest.raises(WorkbenchError, match="expects int, got abc"):
        runner.check_value(p("int"), "abc", "abc", "nb")
    with pytest.raises(WorkbenchError, match="expects float"):
        runner.check_value(p("float"), True, "true", "nb")
    with pytest.raises(WorkbenchError, match="expects list"):
        runner.check_value(p("list"), None, "null", "nb")


def test_resolve_parameters_precedence_and_unknown(tmp_path):
    info = runner.read_notebook_info(good_notebook(tmp_path / "good.ipynb"))
    values = runner.resolve_parameters(
        info,
        [
            {"n": (1, None), "label": ("yaml", None), "start": ("2021-01-01", None)},
            {"n": (2, None), "label": ("file", None)},
            {"n": (3, "3")},
        ],
    )
    assert values == {"n": 3, "label": "file", "start": "2021-01-01"}
    with pytest.raises(WorkbenchError) as err:
        runner.resolve_parameters(info, [{"nn": (1, "1"), "n": (2, "2")}])
    msg = str(err.value)
    assert "Unknown parameter 'nn' for notebook good" in msg
    assert re.search(r"^  n: int = 3 +# how many things$", msg, re.M)
    assert re.search(r'^  label: str = "alpha" +# label shown$', msg, re.M)


def test_config_checks(tmp_path):
    cfg = tmp_path / "reports.yaml"
    cfg.write_text("runs:\n  - notebook: good\n    paramters: {n: 1}\n")
    with pytest.raises(WorkbenchError, match=r"unknown key.*paramters"):
        runner.load_config(cfg)
    cfg.write_text("runs:\n  - {notebook: good}\n  - {notebook: good.ipynb}\n")
    with pytest.raises(WorkbenchError, match="used twice"):
        runner.load_config(cfg)
    cfg.write_text("runs:\n  - {name: a, notebook: good, title: T, parameters: {d: 2020-01-01}, key_metrics: [m]}\n")
    (r,) = runner.load_config(cfg)
    assert (r.name, r.notebook, r.title, r.parameters, r.key_metrics) == ("a", "good", "T", {"d": "2020-01-01"}, ["m"])


def test_unknown_parameter_stops_before_anything_runs(tmp_path):
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    bad_notebook(tmp_path / "notebooks" / "bad.ipynb")
    with pytest.raises(WorkbenchError) as err:
        run(tmp_path, "bad", "good", assignments=["n=4"])  # bad has no parameter n
    assert "Unknown parameter 'n' for notebook bad" in str(err.value)
    assert re.search(r"^  x: int = 1 +# a number$", str(err.value), re.M)
    assert not (tmp_path / "reports").exists()


# --------------------------------------------------------------------------------------------
# One batch: a good, a failing and a contract-failing notebook, run two at a time


@pytest.fixture(scope="session")
def batch(tmp_path_factory):
    """Run the batch once per test session, shared by the pytest-xdist workers (the tests only
    read its outputs): the first worker to take the lock builds it, the others reuse it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, common to all workers
    tmp = root / "workbench-batch"
    with open(root / "workbench-batch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = tmp / "done.json"
        if not done.exists():
            shutil.rmtree(tmp, ignore_errors=True)
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
            code, out = run(tmp, config=tmp / "reports.yaml", jobs=2)
            done.write_text(json.dumps({"code": code, "out": out}))
        result = json.loads(done.read_text())
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
    assert "[good-run] cell 3/8 ..." in out
    assert re.search(r"^\[good-run\] ok \d", out, re.M)
    assert re.search(r"^\[bad\] failed .*ValueError: the input has no rows \(cell 4\)$", out, re.M)
    assert "3 run(s): 1 ok, 2 failed" in out


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


def test_report_header_parameters(batch):
    tmp, _, _ = batch
    page = report(tmp, "good-run")
    header = page[page.index('<header class="wb-header">') : page.index("</header>")]
    assert "<code>n</code></td><td>5</td><td>how many things</td>" in header
    assert '<code>start</code></td><td>2020-01-01 <span class="wb-note">(default)</span>' in header
    assert "Run 20" in header and "took " in header


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


# --------------------------------------------------------------------------------------------
# Incremental runs


INC_NB = [
    new_markdown_cell("# Incremental"),
    params_cell('data_file: str = "data.csv"  # input\nn: int = 1  # a number'),
    new_code_cell(  # what helpers.reporting does, without importing numpy into the kernel
        "import json, os\nrun_dir = os.environ['WORKBENCH_RUN_DIR']\n"
        "text = open(data_file).read()\n"
        "extra = open('extra.txt').read()  # read without being a parameter\n"
        "json.dump({'extra': {'path': 'extra.txt', 'rows_read': 1}}, open(os.path.join(run_dir, 'inputs.json'), 'w'))\n"
        "json.dump({'n': n, 'lines': len(text.splitlines())}, open(os.path.join(run_dir, 'metrics.json'), 'w'))"
    ),
]


def test_incremental_skip_and_rerun(tmp_path, stable_helpers):
    nbdir = tmp_path / "notebooks"
    nbpath = write_nb(nbdir / "inc.ipynb", INC_NB)
    data, extra = nbdir / "data.csv", nbdir / "extra.txt"
    data.write_text("a\n1\n")
    extra.write_text("x")

    def last_action():
        return state(tmp_path, "inc")["last_action"]

    assert run(tmp_path, "inc")[0] == 0 and last_action() == "ran"
    st = state(tmp_path, "inc")
    assert st["inputs"] == ["extra.txt"] and set(st["key_parts"]["inputs"]) == {"data.csv", "extra.txt"}

    code, out = run(tmp_path, "inc")
    assert code == 0 and last_action() == "skipped" and "[inc] skipped (unchanged since" in out
    assert "skipped" in (tmp_path / "reports" / "index.html").read_text()

    later = time.time() + 100  # mtime changes, content does not
    os.utime(data, (later, later))
    os.utime(extra, (later, later))
    os.utime(nbpath, (later, later))
    assert run(tmp_path, "inc")[0] == 0 and last_action() == "skipped"

    data.write_text("a\n1\n2\n")  # a parameter's input file changed
    code, out = run(tmp_path, "inc")
    assert last_action() == "ran" and "input changed: data.csv" in out
    assert json.loads((tmp_path / "reports" / "inc" / "metrics.json").read_text())["lines"] == 3

    extra.write_text("y")  # a file recorded in inputs.json changed
    code, out = run(tmp_path, "inc")
    assert last_action() == "ran" and "input changed: extra.txt" in out

    code, out = run(tmp_path, "inc", assignments=["n=2"])  # parameter changed
    assert last_action() == "ran" and "parameters changed" in out
    assert run(tmp_path, "inc", assignments=["n=2"])[0] == 0 and last_action() == "skipped"

    nb = nbformat.read(nbpath, as_version=4)  # the notebook changed
    nb.cells[2].source += "\nreporting.record_metrics({'v': 2})"
    nbformat.write(nb, nbpath)
    code, out = run(tmp_path, "inc", assignments=["n=2"])
    assert last_action() == "ran" and "notebook changed" in out


def test_failed_run_is_never_skipped_and_helper_change_reruns(tmp_path, stable_helpers):
    write_nb(
        tmp_path / "notebooks" / "flaky.ipynb",
        [
            new_code_cell("import os\nif not os.path.exists('ok.flag'):\n    raise RuntimeError('flag missing')"),
        ],
    )
    assert run(tmp_path, "flaky")[0] == 1
    (tmp_path / "notebooks" / "ok.flag").write_text("")
    code, out = run(tmp_path, "flaky")
    assert code == 0 and "previous run failed" in out
    assert state(tmp_path, "flaky")["status"] == "ok" and state(tmp_path, "flaky")["error"] is None
    assert state(tmp_path, "flaky")["last_action"] == "ran"
    assert run(tmp_path, "flaky")[0] == 0 and state(tmp_path, "flaky")["last_action"] == "skipped"
    (stable_helpers / "x.py").write_text("X = 1\n")  # helper code is part of the key
    code, out = run(tmp_path, "flaky")
    assert "helper code changed" in out and state(tmp_path, "flaky")["last_action"] == "ran"


# --------------------------------------------------------------------------------------------
# Atomic writes


class ExplodingExporter:
    def from_notebook_node(self, *a, **k):
        raise RuntimeError("renderer crashed")


def test_force_and_crash_while_rendering_keeps_previous_report(tmp_path, monkeypatch, stable_helpers):
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    assert run(tmp_path, "good")[0] == 0
    run_dir = tmp_path / "reports" / "good"
    before = (run_dir / "report.html").read_bytes()
    monkeypatch.setattr(runner, "html_exporter", lambda: ExplodingExporter())
    code, out = run(tmp_path, "good", force=True)  # unchanged, but --force runs it again
    assert code == 1 and "(forced)" in out
    assert (run_dir / "report.html").read_bytes() == before
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []
    st = state(tmp_path, "good")
    assert st["status"] == "failed" and "could not be rendered" in st["error"]["message"]
    assert "renderer crashed" in st["error"]["message"]
    assert "could not be rendered" in (tmp_path / "reports" / "index.html").read_text()


def test_write_text_atomic_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        runner.write_text_atomic(target, "new " * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# --------------------------------------------------------------------------------------------
# Pieces without a kernel


def test_prepare_for_report_filters_outputs():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nKept paragraph."),
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stderr", text="warning!"),
                    new_output("stream", name="stdout", text="shown"),
                    new_output(
                        "execute_result", data={"text/plain": "<matplotlib.lines.Line2D at 0x7f00>"}, execution_count=1
                    ),
                ],
            ),
            new_code_cell(
                "y", outputs=[new_output("stream", name="stdout", text="gone")], metadata={"tags": ["remove-output"]}
            ),
            new_code_cell("z", outputs=[new_output("error", ename="E", evalue="v", traceback=["tb"])]),
            new_markdown_cell("after failure"),
        ]
    )
    out = runner.prepare_for_report(nb, {"cell_index": 3})
    assert [c.cell_type for c in out.cells] == ["markdown", "code"]
    assert out.cells[0].source == "Kept paragraph."
    assert [o.get("text") for o in out.cells[1].outputs] == ["shown"]


def test_error_message():
    assert runner.error_message("ValueError", "bad value\nmore lines") == "ValueError: bad value"
    assert runner.error_message("ContractError", "File x.csv is empty.") == "File x.csv is empty."
    assert runner.error_message("KeyError", "") == "KeyError"
    assert runner.error_message("E", "\x1b[31mred\x1b[0m") == "E: red"


def test_external_references():
    assert runner.external_references('<img src="data:image/png;base64,xx"><a href="#x">') == []
    assert runner.external_references('<script src="https://cdn.example/x.js"></script>')
    assert runner.external_references("<style>@import url('//fonts.example/css');</style>")


def test_progress_on_a_terminal_updates_in_place():
    buf = io.StringIO()
    p = runner.Progress(buf, tty=True)
    p.event("cell", "clv", 7, 23)
    p.done(runner.RunResult("clv", "ok", duration=2.5))
    text = buf.getvalue()
    assert "\r\x1b[K[clv] cell 7/23 ..." in text
    assert text.endswith("\r\x1b[K[clv] ok 2.5 s\n")


def test_hasher_uses_content_not_mtime(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("same")
    h = runner.FileHasher(tmp_path / "cache.json")
    first = h.sha256(f)
    h.save()
    os.utime(f, (time.time() + 50, time.time() + 50))
    h2 = runner.FileHasher(tmp_path / "cache.json")
    assert h2.sha256(f) == first
    f.write_text("diff")
    assert h2.sha256(f) != first
    assert h2.sha256(tmp_path / "missing") is None
