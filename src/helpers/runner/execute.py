"""Executing one run: kernels, papermill, finding the failing cell, and writing the run's files
(in this process or in a worker process of the pool).

The run writes into a build folder beside its run folder (:mod:`helpers.runner.rundir`); the
kernel gets ``WORKBENCH_RUN_DIR`` pointing there and its share of the cores
(:data:`helpers.runner.common.THREAD_VARS`), both through its own environment. A watchdog kills
the kernel when the whole run exceeds ``spec.timeout`` seconds; the run then fails with "stopped
after N s (timeout)".
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.core.io import write_atomic, write_json_atomic, write_text_atomic
from helpers.core.runfiles import METRICS_FILE, NOTEBOOK_FILE, PREVIOUS_FILE, REPORT_FILE, RUN_DIR_ENV
from helpers.runner import render, rundir, timing
from helpers.runner.common import (
    DEFAULT_KERNEL,
    INJECTED_TAG,
    PAPERMILL_ERROR_TAG,
    PARAMETERS_TAG,
    WorkbenchError,
    cell_source,
    cell_tags,
    lean_imports,
    now_iso,
)
from helpers.runner.spec import RunResult, RunSpec

_kernel_names: set[str] | None = None


def installed_kernels() -> set[str]:
    global _kernel_names
    if _kernel_names is None:
        from jupyter_client.kernelspec import KernelSpecManager

        _kernel_names = set(KernelSpecManager().find_kernel_specs())
    return _kernel_names


def resolve_kernel(requested: str | None, stored: str | None) -> str:
    """``--kernel`` as given, else the notebook's kernel if installed, else python3."""
    names = installed_kernels()
    if requested:
        if requested not in names:
            raise WorkbenchError(
                f"Kernel {requested!r} is not installed (installed: {', '.join(sorted(names)) or 'none'})."
            )
        return requested
    if stored and stored in names:
        return stored
    return DEFAULT_KERNEL


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def error_message(ename: str, evalue: str) -> str:
    """One sentence for an exception: its message's first line, with the exception type unless
    it is a ContractError (whose message is already the sentence a reader needs)."""
    text = _ANSI.sub("", evalue or "").strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) > 400:
        first = first[:399] + "…"
    if ename == "ContractError" and first:
        return first
    return f"{ename}: {first}" if first else ename


def _original_numbers(cells: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """For each cell of an executed notebook, its 1-based position in the notebook file
    (the injected-parameters cell gets the number of the parameters cell before it)."""
    numbers: list[int | None] = []
    n = 0
    for cell in cells:
        tags = cell_tags(cell)
        if PAPERMILL_ERROR_TAG in tags:
            numbers.append(None)
        elif INJECTED_TAG in tags:
            numbers.append(n if n else None)
        else:
            n += 1
            numbers.append(n)
    return numbers


def find_failure(nb: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first error output in an executed notebook: message, cell number, source."""
    cells = nb.get("cells") or []
    numbers = _original_numbers(cells)
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or PAPERMILL_ERROR_TAG in cell_tags(cell):
            continue
        for out in cell.get("outputs") or []:
            if out.get("output_type") == "error":
                ename, evalue = str(out.get("ename", "Error")), str(out.get("evalue", ""))
                if ename == "SystemExit" and evalue in ("", "0"):
                    continue
                return {
                    "ename": ename,
                    "evalue": _ANSI.sub("", evalue),
                    "message": error_message(ename, evalue),
                    "cell": numbers[index],
                    "cell_index": index,
                    "source": cell_source(cell),
                }
    return None


def _drop_parameter_parsing_noise(record) -> bool:
    # Parameters were already parsed and checked here (parse_parameters). papermill parses them
    # again with a simpler line parser that trips on annotations such as ``list | str | None`` or
    # on '=' inside a help comment, and warns; those warnings would only confuse.
    msg = str(record.msg)
    return not (msg.startswith("Passed unknown parameter") or msg.startswith("Unable to parse line"))


def _quiet_papermill() -> None:
    import logging

    for name in ("papermill", "papermill.translators"):  # filters do not apply to child loggers
        log = logging.getLogger(name)
        if _drop_parameter_parsing_noise not in log.filters:
            log.addFilter(_drop_parameter_parsing_noise)


class Watchdog:
    """Kills the run's kernel (its whole process group) once ``seconds`` have passed, and keeps
    killing any kernel the run starts afterwards, until stopped."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.fired = False
        self.kernels: list[Any] = []  # kernel managers of this run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Watchdog:
        if self.seconds:
            self._thread = threading.Thread(target=self._watch, name="workbench-timeout", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        if self._stop.wait(self.seconds):
            return
        self.fired = True
        while not self._stop.is_set():
            for km in list(self.kernels):
                kill_kernel(km)
            self._stop.wait(0.5)


def kill_kernel(km: Any) -> None:
    """SIGKILL a kernel started by ``km`` and the processes it started (its own process group)."""
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    pgid = getattr(provisioner, "pgid", None)
    if not pid:
        return
    try:
        if pgid and hasattr(os, "killpg") and pgid != os.getpgrp():
            os.killpg(pgid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kernel_manager_class(env: Mapping[str, str], watchdog: Watchdog):
    """A kernel manager class that starts kernels with ``env`` added to this process's
    environment and shows them to ``watchdog`` (papermill passes it on to nbclient)."""
    from jupyter_client import AsyncKernelManager

    class RunKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            merged = dict(kw.pop("env", None) or os.environ)
            merged.update(env)
            kw["env"] = merged
            watchdog.kernels.append(self)
            return await super()._async_pre_start_kernel(**kw)

    return RunKernelManager


def kernel_environment(spec: RunSpec, build_dir: Path, spill_dir: Path | None = None) -> dict[str, str]:
    """What the run's kernel gets on top of this process's environment (``spill_dir``: where its
    DuckDB spills, removed by the runner after the run)."""
    from helpers.core.engine import TEMP_DIR_ENV

    env = dict(spec.kernel_env)
    env[RUN_DIR_ENV] = str(build_dir.resolve())
    if spill_dir is not None:
        env[TEMP_DIR_ENV] = str(spill_dir)
    return env


def timeout_failure(seconds: float, cell: int | None) -> dict[str, Any]:
    message = f"stopped after {seconds:g} s (timeout)"
    return {"ename": "Timeout", "evalue": message, "message": message, "cell": cell, "source": ""}


def _execute_notebook(
    spec: RunSpec, tmp_nb: Path, build_dir: Path, emit: Callable[..., None], times: timing.CellTimes | None = None
):
    """Execute with papermill; returns (executed notebook or None, failure dict or None).

    Each code cell is timed from just before it is sent to the kernel until its reply
    (``times``); its elapsed seconds go into its metadata and a ``cell_done`` event."""
    lean_imports()
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    _quiet_papermill()
    nb = nbformat.read(spec.notebook, as_version=4)
    timing.clear_elapsed(nb.cells)
    times = times if times is not None else timing.CellTimes()
    kernel = spec.resolved_kernel or DEFAULT_KERNEL
    ks = nb.metadata.get("kernelspec") or {}
    language = ks.get("language") or (nb.metadata.get("language_info") or {}).get("name") or "python"
    total = len(nb.cells)
    injected = bool(spec.parameters)
    param_index = next((i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in cell_tags(c)), -1)
    current: dict[str, int | None] = {"cell": None}

    def on_cell_execute(cell=None, cell_index=0, **_):
        # nbclient calls this just before it sends a code cell to the kernel (not for empty
        # cells), and on_cell_executed once the kernel has replied, error or not
        if cell is None:
            return
        # Once the kernel is up and busy (not while it starts: the thread's imports slowed the
        # kernel's start from 1.7 s to 3.2 s), get the renderer ready beside it.
        _start_warming()
        if INJECTED_TAG in cell_tags(cell):
            times.start(None, "")
            return
        number = cell_index + 1
        if injected and param_index >= 0 and cell_index > param_index:
            number -= 1  # papermill inserted the injected-parameters cell after the parameters cell
        current["cell"] = number
        label = timing.cell_label(cell_source(cell))
        times.start(number, label)
        emit("cell", spec.name, number, total, label)

    def on_cell_executed(cell=None, cell_index=0, **_):
        entry = times.stop()
        if entry is None or cell is None:
            return
        timing.set_elapsed(cell, entry["elapsed_s"])
        if entry["cell"] is not None:
            emit("cell_done", spec.name, entry["cell"], total, entry["elapsed_s"])

    config = Config({"KernelManager": {"transport_encryption": "auto"}})
    watchdog = Watchdog(spec.timeout)
    spill_dir = Path(tempfile.mkdtemp(prefix="workbench-duckdb-run-"))
    emit("start", spec.name, kernel, spec.reason)
    watchdog.start()
    try:
        executed = papermill.execute_notebook(
            nb,
            str(tmp_nb),
            parameters=spec.parameters or None,
            kernel_name=kernel,
            language=language,
            cwd=str(spec.notebooks_dir),
            progress_bar=False,
            request_save_on_cell_execute=False,
            start_timeout=120,
            on_cell_execute=on_cell_execute,
            on_cell_executed=on_cell_executed,
            config=config,
            kernel_manager_class=kernel_manager_class(kernel_environment(spec, build_dir, spill_dir), watchdog),
            # Every cell has replied and its output arrived: the kernel is stopped at once. A
            # graceful exit tears down every module and frees the data one object at a time (1.5 s
            # for a small report, several seconds with gigabytes in memory) for nothing; what it
            # leaves behind (DuckDB's spill folder) is spill_dir, removed below.
            shutdown_kernel="immediate",
        )
        if watchdog.fired:  # the last cell ended just as time ran out
            return executed, find_failure(executed) or timeout_failure(spec.timeout or 0, current["cell"])
        return executed, find_failure(executed)
    except PapermillExecutionError as exc:
        times.interrupt()  # none is running after a cell's error (it was timed): kept for safety
        executed = nbformat.read(tmp_nb, as_version=4) if tmp_nb.exists() else None
        failure = find_failure(executed) if executed is not None else None
        if failure is None:
            failure = {
                "ename": exc.ename,
                "evalue": exc.evalue,
                "message": error_message(exc.ename, exc.evalue),
                "cell": None,
                "source": exc.source,
            }
        return executed, failure
    except Exception:
        times.interrupt()
        if not watchdog.fired:
            raise
        executed = _read_partial(tmp_nb)
        return executed, timeout_failure(spec.timeout or 0, current["cell"])
    finally:
        watchdog.stop()
        shutil.rmtree(spill_dir, ignore_errors=True)


def _read_partial(tmp_nb: Path):
    """The notebook papermill saved up to the point the kernel was stopped, if any."""
    import nbformat

    try:
        return nbformat.read(tmp_nb, as_version=4) if tmp_nb.exists() and tmp_nb.stat().st_size else None
    except Exception:
        return None


_renderer_warm = False
_warm_thread = None


def _start_warming() -> None:
    """While the kernel starts and runs, this process mostly waits: use that time to get the
    renderer ready in a thread (once per process)."""
    global _warm_thread
    if _renderer_warm or _warm_thread is not None:
        return
    import threading

    _warm_thread = threading.Thread(target=_warm_renderer, name="workbench-warm-renderer", daemon=True)
    _warm_thread.start()


def _wait_for_warming() -> None:
    if _warm_thread is not None:
        _warm_thread.join()


def _warm_renderer() -> None:
    """Import nbconvert and compile its templates (about 0.5-0.9 s, once per process)."""
    global _renderer_warm
    try:
        lean_imports()
        import nbformat

        render.html_exporter().from_notebook_node(
            nbformat.v4.new_notebook(), resources={"workbench": {"title": "", "css": "", "header_html": ""}}
        )
    except Exception:
        pass  # rendering the real report will raise (and be reported) if something is wrong
    _renderer_warm = True


def execute_run(spec: RunSpec, emit: Callable[..., None] | None = None) -> RunResult:
    """Execute one run and write its notebook, metrics and report into a new build folder beside
    the run folder (``result.build_dir``; the caller records the state there and swaps it in with
    :func:`helpers.runner.rundir.commit`). Never raises for a failing notebook (the result says
    failed); on KeyboardInterrupt the build folder is removed and the run folder left as it was."""
    emit = emit or (lambda *a: None)
    build_dir = rundir.new_build_dir(spec.output_dir, spec.name)
    started_at = now_iso()
    t0 = time.perf_counter()
    result = RunResult(spec.name, "ok", started_at=started_at, kernel=spec.resolved_kernel, build_dir=build_dir)
    executed = None
    fd, tmp_name = tempfile.mkstemp(dir=build_dir, prefix=".notebook.", suffix=".ipynb")
    os.close(fd)
    tmp_nb = Path(tmp_name)
    try:
        if spec.previous:
            write_json_atomic(build_dir / PREVIOUS_FILE, spec.previous)
        times = timing.CellTimes()
        try:
            executed, failure = _execute_notebook(spec, tmp_nb, build_dir, emit, times)
        except Exception as exc:  # kernel could not start, died, ...
            failure = {
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "message": error_message(type(exc).__name__, str(exc)),
                "cell": None,
                "source": "",
            }
        duration = time.perf_counter() - t0
        result.cells = times.cells
        if executed is not None:
            _write_notebook(executed, build_dir / NOTEBOOK_FILE)
        if not (build_dir / METRICS_FILE).exists():
            write_json_atomic(build_dir / METRICS_FILE, {})
        if failure:
            result.status, result.error = "failed", failure
        _wait_for_warming()
        emit("render", spec.name)
        try:
            header = render.report_header(spec, result.status, failure, started_at, duration, build_dir)
            page = render.render_report(executed, header, failure, spec.notebooks_dir)
            result.warnings.extend(render.external_references(page))
            write_text_atomic(build_dir / REPORT_FILE, page)
        except Exception as exc:
            previous = spec.run_dir / REPORT_FILE
            if previous.is_file():  # readers keep the last report that could be rendered
                shutil.copy2(previous, build_dir / REPORT_FILE)
            if not failure:
                result.status = "failed"
                result.error = {
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "cell": None,
                    "source": "",
                    "message": "The report could not be rendered: " + error_message(type(exc).__name__, str(exc)),
                }
    except BaseException:
        rundir.discard(build_dir)
        raise
    finally:
        tmp_nb.unlink(missing_ok=True)
    result.finished_at = now_iso()
    result.duration = time.perf_counter() - t0
    return result


def _write_notebook(nb, path: Path) -> None:
    import nbformat

    write_atomic(path, lambda fh: nbformat.write(nb, fh))
