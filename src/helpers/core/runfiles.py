"""The run-folder protocol shared by the runner and the notebooks (standard library only).

The runner sets ``WORKBENCH_RUN_DIR`` before it executes a notebook; everything a notebook hands
to its report (key figures, inputs read, rows set aside, exports) goes into that folder under the
names below. In JupyterLab, where the variable is not set, :func:`run_dir` is
``reports/_lab/<notebook>/`` beside the notebooks, so nothing is written into the notebooks
folder and two notebooks open at once do not mix their figures.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

RUN_DIR_ENV = "WORKBENCH_RUN_DIR"

METRICS_FILE = "metrics.json"  # flat JSON object of key figures with dotted names
METRIC_INFO_FILE = "metric_info.json"  # label / unit / format per metric, where the notebook gave them
INPUTS_FILE = "inputs.json"  # one entry per input file read: path, sha256, row counts
QUARANTINE_DIR = "quarantine"  # <input>.csv: rows set aside, with line and reason
PREVIOUS_FILE = "previous.json"  # the last successful run's date and figures, for "change since then"
RUN_FILE = "run.json"  # run state kept by the runner (key, status, timings)
REPORT_FILE = "report.html"
PREVIEW_FILE = "preview.png"  # a screenshot of the top of the report (the index's thumbnail)
NOTEBOOK_FILE = "notebook.ipynb"
INDEX_FILE = "index.html"
LAB_DIR = "_lab"


_lab_notebook: str | None = None  # set by set_lab_notebook() in a JupyterLab session


def lab_run_dir(cwd: Path | None = None) -> Path:
    """Where interactive (JupyterLab) sessions write: ``reports/_lab/`` beside the notebooks."""
    return (cwd or Path.cwd()).parent / "reports" / LAB_DIR


def safe_name(name: str) -> str:
    """A notebook or session name as a folder name (``clv.ipynb`` -> ``clv``)."""
    stem = Path(str(name)).name
    stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "session"


def detect_notebook() -> str | None:
    """The running notebook's name in a JupyterLab session, when the server tells the kernel
    (``JPY_SESSION_NAME``, or IPython's ``__session__``); None otherwise."""
    session = os.environ.get("JPY_SESSION_NAME")
    if not session and "IPython" in sys.modules:
        try:
            from IPython import get_ipython

            shell = get_ipython()
            session = shell.user_ns.get("__session__") if shell is not None else None
        except Exception:
            session = None
    return safe_name(session) if session else None


def set_lab_notebook(name: str | None) -> str:
    """Select ``reports/_lab/<name>/`` for this JupyterLab session (name detected when None)."""
    global _lab_notebook
    _lab_notebook = safe_name(name) if name else detect_notebook() or "session"
    return _lab_notebook


def under_runner() -> bool:
    return bool(os.environ.get(RUN_DIR_ENV))


def run_dir() -> Path:
    """The folder this run writes to (created if missing): the runner's run folder, else
    ``reports/_lab/<notebook>/`` (``reports/_lab/`` when the notebook is not known)."""
    env = os.environ.get(RUN_DIR_ENV)
    if env:
        path = Path(env)
    else:
        name = _lab_notebook or detect_notebook()
        path = lab_run_dir() / name if name else lab_run_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
