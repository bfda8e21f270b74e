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
from collections.abc import Mapping, Sequence
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
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; reports are for others to read
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


def record_metrics(values: Mapping[str, Any], prefix: str = "") -> None:
    """Record several key figures (nested mappings become dotted names)."""
    path = run_dir() / METRICS_FILE
    current = _read_json(path)
    current.update(flatten(values, prefix))
    write_json_atomic(path, current)


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


# --------------------------------------------------------------------------------------------
# Pieces of a report


def key_figures(figures: Mapping[str, str]):
    """Summary cards: the headline numbers a reader should see first (label -> formatted value)."""
    from html import escape

    from IPython.display import HTML

    cards = "".join(
        f'<div class="wb-card"><div class="wb-card-value">{escape(str(v))}</div>'
        f'<div class="wb-card-label">{escape(str(k))}</div></div>'
        for k, v in figures.items()
    )
    return HTML(f'<div class="wb-cards">{cards}</div>')


def table(
    frame,
    decimals: int | Mapping[str, int] = 2,
    *,
    percent: Sequence[str] = (),
    index: bool = False,
    max_rows: int = 50,
    labels: Mapping[str, str] | None = None,
):
    """A rounded, readable HTML table (numbers with thousands separators, percentages marked).

    Column names are shown as words (``share_of_value_pct`` -> ``share of value pct``) unless
    ``labels`` gives them a better name."""
    import pandas as pd
    from IPython.display import HTML

    df = frame.head(max_rows).copy()
    for col in df.columns:
        series = df[col]
        if col in percent:
            df[col] = series.map(lambda v: "" if pd.isna(v) else f"{v:.1f} %")
        elif pd.api.types.is_bool_dtype(series):
            continue
        elif pd.api.types.is_integer_dtype(series):
            df[col] = series.map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        elif pd.api.types.is_float_dtype(series):
            d = decimals.get(col, 2) if isinstance(decimals, Mapping) else decimals
            df[col] = series.map(lambda v, d=d: "" if pd.isna(v) else f"{v:,.{d}f}")
        elif pd.api.types.is_datetime64_any_dtype(series):
            df[col] = series.dt.strftime("%Y-%m-%d")
        elif series.dtype == object:
            d = decimals.get(col, 2) if isinstance(decimals, Mapping) else decimals
            df[col] = series.map(lambda v, d=d: _cell(v, d))
    labels = dict(labels or {})
    df.columns = [labels.get(c, str(c).replace("_", " ")) for c in df.columns]
    html = df.to_html(index=index, classes="wb-table", border=0, na_rep="", escape=True)
    more = len(frame) - len(df)
    if more > 0:
        html += f'<p class="wb-note">… and {more:,} more rows.</p>'
    return HTML(html)


def _cell(value, decimals: int) -> str:
    """One value of a mixed column as text: blanks for missing, dates without midnight times."""
    import datetime as _dt

    import pandas as pd

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.strftime("%Y-%m-%d") if value.time() == _dt.time(0) else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.{decimals}f}"
    return str(value)


def say(text: str):
    """A sentence of narrative computed from the results (Markdown)."""
    from IPython.display import Markdown

    return Markdown(text)


def fmt_int(value) -> str:
    return f"{int(value):,}"


def write_table(frame, filename: str, index: bool = False) -> Path:
    """Write a CSV next to the report (atomically) and return its path."""
    path = run_dir() / filename
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=index)
    os.replace(tmp, path)
    return path
