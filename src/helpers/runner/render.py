"""Rendering: the report page (header + the notebook's visible outputs, offline template) and the
way values are shown to readers. nbconvert and jinja2 are imported on first use."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers.core import formats
from helpers.core.io import read_json
from helpers.core.runfiles import INPUTS_FILE
from helpers.runner.common import (
    CSS_FILE,
    NBCONVERT_TEMPLATE,
    TEMPLATES_DIR,
    format_date,
    format_duration,
    lean_imports,
)
from helpers.runner.spec import RunSpec

_jinja_env = None


def jinja_env():
    global _jinja_env
    if _jinja_env is None:
        import jinja2

        _jinja_env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=True,
            trim_blocks=False,
            undefined=jinja2.ChainableUndefined,
        )
    return _jinja_env


def stylesheet() -> str:
    return CSS_FILE.read_text(encoding="utf-8")


def format_value(value: Any) -> str:
    """A parameter value as a reader sees it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) if value else "(empty)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) if value else "(empty)"
    return str(value)


def format_number(value: Any) -> str:
    """A count or amount in a header table (thousands separators; see :mod:`helpers.core.formats`)."""
    if isinstance(value, bool) or value is None:
        return format_value(value)
    return formats.number(value)


def format_metric(value: Any, kind: str | None = None, unit: str = "") -> str:
    """A key figure as cards and the index show it, by its declared kind and unit
    (:func:`helpers.core.formats.metric`): ``share`` 0.7867 -> ``79 %``, ``int`` -> ``1,234``,
    ``money`` with unit ``$`` -> ``$1,235``."""
    return formats.metric(value, kind, unit)


def report_header(
    spec: RunSpec,
    status: str,
    failure: Mapping[str, Any] | None,
    started_at: str,
    duration: float,
    run_dir: Path | None = None,
) -> dict:
    """What the page's header (title, run facts, failure banner) and its closing "About this
    run" section show: parameters set for the run first, the defaults apart; the inputs read,
    from ``inputs.json``; the files written beside the report; software versions."""
    folder = run_dir or spec.run_dir
    changed, defaults = [], []
    for p in spec.declared:
        is_set = p.name in spec.parameters
        value = spec.parameters[p.name] if is_set else (p.default if p.literal and not p.required else p.default_source)
        (changed if is_set else defaults).append({"name": p.name, "value": format_value(value), "help": p.help})
    return {
        "title": spec.title,
        "notebook": spec.notebook.name,
        "status": status,
        "run_date": format_date(started_at),
        "duration": format_duration(duration),
        "changed": changed,
        "defaults": defaults,
        "inputs": recorded_inputs(folder),
        "engines": sorted({i["engine"] for i in recorded_inputs(folder) if i["engine"]}),
        "files": files_beside(folder),
        "software": software_versions(),
        "error": dict(failure) if failure else None,
    }


def recorded_inputs(folder: Path) -> list[dict]:
    """The inputs a run read (``inputs.json``), as the About section lists them."""
    recorded = read_json(folder / INPUTS_FILE)
    inputs = []
    if not isinstance(recorded, dict):
        return inputs
    for name, entry in recorded.items():
        if not isinstance(entry, dict):
            continue
        sha = str(entry.get("sha256") or "")

        def count(key: str, entry: dict = entry) -> str:
            return format_number(entry[key]) if entry.get(key) is not None else ""

        inputs.append(
            {
                "name": name,
                "file": entry.get("file") or Path(str(entry.get("path", ""))).name,
                "path": str(entry.get("path") or ""),
                "rows_read": count("rows_read"),
                "rows_accepted": count("rows_accepted"),
                "rows_quarantined": count("rows_quarantined"),
                "read_at": format_date(entry.get("read_at")) if entry.get("read_at") else "",
                "sha256": sha,
                "sha_short": sha[:12],
                "engine": str(entry.get("engine") or ""),
            }
        )
    return inputs


def files_beside(folder: Path) -> list[str]:
    """CSV exports a notebook wrote into its run folder (paths relative to the report)."""
    if not folder.is_dir():
        return []
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*.csv") if p.is_file() and not p.name.startswith(".")
    )


#: Packages whose versions a report names (those that shape its numbers and its page).
SOFTWARE = ("pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "duckdb", "ibis-framework", "matplotlib")


@functools.cache
def software_versions() -> tuple[tuple[str, str], ...]:
    """(name, version) of Python, the workbench and the packages in :data:`SOFTWARE`."""
    import platform
    from importlib import metadata

    out = [("Python", platform.python_version())]
    for name in ("customer-analytics-workbench", *SOFTWARE):
        try:
            out.append((name.replace("customer-analytics-", ""), metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)


def prepare_for_report(nb, failure: Mapping[str, Any] | None = None):
    """A copy of the executed notebook with only what a reader should see (see
    :mod:`helpers.runner.preprocess`, imported here because it imports nbconvert)."""
    lean_imports()
    from helpers.runner.preprocess import prepare_for_report as prepare

    return prepare(nb, failure)


_exporter = None


def html_exporter():
    """The nbconvert exporter for reports (built once per process)."""
    global _exporter
    if _exporter is None:
        lean_imports()
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        c = Config()
        c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES_DIR)]
        c.HTMLExporter.template_name = NBCONVERT_TEMPLATE
        c.HTMLExporter.exclude_input = True
        c.HTMLExporter.exclude_input_prompt = True
        c.HTMLExporter.exclude_output_prompt = True
        c.HTMLExporter.embed_images = True
        c.HTMLExporter.anchor_link_text = ""
        _exporter = HTMLExporter(config=c)
    return _exporter


def render_report(nb, header: Mapping[str, Any], failure: Mapping[str, Any] | None, notebooks_dir: Path) -> str:
    """The report page: the runner's header, the notebook's visible outputs, the "About this
    run" section; then section numbers and contents (:mod:`helpers.runner.navigation`)."""
    lean_imports()
    import nbconvert
    import nbformat

    from helpers.runner.navigation import add_navigation

    header_html = jinja_env().get_template("header.html.j2").render(**header)
    about_html = jinja_env().get_template("about.html.j2").render(**header)
    if nb is None:
        nb = nbformat.v4.new_notebook()
    body = prepare_for_report(nb, failure)
    resources = {
        "metadata": {"name": header["title"], "path": str(notebooks_dir)},
        "workbench": {
            "title": header["title"],
            "css": stylesheet(),
            "header_html": header_html,
            "about_html": about_html,
            "nbconvert_version": nbconvert.__version__,
        },
    }
    page, _ = html_exporter().from_notebook_node(body, resources=resources)
    return add_navigation(page)


_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?\s*|@import\s+(?:url\()?\s*["']?|url\(\s*["']?)((?:https?:)?//[^"'\s)>]+)""",
    re.I,
)


def external_references(page: str) -> list[str]:
    """External URLs a page would load or link to (src/href attributes, @import, url())."""
    urls = sorted(set(_EXTERNAL.findall(page)))
    if not urls:
        return []
    shown = ", ".join(urls[:3]) + (" ..." if len(urls) > 3 else "")
    return [f"the report refers to {len(urls)} external URL(s), which need a network connection: {shown}"]
