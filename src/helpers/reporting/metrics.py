"""What a notebook hands to the runner: key figures (``metrics.json`` + ``metric_info.json``) and
the inputs it read (``inputs.json``), in the run folder (:mod:`helpers.core.runfiles`).

Under the runner (``WORKBENCH_RUN_DIR`` set) everything goes into that run's folder. In
JupyterLab the folder is ``reports/_lab/<notebook>/``: the notebook's setup cell calls
``start(notebook="clv")``, which also clears what an earlier session of that notebook recorded,
so a fresh top-to-bottom run starts clean while re-running one cell just updates its figures.

Names are checked: every key must be declared as a :class:`helpers.core.registry.Metric` by some
domain (or be a shared metric), so that the index can label and format it. The check is on
whenever the registry has domains (``strict=False`` turns it off for one call).
"""

from __future__ import annotations

import difflib
import re
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers.core import runfiles
from helpers.core.io import jsonable, read_json, write_json_atomic
from helpers.core.runfiles import (
    INPUTS_FILE,
    METRIC_INFO_FILE,
    METRICS_FILE,
    PREVIOUS_FILE,
    QUARANTINE_DIR,
    run_dir,
)

_currency = ""  # the run's currency (start(currency=...)): the unit of its money figures


def start(notebook: str | None = None, *, currency: str = "") -> Path:
    """Begin a notebook's run; returns its run folder.

    ``currency`` (``"$"``, ``"EUR"`` ...) is the unit of the run's ``money`` figures: cards, the
    index and tables show it with them.

    Under the runner the folder is the runner's (it wrote ``previous.json`` there: the last
    successful run's figures). In JupyterLab it selects ``reports/_lab/<notebook>/``
    (``notebook`` as given, else detected, else ``session``), keeps the figures an earlier
    session recorded there as ``previous.json`` (so the summary can show what changed) and clears
    its figures, inputs and set-aside rows."""
    global _currency
    _currency = str(currency or "")
    if runfiles.under_runner():
        return run_dir()
    runfiles.set_lab_notebook(notebook)
    folder = run_dir()
    earlier = read_json(folder / METRICS_FILE)
    if isinstance(earlier, dict) and earlier:
        stamp = datetime.fromtimestamp((folder / METRICS_FILE).stat().st_mtime, UTC).isoformat(timespec="seconds")
        write_json_atomic(folder / PREVIOUS_FILE, {"started_at": stamp, "metrics": earlier})
    for name in (METRICS_FILE, METRIC_INFO_FILE, INPUTS_FILE):
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / QUARANTINE_DIR, ignore_errors=True)
    return folder


def currency() -> str:
    """The currency given to :func:`start` (empty when none was)."""
    return _currency


def previous_run() -> dict:
    """The last successful run's ``{"started_at": ISO time, "metrics": {...}}`` (empty when
    there is none)."""
    data = read_json(run_dir() / PREVIOUS_FILE)
    return data if isinstance(data, dict) and isinstance(data.get("metrics"), dict) else {}


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> flat mapping with dotted keys (values as plain JSON data)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = jsonable(value)
    return flat


def _fill(template: str, metric_name: str, key: str) -> str:
    """A label with the ``{placeholder}`` parts of the metric's name filled from ``key``."""
    parts = re.split(r"(\{[A-Za-z_]\w*\})", metric_name)
    regex = "".join(f"(?P<{p[1:-1]}>[^.]+)" if p.startswith("{") else re.escape(p) for p in parts)
    m = re.fullmatch(regex, key)
    if not m:
        return template
    return re.sub(r"\{([A-Za-z_]\w*)\}", lambda g: m.groupdict().get(g.group(1), g.group(0)), template)


def describe(keys: list[str], strict: bool = True) -> dict[str, dict[str, str]]:
    """label / unit / kind of each key from the registry; ValueError for an undeclared key when
    ``strict`` and the registry has domains."""
    from helpers.core import registry

    if not registry.domains():
        return {}
    pool = registry.metrics_for(None)
    info: dict[str, dict[str, str]] = {}
    for key in keys:
        metric = registry.find_metric(key, pool)
        if metric is None:
            if strict:
                names = sorted({m.name for m in pool})
                close = difflib.get_close_matches(key, names, n=4, cutoff=0.5)
                hint = f"closest declared: {', '.join(close)}" if close else f"declared: {', '.join(names[:12])}"
                raise ValueError(
                    f"Metric {key!r} is not declared by any domain (declare it in helpers/<domain>/domain.py); {hint}."
                )
            continue
        unit = _fill(metric.unit, metric.name, key)
        if metric.kind == "money" and not unit:
            unit = _currency
        info[key] = {"label": _fill(metric.label, metric.name, key), "unit": unit, "kind": metric.kind}
    return info


def record_metrics(
    values: Mapping[str, Any], prefix: str = "", *, strict: bool = True, units: Mapping[str, str] | None = None
) -> None:
    """Record key figures in this run's ``metrics.json`` (nested mappings become dotted names)
    and their label, unit and kind in ``metric_info.json``. ``units`` gives the unit of a
    figure whose unit depends on the run (``{"bgnbd.alpha": "weeks"}``), over the declared one."""
    flat = flatten(values, prefix)
    info = describe(list(flat), strict=strict)
    for key, unit in (units or {}).items():
        if key in info:
            info[key]["unit"] = str(unit)
    folder = run_dir()
    current = read_json(folder / METRICS_FILE, {})
    current = current if isinstance(current, dict) else {}
    current.update(flat)
    write_json_atomic(folder / METRICS_FILE, current)
    if info:
        known = read_json(folder / METRIC_INFO_FILE, {})
        known = known if isinstance(known, dict) else {}
        known.update(info)
        write_json_atomic(folder / METRIC_INFO_FILE, known)


def record_metric(name: str, value: Any, *, strict: bool = True) -> Any:
    """Record one key figure (see :func:`record_metrics`); returns the value."""
    record_metrics({name: value}, strict=strict)
    return value


def record_input(name: str, provenance: Mapping[str, Any]) -> None:
    """Record that input ``name`` was read (provenance: path, sha256, rows ...)."""
    path = run_dir() / INPUTS_FILE
    current = read_json(path, {})
    current = current if isinstance(current, dict) else {}
    current[name] = jsonable(dict(provenance))
    write_json_atomic(path, current)
