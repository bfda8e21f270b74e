"""helpers.runner.progress and helpers.runner.timing: which cell runs and for how long, on a
terminal and in logs; each cell's elapsed time in the executed notebook and in run.json."""

from __future__ import annotations

import io
import json
import time

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers import runner
from helpers.runner import timing
from notebook_factory import params_cell, run, state, write_nb


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def progress(tty: bool, clock: FakeClock | None = None, **kw) -> tuple[runner.Progress, io.StringIO]:
    buf = io.StringIO()
    return runner.Progress(buf, tty=tty, clock=clock or FakeClock(), interval=0, **kw), buf


def new_text(buf: io.StringIO, seen: list[int]) -> str:
    """What was written to ``buf`` since the last call."""
    text = buf.getvalue()[seen[0] :]
    seen[0] = len(buf.getvalue())
    return text


# -- formatting, driven by a fake clock (no ticker thread) -------------------------------------


def test_progress_on_a_terminal_updates_in_place():
    buf = io.StringIO()
    p = runner.Progress(buf, tty=True, interval=0)
    p.event("cell", "clv", 7, 23)
    p.done(runner.RunResult("clv", "ok", duration=2.5))
    text = buf.getvalue()
    assert "\r\x1b[K[clv] cell 7/23 ..." in text
    assert text.endswith("\r\x1b[K[clv] ok 2.5 s\n")


def test_terminal_line_names_the_cell_and_ticks_its_elapsed_time():
    clock = FakeClock()
    p, buf = progress(True, clock)
    seen = [0]
    p.event("cell", "clv", 5, 23, "clv = CLVAnalysis(...).fit(tx.table)")
    assert new_text(buf, seen) == "\r\x1b[K[clv] cell 5/23 (clv = CLVAnalysis(...).fit(tx.table)) ..."
    clock.now += 42.7
    p.tick()
    assert new_text(buf, seen) == "\r\x1b[K[clv] cell 5/23 (clv = CLVAnalysis(...).fit(tx.table)) 42 s"
    clock.now += 47.5  # 90.2 s in
    p.tick()
    assert new_text(buf, seen).endswith(") 1 min 30 s")
    p.event("cell_done", "clv", 5, 23, 90.2)
    assert new_text(buf, seen).endswith("(clv = CLVAnalysis(...).fit(tx.table)) done in 1 min 30 s")
    clock.now += 5
    p.tick()  # nothing is running: no output
    assert new_text(buf, seen) == ""
    assert "\n" not in buf.getvalue()  # one line, rewritten in place


def test_terminal_line_shows_every_run_at_once():
    clock = FakeClock()
    p, buf = progress(True, clock)
    p.event("start", "survey", "python3", "forced")
    p.event("cell", "clv", 2, 9, "n = 1")
    clock.now += 3.2
    p.tick()
    assert buf.getvalue().endswith("\r\x1b[K[survey] starting kernel python3 (forced) 3 s  [clv] cell 2/9 (n = 1) 3 s")


def test_log_lines_say_when_a_cell_starts_runs_long_and_ends():
    clock = FakeClock()
    p, buf = progress(False, clock, still_every=30)
    seen = [0]
    p.event("cell", "clv", 4, 23, "summary = rfm(tx)")
    p.event("cell_done", "clv", 4, 23, 0.4)  # under a second: only its start line
    assert new_text(buf, seen) == "[clv] cell 4/23 (summary = rfm(tx)) ...\n"
    p.event("cell", "clv", 5, 23, "clv = fit(summary)")
    assert new_text(buf, seen) == "[clv] cell 5/23 (clv = fit(summary)) ...\n"
    clock.now += 29.9
    p.tick()
    assert new_text(buf, seen) == ""
    clock.now += 0.2
    p.tick()
    assert new_text(buf, seen) == "[clv] cell 5/23 (clv = fit(summary)) still running (30 s)\n"
    clock.now += 20
    p.tick()
    assert new_text(buf, seen) == ""
    clock.now += 45  # 95 s in, the ticker was late: one line, not two
    p.tick()
    assert new_text(buf, seen) == "[clv] cell 5/23 (clv = fit(summary)) still running (1 min 35 s)\n"
    clock.now += 10
    p.tick()
    assert new_text(buf, seen) == ""  # next one at 120 s
    p.event("cell_done", "clv", 5, 23, 105.04)
    assert new_text(buf, seen) == "[clv] cell 5/23 done in 1 min 45 s\n"
    clock.now += 100
    p.tick()
    assert new_text(buf, seen) == ""  # nothing running, nothing written


def test_log_lines_for_a_cell_between_one_second_and_a_minute():
    p, buf = progress(False)
    p.event("cell", "clv", 9, 23)
    p.event("cell_done", "clv", 9, 23, 42.06)
    assert buf.getvalue() == "[clv] cell 9/23 ...\n[clv] cell 9/23 done in 42.1 s\n"


def test_still_running_lines_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PROGRESS_EVERY", "0")
    clock = FakeClock()
    p, buf = progress(False, clock)
    assert p.still_every == 0
    p.event("cell", "clv", 5, 23)
    clock.now += 600
    p.tick()
    assert buf.getvalue() == "[clv] cell 5/23 ...\n"
    monkeypatch.setenv("WORKBENCH_PROGRESS_EVERY", "10")
    assert progress(False)[0].still_every == 10


CELLS = [
    {"cell": 2, "label": "n = 1", "elapsed_s": 0.02},
    {"cell": 5, "label": "clv = fit(tx)", "elapsed_s": 41.0},
    {"cell": 7, "label": "plot()", "elapsed_s": 0.9},
    {"cell": 9, "label": "export()", "elapsed_s": 6.3},
]


def test_status_line_names_the_slowest_cells_of_a_long_run():
    p, buf = progress(False)
    p.done(runner.RunResult("clv", "ok", duration=58.2, cells=CELLS))
    assert buf.getvalue() == "[clv] ok 58.2 s (slowest: cell 5 41.0 s, cell 9 6.3 s)\n"


def test_status_line_of_a_short_run_or_a_failure():
    p, buf = progress(False)
    p.done(runner.RunResult("quick", "ok", duration=9.5, cells=CELLS))
    error = {"message": "stopped after 60 s (timeout)", "cell": 5}
    p.done(runner.RunResult("clv", "failed", duration=60.4, cells=CELLS[:2], error=error))
    assert buf.getvalue().splitlines() == [
        "[quick] ok 9.5 s",
        "[clv] failed 1 min 00 s (slowest: cell 5 41.0 s): stopped after 60 s (timeout) (cell 5)",
    ]


def test_ticker_thread_redraws_and_stops_in_finish():
    clock = FakeClock()
    buf = io.StringIO()
    p = runner.Progress(buf, tty=True, clock=clock, interval=0.01)
    p.finish()  # before anything ran: no thread, no output
    assert buf.getvalue() == ""
    p.event("cell", "clv", 1, 3, "x = 1")
    clock.now += 2
    deadline = time.monotonic() + 10
    while "x = 1) 2 s" not in buf.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "\r\x1b[K[clv] cell 1/3 (x = 1) 2 s" in buf.getvalue()
    ticker = p._ticker
    p.finish()
    assert ticker is not None and not ticker.is_alive()
    written = buf.getvalue()
    assert written.endswith("\r\x1b[K")  # the line is cleared
    clock.now += 5
    time.sleep(0.05)
    assert buf.getvalue() == written  # stopped: nothing more


# -- timing ------------------------------------------------------------------------------------


def test_cell_label_is_the_first_line_of_code_cut_short():
    assert (
        timing.cell_label("# Fit the model\n\n  clv = CLVAnalysis(tx).fit()  \nmore()") == "clv = CLVAnalysis(tx).fit()"
    )
    assert timing.cell_label("# only a comment\n\n") == ""
    long = "x = " + "a" * 80
    assert timing.cell_label(long) == long[:49] + "…" and len(timing.cell_label(long)) == 50
    assert timing.cell_label("%%time\nx = 1") == "%%time"


def test_cell_times_list_numbered_cells_in_order():
    clock = FakeClock(0.0)
    times = timing.CellTimes(clock)
    times.start(None, "")  # injected parameters: timed, not listed
    clock.now = 0.01
    assert times.stop() == {"cell": None, "label": "", "elapsed_s": 0.01}
    times.start(3, "a()")
    clock.now = 1.23456
    times.stop()
    assert times.stop() is None  # nothing running
    times.start(5, "b()")
    clock.now = 4.0
    times.interrupt()  # the kernel was stopped while it ran
    assert times.cells == [
        {"cell": 3, "label": "a()", "elapsed_s": 1.225},
        {"cell": 5, "label": "b()", "elapsed_s": 2.765, "interrupted": True},
    ]
    assert timing.slowest_cell(times.cells) == times.cells[1]
    assert timing.slowest_cell([]) is None


def test_elapsed_in_cell_metadata_of_a_notebook_node():
    cell = new_code_cell("x = 1", metadata={"workbench": {"other": 1}})
    timing.set_elapsed(cell, 1.5)
    assert cell.metadata["workbench"] == {"other": 1, "elapsed_s": 1.5}
    bare = new_code_cell("y = 2")
    timing.set_elapsed(bare, 0.25)
    assert bare.metadata["workbench"]["elapsed_s"] == 0.25
    timing.clear_elapsed([cell, bare])
    assert cell.metadata["workbench"] == {"other": 1} and "workbench" not in bare.metadata


# -- a real run --------------------------------------------------------------------------------

TIMED = [
    new_markdown_cell("# Timed"),
    params_cell("pause: float = 0.3  # seconds to sleep"),
    new_code_cell("# wait a little\nimport time\ntime.sleep(pause)"),
    new_code_cell(""),
    new_code_cell("x = sum(range(10))"),
    new_markdown_cell("## Then"),
    new_code_cell("if fail:\n    raise RuntimeError('stop here')", metadata={"tags": []}),
    new_code_cell("print('AFTER')"),
]


@pytest.fixture()
def timed_notebook(tmp_path):
    cells = [*TIMED]
    cells[1] = params_cell("pause: float = 0.3  # seconds to sleep\nfail: bool = False  # fail at cell 7")
    write_nb(tmp_path / "notebooks" / "timed.ipynb", cells)
    return tmp_path


def _executed_times(tmp, name: str) -> list:
    """(workbench elapsed_s, papermill duration) of each code cell of the executed notebook,
    the injected-parameters cell left out."""
    nb = json.loads((tmp / "reports" / name / "notebook.ipynb").read_text())
    return [
        ((c["metadata"].get("workbench") or {}).get("elapsed_s"), c["metadata"]["papermill"]["duration"])
        for c in nb["cells"]
        if c["cell_type"] == "code" and "injected-parameters" not in c["metadata"].get("tags", [])
    ]


def test_cell_times_in_run_json_and_notebook(timed_notebook, stable_helpers):
    tmp = timed_notebook
    code, out = run(tmp, "timed", assignments=["pause=0.3"])
    assert code == 0, out
    st = state(tmp, "timed")
    cells = st["cells"]
    assert [(c["cell"], c["label"]) for c in cells] == [
        (2, "pause: float = 0.3  # seconds to sleep"),
        (3, "import time"),
        (5, "x = sum(range(10))"),
        (7, "if fail:"),
        (8, "print('AFTER')"),
    ]
    assert cells[1]["elapsed_s"] >= 0.3
    assert all(0 <= c["elapsed_s"] < 0.3 for c in cells if c["cell"] != 3)
    assert sum(c["elapsed_s"] for c in cells) <= st["duration_s"]
    assert st["slowest_cell"] == cells[1]
    # the executed notebook holds the same values; papermill's own timing agrees (the empty
    # cell 4 is not executed: no elapsed time)
    executed = _executed_times(tmp, "timed")
    assert [e for e, _ in executed] == [
        cells[0]["elapsed_s"],
        cells[1]["elapsed_s"],
        None,
        *(c["elapsed_s"] for c in cells[2:]),
    ]
    assert all(abs(e - d) < 0.1 for e, d in executed if e is not None)
    assert "[timed] cell 3/8 (import time) ...\n" in out
    assert "[timed] cell 4/8" not in out and "done in" not in out  # no line for the empty or fast cells


def test_cell_times_of_a_failed_run_stop_at_the_failure(timed_notebook, stable_helpers):
    tmp = timed_notebook
    code, out = run(tmp, "timed", assignments=["fail=true", "pause=0"])
    assert code == 1 and "RuntimeError: stop here (cell 7)" in out
    st = state(tmp, "timed")
    assert st["error"]["cell"] == 7
    assert [c["cell"] for c in st["cells"]] == [2, 3, 5, 7]
    assert all("interrupted" not in c for c in st["cells"])
    executed = _executed_times(tmp, "timed")
    assert [e for e, _ in executed][-1] is None  # cell 8 never ran
    assert executed[-2][0] == st["cells"][-1]["elapsed_s"]
