"""The CLV summary (``customer_summary_expr``) on Spark local[2] beside DuckDB, with peak memory.

No speed requirement: on one machine DuckDB is expected to win; the ratio Spark / DuckDB is
recorded. The requirement is that the Spark summary of 10 million rows (1 million customers)
finishes and agrees with DuckDB's (same customers and total frequency, total monetary within
1e-6 relative); the script exits non-zero otherwise or when either side fails. Without pyspark
or Java it says what to install and exits 0.

    python benchmarks/bench_spark.py [--rows 10000000] [--customers 1000000]

Each side runs in a fresh process on the same cached Parquet file:

- DuckDB: ``Engine(memory_limit="4GB")``, ``eng.ibis.read_parquet(path)``.
- Spark: ``SparkEngine()`` (``SPARK_MASTER``, default local[2]) with ``spark.driver.memory=4g``
  and the project's other defaults (4 shuffle partitions); settings in ``WORKBENCH_SPARK_CONF``
  are added (driver memory stays 4g). The file is a temporary view: ``eng.table("tx")``.

Measured: ``start_s``, the engine's start (DuckDB: connect and load Ibis's backend; Spark: the
SparkSession, JVM included, and Ibis's pyspark backend); ``read_s``, making the table; ``summary_s``,
``customer_summary_expr(...).to_pyarrow().to_pandas()`` from the table to pandas (the number
compared); ``again_s``, the same summary run a second time in the same process (warm JVM).
``peak_mb`` is the peak of the summed resident memory of the process tree (Python and, for Spark,
its JVM child), sampled every 0.1 s from before the engine starts to the end of the first summary,
the same way for both sides; ``self_mb`` is the Python process's own peak (``ru_maxrss``), which
for Spark leaves out the JVM.
"""

from __future__ import annotations

import argparse
import os
import sys

from _common import run_child, table, transactions_parquet

CAL, OBS = "2024-06-30", "2024-12-31"
SPARK_CONF = "spark.driver.memory=4g"
REL_TOL = 1e-6

CHILD = """import json, threading, time
import psutil

class _Tree:
    # Peak of the summed RSS of this process and all its descendants (the JVM under Spark).
    def __init__(self):
        self.me, self.peak, self.stop = psutil.Process(), 0, threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def sample(self):
        total = 0
        for proc in [self.me, *self.me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)
        return self.peak

    def _loop(self):
        while not self.stop.wait(0.1):
            self.sample()

tree = _Tree()
from helpers.core.engine import Engine, SparkEngine
path = {path!r}
t = time.perf_counter()
if {which!r} == "duckdb":
    eng = Engine(memory_limit="4GB")
    eng.ibis  # connect + load Ibis's DuckDB backend
else:
    eng = SparkEngine()  # the SparkSession, JVM included
    eng.ibis  # Ibis's pyspark backend
start = time.perf_counter() - t
from helpers.clv.data import customer_summary_expr
t = time.perf_counter()
if {which!r} == "duckdb":
    table = eng.ibis.read_parquet(path)
else:
    eng.session.read.parquet(path).createOrReplaceTempView("tx")
    table = eng.table("tx")
read = time.perf_counter() - t
# On Spark, Ibis's to_pyarrow is execute() (Spark's toPandas, through Arrow) and then
# pandas -> Arrow; kept so both sides run the same code path.
t = time.perf_counter()
df = customer_summary_expr(table, {cal!r}, {obs!r}, "W").to_pyarrow().to_pandas()
summary = time.perf_counter() - t
tree.stop.set()
peak, self_peak = tree.sample(), _peak()
t = time.perf_counter()
again = customer_summary_expr(table, {cal!r}, {obs!r}, "W").to_pyarrow().to_pandas()
again_s = time.perf_counter() - t
result = {{"what": {label!r}, "engine": eng.describe(), "start_s": round(start, 2), "read_s": round(read, 2),
          "summary_s": round(summary, 2), "again_s": round(again_s, 2), "peak_mb": round(peak / 2**20),
          "self_mb": round(self_peak), "customers": len(df), "frequency_sum": int(df["frequency"].sum()),
          "monetary_sum": float(df["monetary"].sum()), "again_same": len(again) == len(df)}}
if {which!r} == "spark":
    conf = eng.session.conf
    result["conf"] = {{k: conf.get(k) for k in ("spark.driver.memory", "spark.sql.shuffle.partitions")}}
    from helpers.core.spark import stop_session
    stop_session()
print(json.dumps(result))"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args(argv)

    from helpers.core.spark import EngineUnavailable, check_available

    try:
        check_available()
    except EngineUnavailable as exc:
        print(f"skipped: {exc}")
        return 0

    path = str(transactions_parquet(args.rows, args.customers))
    # The user's WORKBENCH_SPARK_CONF first, so that the benchmark's driver memory wins.
    spark_conf = ";".join(c for c in (os.environ.get("WORKBENCH_SPARK_CONF", "").strip(), SPARK_CONF) if c)
    sides = (
        ("duckdb", "DuckDB (Ibis), 4 GB cap", {}),
        ("spark", "Spark (Ibis pyspark)", {"WORKBENCH_SPARK_CONF": spark_conf}),
    )
    runs = {}
    for which, label, env in sides:
        code = CHILD.format(path=path, which=which, label=label, cal=CAL, obs=OBS)
        try:
            runs[which] = run_child(code, env=env)
        except Exception as exc:  # report the side that failed, then exit non-zero
            print(f"{label} failed:\n{exc}", file=sys.stderr)
    if len(runs) < 2:
        if runs:
            print(table(list(runs.values()), ["what", "engine", "start_s", "summary_s", "peak_mb"]))
        return 1

    duck, spark = runs["duckdb"], runs["spark"]
    for r in (duck, spark):
        r["rows"] = f"{args.rows:,}"
    spark["spark/duckdb"] = f"{spark['summary_s'] / duck['summary_s']:.2f}x"
    same = (
        duck["customers"] == spark["customers"]
        and duck["frequency_sum"] == spark["frequency_sum"]
        and abs(duck["monetary_sum"] - spark["monetary_sum"]) <= REL_TOL * max(abs(duck["monetary_sum"]), 1e-12)
        and duck["again_same"]
        and spark["again_same"]
    )
    cols = ["rows", "what", "engine", "start_s", "read_s", "summary_s", "again_s", "peak_mb", "self_mb"]
    print(table([duck, spark], [*cols, "customers", "spark/duckdb"]))
    print(
        f"Spark settings: {spark['conf']}; warm (second summary) ratio "
        f"{spark['again_s'] / duck['again_s']:.2f}x; peak_mb = process tree (Python + JVM), self_mb = Python only"
    )
    print(
        f"agreement: customers {duck['customers']:,} / {spark['customers']:,}, frequency "
        f"{duck['frequency_sum']:,} / {spark['frequency_sum']:,}, monetary {duck['monetary_sum']:.6f} / "
        f"{spark['monetary_sum']:.6f}: {'same' if same else 'DIFFERENT'}"
    )
    print("no speed requirement; ratio recorded")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
