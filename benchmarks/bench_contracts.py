"""Checking a 10-million-row transaction CSV against its contract, with quarantine.

Requirement: under 15 s and under 2 GB of memory. Baseline measured in the same run:
``pandas.read_csv`` of the same file (which only parses, it checks nothing).

    python benchmarks/bench_contracts.py [--rows 10000000] [--customers 1000000]
"""

from __future__ import annotations

import argparse
import sys

from _common import run_child, table, transactions_csv

LIMIT_S, LIMIT_MB = 15.0, 2048.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--defects", type=int, default=1000, help="broken rows of each of three kinds")
    args = ap.parse_args(argv)
    path = transactions_csv(args.rows, args.customers, args.defects)
    print(
        f"input: {path.name} ({path.stat().st_size / 1e6:,.0f} MB, {args.rows:,} good rows + {3 * args.defects:,} broken)"
    )

    pandas_run = run_child(
        f"""import json, time, pandas as pd
t = time.perf_counter(); df = pd.read_csv({str(path)!r}, on_bad_lines="skip"); s = time.perf_counter() - t
print(json.dumps({{"what": "pandas.read_csv (baseline, no checks)", "seconds": round(s, 2), "peak_mb": round(_peak()), "rows": len(df)}}))"""
    )
    ours = run_child(
        f"""import json, time, tempfile
from helpers import contracts
from helpers.core.engine import set_default_engine
set_default_engine(memory_limit="1500MB")
t = time.perf_counter()
r = contracts.validate({str(path)!r}, "transactions", quarantine_dir=tempfile.mkdtemp())
s = time.perf_counter() - t
print(json.dumps({{"what": "contracts.validate (DuckDB, 1.5 GB cap)", "seconds": round(s, 2), "peak_mb": round(_peak()),
                  "rows": r.rows_read, "accepted": r.rows_accepted, "quarantined": r.rows_quarantined}}))"""
    )
    rows = [pandas_run, ours]
    print(table(rows, ["what", "seconds", "peak_mb", "rows", "accepted", "quarantined"]))
    print(
        f"ratio: contracts.validate takes {ours['seconds'] / pandas_run['seconds']:.2f}x the time of a bare pandas.read_csv"
    )
    expected_q = 3 * args.defects
    ok = ours["quarantined"] == expected_q and ours["rows"] == args.rows + expected_q
    ok &= ours["seconds"] < LIMIT_S and ours["peak_mb"] < LIMIT_MB
    print(
        ("PASS" if ok else "FAIL")
        + f": requirement < {LIMIT_S:.0f} s and < {LIMIT_MB:.0f} MB, all {expected_q:,} broken rows set aside"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
