"""Report previews during ``workbench run``: a screenshot of the top of each report, made in the
browser of :mod:`helpers.runner.browser`.

- :func:`write_previews` saves ``preview.png`` beside each report, one browser for the batch.
- :class:`PreviewWorker` makes them while ``workbench run`` executes: its thread starts the
  browser when the batch starts (so that its start, about a second, overlaps the kernels) and
  previews each report as soon as its run is committed; :func:`runner_previews`, before the index is
  written, hands it any report still without a preview and waits for it. ``WORKBENCH_PREVIEWS=0``
  turns previews off; without Chromium or Playwright the reports are written without previews and
  the run says so once. A preview that fails is a warning, never a failed run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from helpers.runner.browser import (
    PREVIEW_SCALE,
    Browser,
    BrowserUnavailable,
    missing,
    previews_enabled,
)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _preview_each(browser: Browser, reports: Iterable[Path], warn: Callable[[Path, str], None] | None) -> list[Path]:
    """Previews of ``reports`` in one tab; a report whose preview fails goes to ``warn``."""
    written: list[Path] = []
    page = browser.new_page(PREVIEW_SCALE)
    for report in reports:
        try:
            written.append(browser.preview(report, page=page))
        except Exception as exc:
            if warn is not None:
                warn(report, _first_line(exc))
            try:  # a page that crashed is replaced for the next report
                page.close()
            except Exception:
                pass
            page = browser.new_page(PREVIEW_SCALE)
    return written


def write_previews(
    report_paths: Sequence[Path], warn: Callable[[Path, str], None] | None = None
) -> tuple[list[Path], float]:
    """Save ``preview.png`` beside each report of ``report_paths`` (missing reports are passed
    over), one browser for all. A report whose preview fails is passed to ``warn(report, reason)``
    and the others go on. Returns (previews written, seconds the browser took to start).

    Raises :class:`BrowserUnavailable` when no browser can be started."""
    reports = [Path(p) for p in report_paths if Path(p).is_file()]
    if not reports:
        return [], 0.0
    if _in_event_loop():  # Playwright's sync API refuses to run inside an asyncio loop (Jupyter)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(write_previews, reports, warn).result()
    with Browser() as browser:
        return _preview_each(browser, reports, warn), browser.launch_seconds


class PreviewWorker:
    """Previews made while the runs execute: :meth:`start` starts a thread that starts the browser
    and then previews each report handed to it by :meth:`submit`, in order; :meth:`finish` waits
    for them. Playwright's sync API is only used from that thread (the one that made it). The
    thread is a daemon, and on Ctrl-C :meth:`cancel` gives it a few seconds at most.

    :meth:`start` does nothing when previews are off or Chromium or Playwright is missing (then
    :func:`runner_previews` says so). Nothing here raises: what goes wrong is a warning line."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._submitted: set[Path] = set()
        self._cancelled = False
        self._done = threading.Event()  # the thread's work is over, its browser closed
        self.warnings: list[str] = []  # appended to by the thread
        self.launch_seconds = 0.0

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None and previews_enabled() and missing() is None:
            self._thread = threading.Thread(target=self._work, name="workbench-previews", daemon=True)
            self._thread.start()

    def submit(self, report: Path) -> None:
        """Preview ``report`` (once; a report that does not exist is passed over)."""
        report = Path(report)
        if self._thread is not None and report not in self._submitted and report.is_file():
            self._submitted.add(report)
            self._queue.put(report)

    def finish(self, timeout: float | None = None) -> list[str]:
        """Wait for the previews submitted, at most ``timeout`` s (default 60 + 10 per report);
        returns the warnings (a preview that failed, a browser that did not start or finish)."""
        if self._thread is None or self._cancelled:
            return []
        self._queue.put(None)
        timeout = 60.0 + 10.0 * len(self._submitted) if timeout is None else timeout
        try:  # (an Event, not join(): Python 3.11 can crash on exit after a join that Ctrl-C interrupted)
            done = self._done.wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            raise
        if not done:
            self.cancel(wait=0)
            self.warnings.append(
                f"Previews not finished after {timeout:.0f} s: the reports without one get it on the next run."
            )
        return list(self.warnings)

    def cancel(self, wait: float = 5.0) -> None:
        """Stop after the current preview (the reports left get theirs on the next run), and give
        the browser at most ``wait`` s to close (Python can crash on exit while a thread is still
        inside Playwright)."""
        self._cancelled = True
        self._queue.put(None)
        if self._thread is not None:
            self._done.wait(wait)

    def _next(self) -> Path | None:
        report = self._queue.get()
        return None if self._cancelled else report

    def _work(self) -> None:
        def warn(report: Path, why: str) -> None:
            self.warnings.append(f"[{report.parent.name}] warning: preview not written: {why}")

        # The kernels go first: the browser, started from this thread, inherits its nice value
        # (Linux sets it per thread); nice 10 took 0.2-0.4 s off a single report's run on 2 cores.
        if sys.platform == "linux":
            with contextlib.suppress(OSError):
                tid = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, tid, max(10, os.getpriority(os.PRIO_PROCESS, tid)))
        try:
            with Browser() as browser:
                self.launch_seconds = browser.launch_seconds
                _preview_each(browser, iter(self._next, None), warn)
        except BrowserUnavailable as exc:
            self.warnings.append(f"Reports written without previews: {exc}")
        except Exception as exc:
            self.warnings.append(f"Reports written without previews: the browser failed ({type(exc).__name__}: {exc}).")
        finally:
            self._done.set()


def runner_previews(
    report_paths: Sequence[Path], line: Callable[[str], None], worker: PreviewWorker | None = None
) -> None:
    """The runner's step before the index: previews of ``report_paths``, made by ``worker`` (the
    batch's, started when the batch started; else one started now), then waits for every preview
    given to it. Nothing when ``WORKBENCH_PREVIEWS=0``. Without a browser, says once (through
    ``line``) that the reports have no previews, and why; a failed preview is a warning line.
    Never raises, except on KeyboardInterrupt."""
    if not previews_enabled():
        return
    reports = [Path(p) for p in report_paths if Path(p).is_file()]
    worker = worker or PreviewWorker()
    if not worker.started:
        if not reports:
            return
        reason = missing()
        if reason:
            line(f"Reports written without previews: {reason}")
            return
        worker.start()
    for report in reports:
        worker.submit(report)
    for warning in worker.finish():
        line(warning)
