"""``workbench run``: plan, lock the runs' folders, skip what is unchanged, execute the rest (one
at a time or in a pool of worker processes), record each run's state, swap its folder in, and
rewrite the index.

Each kernel gets its share of the cores: ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``WORKBENCH_THREADS`` are set to cores // runs at once (at least 1) in the
kernel's environment, unless they are set already.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from helpers.core.io import read_json, write_json_atomic
from helpers.core.runfiles import METRICS_FILE, NOTEBOOK_FILE, REPORT_FILE, RUN_FILE
from helpers.runner import history, rundir, timing
from helpers.runner.cache import (
    FileHasher,
    describe_change,
    helpers_hash,
    parameter_files,
    recorded_input_files,
    rel_path,
    remote_inputs,
    run_key,
)
from helpers.runner.common import CACHE_FILE, THREAD_VARS, WorkbenchError, format_date, format_duration, now_iso
from helpers.runner.execute import error_message, execute_run, resolve_kernel
from helpers.runner.index import load_run_state, run_state_path, write_index
from helpers.runner.notebook import read_notebook_info
from helpers.runner.plan import Project, RunOptions, open_project, plan_runs
from helpers.runner.progress import Progress
from helpers.runner.spec import RunResult, RunSpec

_worker_queue = None


def _worker_init(queue) -> None:
    global _worker_queue
    _worker_queue = queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _worker_emit(*event) -> None:
    if _worker_queue is not None:
        try:
            _worker_queue.put(event)
        except Exception:
            pass


def _worker_run(spec: RunSpec) -> RunResult:
    return execute_run(spec, _worker_emit)


def _run_parallel(
    specs: Sequence[RunSpec],
    jobs: int,
    progress: Progress,
    on_done: Callable[[RunSpec, RunResult], None],
    started: Callable[[], None] = lambda: None,
) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    import threading
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # fork is fastest but only safe from a single-threaded process (the CLI); elsewhere (e.g.
    # under pytest-xdist, which runs threads) start workers from a clean forkserver/spawn.
    methods = mp.get_all_start_methods()
    if "fork" in methods and sys.platform != "darwin" and threading.active_count() == 1:
        method = "fork"
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = mp.get_context(method)
    events = ctx.Queue()

    def drain() -> None:
        while True:
            try:
                progress.event(*events.get_nowait())
            except queue_mod.Empty:
                return
            except (EOFError, OSError):
                return

    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init, initargs=(events,)) as pool:
        futures = {pool.submit(_worker_run, spec): spec for spec in specs}
        started()  # the workers are forked (at the first submit): threads may start now
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                spec = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # the worker process died
                    result = RunResult(
                        spec.name,
                        "failed",
                        error={
                            "ename": type(exc).__name__,
                            "evalue": str(exc),
                            "cell": None,
                            "source": "",
                            "message": error_message(type(exc).__name__, str(exc)),
                        },
                    )
                on_done(spec, result)
        drain()
    events.close()


def kernel_threads(jobs: int, cpu_count: int | None = None) -> dict[str, str]:
    """The thread settings each of ``jobs`` kernels running at once gets: its share of the cores
    (at least 1) for every variable of :data:`THREAD_VARS` the caller has not set, and OpenMP
    threads that sleep rather than spin while they wait (``OMP_WAIT_POLICY=PASSIVE``)."""
    share = max(1, (cpu_count or os.cpu_count() or 1) // max(1, jobs))
    env = {var: os.environ[var] if os.environ.get(var) else str(share) for var in THREAD_VARS}
    # OpenMP threads that spin while waiting stall for minutes when another process holds a core
    # (scikit-learn's gradient boosting: 5.7 s passive, > 90 s active, beside one busy process).
    env["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY") or "PASSIVE"
    return env


def check_output_dir(output_dir: Path) -> None:
    """Stop with one sentence when reports cannot be written to ``output_dir``."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=output_dir, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise WorkbenchError(
            f"Cannot write reports to {output_dir}: {reason}. Choose another folder with --output-dir."
        ) from None


def run_reports(options: RunOptions, progress: Progress | None = None, cwd: Path | None = None) -> int:
    """``workbench run``: returns the exit code (0 all ok or skipped, 1 a run failed).
    Raises WorkbenchError (exit 2) for problems found before anything executes."""
    t_start = time.perf_counter()
    progress = progress or Progress()
    project = open_project(options.notebooks_dir, options.output_dir, options.config, cwd)
    specs = plan_runs(project, options)
    output_dir = project.output_dir
    check_output_dir(output_dir)
    locks: list[rundir.RunLock] = []
    try:
        for spec in sorted(specs, key=lambda s: s.name):  # one order for every process: no deadlock
            locks.append(rundir.RunLock(output_dir, spec.name).acquire(progress.line))
            rundir.recover(output_dir, spec.name)
        return _run_locked(options, project, specs, progress, t_start)
    finally:
        for lock in locks:
            lock.release()


def _run_locked(options: RunOptions, project: Project, specs: list[RunSpec], progress: Progress, t_start: float) -> int:
    from helpers.core.runfiles import PREVIEW_FILE
    from helpers.runner.previews import PreviewWorker, runner_previews

    output_dir = project.output_dir
    previews = PreviewWorker()  # previews made while the runs execute (never fail a run)
    hasher = FileHasher(output_dir / CACHE_FILE)
    infos = {s.notebook: read_notebook_info(s.notebook) for s in specs}
    code_hashes: dict[tuple[str, ...], str] = {}

    def code_hash(spec: RunSpec) -> str:
        imports = infos[spec.notebook].helper_imports
        if imports not in code_hashes:
            code_hashes[imports] = helpers_hash(hasher, imports)
        return code_hashes[imports]

    to_run: list[RunSpec] = []
    results: dict[str, RunResult] = {}
    previous: dict[str, dict | None] = {}
    param_inputs: dict[str, set[Path]] = {}
    for spec in specs:
        state = load_run_state(output_dir, spec.name)
        previous[spec.name] = state
        param_inputs[spec.name] = parameter_files(spec.effective_parameters(), spec.notebooks_dir)
        recorded = {spec.notebooks_dir / p for p in (state or {}).get("inputs", [])}
        key, parts = run_key(spec, infos[spec.notebook], hasher, code_hash(spec), param_inputs[spec.name] | recorded)
        outputs_there = all((spec.run_dir / f).exists() for f in (REPORT_FILE, NOTEBOOK_FILE))
        remote = (state or {}).get("remote_inputs") or []
        unchanged = state and state.get("status") == "ok" and state.get("key") == key and outputs_there
        if not options.force and unchanged and not remote:
            state["last_action"] = "skipped"
            state["checked_at"] = now_iso()
            write_json_atomic(run_state_path(output_dir, spec.name), state)
            result = RunResult(spec.name, "skipped", reason=f"unchanged since {format_date(state.get('started_at'))}")
            results[spec.name] = result
            progress.done(result)
        else:
            to_run.append(spec)
            spec.previous = history.last_success(history.history_of(state, spec.run_dir))
            if options.force:
                spec_reason = "forced"
            elif unchanged and remote:
                spec_reason = f"reads data where it lives ({remote[0]}): cannot tell whether it changed"
            elif state and state.get("status") != "ok":
                spec_reason = "previous run failed"
            elif state and state.get("key") == key:
                spec_reason = "outputs missing"
            else:
                spec_reason = describe_change((state or {}).get("key_parts"), parts)
            spec.reason = spec_reason
            results[spec.name] = RunResult(spec.name, "pending", reason=spec_reason)

    def on_done(spec: RunSpec, result: RunResult) -> None:
        build = result.build_dir if result.build_dir is not None and result.build_dir.is_dir() else None
        recorded = recorded_input_files(build or spec.run_dir, spec.notebooks_dir)
        inputs = param_inputs[spec.name] | recorded
        key, parts = run_key(spec, infos[spec.notebook], hasher, code_hash(spec), inputs)
        state = {
            "name": spec.name,
            "title": spec.title,
            "notebook": rel_path(spec.notebook, spec.notebooks_dir),
            "status": result.status,
            "last_action": "ran",
            "reason": results[spec.name].reason,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "checked_at": result.finished_at,
            "duration_s": round(result.duration, 3),
            "parameters": spec.parameters,
            "kernel": result.kernel,
            "key": key,
            "key_parts": parts,
            "inputs": sorted(rel_path(p, spec.notebooks_dir) for p in recorded),
            "remote_inputs": remote_inputs(build or spec.run_dir),
            "key_metrics": spec.key_metrics,
            "error": {k: v for k, v in result.error.items() if k != "cell_index"} if result.error else None,
            "warnings": result.warnings,
            "cells": result.cells,
            "slowest_cell": timing.slowest_cell(result.cells),
            "history": history.extended(
                history.history_of(previous[spec.name], spec.run_dir),
                history.entry(result.started_at, result.status, read_json(build / METRICS_FILE) if build else None),
            ),
        }
        if build is not None:  # the run's files and its state replace the previous run together
            write_json_atomic(build / RUN_FILE, state)
            rundir.commit(build, spec.run_dir)
            previews.submit(spec.run_dir / REPORT_FILE)
        else:  # the worker died: no files, but the run is recorded as failed (never skipped)
            rundir.recover(output_dir, spec.name)
            write_json_atomic(run_state_path(output_dir, spec.name), state)
        results[spec.name] = result
        progress.done(result)

    try:
        if to_run:
            jobs = max(1, min(options.jobs, len(to_run)))
            threads = kernel_threads(jobs)
            for spec in to_run:
                spec.resolved_kernel = resolve_kernel(spec.kernel, infos[spec.notebook].kernel_name)
                spec.kernel_env = dict(threads)
            if jobs == 1:
                previews.start()
                for spec in to_run:
                    on_done(spec, execute_run(spec, progress.event))
            else:
                _run_parallel(to_run, jobs, progress, on_done, started=previews.start)
    except KeyboardInterrupt:
        previews.cancel()  # not waited for: reports left without a preview get one on the next run
        raise
    finally:
        progress.finish()
        hasher.save()
        order = [r.name for r in project.runs] + [s.name for s in specs]
        try:  # previews of the reports written now, and of any report still without one: waited for
            runner_previews(
                [
                    s.run_dir / REPORT_FILE
                    for s in specs
                    if results[s.name].status in ("ok", "failed") or not (s.run_dir / PREVIEW_FILE).exists()
                ],
                progress.line,
                previews,
            )
        finally:
            index = write_index(output_dir, order)

    final = [results[s.name] for s in specs]
    counts = {k: sum(r.status == k for r in final) for k in ("ok", "failed", "skipped")}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing to do"
    progress.line(
        f"{len(final)} run(s): {summary} in {format_duration(time.perf_counter() - t_start)}; index: {_display_path(index)}"
    )
    return 1 if counts["failed"] else 0


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
