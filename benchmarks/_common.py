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
