"""Tests of the ``workbench`` command line (helpers.cli): arguments, exit codes, messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers import cli
from helpers.core.registry import Domain
from notebook_factory import registry_with, write_nb

BIN = Path(sys.executable).parent


PARAMS_NB = [
    new_markdown_cell("# Parameter echo"),
    new_code_cell(
        'a: str = "nb"  # set in reports.yaml\n'
        'b: str = "nb"  # set in reports.yaml and --params\n'
        'c: str = "nb"  # set everywhere\n'
        'd: str = "2000-01-01"  # a date\n'
        "e: list | None = None  # a list\n"
        "f: float | None = 1.5  # may be null\n",
        metadata={"tags": ["parameters"]},
    ),
    new_code_cell(
        "import json, os\n"
        "values = dict(a=a, b=b, c=c, d=d, d_type=type(d).__name__, e=e, f=f, cwd=os.getcwd())\n"
        "json.dump(values, open(os.path.join(os.environ['WORKBENCH_RUN_DIR'], 'metrics.json'), 'w'))"
    ),
]


@pytest.fixture
def project(tmp_path):
    """A project folder: notebooks/, reports.yaml; reports go to reports/."""
    write_nb(tmp_path / "notebooks" / "echo.ipynb", PARAMS_NB)
    (tmp_path / "reports.yaml").write_text(
        "runs:\n"
        "  - name: echo-run\n    notebook: echo\n    title: Echo\n"
        "    parameters: {a: yaml, b: yaml, c: yaml, d: 2021-03-04}\n"
    )
    return tmp_path


def dirs(tmp: Path) -> list[str]:
    return [
        "--notebooks-dir",
        str(tmp / "notebooks"),
        "--output-dir",
        str(tmp / "reports"),
        "--config",
        str(tmp / "reports.yaml"),
    ]


def test_python_m_helpers_is_workbench():
    via_module = subprocess.run([sys.executable, "-m", "helpers", "--help"], capture_output=True, text=True)
    via_script = subprocess.run([str(BIN / "workbench"), "--help"], capture_output=True, text=True)
    assert via_module.returncode == via_script.returncode == 0
    assert via_module.stdout == via_script.stdout
    for command in ("run", "list", "validate", "synth"):
        assert command in via_module.stdout


def test_command_line_starts_without_heavy_imports():
    code = (
        "import sys, helpers.cli, helpers.runner\n"
        "heavy = [m for m in ('papermill', 'nbconvert', 'nbformat', 'nbclient', 'jupyter_client', 'pandas',"
        " 'numpy', 'duckdb', 'jinja2', 'yaml', 'helpers.core.registry') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_shows_parameters(project, capsys):
    assert (
        cli.main(["list", "--notebooks-dir", str(project / "notebooks"), "--config", str(project / "reports.yaml")])
        == 0
    )
    out = capsys.readouterr().out
    assert "echo  Parameter echo" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    assert lines["a"].split() == ["a", "str", '"nb"', "set", "in", "reports.yaml"]
    assert lines["e"].split()[:5] == ["e", "list", "|", "None", "None"] and lines["e"].endswith("a list")
    assert lines["f"].split()[4] == "1.5"
    assert "echo-run" in out and "a=yaml" in out


def test_unknown_parameter_lists_valid_ones(project, capsys):
    code = cli.main(["run", "echo", "-p", "colour=red", *dirs(project)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Unknown parameter 'colour' for notebook echo" in err
    assert 'a: str = "nb"' in err and "# set in reports.yaml" in err and "f: float | None = 1.5" in err
    assert not (project / "reports").exists()  # nothing executed


def test_bad_value_and_usage_errors(project, capsys, monkeypatch):
    assert cli.main(["run", "echo", "-p", "f=abc", *dirs(project)]) == 2
    assert "Parameter 'f' of notebook echo expects float | None, got abc" in capsys.readouterr().err
    assert cli.main(["run", "nope", *dirs(project)]) == 2
    assert "No notebook 'nope'" in capsys.readouterr().err
    assert cli.main(["run", "echo", "echo-run", "--name", "x", *dirs(project)]) == 2
    assert "--name" in capsys.readouterr().err
    monkeypatch.chdir(project / "notebooks")  # no reports.yaml from here up (tmp dirs have none)
    (project / "reports.yaml").unlink()
    assert cli.main(["run", "--notebooks-dir", str(project / "notebooks")]) == 2
    assert "No reports.yaml found" in capsys.readouterr().err


def test_parameter_precedence_and_yaml_values(project, capsys):
    (project / "p.yaml").write_text("b: file\nc: file\n")
    code = cli.main(
        [
            "run",
            "echo-run",
            "--params",
            str(project / "p.yaml"),
            "-p",
            "c=cli",
            "-p",
            "e=[1, x]",
            "-p",
            "f=null",
            *dirs(project),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    got = json.loads((project / "reports" / "echo-run" / "metrics.json").read_text())
    assert got == {
        "a": "yaml",
        "b": "file",
        "c": "cli",
        "d": "2021-03-04",
        "d_type": "str",
        "e": [1, "x"],
        "f": None,
        "cwd": str((project / "notebooks").resolve()),
    }
    assert "[echo-run] ok" in out
    state = json.loads((project / "reports" / "echo-run" / "run.json").read_text())
    assert state["parameters"] == {"a": "yaml", "b": "file", "c": "cli", "d": "2021-03-04", "e": [1, "x"], "f": None}
    assert (project / "reports" / "index.html").is_file()


def test_console_script_exit_code_and_name(project):
    write_nb(project / "notebooks" / "boom.ipynb", [new_code_cell("1 / 0")])
    proc = subprocess.run(
        [str(BIN / "workbench"), "run", "boom", "--name", "custom", *dirs(project)],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert proc.returncode == 1
    assert "[custom] failed" in proc.stdout and "ZeroDivisionError: division by zero (cell 1)" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (project / "reports" / "custom" / "report.html").is_file()


# --------------------------------------------------------------------------------------------
# validate and synth


def test_validate_reports_rows_and_reasons(tmp_path, capsys):
    f = tmp_path / "t.csv"
    f.write_text("customer_id,date,amount\nC1,2020-01-01,10.5\nC2,2020-01-02,abc\nC3,2020-01-03,3\n")
    q = tmp_path / "out" / "q.csv"
    args = ["validate", str(f), "--kind", "transactions", "--quarantine-out", str(q)]
    assert cli.main([*args, "-o", "max_quarantined_share=0.5"]) == 0  # 1 of 3 set aside: under 50 %
    out = capsys.readouterr().out
    assert "rows read       3" in out and "rows accepted   2" in out and "rows set aside  1" in out
    assert "amount" in out.split("Reasons")[1]
    assert q.read_text().splitlines()[0].startswith("line,reason")
    assert len(q.read_text().splitlines()) == 2


def test_validate_exits_non_zero_when_more_rows_are_set_aside_than_the_threshold(tmp_path, capsys):
    f = tmp_path / "t.csv"
    f.write_text("customer_id,date,amount\nC1,2020-01-01,10.5\nC2,2020-01-02,abc\nC3,2020-01-03,3\n")
    assert cli.main(["validate", str(f), "--kind", "transactions"]) == 1  # 33 % > the 1 % default
    captured = capsys.readouterr()
    assert "rows set aside  1" in captured.out
    assert "33 %" in captured.err and "1.0 % allowed" in captured.err and "amount" in captured.err


def test_validate_with_map_and_date_format(tmp_path, capsys):
    f = tmp_path / "m.csv"
    f.write_text("ID;Day;Revenue\nC1;31/01/2020;10.5\nC2;01/02/2020;3\n")
    code = cli.main(
        [
            "validate",
            str(f),
            "--kind",
            "transactions",
            "--map",
            "customer_id=ID",
            "--map",
            "date=Day",
            "--map",
            "amount=Revenue",
            "--date-format",
            "%d/%m/%Y",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "rows accepted   2" in out and "rows set aside  0" in out


def test_validate_whole_file_problem_is_one_sentence(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("customer_id,date\nC1,2020-01-01\n")
    assert cli.main(["validate", str(f), "--kind", "transactions"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    assert "amount" in captured.err.splitlines()[0]
    assert cli.main(["validate", str(f), "--kind", "nonsense"]) == 2
    assert "Unknown kind" in capsys.readouterr().err


def test_synth_writes_file_and_truth(tmp_path, capsys):
    out, truth = tmp_path / "c.csv", tmp_path / "truth.json"
    assert (
        cli.main(
            [
                "synth",
                "--kind",
                "customers",
                "--rows",
                "25",
                "--seed",
                "3",
                "--out",
                str(out),
                "--truth-out",
                str(truth),
            ]
        )
        == 0
    )
    assert "Wrote 25 rows" in capsys.readouterr().out
    first = out.read_bytes()
    assert len(first.decode().splitlines()) == 26 and first.startswith(b"customer_id")
    assert isinstance(json.loads(truth.read_text()), dict)
    assert cli.main(["synth", "--kind", "customers", "--rows", "25", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_bytes() == first  # same seed, same file
    assert cli.main(["synth", "--kind", "nonsense", "--rows", "5", "--out", str(out)]) == 2


# --------------------------------------------------------------------------------------------
# Choices, one-line errors, kinds from the registry


def test_list_shows_the_allowed_values_of_a_choice(tmp_path, capsys):
    write_nb(
        tmp_path / "notebooks" / "units.ipynb",
        [
            new_code_cell(
                "from typing import Literal\n"
                'time_unit: Literal["W", "D"] = "W"  # unit of time\n'
                "rate: float = 0.1  # discount rate; range [0, 1]\n",
                metadata={"tags": ["parameters"]},
            )
        ],
    )
    assert cli.main(["list", "--notebooks-dir", str(tmp_path / "notebooks")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert lines["time_unit"].split() == ["time_unit", "one", "of", "W,", "D", '"W"', "unit", "of", "time"]
    assert lines["rate"].endswith("discount rate; range [0, 1]")


def test_overlong_name_and_unreadable_params_file_are_one_line_errors(project, capsys):
    assert cli.main(["run", "echo", "--name", "x" * 101, *dirs(project)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "101 characters long: use at most 100" in err and "Traceback" not in err
    for name, content in (("latin1.yaml", "a: caf\xe9\n".encode("latin-1")), ("blob.bin", bytes(range(256)))):
        (project / name).write_bytes(content)
        assert cli.main(["run", "echo", "--params", str(project / name), *dirs(project)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("workbench: error: Parameters file") and "UTF-8" in err
    (project / "nul.yaml").write_bytes(b"a: 1\n\x00")
    assert cli.main(["run", "echo", "--params", str(project / "nul.yaml"), *dirs(project)]) == 2
    assert "is a binary file, not YAML text" in capsys.readouterr().err
    assert not (project / "reports").exists()


class _Simulated:
    def __init__(self, rows: int, seed: int):
        import pandas as pd

        self.frame = pd.DataFrame({"widget_id": [f"W{i}" for i in range(rows)], "seed": seed})
        self.truth = {"rows": rows}


def simulate_widgets(rows: int, seed: int = 0, **options) -> _Simulated:
    return _Simulated(rows, seed)


def test_validate_and_synth_take_their_kinds_from_the_registry(tmp_path, capsys):
    widgets = Domain(name="widgets", title="Widgets", simulators={"widgets": "test_cli:simulate_widgets"})
    with registry_with(widgets):
        assert cli.main(["synth", "--kind", "widgets", "--rows", "3", "--out", str(tmp_path / "w.csv")]) == 0
        assert (tmp_path / "w.csv").read_text().splitlines() == ["widget_id,seed", "W0,0", "W1,0", "W2,0"]
        assert cli.main(["synth", "--kind", "transactions", "--rows", "3", "--out", str(tmp_path / "t.csv")]) == 2
        assert "kinds with a simulator are widgets." in capsys.readouterr().err
        assert cli.main(["validate", str(tmp_path / "w.csv"), "--kind", "transactions"]) == 2
        assert "Unknown kind 'transactions': expected one of (none declared)." in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Output folders that cannot be written


def test_an_output_folder_that_cannot_be_written_is_a_one_line_error(project, capsys, monkeypatch):
    blocker = project / "a-file"
    blocker.write_text("")
    code = cli.main(
        ["run", "echo", "--output-dir", str(blocker / "reports"), "--notebooks-dir", str(project / "notebooks")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"workbench: error: Cannot write reports to {blocker / 'reports'}: Not a directory.")

    import tempfile

    def refuse(*a, **k):  # a read-only folder (chmod alone does not stop root, who runs some CIs)
        raise PermissionError(13, "Permission denied")

    readonly = project / "readonly"
    readonly.mkdir()
    if os.geteuid() != 0:
        readonly.chmod(0o555)
    else:
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code = cli.main(["run", "echo", "--output-dir", str(readonly), "--notebooks-dir", str(project / "notebooks")])
    err = capsys.readouterr().err
    assert code == 2 and err == (
        f"workbench: error: Cannot write reports to {readonly}: Permission denied. "
        "Choose another folder with --output-dir.\n"
    )
    readonly.chmod(0o755)


def test_an_os_error_while_running_is_a_one_line_error(project, capsys, monkeypatch):
    from helpers import runner

    def full(*a, **k):
        raise OSError(28, "No space left on device", "/somewhere/report.html")

    monkeypatch.setattr(runner, "run_reports", full)
    assert cli.main(["run", "echo", *dirs(project)]) == 2
    assert capsys.readouterr().err == "workbench: error: No space left on device: /somewhere/report.html.\n"


def _browser_missing() -> str | None:
    from helpers.runner import browser

    return browser.missing()


def _pages(folder: Path, pages: dict[str, str]) -> None:
    for name, body in pages.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>{body}</body></html>'
        )


@pytest.mark.skipif(bool(_browser_missing()), reason=f"needs Chromium and Playwright: {_browser_missing()}")
def test_check_reports_lists_each_pages_problems(tmp_path, capsys):
    good = '<h1 id="top">Fine</h1><a href="#top">top</a>'
    _pages(
        tmp_path,
        {
            "index.html": '<a href="good/report.html">good</a> <a href="bad/report.html">bad</a>',
            "good/report.html": good,
            "bad/report.html": '<h1>Bad</h1><a href="#nowhere">Contents entry</a>',
            ".bad.building-x/report.html": '<a href="#hidden">not checked</a>',
            "_lab/report.html": '<a href="#lab">not checked</a>',
        },
    )
    assert cli.main(["check-reports", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out == (
        "bad/report.html:\n"
        '  - in-page link "#nowhere" ("Contents entry") has no element with id "nowhere"\n'
        "3 pages checked: 1 with problems\n"
    ), out
    _pages(tmp_path, {"bad/report.html": good})
    assert cli.main(["check-reports", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "3 pages checked: no problems\n"


def test_check_reports_without_a_browser_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    _pages(tmp_path, {"index.html": "<p>index</p>"})
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(tmp_path / "no-chromium"))
    assert cli.main(["check-reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("workbench: error: ") and "install" in err, err
