"""A run's folder: replaced whole only when the run has finished (an interrupted run keeps the
previous one's files and is never taken as up to date), locked while it is written, a timeout
for the whole run, and each kernel's share of the cores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell

from helpers.runner import rundir
from helpers.runner.common import THREAD_VARS
from notebook_factory import params_cell, run, state, write_nb

BIN = Path(sys.executable).parent

# Writes what a notebook hands to its report (metrics, inputs, quarantine), then, while the file
# 'block' exists beside it, says so in 'started' and waits to be killed.
WRITER = [
    params_cell("n: int = 1  # a number"),
    new_code_cell(
        "import json, os, pathlib, time\n"
        "run_dir = pathlib.Path(os.environ['WORKBENCH_RUN_DIR'])\n"
        "json.dump({'n': n}, open(run_dir / 'metrics.json', 'w'))\n"
        "json.dump({'data': {'path': 'data.csv', 'rows_read': n}}, open(run_dir / 'inputs.json', 'w'))\n"
        "(run_dir / 'quarantine').mkdir(exist_ok=True)\n"
        "(run_dir / 'quarantine' / 'data.csv').write_text(f'line,reason\\n{n},bad\\n')\n"
        "if os.path.exists('block'):\n"
        "    pathlib.Path('started').write_text(str(os.getpid()))\n"
        "    time.sleep(120)"
    ),
]


def dirs(tmp: Path) -> list[str]:
    return ["--notebooks-dir", str(tmp / "notebooks"), "--output-dir", str(tmp / "reports")]


def files(run_dir: Path) -> dict[str, str]:
    return {
        name: (run_dir / name).read_text()
        for name in ("metrics.json", "inputs.json", "quarantine/data.csv", "report.html", "notebook.ipynb")
    }


def wait_for(path: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def test_a_killed_run_keeps_the_previous_files_and_is_not_taken_as_up_to_date(tmp_path, stable_helpers):
    nbdir = tmp_path / "notebooks"
    write_nb(nbdir / "writer.ipynb", WRITER)
    (nbdir / "data.csv").write_text("x\n")
    assert run(tmp_path, "writer")[0] == 0
    run_dir = tmp_path / "reports" / "writer"
    before = files(run_dir)
    assert json.loads(before["metrics.json"]) == {"n": 1}

    (nbdir / "block").write_text("")
    proc = subprocess.Popen(
        [str(BIN / "workbench"), "run", "writer", "-p", "n=2", *dirs(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(nbdir / "started")  # the new run has written its metrics, inputs and quarantine
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of workbench run
        proc.wait()
        kernel = int((nbdir / "started").read_text() or 0)
        if kernel:
            os.kill(kernel, signal.SIGKILL)
    (nbdir / "block").unlink()

    assert files(run_dir) == before  # the previous run's files, whole
    assert state(tmp_path, "writer")["parameters"] == {} and state(tmp_path, "writer")["status"] == "ok"

    code, out = run(tmp_path, "writer", assignments=["n=2"])  # the run that was killed: not skipped
    assert code == 0 and "[writer] starting kernel" in out and "parameters changed" in out
    assert json.loads((run_dir / "metrics.json").read_text()) == {"n": 2}
    assert (run_dir / "quarantine" / "data.csv").read_text() == "line,reason\n2,bad\n"
    assert [p.name for p in (tmp_path / "reports").iterdir() if "building" in p.name or ".old-" in p.name] == []
    assert '<div class="wb-card-value">2</div>' in (tmp_path / "reports" / "index.html").read_text()


def test_an_interrupted_run_in_this_process_leaves_the_previous_run(tmp_path, stable_helpers, monkeypatch):
    write_nb(tmp_path / "notebooks" / "writer.ipynb", WRITER)
    assert run(tmp_path, "writer")[0] == 0
    run_dir = tmp_path / "reports" / "writer"
    before = files(run_dir)
    from helpers.runner import render

    def interrupt(*a, **k):  # Ctrl-C while the report is being rendered
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "render_report", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "writer", assignments=["n=3"])
    assert files(run_dir) == before
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        ".workbench-cache.json",
        ".writer.lock",
        "index.html",
        "writer",
    ]


def test_recover_puts_back_a_previous_run_moved_aside_and_clears_build_folders(tmp_path):
    out = tmp_path / "reports"
    old = out / ".r.old-abc" / "run"
    old.mkdir(parents=True)
    (old / "run.json").write_text("{}")
    (out / ".r.building-xyz").mkdir()
    (out / ".rr.building-xyz").mkdir()  # another run's
    rundir.recover(out, "r")
    assert sorted(p.name for p in out.iterdir()) == [".rr.building-xyz", "r"]
    assert (out / "r" / "run.json").read_text() == "{}"


def test_commit_replaces_the_folder_whole(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "stale.txt").write_text("old")
    build = rundir.new_build_dir(tmp_path, "r")
    (build / "metrics.json").write_text("{}")
    rundir.commit(build, run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert oct(run_dir.stat().st_mode & 0o777) != "0o700"  # readable as reports are


# -- 20: one writer per run folder -------------------------------------------------------------

HOLD = (
    "import fcntl, sys, time\n"
    "fh = open(sys.argv[1], 'a+')\n"
    "fcntl.flock(fh, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def test_a_second_run_of_the_same_name_waits_for_the_first(tmp_path, stable_helpers):
    write_nb(tmp_path / "notebooks" / "writer.ipynb", WRITER)
    (tmp_path / "reports").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "reports" / ".writer.lock"), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        code, out = run(tmp_path, "writer")
        waited = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("[writer] waiting: another workbench run") and "is writing" in first
    assert str(tmp_path / "reports" / "writer") in first
    assert waited > 2
    assert state(tmp_path, "writer")["status"] == "ok"


# -- 22: a timeout for the whole run -----------------------------------------------------------

SLEEPY = [
    params_cell("seconds: float = 120  # how long to sleep"),
    new_code_cell("import os\nopen('kernel.pid', 'w').write(str(os.getpid()))"),
    new_code_cell("import time\ntime.sleep(seconds)"),
    new_code_cell("print('AFTER_SLEEP')"),
]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_run_that_takes_too_long_is_stopped_and_the_others_continue(tmp_path, stable_helpers):
    nbdir = tmp_path / "notebooks"
    write_nb(nbdir / "sleepy.ipynb", SLEEPY)
    write_nb(nbdir / "quick.ipynb", [new_code_cell("print('quick')")])
    (tmp_path / "reports.yaml").write_text(
        "runs:\n  - notebook: sleepy\n    timeout: 4\n  - notebook: quick\n    timeout: 60\n"
    )
    t0 = time.monotonic()
    code, out = run(tmp_path, config=tmp_path / "reports.yaml")
    assert time.monotonic() - t0 < 60
    assert code == 1
    err = state(tmp_path, "sleepy")["error"]
    assert err["message"] == "stopped after 4 s (timeout)" and err["cell"] == 3
    timed = state(tmp_path, "sleepy")["cells"]
    assert [c["cell"] for c in timed] == [1, 2, 3] and timed[-1]["interrupted"] is True  # as far as it got
    assert 0 < timed[-1]["elapsed_s"] <= 4 + 0.5  # until the kill was noticed, just after the 4 s
    assert "[sleepy] failed" in out and "stopped after 4 s (timeout) (cell 3)" in out
    assert state(tmp_path, "quick")["status"] == "ok"
    assert not _alive(int((nbdir / "kernel.pid").read_text()))
    page = (tmp_path / "reports" / "sleepy" / "report.html").read_text()
    assert "stopped after 4 s (timeout)" in page and "AFTER_SLEEP" not in page

    code, out = run(tmp_path, "sleepy", timeout=2, force=True)  # --timeout wins over reports.yaml
    assert code == 1 and state(tmp_path, "sleepy")["error"]["message"] == "stopped after 2 s (timeout)"
    assert run(tmp_path, "sleepy", timeout=30, assignments=["seconds=0.1"])[0] == 0


def test_timeout_in_reports_yaml_is_checked(tmp_path):
    from helpers import runner

    for bad in ("-1", "abc", "true"):
        (tmp_path / "reports.yaml").write_text(f"runs:\n  - notebook: x\n    timeout: {bad}\n")
        with pytest.raises(runner.WorkbenchError, match="'timeout' must be a number of seconds"):
            runner.load_config(tmp_path / "reports.yaml")
    (tmp_path / "reports.yaml").write_text("runs:\n  - notebook: x\n    timeout: 90\n")
    assert runner.load_config(tmp_path / "reports.yaml")[0].timeout == 90


# -- 23: each kernel gets its share of the cores ------------------------------------------------

THREADS_NB = [
    new_code_cell(
        "import json, os\n"
        f"names = {[*THREAD_VARS, 'OMP_WAIT_POLICY']!r}\n"
        "json.dump({n: os.environ.get(n) for n in names},"
        " open(os.path.join(os.environ['WORKBENCH_RUN_DIR'], 'metrics.json'), 'w'))"
    )
]


def test_each_kernel_gets_its_share_of_the_cores(tmp_path, stable_helpers, monkeypatch):
    for name in ("t1", "t2"):
        write_nb(tmp_path / "notebooks" / f"{name}.ipynb", THREADS_NB)
    for var in (*THREAD_VARS, "OMP_WAIT_POLICY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert run(tmp_path, "t1", "t2", jobs=2)[0] == 0
    for name in ("t1", "t2"):
        got = json.loads((tmp_path / "reports" / name / "metrics.json").read_text())
        assert got == {**dict.fromkeys(THREAD_VARS, "4"), "OMP_WAIT_POLICY": "PASSIVE"}
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # set by the user: kept
    assert run(tmp_path, "t1", force=True)[0] == 0
    got = json.loads((tmp_path / "reports" / "t1" / "metrics.json").read_text())
    assert got == {
        "OMP_NUM_THREADS": "8",
        "OPENBLAS_NUM_THREADS": "8",
        "MKL_NUM_THREADS": "3",
        "WORKBENCH_THREADS": "8",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
