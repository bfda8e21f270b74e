"""What every part of the runner shares: the error type, file and tag names, small formatting
helpers and notebook-cell accessors. Standard library only."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from helpers.core import formats

CACHE_FILE = ".workbench-cache.json"
CONFIG_FILE = "reports.yaml"

HELPERS_DIR = Path(__file__).resolve().parent.parent  # src/helpers
TEMPLATES_DIR = HELPERS_DIR / "templates"
NBCONVERT_TEMPLATE = "workbench"
CSS_FILE = TEMPLATES_DIR / NBCONVERT_TEMPLATE / "static" / "workbench.css"

DEFAULT_KERNEL = "python3"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
REMOVE_CELL_TAGS = frozenset({"remove", "remove-cell", "remove_cell"})
REMOVE_OUTPUT_TAGS = frozenset({"remove-output", "remove_output"})
REMOVE_INPUT_TAGS = frozenset({"remove-input", "remove_input", "hide-input"})
DEFAULT_KEY_FIGURES = 6

#: Seconds a whole run may take (kernel start, every cell) unless ``--timeout`` or reports.yaml's
#: ``timeout:`` says otherwise; then the kernel is killed and the run marked failed.
DEFAULT_TIMEOUT = 1800.0

#: Thread pools a kernel sizes to its share of the cores (unless the caller set them): OpenMP
#: (scikit-learn), the BLAS libraries, and DuckDB (read by :mod:`helpers.core.engine`).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "WORKBENCH_THREADS")


class WorkbenchError(Exception):
    """A problem with the request or the project setup (shown without a traceback)."""


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def format_date(iso: str | None) -> str:
    return formats.moment(iso)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lean_imports() -> None:
    """Keep the heavy Jupyter imports lean.

    ``jsonschema`` (imported by nbformat) imports ``rfc3987_syntax`` when it is installed, which
    compiles an Earley grammar at import time (about 2 s here) only to check the ``iri`` string
    format, which notebooks never use. Hiding it makes that check a no-op in this process only.
    """
    if (
        "jsonschema" not in sys.modules
        and "rfc3987_syntax" not in sys.modules
        and os.environ.get("WORKBENCH_FULL_JSONSCHEMA") != "1"
    ):
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


def cell_source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in tags] if isinstance(tags, list) else []


HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$")


def first_heading(cells: Sequence[Mapping[str, Any]]) -> str | None:
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        for line in cell_source(cell).splitlines():
            m = HEADING.match(line)
            if m:
                return m.group(1).strip()
    return None
