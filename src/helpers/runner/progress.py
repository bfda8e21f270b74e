"""Progress output of ``workbench run``: which cell of which run is running and for how long, and
one status line per finished run.

On a terminal one line is rewritten in place (``[clv] cell 5/23 (clv = fit(tx)) 42 s``), its
elapsed time updated about once a second by a small ticker thread while anything runs. Elsewhere
(CI logs, pipes) lines are only added: each cell's start line, ``still running (1 min 30 s)``
every ``still_every`` seconds (default 30, or ``WORKBENCH_PROGRESS_EVERY``; 0 = never) while a cell
runs, and ``done in 42.1 s`` after a cell that took a second or more. A run's status line names its
slowest cells when it took more than :data:`helpers.runner.timing.SLOW_RUN_S` seconds.

Events (from :func:`helpers.runner.execute.execute_run`, possibly through a worker's queue):
``("start", name, kernel, reason)``, ``("cell", name, number, total[, label])``,
``("cell_done", name, number, total, elapsed_s)`` and ``("render", name)``.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpers.runner import timing
from helpers.runner.common import format_duration
from helpers.runner.spec import RunResult

#: Seconds between two "still running" lines of a cell in a log (WORKBENCH_PROGRESS_EVERY).
STILL_RUNNING_EVERY = 30.0
#: A cell that took at least this long gets a "done in" line in a log.
DONE_LINE_S = 1.0


def _still_every_default() -> float:
    try:
        value = float(os.environ.get("WORKBENCH_PROGRESS_EVERY") or STILL_RUNNING_EVERY)
    except ValueError:
        value = STILL_RUNNING_EVERY
    return max(value, 0.0)


def whole_seconds(seconds: float) -> str:
    """Elapsed time as a ticking clock shows it: ``42 s``, ``1 min 30 s``."""
    return f"{int(max(seconds, 0))} s" if seconds < 60 else format_duration(seconds)


@dataclass
class _Activity:
    """What one run is doing: ``what`` (``cell 5/23``), ``detail`` (`` (label)``), since when."""

    what: str
    detail: str
    started: float
    next_note: float
    elapsed: float | None = None  # set when it has finished (the clock stops)


class Progress:
    """Progress lines: updated in place on a terminal, plain lines otherwise; then one status
    line per run. ``clock`` and ``interval`` (seconds between ticks; 0 = no ticker thread, call
    :meth:`tick` yourself) are there for tests."""

    def __init__(
        self,
        stream=None,
        tty: bool | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        interval: float = 1.0,
        still_every: float | None = None,
    ):
        self.stream = stream or sys.stdout
        if tty is None:
            try:
                tty = self.stream.isatty() and os.environ.get("TERM") != "dumb"
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.clock = clock
        self.interval = interval
        self.still_every = _still_every_default() if still_every is None else max(still_every, 0.0)
        self.active: dict[str, _Activity] = {}
        self._shown = False
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- output ---------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _clear(self) -> None:
        if self.tty and self._shown:
            self._write("\r\x1b[K")
            self._shown = False

    def _status(self, name: str, act: _Activity, now: float) -> str:
        if act.elapsed is not None:
            tail = f"done in {format_duration(act.elapsed)}"
        else:
            running = now - act.started
            tail = whole_seconds(running) if running >= 1 else "..."
        return f"[{name}] {act.what}{act.detail} {tail}"

    def _redraw(self) -> None:
        if not self.tty or not self.active:
            return
        now = self.clock()
        line = "  ".join(self._status(name, act, now) for name, act in self.active.items())
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        self._write("\r\x1b[K" + line)
        self._shown = bool(line)

    def line(self, text: str) -> None:
        with self._lock:
            self._clear()
            self._write(text + "\n")
            self._redraw()

    # -- events ---------------------------------------------------------------------------------

    def event(self, kind: str, name: str, *args: Any) -> None:
        with self._lock:
            if kind == "start":
                kernel, reason = args
                self._begin(name, f"starting kernel {kernel}", f" ({reason})" if reason else "")
            elif kind == "cell":
                number, total = args[:2]
                label = args[2] if len(args) > 2 else ""
                self._begin(name, f"cell {number}/{total}", f" ({label})" if label else "")
            elif kind == "cell_done":
                number, total, elapsed = args
                self._end(name, f"cell {number}/{total}", float(elapsed))
            elif kind == "render":
                self._begin(name, "rendering report", "")

    def _begin(self, name: str, what: str, detail: str) -> None:
        now = self.clock()
        act = _Activity(what, detail, now, now + self.still_every if self.still_every else float("inf"))
        self.active[name] = act
        if self.tty:
            self._redraw()
        else:
            self._write(f"[{name}] {what}{detail} ...\n")
        self._start_ticker()

    def _end(self, name: str, what: str, elapsed: float) -> None:
        act = self.active.get(name)
        if act is not None and act.what == what:
            act.elapsed = elapsed
        if self.tty:
            self._redraw()
        elif elapsed >= DONE_LINE_S:
            self._write(f"[{name}] {what} done in {format_duration(elapsed)}\n")

    def tick(self) -> None:
        """What the ticker does about once a second: on a terminal, redraw the line with the
        running times; in a log, a "still running" line for anything running long."""
        with self._lock:
            running = {n: a for n, a in self.active.items() if a.elapsed is None}
            if not running:
                return
            now = self.clock()
            if self.tty:
                self._redraw()
                return
            for name, act in running.items():
                if now >= act.next_note:
                    self._write(f"[{name}] {act.what}{act.detail} still running ({whole_seconds(now - act.started)})\n")
                    while act.next_note <= now:
                        act.next_note += self.still_every

    def _start_ticker(self) -> None:
        if self.interval <= 0 or (self._ticker is not None and self._ticker.is_alive()):
            return
        if not self.tty and not self.still_every:
            return  # nothing to tick for
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, args=(self._stop,), name="workbench-progress")
        self._ticker.daemon = True
        self._ticker.start()

    def _tick_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.tick()

    # -- runs -----------------------------------------------------------------------------------

    def done(self, result: RunResult) -> None:
        with self._lock:
            self.active.pop(result.name, None)
            if result.status == "skipped":
                text = f"[{result.name}] skipped ({result.reason})" if result.reason else f"[{result.name}] skipped"
            else:
                text = f"[{result.name}] {result.status} {format_duration(result.duration)}"
                text += slowest_note(result)
                if result.error:
                    where = f" (cell {result.error['cell']})" if result.error.get("cell") else ""
                    text += f": {result.error['message']}{where}"
            self.line(text)
            for warning in result.warnings:
                self.line(f"[{result.name}] warning: {warning}")

    def finish(self) -> None:
        """Stop the ticker and clear the line (nothing is written after, but status lines)."""
        self._stop.set()
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join()
        with self._lock:
            self._clear()


def slowest_note(result: RunResult) -> str:
    """`` (slowest: cell 5 41.0 s, cell 9 6.3 s)`` for a run that took more than
    :data:`~helpers.runner.timing.SLOW_RUN_S` seconds, else ""."""
    if result.duration <= timing.SLOW_RUN_S:
        return ""
    top = timing.slowest(result.cells, 3, at_least=timing.SLOW_CELL_S)
    if not top:
        return ""
    return " (slowest: " + ", ".join(f"cell {c['cell']} {format_duration(c['elapsed_s'])}" for c in top) + ")"
