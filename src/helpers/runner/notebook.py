"""What the runner knows about a notebook without executing it: parameters, title, kernel, a
hash of what it does, and which ``helpers`` packages it imports (plain JSON read)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from helpers.core.io import dumps_compact
from helpers.runner.common import (
    INJECTED_TAG,
    PAPERMILL_ERROR_TAG,
    PARAMETERS_TAG,
    WorkbenchError,
    cell_source,
    cell_tags,
    first_heading,
    sha256_bytes,
)
from helpers.runner.params import Parameter, parse_parameters


@dataclass
class NotebookInfo:
    """What the runner needs to know about a notebook without executing it."""

    path: Path
    parameters: list[Parameter]
    title: str | None  # first markdown heading
    kernel_name: str | None  # kernelspec name stored in the notebook
    language: str | None
    n_cells: int
    has_parameters_cell: bool
    content_hash: str  # hash of what the notebook does (cell types, sources, tags, attachments)
    helper_imports: tuple[str, ...] = ()  # helpers.<name> its code cells import (see helper_imports)

    @property
    def stem(self) -> str:
        return self.path.stem

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def describe_parameters(self, indent: str = "  ") -> str:
        if not self.parameters:
            return (
                f"{indent}(none: the notebook has no cell tagged '{PARAMETERS_TAG}')"
                if not self.has_parameters_cell
                else f"{indent}(none)"
            )
        decls = [f"{p.name}{': ' + p.type if p.type else ''} = {p.describe_default()}" for p in self.parameters]
        width = max(len(d) for d in decls)
        out = []
        for p, decl in zip(self.parameters, decls):
            out.append(f"{indent}{decl:<{width}}  # {p.help}" if p.help else f"{indent}{decl}")
        return "\n".join(out)


def read_notebook_info(path: Path) -> NotebookInfo:
    """Parameters, title and kernel of a notebook (plain JSON read: no nbformat import)."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        raise WorkbenchError(f"Notebook {path} does not exist.") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"Notebook {path} cannot be read as a Jupyter notebook ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise WorkbenchError(f"Notebook {path} cannot be read as a Jupyter notebook (no cells).")
    cells = data["cells"]
    params_cell = next((c for c in cells if PARAMETERS_TAG in cell_tags(c)), None)
    params = parse_parameters(cell_source(params_cell), f"parameters cell of {path.name}") if params_cell else []
    meta = data.get("metadata") or {}
    ks = meta.get("kernelspec") or {}
    li = meta.get("language_info") or {}
    essence = [
        {
            "type": c.get("cell_type"),
            "source": cell_source(c),
            "tags": sorted(t for t in cell_tags(c) if t != INJECTED_TAG),
            "attachments": c.get("attachments"),
        }
        for c in cells
        if INJECTED_TAG not in cell_tags(c) and PAPERMILL_ERROR_TAG not in cell_tags(c)
    ]
    return NotebookInfo(
        path=path,
        parameters=params,
        title=first_heading(cells),
        kernel_name=ks.get("name"),
        language=ks.get("language") or li.get("name"),
        n_cells=len(cells),
        has_parameters_cell=params_cell is not None,
        content_hash=sha256_bytes(dumps_compact({"cells": essence, "kernel": ks.get("name")}).encode()),
        helper_imports=helper_imports(cell_source(c) for c in cells if c.get("cell_type") == "code"),
    )


_MAGIC = re.compile(r"^\s*[%!?]")


def helper_imports(sources: Iterable[str]) -> tuple[str, ...]:
    """The names ``X`` of every ``helpers.X`` the code imports, found by parsing it with ``ast``
    (``import helpers.clv``, ``from helpers.clv.workflow import ...``, ``from helpers import
    contracts, reporting``), also inside functions and ``if`` blocks. IPython magics (``%``, ``!``)
    are blanked first; a cell that still does not parse is skipped."""
    found: set[str] = set()
    for source in sources:
        code = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "helpers":
                    found.update(a.name for a in node.names if a.name != "*")
                elif node.module.startswith("helpers."):
                    found.add(node.module.split(".")[1])
    return tuple(sorted(found))
