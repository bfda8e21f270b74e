"""What a notebook hands to its report and to the runner.

- :mod:`~helpers.reporting.metrics`: ``start`` (the setup cell's first call), ``record_metrics``
  / ``record_metric`` (key figures, checked against the declared metrics), ``record_input``,
  ``run_dir``;
- :mod:`~helpers.reporting.summary`: ``summary`` (the section every report opens with: headline
  figures as labelled cards with the change since the last successful run, then up to three
  findings);
- :mod:`~helpers.reporting.display`: ``key_figures`` (summary cards), ``table`` (rounded),
  ``say`` (a sentence: a trusted template, data values escaped), ``esc`` (one data value made
  literal text for Markdown), ``fmt_int``, ``write_table`` (a CSV export beside the report,
  formula cells neutralised); ``table`` saves a long table whole as CSV and links it;
- :mod:`~helpers.reporting.plots`: the chart theme (``from helpers.reporting import plots``;
  imports matplotlib, so it is not loaded by ``from helpers import reporting``).

Usage: ``from helpers import reporting as rep; rep.start(notebook="clv"); rep.record_metrics({...})``.
"""

from helpers.core.runfiles import detect_notebook
from helpers.reporting.display import esc, fmt_int, key_figures, say, table, write_table
from helpers.reporting.metrics import (
    currency,
    flatten,
    previous_run,
    record_input,
    record_metric,
    record_metrics,
    run_dir,
    start,
)
from helpers.reporting.summary import summary

__all__ = [
    "currency",
    "detect_notebook",
    "esc",
    "flatten",
    "fmt_int",
    "key_figures",
    "previous_run",
    "record_input",
    "record_metric",
    "record_metrics",
    "run_dir",
    "say",
    "start",
    "summary",
    "table",
    "write_table",
]
