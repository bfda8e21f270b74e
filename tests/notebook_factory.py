"""Tiny notebooks for runner and CLI tests (shared by their test modules)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook


def write_nb(path: Path, cells) -> Path:
    """Write a notebook of ``cells`` using the stock ``python3`` kernel."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
