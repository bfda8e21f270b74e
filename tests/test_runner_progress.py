"""helpers.runner.progress: progress lines on a terminal and in logs."""

from __future__ import annotations

import io

from helpers import runner


def test_progress_on_a_terminal_updates_in_place():
    buf = io.StringIO()
    p = runner.Progress(buf, tty=True)
    p.event("cell", "clv", 7, 23)
    p.done(runner.RunResult("clv", "ok", duration=2.5))
    text = buf.getvalue()
    assert "\r\x1b[K[clv] cell 7/23 ..." in text
    assert text.endswith("\r\x1b[K[clv] ok 2.5 s\n")
