"""helpers.runner.execute: one run's execution, failures, and writes that never leave half a file."""

from __future__ import annotations

import os

import pytest

from helpers import runner
from helpers.core.io import write_text_atomic
from helpers.runner import render
from notebook_factory import good_notebook, run, state


class ExplodingExporter:
    def from_notebook_node(self, *a, **k):
        raise RuntimeError("renderer crashed")


def test_force_and_crash_while_rendering_keeps_previous_report(tmp_path, monkeypatch, stable_helpers):
    good_notebook(tmp_path / "notebooks" / "good.ipynb")
    assert run(tmp_path, "good")[0] == 0
    run_dir = tmp_path / "reports" / "good"
    before = (run_dir / "report.html").read_bytes()
    monkeypatch.setattr(render, "html_exporter", lambda: ExplodingExporter())
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

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(target, "new " * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_error_message():
    assert runner.error_message("ValueError", "bad value\nmore lines") == "ValueError: bad value"
    assert runner.error_message("ContractError", "File x.csv is empty.") == "File x.csv is empty."
    assert runner.error_message("KeyError", "") == "KeyError"
    assert runner.error_message("E", "\x1b[31mred\x1b[0m") == "E: red"
