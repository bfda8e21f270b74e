"""Rendering: the report page (header + the notebook's visible outputs, offline template) and the
way values are shown to readers. nbconvert and jinja2 are imported on first use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    if isinstance(value, bool) or value is None:
        return format_value(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def format_metric(value: Any, kind: str | None = None, unit: str = "") -> str:
    """A key figure as the index shows it, by its declared kind (see helpers.core.registry):
    ``share`` 0.7867 -> ``78.7 %``, ``pct`` 78.67 -> ``78.7 %``, ``int`` -> ``1,234``,
    ``money`` -> ``1,234.57``; a unit, when declared, follows the number."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return format_number(value)
    if kind == "share":
        return f"{100 * value:.1f} %"
    if kind == "pct":
        return f"{value:.1f} %"
    if kind == "int":
        text = f"{round(value):,}"
    elif kind == "money":
        text = f"{value:,.2f}"
    else:
        text = format_number(value)
    return f"{text} {unit}" if unit else text


def report_header(
    spec: RunSpec,
    status: str,
    failure: Mapping[str, Any] | None,
    started_at: str,
    duration: float,
    run_dir: Path | None = None,
) -> dict:
    params = []
    for p in spec.declared:
        is_set = p.name in spec.parameters
        value = spec.parameters[p.name] if is_set else (p.default if p.literal and not p.required else p.default_source)
        params.append({"name": p.name, "value": format_value(value), "help": p.help, "set": is_set})
    inputs = []
    recorded = read_json((run_dir or spec.run_dir) / INPUTS_FILE)
    if isinstance(recorded, dict):
        for name, entry in recorded.items():
            if not isinstance(entry, dict):
                continue
            sha = str(entry.get("sha256") or "")
            inputs.append(
                {
                    "name": name,
                    "file": entry.get("file") or Path(str(entry.get("path", ""))).name,
                    "rows_read": format_number(entry.get("rows_read")) if entry.get("rows_read") is not None else "",
                    "rows_accepted": format_number(entry.get("rows_accepted"))
                    if entry.get("rows_accepted") is not None
                    else "",
                    "rows_quarantined": format_number(entry.get("rows_quarantined"))
                    if entry.get("rows_quarantined") is not None
                    else "",
                    "sha256": sha,
                    "sha_short": sha[:12],
                }
            )
    return {
        "title": spec.title,
        "notebook": spec.notebook.name,
        "status": status,
        "run_date": format_date(started_at),
        "duration": format_duration(duration),
        "parameters": params,
        "inputs": inputs,
        "error": dict(failure) if failure else None,
    }


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
    """The report page: the runner's header, then the notebook's visible outputs."""
    lean_imports()
    import nbconvert
    import nbformat

    header_html = jinja_env().get_template("header.html.j2").render(**header)
    if nb is None:
        nb = nbformat.v4.new_notebook()
    body = prepare_for_report(nb, failure)
    resources = {
        "metadata": {"name": header["title"], "path": str(notebooks_dir)},
        "workbench": {
            "title": header["title"],
            "css": stylesheet(),
            "header_html": header_html,
            "nbconvert_version": nbconvert.__version__,
        },
    }
    page, _ = html_exporter().from_notebook_node(body, resources=resources)
    return page


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
