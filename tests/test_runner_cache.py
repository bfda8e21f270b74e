"""helpers.runner.cache: content hashes and run keys; incremental runs re-run what changed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from helpers import runner
from notebook_factory import params_cell, run, state, write_nb

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


# --------------------------------------------------------------------------------------------
# Which helper code is part of a run's key


def _package(root: Path, name: str, code: str = "") -> Path:
    (root / name).mkdir(parents=True, exist_ok=True)
    (root / name / "__init__.py").write_text(code)
    return root / name


def test_helper_scope_is_shared_code_plus_the_imported_domains(tmp_path):
    root = tmp_path / "helpers"
    for shared in ("core", "reporting", "runner", "templates", "contracts"):
        _package(root, shared)
    (root / "__init__.py").write_text("")
    (root / "synth.py").write_text("")
    _package(root, "clv")
    _package(root, "survey", "from helpers.segmentation import models\n")
    _package(root, "segmentation", "from ..core import io\n")
    _package(root, "channels")
    scope = {p.relative_to(root).as_posix() for p in runner.helper_scope(("clv", "reporting"), root)}
    assert scope == {"__init__.py", "synth.py", "core", "reporting", "runner", "templates", "contracts", "clv"}
    survey = {p.relative_to(root).as_posix() for p in runner.helper_scope(("survey",), root)}
    assert {"survey", "segmentation"} <= survey and "clv" not in survey and "channels" not in survey

    hasher = runner.FileHasher(None)
    before = {d: runner.helpers_hash(hasher, (d,), root) for d in ("clv", "survey", "channels")}
    (root / "clv" / "models.py").write_text("X = 1\n")  # a change in one domain package
    after = {d: runner.helpers_hash(hasher, (d,), root) for d in ("clv", "survey", "channels")}
    assert after["clv"] != before["clv"]
    assert after["survey"] == before["survey"] and after["channels"] == before["channels"]
    (root / "segmentation" / "x.py").write_text("Y = 2\n")  # reached through survey's imports
    assert runner.helpers_hash(hasher, ("survey",), root) != after["survey"]
    (root / "core" / "io.py").write_text("Z = 3\n")  # shared code: every key changes
    assert runner.helpers_hash(hasher, ("channels",), root) != after["channels"]


def test_editing_one_domain_reruns_only_its_notebooks(tmp_path, stable_helpers):
    _package(stable_helpers, "alpha")
    _package(stable_helpers, "beta")
    for name, domain in (("uses_alpha", "alpha"), ("uses_beta", "beta")):
        write_nb(
            tmp_path / "notebooks" / f"{name}.ipynb",
            [new_markdown_cell(f"# {name}"), new_code_cell(f"if False:\n    import helpers.{domain}\nprint(1)")],
        )
    assert run(tmp_path, "uses_alpha", "uses_beta")[0] == 0
    (stable_helpers / "alpha" / "models.py").write_text("X = 1\n")
    code, out = run(tmp_path, "uses_alpha", "uses_beta")
    assert code == 0
    assert state(tmp_path, "uses_alpha")["last_action"] == "ran" and "[uses_alpha] starting kernel" in out
    assert "helper code changed" in out
    assert state(tmp_path, "uses_beta")["last_action"] == "skipped"


def test_an_input_rewritten_with_the_same_size_and_mtime_is_not_skipped(tmp_path, stable_helpers):
    nbdir = tmp_path / "notebooks"
    write_nb(nbdir / "inc.ipynb", INC_NB)
    data = nbdir / "data.csv"
    data.write_text("a\n1\n")
    (nbdir / "extra.txt").write_text("x")
    assert run(tmp_path, "inc")[0] == 0
    st = data.stat()
    data.write_text("a\n2\n")  # same size, other content
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the modification time put back
    assert data.stat().st_size == st.st_size and data.stat().st_mtime_ns == st.st_mtime_ns
    code, out = run(tmp_path, "inc")
    assert code == 0 and state(tmp_path, "inc")["last_action"] == "ran" and "input changed: data.csv" in out


def test_the_hash_cache_is_trusted_only_while_nothing_about_the_file_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.FileHasher, "RACY_NS", 0)  # no safety margin: test the signature alone
    f = tmp_path / "a.txt"
    f.write_text("same")
    h = runner.FileHasher(tmp_path / "cache.json")
    first = h.sha256(f)
    h.save()
    calls = []
    real_open = open

    def counting_open(path, *a, **k):
        calls.append(path)
        return real_open(path, *a, **k)

    monkeypatch.setattr("builtins.open", counting_open)
    assert runner.FileHasher(tmp_path / "cache.json").sha256(f) == first and calls == []  # a cache hit
    monkeypatch.setattr("builtins.open", real_open)
    time.sleep(0.05)  # a later clock tick for the change time
    st = f.stat()
    f.write_text("diff")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert runner.FileHasher(tmp_path / "cache.json").sha256(f) == runner.FileHasher(None).sha256(f) != first


def test_a_file_changed_just_before_it_was_hashed_is_hashed_again(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("one")
    h = runner.FileHasher(None)
    first = h.sha256(f)
    st = f.stat()
    f.write_text("two")  # possibly within the same clock tick: every stat field may be equal
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert h.sha256(f) != first
