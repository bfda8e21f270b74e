"""Benchmark: what ``workbench run`` adds on top of the notebooks themselves.

    python benchmarks/bench_runner.py [--notebooks 4] [--repeats 3] [--kernel python3]

What it measures (everything in a temporary folder, trivial notebooks of 3 cells)
-------------------------------------------------------------------------------
1. Cold single run: ``workbench run NB --force`` as a new process (interpreter start, imports,
   kernel start, execution, HTML export, index), wall-clock, best of ``--repeats`` (median shown).
2. Runner overhead per notebook: ``workbench run`` of ``--notebooks`` notebooks in one process;
   total wall-clock / number of notebooks, and the split of one run into kernel start + execution,
   HTML export and index (in-process timings).
3. No-op incremental run: ``workbench run`` again with nothing changed (every run skipped), as
   a new process, wall-clock, best of ``--repeats`` (median shown).

Best-of-N: the machine is shared (2 cores), and other people's jobs only ever add time; the
minimum is the figure that does not depend on them.

Previews are off (``WORKBENCH_PREVIEWS=0``) in every measure: this measures the runner; what the
reports' previews add is measured by ``bench_previews.py``.

Requirements (exit code 1 if missed): overhead per notebook < 3 s (both the cold single run
and the per-notebook average), no-op incremental run < 2 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.runner.browser import PREVIEWS_ENV  # set to 0: bench_previews.py measures previews

MAX_OVERHEAD = 3.0
MAX_NOOP = 2.0


def make_notebook(path: Path, kernel: str, i: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# Trivial notebook {i}\n\nA report with one number."),
            new_code_cell("n: int = 3  # how many", metadata={"tags": ["parameters"]}),
            new_code_cell("print(f'n squared is {n * n}')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, path)


def workbench(tmp: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [
        sys.executable,
        "-m",
        "helpers",
        "run",
        *args,
        "--notebooks-dir",
        str(tmp / "notebooks"),
        "--output-dir",
        str(tmp / "reports"),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, env={**os.environ, PREVIEWS_ENV: "0"})
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        raise SystemExit(f"workbench run failed with exit code {proc.returncode}")
    return elapsed, proc


def split_one_run(tmp: Path, name: str) -> dict[str, float]:
    """Kernel start + execution, HTML export and index of one run, timed in this process
    (imports done beforehand, as in a batch)."""
    from helpers import runner
    from helpers.runner import render

    runner.lean_imports()
    import nbformat  # noqa: F401  (imports are not what this part measures)
    import papermill  # noqa: F401

    runner.html_exporter()
    project = runner.open_project(tmp / "notebooks", tmp / "reports", None, tmp)
    (spec,) = runner.plan_runs(project, runner.RunOptions(notebooks=[name], name=f"{name}-split"))
    spec.resolved_kernel = runner.resolve_kernel(spec.kernel, runner.read_notebook_info(spec.notebook).kernel_name)
    timings: dict[str, float] = {}
    original = render.render_report  # looked up there by helpers.runner.execute

    def timed_render(*a, **k):
        t = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            timings["html export"] = time.perf_counter() - t

    render.render_report = timed_render
    try:
        t0 = time.perf_counter()
        result = runner.execute_run(spec)
        total = time.perf_counter() - t0
    finally:
        render.render_report = original
    if result.status != "ok":
        raise SystemExit(f"split run failed: {result.error}")
    t = time.perf_counter()
    runner.write_index(project.output_dir)
    timings["index"] = time.perf_counter() - t
    timings["kernel start + execute"] = total - timings["html export"]
    return timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", type=int, default=4, help="notebooks in the batch (default 4)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the cold and no-op runs (default 3)")
    ap.add_argument("--kernel", default="python3", help="kernel of the notebooks (default python3)")
    args = ap.parse_args(argv)
    repeats = max(1, args.repeats)

    with tempfile.TemporaryDirectory(prefix="bench-runner-") as d:
        tmp = Path(d)
        (tmp / "notebooks").mkdir()
        names = [f"nb{i}" for i in range(args.notebooks)]
        for i, name in enumerate(names):
            make_notebook(tmp / "notebooks" / f"{name}.ipynb", args.kernel, i)
        make_notebook(tmp / "notebooks" / "single.ipynb", args.kernel, 99)

        print(f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, kernel {args.kernel}\n", flush=True)
        colds = [workbench(tmp, "single", "--force")[0] for _ in range(repeats)]
        batch, _ = workbench(tmp, *names)
        per_notebook = batch / len(names)
        noops = []
        for _ in range(repeats):
            elapsed, proc = workbench(tmp, *names, "single")
            assert proc.stdout.count("skipped") >= len(names) + 1, proc.stdout
            noops.append(elapsed)
        split = split_one_run(tmp, "single")

    rows = [
        ("cold single run (new process, everything)", colds, MAX_OVERHEAD),
        (f"overhead per notebook ({len(names)} in one run)", [per_notebook], MAX_OVERHEAD),
        (f"no-op incremental run ({len(names) + 1} runs skipped)", noops, MAX_NOOP),
    ]
    print(f"{'measure':<50}{'best':>7}{'median':>8}{'limit':>7}")
    failed = False
    for label, values, limit in rows:
        best, median = min(values), sorted(values)[len(values) // 2]
        ok = best < limit
        failed |= not ok
        print(f"{label:<50}{best:>7.2f}{median:>8.2f}{limit:>7.1f}  {'ok' if ok else 'FAIL'}")
    print("\none run, in-process (imports already done):")
    for label, value in split.items():
        print(f"  {label:<48}{value:>9.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
