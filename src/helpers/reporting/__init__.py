"""What a notebook hands to its report and to the runner.

- :mod:`~helpers.reporting.metrics`: ``start`` (the setup cell's first call), ``record_metrics``
  / ``record_metric`` (key figures, checked against the declared metrics), ``record_input``,
  ``run_dir``;
- :mod:`~helpers.reporting.display`: ``key_figures`` (summary cards), ``table`` (rounded),
  ``say`` (a sentence: a trusted template, data values escaped), ``esc`` (one data value made
  literal text for Markdown), ``fmt_int``, ``write_table`` (a CSV export beside the report,
  formula cells neutralised);
- :mod:`~helpers.reporting.plots`: the chart theme (``from helpers.reporting import plots``;
  imports matplotlib, so it is not loaded by ``from helpers import reporting``).

Usage: ``from helpers import reporting as rep; rep.start(notebook="clv"); rep.record_metrics({...})``.
"""

from helpers.core.runfiles import detect_notebook
from helpers.reporting.display import esc, fmt_int, key_figures, say, table, write_table
from helpers.reporting.metrics import (
    flatten,
    record_input,
    record_metric,
    record_metrics,
    run_dir,
    start,
)

__all__ = [
    "detect_notebook",
    "esc",
    "flatten",
    "fmt_int",
    "key_figures",
    "record_input",
    "record_metric",
    "record_metrics",
    "run_dir",
    "say",
    "start",
    "table",
    "write_table",
]
