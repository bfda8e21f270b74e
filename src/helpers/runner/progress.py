"""Progress output of ``workbench run``: one line per notebook cell and per finished run."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from helpers.runner.common import format_duration
from helpers.runner.spec import RunResult


class Progress:
    """Progress lines: ``[name] cell 7/23 ...`` updated in place on a terminal, plain lines
    otherwise; then one status line per run."""

    def __init__(self, stream=None, tty: bool | None = None):
        self.stream = stream or sys.stdout
        if tty is None:
            try:
                tty = self.stream.isatty() and os.environ.get("TERM") != "dumb"
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.active: dict[str, str] = {}
        self._shown = False

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

    def _redraw(self) -> None:
        if not self.tty or not self.active:
            return
        line = "  ".join(self.active.values())
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        self._write("\r\x1b[K" + line)
        self._shown = bool(line)

    def line(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")
        self._redraw()

    def event(self, kind: str, name: str, *args: Any) -> None:
        if kind == "start":
            kernel, reason = args
            why = f" ({reason})" if reason else ""
            text = f"[{name}] starting kernel {kernel}{why} ..."
        elif kind == "cell":
            number, total = args
            text = f"[{name}] cell {number}/{total} ..."
        elif kind == "render":
            text = f"[{name}] rendering report ..."
        else:
            return
        if self.tty:
            self.active[name] = text
            self._redraw()
        else:
            self._write(text + "\n")

    def done(self, result: RunResult) -> None:
        self.active.pop(result.name, None)
        if result.status == "skipped":
            text = f"[{result.name}] skipped ({result.reason})" if result.reason else f"[{result.name}] skipped"
        else:
            text = f"[{result.name}] {result.status} {format_duration(result.duration)}"
            if result.error:
                where = f" (cell {result.error['cell']})" if result.error.get("cell") else ""
                text += f": {result.error['message']}{where}"
        self.line(text)
        for warning in result.warnings:
            self.line(f"[{result.name}] warning: {warning}")

    def finish(self) -> None:
        self._clear()
