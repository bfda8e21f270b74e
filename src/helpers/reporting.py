"""What a notebook hands to its report and to the runner: key figures, inputs, tables.

A run directory is where one report run writes its files. The runner sets the environment
variable ``WORKBENCH_RUN_DIR`` before it executes a notebook; in JupyterLab, where it is not
set, files go to ``reports/_lab/`` beside the notebooks so that nothing is written into the
notebooks folder.

Files in a run directory:
- ``metrics.json``: a flat JSON object of key figures with dotted names (``bgnbd.r``).
- ``inputs.json``: one entry per input file read (path, content hash, row counts), which the
  runner uses for the report header, the index and incremental re-runs.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
METRICS_FILE = "metrics.json"
INPUTS_FILE = "inputs.json"


def run_dir() -> Path:
    """The directory this run writes to (created if missing)."""
    env = os.environ.get(RUN_DIR_ENV)
    path = Path(env) if env else Path.cwd().parent / "reports" / "_lab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: numpy numbers to Python, NaN/inf to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> flat mapping with dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = _plain(value)
    return flat


def record_metric(name: str, value: Any) -> Any:
    """Record one key figure in this run's ``metrics.json``; returns the value."""
    record_metrics({name: value})
    return value


def record_metrics(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Record several key figures (nested mappings become dotted names)."""
    path = run_dir() / METRICS_FILE
    current = _read_json(path)
    flat = flatten(values, prefix)
    current.update(flat)
    write_json_atomic(path, current)
    return flat


def metrics() -> dict[str, Any]:
    """The key figures recorded so far in this run."""
    return _read_json(run_dir() / METRICS_FILE)


def record_input(name: str, provenance: Mapping[str, Any]) -> None:
    """Record that input ``name`` was read (provenance: path, sha256, rows ...)."""
    path = run_dir() / INPUTS_FILE
    current = _read_json(path)
    current[name] = {k: _plain(v) for k, v in provenance.items()}
    write_json_atomic(path, current)


def inputs() -> dict[str, dict]:
    """The inputs recorded so far in this run."""
    return _read_json(run_dir() / INPUTS_FILE)
