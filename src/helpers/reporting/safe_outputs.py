"""The report template's last line of defence: no output of a notebook can run script in a report.

nbconvert's ``lab`` template writes ``text/html`` outputs as they are, renders ``text/markdown``
outputs with raw HTML passed through, and turns ``application/javascript`` outputs and widget
views into ``<script>`` blocks. :class:`SafeOutputs` (declared in the ``workbench`` template's
``conf.json``, so every report rendered with that template goes through it) rewrites each code
cell's outputs before the template sees them:

- ``text/html`` is sanitised (:func:`helpers.reporting.text.sanitize_html`: presentational tags
  only, no event handlers, no ``javascript:`` links);
- ``text/markdown`` becomes sanitised HTML (:func:`helpers.reporting.text.markdown_html`: raw
  HTML shown as text, unsafe links disarmed);
- script-bearing types (JavaScript, widget views and state) are dropped.

Images (PNG, JPEG, and SVG, which the template embeds as an ``<img>`` and so cannot run script),
plain text and streams (escaped by the template) are left as they are. Markdown cells are the
notebook's own text and are not touched. Imports nbconvert: loaded only when rendering.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor

from helpers.reporting.text import markdown_html, sanitize_html

#: Output types the report never shows: each would be written into the page as a script.
DROPPED_TYPES = frozenset(
    {
        "application/javascript",
        "text/javascript",
        "application/x-javascript",
        "application/vnd.jupyter.widget-view+json",
        "application/vnd.jupyter.widget-state+json",
    }
)


def safe_data(data: dict) -> dict:
    """One output's ``data`` (mimetype -> content) with nothing left that could run script."""
    out = {k: v for k, v in data.items() if k not in DROPPED_TYPES}
    markdown = out.pop("text/markdown", None)
    if "text/html" in out:
        html = out["text/html"]
        out["text/html"] = sanitize_html("".join(html) if isinstance(html, list) else html)
    elif markdown is not None:
        out["text/html"] = markdown_html("".join(markdown) if isinstance(markdown, list) else markdown)
    return out


class SafeOutputs(Preprocessor):
    """Sanitise every code cell's rich outputs (see the module docstring)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            kept = []
            for output in cell.get("outputs") or []:
                if "data" in output:
                    output["data"] = safe_data(output["data"])
                    if not output["data"]:
                        continue
                kept.append(output)
            cell.outputs = kept
        widgets = nb.metadata.get("widgets")
        if widgets:
            del nb.metadata["widgets"]
        return nb, resources
