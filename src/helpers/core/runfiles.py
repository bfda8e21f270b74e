"""The run-folder protocol shared by the runner and the notebooks (standard library only).

The runner sets ``WORKBENCH_RUN_DIR`` before it executes a notebook; everything a notebook hands
to its report (key figures, inputs read, rows set aside, exports) goes into that folder under the
names below. In JupyterLab, where the variable is not set, :func:`run_dir` is
``reports/_lab/<notebook or session>/`` beside the notebooks, so nothing is written into the
notebooks folder.
"""

from __future__ import annotations

import os
from pathlib import Path

RUN_DIR_ENV = "WORKBENCH_RUN_DIR"

METRICS_FILE = "metrics.json"  # flat JSON object of key figures with dotted names
METRIC_INFO_FILE = "metric_info.json"  # label / unit / format per metric, where the notebook gave them
INPUTS_FILE = "inputs.json"  # one entry per input file read: path, sha256, row counts
QUARANTINE_DIR = "quarantine"  # <input>.csv: rows set aside, with line and reason
RUN_FILE = "run.json"  # run state kept by the runner (key, status, timings)
REPORT_FILE = "report.html"
NOTEBOOK_FILE = "notebook.ipynb"
INDEX_FILE = "index.html"
LAB_DIR = "_lab"


def lab_run_dir(cwd: Path | None = None) -> Path:
    """Where an interactive (JupyterLab) session writes: ``reports/_lab/`` beside the notebooks."""
    return (cwd or Path.cwd()).parent / "reports" / LAB_DIR


def run_dir() -> Path:
    """The folder this run writes to (created if missing)."""
    env = os.environ.get(RUN_DIR_ENV)
    path = Path(env) if env else lab_run_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
