"""Per-cell timings of a run: a short label for each cell, the elapsed seconds of each executed
code cell (measured around its execution in the runner's process), and the slowest cells.

The runner records them in three places: ``metadata["workbench"]["elapsed_s"]`` of every executed
code cell in the run's ``notebook.ipynb``; ``cells`` (``{"cell", "label", "elapsed_s"}`` in order)
and ``slowest_cell`` in its ``run.json``; and the progress lines of ``workbench run``. Cells are
numbered as the progress line counts them: their 1-based position in the notebook file (papermill's
injected-parameters cell is timed in the notebook but not listed). Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: Characters of a cell's label (its first line of code) before it is cut with "…".
LABEL_WIDTH = 50
#: Key of the cell metadata the runner writes (``metadata[METADATA_KEY]["elapsed_s"]``).
METADATA_KEY = "workbench"
#: A run longer than this (seconds) names its slowest cells in its status line.
SLOW_RUN_S = 10.0
#: Cells faster than this (seconds) are never named among the slowest.
SLOW_CELL_S = 1.0


def cell_label(source: str, width: int = LABEL_WIDTH) -> str:
    """The first non-blank line of ``source`` that is not a comment, stripped and cut to ``width``
    characters ("" when there is none)."""
    for line in source.splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
    return ""


class CellTimes:
    """Elapsed time of each cell, from the execution hooks: :meth:`start` just before a cell is
    sent to the kernel, :meth:`stop` when its reply has come (or :meth:`interrupt` when the
    kernel was stopped). ``cells`` lists the finished cells that have a number, in order."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.cells: list[dict[str, Any]] = []
        self._clock = clock
        self._running: dict[str, Any] | None = None
        self._listed = False
        self._started = 0.0

    @property
    def running(self) -> dict[str, Any] | None:
        return self._running

    def start(self, number: int | None, label: str) -> None:
        """A cell starts; ``number`` None times it without listing it (injected parameters)."""
        self._running = {"cell": number, "label": label}
        self._listed = number is not None
        self._started = self._clock()

    def stop(self) -> dict[str, Any] | None:
        """The running cell has finished: its entry (with ``elapsed_s``, 3 decimals), or None."""
        entry = self._running
        if entry is None:
            return None
        entry["elapsed_s"] = round(max(self._clock() - self._started, 0.0), 3)
        if self._listed:
            self.cells.append(entry)
        self._running = None
        return entry

    def interrupt(self) -> dict[str, Any] | None:
        """The run stopped while a cell ran (timeout, kernel died): list it as far as it got,
        marked ``"interrupted": true``."""
        entry = self.stop()
        if entry is not None:
            entry["interrupted"] = True
        return entry


def slowest(cells: Sequence[Mapping[str, Any]], n: int = 3, at_least: float = 0.0) -> list[Mapping[str, Any]]:
    """The ``n`` slowest cells taking ``at_least`` seconds, slowest first (the earlier cell first
    on a tie)."""
    timed = [c for c in cells if isinstance(c.get("elapsed_s"), (int, float)) and c["elapsed_s"] >= at_least]
    return sorted(timed, key=lambda c: -c["elapsed_s"])[:n]


def slowest_cell(cells: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The slowest cell's entry for ``run.json`` (None when no cell ran)."""
    top = slowest(cells, 1)
    return dict(top[0]) if top else None


def set_elapsed(cell: Any, seconds: float) -> None:
    """Record a cell's elapsed seconds in its metadata (``metadata["workbench"]["elapsed_s"]``)."""
    meta = cell.setdefault("metadata", {})
    if not isinstance(meta.get(METADATA_KEY), dict):
        meta[METADATA_KEY] = {}
    meta[METADATA_KEY]["elapsed_s"] = seconds  # read back: a NotebookNode copies what it is given


def clear_elapsed(cells: Sequence[Any]) -> None:
    """Drop elapsed times a notebook file may carry from an earlier execution, so that only the
    cells this run executed have one."""
    for cell in cells:
        own = (cell.get("metadata") or {}).get(METADATA_KEY)
        if isinstance(own, dict):
            own.pop("elapsed_s", None)
            if not own:
                del cell["metadata"][METADATA_KEY]
