"""Run parameterised notebooks and render them as reports: the engine behind ``workbench run``.

One *run* = one notebook executed with one set of parameters into ``DIR/NAME/``:

- ``notebook.ipynb``: the executed notebook (kept when it fails), each executed code cell's
  seconds in ``metadata["workbench"]["elapsed_s"]``;
- ``report.html``: the report for readers: a header written here (title, run date, duration,
  failure banner, contents), the notebook's outputs with all code hidden (its summary first),
  then "About this run" (parameters, data provenance from ``inputs.json``, software), rendered
  offline (no CDN script or stylesheet); ``preview.png``: a screenshot of its top;
- ``metrics.json`` / ``metric_info.json`` / ``inputs.json`` / ``quarantine/``: written by the
  notebook through :mod:`helpers.reporting` and :mod:`helpers.contracts` (``WORKBENCH_RUN_DIR``
  points there; names in :mod:`helpers.core.runfiles`);
- ``run.json``: the run state used for incremental re-runs and the index, with the figures of
  the report's last runs (``history``) and the time of each executed cell (``cells``: ``cell``,
  ``label``, ``elapsed_s``; ``slowest_cell``; :mod:`helpers.runner.timing`); ``previous.json``: the
  last successful run's figures, written before the notebook starts so that its summary can show
  what changed.

A run is written into ``DIR/.NAME.building-XXXX/`` (``WORKBENCH_RUN_DIR`` points there) and
replaces ``DIR/NAME/`` whole, its state included, only when it has finished; while it is planned
and written, ``DIR/.NAME.lock`` is locked, and a second ``workbench run`` of the same run waits
(:mod:`helpers.runner.rundir`). A run that takes longer than its timeout (``--timeout``, reports.yaml
``timeout:``, default 30 minutes) has its kernel killed and fails with "stopped after N s
(timeout)"; each kernel's thread pools get cores // runs at once.

``DIR/index.html`` lists every run found under ``DIR``, its key figures labelled and formatted
as their metrics are declared (:mod:`helpers.core.registry`).

A notebook plugs in with a code cell tagged ``parameters`` holding one line per parameter::

    time_unit: Literal["D", "W", "M"] = "W"  # unit of time for recency and frequency
    discount_rate: float = 0.1  # annual discount rate; range [0, 1]

(name, type annotation, default, help text in the trailing comment). Given values are checked
while planning, before anything executes (:mod:`helpers.runner.params`):

- by type, for ``int``, ``float``, ``str``, ``bool``, ``list``, ``dict`` and their unions with
  ``None``;
- ``Literal[...]`` (also ``Literal[...] | None``): only the listed values (``from typing import
  Literal`` goes in the parameters cell, so that the cell runs on its own in JupyterLab);
- ``range [lo, hi]`` in the help comment: numbers (or every number of a list) must lie in the
  interval; ``(`` or ``)`` exclude a bound, an empty bound is open (``range (0, ]``);
- ``ISO date`` in the help comment: the value must be a date written ``YYYY-MM-DD``;
- ``after NAME`` / ``before NAME`` as a clause of the help comment: the value must be later /
  earlier than parameter NAME's (dates and numbers; not checked when either is None);
- YAML values (``-p``, ``--params``, reports.yaml) may not stand for more than 1 MB once their
  aliases are expanded; relative paths given with ``-p``/``--params`` are relative to the folder
  the command is run from (:mod:`helpers.runner.plan`).

reports.yaml's ``key_metrics`` are checked at planning too: each must be a metric declared by
a domain the notebook imports (``helpers.<domain>``, found by parsing its code cells) or a
shared one. A run is skipped when nothing it depends on changed (:mod:`helpers.runner.cache`).

Modules: ``common`` (names, errors), ``config`` (YAML, reports.yaml), ``params`` (parameters),
``notebook`` (reading a notebook), ``plan``, ``cache`` (hashes, run keys), ``rundir`` (locks,
building aside and swapping in), ``execute`` (papermill, kernels, timeouts), ``render`` (nbconvert,
offline template, "About this run"), ``preprocess`` (what readers see), ``navigation`` (section
numbers, contents, back-to-top links), ``history`` (each report's last runs, for trends and the
change since the last success), ``timing`` (each cell's label and elapsed time), ``progress``
(which cell runs and for how long), ``index``, ``batch`` (the process pool and
:func:`run_reports`), ``browser`` (reports in headless Chromium: previews and page checks) and
``previews`` (each report's ``preview.png``, made while the runs execute; ``WORKBENCH_PREVIEWS=0``
turns them off).

Heavy imports (papermill, nbconvert, nbformat, jinja2) are made lazily so that a run that
skips everything starts and finishes quickly.
"""

from __future__ import annotations

from helpers.runner.batch import check_output_dir, kernel_threads, run_reports
from helpers.runner.cache import FileHasher, helper_scope, helpers_hash, parameter_files, recorded_input_files, run_key
from helpers.runner.common import (
    DEFAULT_KERNEL,
    DEFAULT_TIMEOUT,
    THREAD_VARS,
    WorkbenchError,
    format_date,
    format_duration,
    lean_imports,
    now_iso,
)
from helpers.runner.config import (
    MAX_VALUE_CHARS,
    RunConfig,
    check_run_name,
    check_size,
    expanded_size,
    find_project_root,
    list_notebooks,
    load_config,
    load_yaml_file,
    notebook_path,
    parse_assignments,
    parse_yaml,
)
from helpers.runner.execute import error_message, execute_run, find_failure, installed_kernels, resolve_kernel
from helpers.runner.index import index_entries, load_run_state, write_index
from helpers.runner.notebook import NotebookInfo, helper_imports, read_notebook_info
from helpers.runner.params import (
    REQUIRED,
    Bounds,
    Parameter,
    annotation_spec,
    check_order,
    check_value,
    is_iso_date,
    parameter_error,
    parse_bounds,
    parse_parameters,
    resolve_parameters,
)
from helpers.runner.plan import Project, RunOptions, check_key_metrics, open_project, plan_runs, resolve_cli_paths
from helpers.runner.progress import Progress
from helpers.runner.render import (
    external_references,
    format_metric,
    format_number,
    format_value,
    html_exporter,
    prepare_for_report,
    render_report,
    report_header,
)
from helpers.runner.rundir import RunLock
from helpers.runner.spec import RunResult, RunSpec

__all__ = [
    "DEFAULT_KERNEL",
    "DEFAULT_TIMEOUT",
    "MAX_VALUE_CHARS",
    "REQUIRED",
    "THREAD_VARS",
    "Bounds",
    "FileHasher",
    "NotebookInfo",
    "Parameter",
    "Progress",
    "Project",
    "RunConfig",
    "RunLock",
    "RunOptions",
    "RunResult",
    "RunSpec",
    "WorkbenchError",
    "annotation_spec",
    "check_key_metrics",
    "check_order",
    "check_output_dir",
    "check_run_name",
    "check_size",
    "check_value",
    "error_message",
    "execute_run",
    "expanded_size",
    "external_references",
    "find_failure",
    "find_project_root",
    "format_date",
    "format_duration",
    "format_metric",
    "format_number",
    "format_value",
    "helper_imports",
    "helper_scope",
    "helpers_hash",
    "html_exporter",
    "index_entries",
    "installed_kernels",
    "is_iso_date",
    "kernel_threads",
    "lean_imports",
    "list_notebooks",
    "load_config",
    "load_run_state",
    "load_yaml_file",
    "notebook_path",
    "now_iso",
    "open_project",
    "parameter_error",
    "parameter_files",
    "parse_assignments",
    "parse_bounds",
    "parse_parameters",
    "parse_yaml",
    "plan_runs",
    "prepare_for_report",
    "read_notebook_info",
    "recorded_input_files",
    "render_report",
    "report_header",
    "resolve_cli_paths",
    "resolve_kernel",
    "resolve_parameters",
    "run_key",
    "run_reports",
    "write_index",
]
