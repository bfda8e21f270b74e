"""Transaction log -> per-customer CLV summary (the Ibis expression ``customer_summary_expr``).

Requirements: 10 million rows (1 million customers) within 5 s; 100 million rows within 90 s
under a 4 GB memory cap. Baseline in the same run: the same summary as one hand-written DuckDB
SQL query (what "DuckDB alone" costs), so the ratio shows what Ibis adds.
Both read the same Parquet file and return a pandas DataFrame of one row per customer; the timed
part starts with a loaded engine (importing Ibis's backend, about a second, is paid once per session).

    python benchmarks/bench_clv_summary.py [--rows 10000000 100000000] [--customers 1000000]
"""

from __future__ import annotations

import argparse
import sys

from _common import run_child, table, transactions_parquet

LIMITS = {10_000_000: 5.0, 100_000_000: 90.0}

HAND_SQL = """
WITH days AS (
  SELECT customer_id, CAST(date AS DATE) AS date, sum(amount) AS amount
  FROM read_parquet('{path}') WHERE amount >= 0 GROUP BY ALL),
per AS (
  SELECT customer_id, min(date) AS first_purchase, arg_min(amount, date) AS first_spend,
         max(date) FILTER (WHERE date <= DATE '{cal}') AS last_purchase,
         count(*) FILTER (WHERE date <= DATE '{cal}') AS cal_days,
         sum(amount) FILTER (WHERE date <= DATE '{cal}') AS cal_spend,
         count(*) FILTER (WHERE date > DATE '{cal}' AND date <= DATE '{obs}') AS frequency_holdout,
         sum(amount) FILTER (WHERE date > DATE '{cal}' AND date <= DATE '{obs}') AS holdout_spend
  FROM days GROUP BY customer_id)
SELECT customer_id, first_purchase, cal_days - 1 AS frequency,
       date_diff('day', first_purchase, last_purchase) / 7.0 AS recency,
       date_diff('day', first_purchase, DATE '{cal}') / 7.0 AS T,
       CASE WHEN cal_days > 1 THEN (cal_spend - first_spend) / (cal_days - 1) ELSE 0 END AS monetary,
       frequency_holdout,
       CASE WHEN frequency_holdout > 0 THEN holdout_spend / frequency_holdout ELSE 0 END AS monetary_holdout,
       cal_spend AS spend_calibration
FROM per WHERE first_purchase <= DATE '{cal}'
"""

CHILD = """import json, time
from helpers.core.engine import Engine
eng = Engine(memory_limit={limit!r})
path, cal, obs = {path!r}, "2024-06-30", "2024-12-31"
if {which!r} == "ibis":
    eng.ibis  # load the Ibis backend once (a library import, paid once per session, not per summary)
t = time.perf_counter()
if {which!r} == "duckdb":
    df = eng.con.sql({sql!r}.format(path=path, cal=cal, obs=obs)).df()
else:
    from helpers.clv.data import customer_summary_expr
    table = eng.ibis.read_parquet(path)
    df = customer_summary_expr(table, cal, obs, "W").to_pyarrow().to_pandas()
s = time.perf_counter() - t
print(json.dumps({{"what": {label!r}, "seconds": round(s, 2), "peak_mb": round(_peak()), "customers": len(df),
                  "frequency_sum": int(df["frequency"].sum())}}))"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    ok = True
    results = []
    for rows in args.rows:
        path = str(transactions_parquet(rows, args.customers))
        limit = "4GB"
        runs = []
        for which, label in (
            ("duckdb", "hand-written DuckDB SQL (baseline)"),
            ("ibis", "customer_summary_expr (Ibis on DuckDB)"),
        ):
            r = run_child(CHILD.format(limit=limit, path=path, which=which, sql=HAND_SQL, label=label))
            r["rows"] = f"{rows:,}"
            runs.append(r)
        base, ours = runs
        same = base["customers"] == ours["customers"] and base["frequency_sum"] == ours["frequency_sum"]
        budget = LIMITS.get(rows)
        passed = same and (budget is None or ours["seconds"] <= budget)
        ok &= passed
        ours["vs_baseline"] = f"{ours['seconds'] / base['seconds']:.2f}x"
        ours["requirement"] = (f"<= {budget:.0f} s " if budget else "") + ("PASS" if passed else "FAIL")
        results += runs
    print(table(results, ["rows", "what", "seconds", "peak_mb", "customers", "vs_baseline", "requirement"]))
    print("memory cap: 4GB (DuckDB memory_limit); same customers and frequency totals from both: checked")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
