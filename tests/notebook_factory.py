"""Tiny notebooks and a stand-in domain registry for the runner, CLI and reporting tests (shared by
their test modules; pytest fixtures live in the modules that use them)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers import runner
from helpers.core import registry
from helpers.runner import RunOptions

# A 1x1 PNG, shown by the good notebook as a chart would be.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
SECRET = "SECRET_SOURCE_MARKER_4711"

#: The metrics the good notebook records, declared as shared metrics (in the kernel by the
#: notebook itself, in the test process by ``registry_with(shared=GOOD_METRICS)``).
GOOD_METRICS = (
    registry.Metric("answer", "answer", kind="int"),
    registry.Metric("label", "label", kind="text"),
    registry.Metric("start_type", "type of start", kind="text"),
)
_DECLARE_GOOD_METRICS = (
    "from helpers.core.registry import Metric, register_shared_metrics\n"
    "register_shared_metrics([Metric('answer', 'answer', kind='int'), Metric('label', 'label', kind='text'),"
    " Metric('start_type', 'type of start', kind='text')])\n"
)


def write_nb(path: Path, cells) -> Path:
    """Write a notebook of ``cells`` using the stock ``python3`` kernel."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


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
                "from helpers import reporting\n" + _DECLARE_GOOD_METRICS + "reporting.record_metrics({'answer': n * 2,"
                " 'label': label, 'start_type': type(start).__name__})\n"
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


def run(tmp: Path, *notebooks: str, **kw) -> tuple[int, str]:
    """``workbench run`` in-process on ``tmp/notebooks`` into ``tmp/reports``: (exit code, output)."""
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


@contextmanager
def registry_with(*domains: registry.Domain, shared=()) -> Iterator[None]:
    """The registry holding only ``domains`` and the ``shared`` metrics, restored afterwards
    (the real domains are loaded first, so that none of them is lost on restore)."""
    registry.domains()
    saved_domains, saved_shared = dict(registry._DOMAINS), list(registry._SHARED_METRICS)
    real_load = registry._load_all
    registry._DOMAINS.clear()
    registry._SHARED_METRICS.clear()
    registry._load_all = lambda: None
    try:
        for domain in domains:
            registry.register(domain)
        registry.register_shared_metrics(shared)
        yield
    finally:
        registry._load_all = real_load
        registry._DOMAINS.clear()
        registry._DOMAINS.update(saved_domains)
        registry._SHARED_METRICS[:] = saved_shared


def state(tmp: Path, name: str) -> dict:
    """The run state (run.json) of run ``name`` under ``tmp/reports``."""
    return json.loads((tmp / "reports" / name / "run.json").read_text())


def build_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """``build(folder)`` once per test session, shared by the pytest-xdist workers (the first to
    take the lock builds; the others wait and reuse): (folder, what ``build`` returned, as JSON)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, common to all workers
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "done.json"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            result = build(folder)
            done.write_text(json.dumps(result))
        return folder, json.loads(done.read_text())
