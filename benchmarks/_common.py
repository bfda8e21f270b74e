"""Shared pieces of the benchmarks: cached synthetic inputs, timing, peak memory of a child."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

CACHE = Path(os.environ.get("WORKBENCH_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))
ROOT = Path(__file__).resolve().parents[1]


def best_time(fn, repeats: int) -> tuple[float, object]:
    """The fastest of ``repeats`` calls of ``fn`` (seconds) and the last call's result."""
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def find_baseline(arg: str | None, env_var: str, venv: str) -> str | None:
    """The interpreter of a baseline that lives in its own virtual environment: ``arg`` (the
    ``--baseline-python`` option), else the environment variable ``env_var``, else
    ``<repository>/<venv>/bin/python`` if it exists; None when there is none."""
    cand = arg or os.environ.get(env_var)
    if cand:
        return cand
    default = ROOT / venv / "bin" / "python"
    return str(default) if default.exists() else None


def transactions_parquet(rows: int, customers: int) -> Path:
    """A transaction log with ``rows`` rows over ``customers`` customers and two years, ~5 %
    returns (negative amounts), written once by DuckDB and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"tx_{rows}_{customers}.parquet"
    if not path.exists():
        con = duckdb.connect()
        con.sql("SET enable_progress_bar = false")
        tmp = path.with_suffix(".tmp")
        con.sql(
            f"""COPY (SELECT 'C' || lpad(CAST(hash(i) % {customers} AS VARCHAR), 8, '0') AS customer_id,
                             DATE '2023-01-01' + CAST(hash(i * 7 + 1) % 730 AS INTEGER) AS date,
                             round(CAST(hash(i * 13 + 5) % 20000 AS DOUBLE) / 100.0 - 10.0, 2) AS amount
                        FROM range({rows}) t(i))
                TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"""
        )
        con.close()
        tmp.replace(path)
    return path


def transactions_csv(rows: int, customers: int, defects: int = 1000) -> Path:
    """The same log as CSV, with ``defects`` broken rows of each of three kinds appended."""
    path = CACHE / f"tx_{rows}_{customers}_{defects}.csv"
    if not path.exists():
        src = transactions_parquet(rows, customers)
        tmp = path.with_suffix(".tmp")
        con = duckdb.connect()
        con.sql("SET enable_progress_bar = false")
        con.sql(f"COPY (SELECT * FROM read_parquet('{src}')) TO '{tmp}' (HEADER, DELIMITER ',')")
        con.close()
        with open(tmp, "a", encoding="utf-8") as fh:
            for i in range(defects):
                fh.write(f",2024-01-01,{i}.5\n")  # missing customer id
                fh.write(f"C{i},2024-02-30,1.0\n")  # impossible date
                fh.write(f"C{i},2024-01-01\n")  # too few fields
        tmp.replace(path)
    return path


PEAK = "import resource; _peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"


def run_child(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line as its last output (use
    ``_peak()`` from the prelude for its own peak resident memory in MB)."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PEAK + code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 2)
    return result


def table(rows: list[dict], columns: list[str]) -> str:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    body = ["  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join([line, "-" * len(line), *body])


_MEASURE = r"""
import json, resource, subprocess, sys, time
import psutil

spec = json.loads(sys.argv[1])
log = open(spec["log"], "w", encoding="utf-8") if spec.get("log") else subprocess.DEVNULL
t0 = time.perf_counter()
child = subprocess.Popen(spec["cmd"], cwd=spec.get("cwd"), env=spec.get("env"), stdout=log, stderr=subprocess.STDOUT)
root = psutil.Process(child.pid)
rss_peak, pss_peak, per_pid, timed_out, tick = 0, 0, {}, False, 0
while child.poll() is None:
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    with_pss = tick % 5 == 0  # PSS costs ~3 ms a large process: every 0.5 s, RSS every 0.1 s
    rss_total = pss_total = 0
    for proc in procs:
        try:
            mem = proc.memory_full_info() if with_pss else proc.memory_info()
            if proc.pid not in per_pid:
                per_pid[proc.pid] = ["kernel" if "ipykernel" in " ".join(proc.cmdline()) else proc.name(), 0]
        except psutil.Error:
            continue
        rss_total += mem.rss
        pss_total += mem.pss if with_pss else 0
        per_pid[proc.pid][1] = max(per_pid[proc.pid][1], mem.rss)
    rss_peak, pss_peak, tick = max(rss_peak, rss_total), max(pss_peak, pss_total), tick + 1
    if spec.get("timeout") and time.perf_counter() - t0 > spec["timeout"]:
        timed_out = True
        for proc in procs[::-1]:
            try:
                proc.kill()
            except psutil.Error:
                pass
        child.wait()
        break
    time.sleep(0.1)
wall = time.perf_counter() - t0
largest = max(per_pid.values(), key=lambda v: v[1], default=["", 0])
kernel = max((v[1] for v in per_pid.values() if v[0] == "kernel"), default=0)
print(json.dumps({
    "returncode": child.returncode, "timed_out": timed_out, "wall_s": round(wall, 2),
    "maxrss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    "tree_pss_peak_mb": round(pss_peak / 2**20), "tree_rss_peak_mb": round(rss_peak / 2**20),
    "largest_mb": round(largest[1] / 2**20), "largest": largest[0], "kernel_sampled_mb": round(kernel / 2**20),
    "processes": len(per_pid),
}))
"""


def run_measured(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: str | Path | None = None,
    log: str | Path | None = None,
    timeout: float | None = None,
) -> dict:
    """Run ``cmd`` under a small wrapper process and measure it: ``wall_s`` (start to exit),
    ``maxrss_mb`` (the wrapper's ``RUSAGE_CHILDREN`` maximum resident set: the largest single
    process among the command and every descendant it waited for, e.g. a Jupyter kernel),
    ``tree_pss_peak_mb`` (the peak of the summed proportional set size of the whole process tree,
    sampled every 0.5 s: shared pages counted once, so a multi-process browser is not counted
    several times), ``tree_rss_peak_mb`` (summed resident memory, every 0.1 s; counts shared pages
    once per process), ``largest_mb`` / ``largest`` (the largest sampled process and what it was:
    ``kernel`` for an IPython kernel) and ``kernel_sampled_mb``. The command's output goes to
    ``log``; it is killed with its descendants after ``timeout`` seconds."""
    spec = {
        "cmd": [str(c) for c in cmd],
        "env": {**os.environ, **(env or {})},
        "cwd": str(cwd) if cwd else None,
        "log": str(log) if log else None,
        "timeout": timeout,
    }
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps(spec)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])
