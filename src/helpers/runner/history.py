"""A small history of each run, kept in its ``run.json``: the figures of its last runs.

The index draws each key figure's trend from it, and a new run's summary cards show the change
since the last successful run (the runner writes that run's figures to ``previous.json`` in the
new run's folder before the notebook starts; :func:`helpers.reporting.metrics.previous_run`
reads it). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers.core.io import read_json
from helpers.core.runfiles import METRICS_FILE

HISTORY_LENGTH = 20  # runs kept per report
_MAX_TEXT = 40  # longer text figures are not kept (the history is for trends)


def entry(started_at: str | None, status: str, metrics: Any) -> dict:
    """One history entry: when, how it ended, and its numeric and short text figures."""
    kept = {}
    if isinstance(metrics, Mapping):
        for key, value in metrics.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= _MAX_TEXT):
                kept[key] = value
    return {"started_at": started_at, "status": status, "metrics": kept}


def history_of(state: Mapping[str, Any] | None, run_dir: Path | None = None) -> list[dict]:
    """The history recorded in a run state; a state written before histories were kept gives
    a one-entry history from its own ``metrics.json`` (read from ``run_dir``)."""
    if not state:
        return []
    kept = state.get("history")
    if isinstance(kept, list):
        return [e for e in kept if isinstance(e, dict)]
    if run_dir is None or not state.get("started_at"):
        return []
    return [entry(state.get("started_at"), str(state.get("status") or "failed"), read_json(run_dir / METRICS_FILE))]


def extended(history: list[dict], new: dict) -> list[dict]:
    """``history`` with ``new`` appended, keeping the last :data:`HISTORY_LENGTH` entries."""
    return [*history, new][-HISTORY_LENGTH:]


def last_success(history: list[dict]) -> dict | None:
    """``{"started_at", "metrics"}`` of the last successful run in ``history``, or None."""
    for e in reversed(history):
        if e.get("status") == "ok" and isinstance(e.get("metrics"), dict):
            return {"started_at": e.get("started_at"), "metrics": e["metrics"]}
    return None


def series(history: list[dict], key: str) -> list[tuple[str, float]]:
    """(run time, value) of one numeric figure over the successful runs, oldest first."""
    out = []
    for e in history:
        value = (e.get("metrics") or {}).get(key)
        if e.get("status") == "ok" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((str(e.get("started_at") or ""), float(value)))
    return out
