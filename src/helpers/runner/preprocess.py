"""What a reader sees of an executed notebook: nbconvert preprocessors run before rendering.

nbconvert's ``TagRemovePreprocessor`` drops cells tagged ``remove`` (and papermill's error
marker), clears the outputs of cells tagged ``remove-output`` (and of the parameters cells),
and marks ``remove-input`` cells; :class:`ReaderView` does what no stock preprocessor does: keep
only outputs meant for readers (no stderr, no tracebacks, no stray ``<Line2D at 0x...>``
object reprs), drop code cells left without output, and give the notebook's own title to the
report header. Imports nbconvert: loaded only when a report is rendered.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

from helpers.runner.common import (
    HEADING,
    INJECTED_TAG,
    PAPERMILL_ERROR_TAG,
    PARAMETERS_TAG,
    REMOVE_CELL_TAGS,
    REMOVE_INPUT_TAGS,
    REMOVE_OUTPUT_TAGS,
)

_OBJECT_REPR = re.compile(r"^\[?<[\w.]+(?: [^>]*)? at 0x[0-9a-fA-F]+>(?:,\s*<[^>]*>)*\]?$|^<Figure size [^>]*>$", re.S)


def visible_outputs(cell: Mapping[str, Any]) -> list:
    """The outputs of a code cell a reader should see."""
    keep = []
    for out in cell.get("outputs") or []:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") != "stdout":
            continue  # stderr: warnings, progress bars, logging
        if kind == "error":
            continue  # shown once, as a sentence, in the header banner
        if kind == "execute_result":
            data = out.get("data") or {}
            if set(data) == {"text/plain"}:
                text = data["text/plain"]
                text = "".join(text) if isinstance(text, list) else str(text)
                if _OBJECT_REPR.match(text.strip()):
                    continue  # <matplotlib.lines.Line2D at 0x...>: noise for a reader
        keep.append(out)
    return keep


class ReaderView(Preprocessor):
    """Keep only what a reader should see (see the module docstring)."""

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = visible_outputs(cell)
                if not cell.outputs:
                    continue
            cells.append(cell)
        for cell in cells:  # the first heading becomes the header's title
            if cell.cell_type == "markdown":
                lines = cell.source.splitlines()
                first = next((i for i, line in enumerate(lines) if line.strip()), None)
                if first is not None and HEADING.match(lines[first]):
                    cell.source = "\n".join(lines[first + 1 :]).strip("\n")
                break
        nb.cells = [c for c in cells if not (c.cell_type == "markdown" and not c.source.strip())]
        return nb, resources


def tag_remover() -> TagRemovePreprocessor:
    return TagRemovePreprocessor(
        enabled=True,
        remove_cell_tags=set(REMOVE_CELL_TAGS | {PAPERMILL_ERROR_TAG}),
        remove_all_outputs_tags=set(REMOVE_OUTPUT_TAGS | {INJECTED_TAG, PARAMETERS_TAG}),
        remove_input_tags=set(REMOVE_INPUT_TAGS),
    )


def prepare_for_report(nb, failure: Mapping[str, Any] | None = None):
    """A copy of the executed notebook with only what a reader should see: nothing after a
    failing cell, then :func:`tag_remover` and :class:`ReaderView`."""
    nb = copy.deepcopy(nb)
    stop = failure.get("cell_index") if failure else None
    if stop is not None:
        nb.cells = nb.cells[: stop + 1]
    resources: dict[str, Any] = {}
    for step in (tag_remover(), ReaderView(enabled=True)):
        nb, resources = step(nb, resources)
    return nb
