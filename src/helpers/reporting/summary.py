"""The summary every report opens with: headline figures as cards, then up to three findings.

::

    rep.record_metrics(view.metrics())
    rep.summary(
        ["customers", "clv.total", "clv.top_tier_share"],  # recorded metric keys
        [findings["value"], findings["holdout"], findings["churn"]],  # sentences from this run
        labels={"clv.total": "Predicted value, next 12 months"},
    )

Each card shows the metric's label and its value formatted by its declared kind and unit
(:mod:`helpers.core.formats`), and, when an earlier successful run of the same report recorded
the figure (``previous.json``, see :func:`helpers.reporting.metrics.previous_run`), how it moved
since then. The section carries ``id="summary"``: the report's contents link to it. Findings
are trusted Markdown sentences (a narrative helper's, values escaped there); empty ones (a check
that did not apply) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from helpers.core import formats
from helpers.core.io import read_json
from helpers.core.runfiles import METRIC_INFO_FILE, METRICS_FILE
from helpers.reporting.metrics import describe, previous_run, run_dir
from helpers.reporting.text import markdown_html

MAX_FINDINGS = 3


def card(label: str, value: str, change: str | None = None, since: str = "") -> str:
    """One summary card as HTML (every part escaped)."""
    delta = ""
    if change:
        trend = "wb-flat" if change == "unchanged" else ("wb-up" if change.startswith("+") else "wb-down")
        delta = (
            f'<div class="wb-card-change {trend}">{escape(change)}{" since " + escape(since) if since else ""}</div>'
        )
    return (
        f'<div class="wb-card"><div class="wb-card-value">{escape(value)}</div>'
        f'<div class="wb-card-label">{escape(label)}</div>{delta}</div>'
    )


def summary_html(
    figures: Sequence[str] | Mapping[str, str],
    findings: Sequence[str] = (),
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Summary",
) -> str:
    """The summary section as HTML (see the module docstring). ``figures``: recorded metric keys
    (a mapping gives each its card label). ValueError for a key this run has not recorded."""
    folder = run_dir()
    recorded = read_json(folder / METRICS_FILE, {})
    recorded = recorded if isinstance(recorded, dict) else {}
    info = read_json(folder / METRIC_INFO_FILE, {})
    info = info if isinstance(info, dict) else {}
    missing = [k for k in figures if k not in recorded]
    if missing:
        raise ValueError(
            f"summary: {', '.join(map(repr, missing))} not recorded in this run; record it with "
            "rep.record_metrics(...) before the summary."
        )
    names = dict(figures) if isinstance(figures, Mapping) else {}
    names.update(labels or {})
    unknown = [k for k in figures if k not in info]
    if unknown:
        info.update(describe(unknown, strict=False))
    earlier = previous_run()
    before = earlier.get("metrics") or {}
    since = formats.moment(earlier.get("started_at"))
    cards = []
    for key in figures:
        meta = info.get(key) or {}
        kind, unit = meta.get("kind"), meta.get("unit") or ""
        value = recorded[key]
        change = formats.change(value, before.get(key), kind, unit) if key in before else None
        label = names.get(key) or meta.get("label") or key
        cards.append(card(label, formats.metric(value, kind, unit), change, since))
    sentences = [f for f in findings if f and str(f).strip()][:MAX_FINDINGS]
    items = "".join(f"<li>{markdown_html(s)}</li>" for s in sentences)
    return (
        f'<section class="wb-summary-section"><h2 id="summary">{escape(title)}</h2>'
        f'<div class="wb-cards">{"".join(cards)}</div>'
        + (f'<ol class="wb-findings">{items}</ol>' if items else "")
        + "</section>"
    )


def summary(
    figures: Sequence[str] | Mapping[str, str],
    findings: Sequence[str] = (),
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Summary",
):
    """Display the summary section (see :func:`summary_html`)."""
    from IPython.display import HTML

    return HTML(summary_html(figures, findings, labels=labels, title=title))
