"""helpers.runner.history: the figures of each report's last runs, kept in its run.json."""

from __future__ import annotations

import json

from helpers.runner import history


def test_entries_keep_numbers_and_short_text_only():
    e = history.entry(
        "2026-12-01T10:00:00", "ok", {"a": 1, "b": 0.5, "c": "bgnbd", "d": "x" * 100, "e": True, "f": None}
    )
    assert e == {"started_at": "2026-12-01T10:00:00", "status": "ok", "metrics": {"a": 1, "b": 0.5, "c": "bgnbd"}}


def test_history_is_capped_and_the_last_success_is_found():
    runs: list[dict] = []
    for i in range(history.HISTORY_LENGTH + 5):
        runs = history.extended(runs, history.entry(f"t{i}", "ok" if i % 3 else "failed", {"x": i}))
    assert len(runs) == history.HISTORY_LENGTH and runs[-1]["started_at"] == f"t{history.HISTORY_LENGTH + 4}"
    last = history.last_success(runs)
    assert last == {"started_at": "t23", "metrics": {"x": 23}}  # t24 failed (24 % 3 == 0)
    assert [v for _, v in history.series(runs, "x")] == [float(i) for i in range(5, 25) if i % 3]


def test_a_state_from_before_histories_starts_one_from_its_metrics(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"customers": 10}))
    state = {"name": "r", "status": "ok", "started_at": "2026-11-01T00:00:00"}
    assert history.history_of(state, tmp_path) == [
        {"started_at": "2026-11-01T00:00:00", "status": "ok", "metrics": {"customers": 10}}
    ]
    assert history.history_of(None) == [] and history.history_of({"history": "junk"}) == []


def test_runs_keep_a_history_and_hand_the_last_success_to_the_next_run(tmp_path, monkeypatch):
    from notebook_factory import GOOD_METRICS, bad_notebook, good_notebook, registry_with, run, state

    monkeypatch.setenv("WORKBENCH_PREVIEWS", "0")
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    with registry_with(shared=GOOD_METRICS):
        assert run(tmp_path, "good", assignments=["n=5"])[0] == 0
        assert not (tmp_path / "reports" / "good" / "previous.json").exists()  # a first run has nothing to compare
        assert run(tmp_path, "good", assignments=["n=6"])[0] == 0
    folder = tmp_path / "reports" / "good"
    previous = json.loads((folder / "previous.json").read_text())
    assert previous["metrics"]["answer"] == 10 and previous["started_at"]
    runs = state(tmp_path, "good")["history"]
    assert [(e["status"], e["metrics"]["answer"]) for e in runs] == [("ok", 10), ("ok", 12)]
    # a failing run is recorded, and the next run still compares with the last successful one
    bad_notebook(tmp_path / "notebooks" / "good.ipynb")
    with registry_with(shared=GOOD_METRICS):
        run(tmp_path, "good")
    assert [e["status"] for e in state(tmp_path, "good")["history"]] == ["ok", "ok", "failed"]
    assert history.last_success(state(tmp_path, "good")["history"])["metrics"]["answer"] == 12
