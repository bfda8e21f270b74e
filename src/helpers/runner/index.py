"""Run state (``run.json``) and the index page listing every run under the output folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from markupsafe import Markup

from helpers.core import formats
from helpers.core.io import read_json, write_text_atomic
from helpers.core.runfiles import INDEX_FILE, METRIC_INFO_FILE, METRICS_FILE, PREVIEW_FILE, REPORT_FILE, RUN_FILE
from helpers.runner import history
from helpers.runner.common import DEFAULT_KEY_FIGURES, format_date, format_duration, now_iso
from helpers.runner.render import format_metric, format_value, jinja_env, stylesheet


def run_state_path(output_dir: Path, name: str) -> Path:
    return output_dir / name / RUN_FILE


def load_run_state(output_dir: Path, name: str) -> dict | None:
    data = read_json(run_state_path(output_dir, name))
    return data if isinstance(data, dict) else None


def _key_figures(
    metrics: Mapping[str, Any],
    wanted: Sequence[str] | None,
    info: Mapping[str, Any] | None = None,
    runs: list[dict] | None = None,
) -> list[dict]:
    """The figures to show: ``wanted`` (reports.yaml ``key_metrics``) or the first few; each
    with its label and value formatted as its metric is declared (``metric_info.json``; else the
    dotted key and a plain number), its change since the run before and its trend over the
    runs in ``runs`` (the run's history, oldest first)."""
    info = info or {}
    if wanted:
        names = [k for k in wanted if k in metrics]
    else:
        keys = list(metrics)
        names = ([k for k in keys if not k.startswith("rows.")] + [k for k in keys if k.startswith("rows.")])[
            :DEFAULT_KEY_FIGURES
        ]
    runs = runs or []
    out = []
    for k in names:
        meta = info.get(k) if isinstance(info.get(k), dict) else {}
        kind, unit = meta.get("kind"), meta.get("unit") or ""
        points = history.series(runs, k)
        before = points[-2][1] if len(points) >= 2 and points[-1][1] == metrics[k] else None
        out.append(
            {
                "label": meta.get("label") or k,
                "value": format_metric(metrics[k], kind, unit),
                "change": formats.change(metrics[k], before, kind, unit) if before is not None else None,
                "trend": sparkline([v for _, v in points], meta.get("label") or k) if len(points) >= 2 else None,
            }
        )
    return out


def sparkline(values: Sequence[float], label: str, width: int = 96, height: int = 22) -> Markup:
    """A small inline SVG line of a figure over past runs (oldest left), its last value marked."""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(1, len(values) - 1)
    pts = [(2 + i * step, height - 3 - (v - lo) / span * (height - 6)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    x, y = pts[-1]
    title = f"{label}: trend over the last {len(values)} successful runs"
    return Markup(
        f'<svg class="wb-spark" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>"
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="currentColor"/></svg>'
    )


def index_entries(output_dir: Path, order: Sequence[str] = ()) -> list[dict]:
    states = []
    if output_dir.is_dir():
        for path in output_dir.glob(f"*/{RUN_FILE}"):
            if path.parent.name.startswith("."):  # a run being built, or left by an interrupted one
                continue
            state = read_json(path)
            if isinstance(state, dict) and state.get("name"):
                states.append(state)
    rank = {name: i for i, name in enumerate(order)}
    states.sort(key=lambda s: (rank.get(s["name"], len(rank)), s["name"]))
    entries = []
    for s in states:
        run_dir = output_dir / s["name"]
        metrics = read_json(run_dir / METRICS_FILE)
        info = read_json(run_dir / METRIC_INFO_FILE)
        status = s.get("status", "failed")
        skipped = s.get("last_action") == "skipped"
        badge = "skipped" if skipped else status
        when = format_date(s.get("started_at"))
        if skipped:
            status_text = f"unchanged, skipped {format_date(s.get('checked_at'))}; last run {status}"
        else:
            status_text = "completed" if status == "ok" else "failed"
        err = s.get("error") or None
        entries.append(
            {
                "name": s["name"],
                "title": s.get("title") or s["name"],
                "status": status,
                "badge": badge,
                "status_text": status_text,
                "run_date": when,
                "duration": format_duration(s.get("duration_s")),
                "params": [(k, format_value(v)) for k, v in (s.get("parameters") or {}).items()],
                "figures": _key_figures(
                    metrics, s.get("key_metrics"), info if isinstance(info, dict) else None, history.history_of(s)
                )
                if isinstance(metrics, dict)
                else [],
                "preview_href": f"{s['name']}/{PREVIEW_FILE}" if (run_dir / PREVIEW_FILE).is_file() else None,
                "report_href": f"{s['name']}/{REPORT_FILE}" if (run_dir / REPORT_FILE).exists() else None,
                "error": err,
            }
        )
    return entries


def write_index(output_dir: Path, order: Sequence[str] = (), title: str = "Reports") -> Path:
    entries = index_entries(output_dir, order)
    counts = {
        "ok": sum(e["badge"] == "ok" for e in entries),
        "failed": sum(e["badge"] == "failed" for e in entries),
        "skipped": sum(e["badge"] == "skipped" for e in entries),
    }
    page = (
        jinja_env()
        .get_template("runs_index.html.j2")
        .render(title=title, runs=entries, counts=counts, css=stylesheet(), generated_at=format_date(now_iso()))
    )
    path = output_dir / INDEX_FILE
    write_text_atomic(path, page)
    return path
