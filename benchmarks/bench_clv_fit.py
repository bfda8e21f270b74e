"""Benchmark: fitting the CLV models on a large simulated customer base.

    python benchmarks/bench_clv_fit.py [--customers 1000000] [--repeats 3] [--seed 20240501]
                                       [--baseline-python PATH] [--no-baseline] [--continuous]

What it does
------------
1. Simulates ``--customers`` customers from the BG/NBD model with known parameters (CDNOW-like:
   r=0.243, alpha=4.41, a=0.79, b=2.43, time unit = weeks). Customers join over six months and are
   observed to a common end date, so T is 26-52 weeks; recency and T are recorded to the day (as a
   summary of a real transaction log would be), i.e. multiples of 1/7 week.
2. Writes the (frequency, recency, T) summary to a temporary CSV file that both sides read.
3. Fits ``helpers.clv.BetaGeoModel`` (best wall-clock time of ``--repeats`` runs, fit call only)
   and, in a subprocess with the baseline interpreter, lifetimes 0.11.3's ``BetaGeoFitter``
   (one run, fit call only, default settings, one row per customer as a typical user would call it).
4. Repeats 1-3 on a second BG/NBD base recorded on a *weekly* grid (recency and T rounded down
   to whole weeks, as a weekly summary of a log records them): customers whose repeat purchases
   all fell in their first week have frequency > 0 and recency 0. Both sides fit it; the
   parameters must agree there too (the speed-up is reported, not required).
5. Also times ``ParetoNBDModel`` on a Pareto/NBD-simulated base and ``GammaGammaModel`` on
   simulated spend of the repeat buyers (ours only; reported, not compared).
6. Prints a table and exits non-zero if the BG/NBD speed-up is below 10x (enforced for 1,000,000
   customers or more; smaller runs are smoke tests) or any BG/NBD parameter differs from
   lifetimes' by more than 1% (relative).

The baseline interpreter
------------------------
lifetimes 0.11.3 does not install next to numpy 2 / pandas 3, so it runs in its own venv:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install lifetimes==0.11.3 "numpy<2" "pandas<2.2" "scipy<1.14"

Pass its interpreter with ``--baseline-python`` or the ``CLV_BENCH_BASELINE_PYTHON`` environment
variable; by default ``.venv-bench/bin/python`` at the repository root is used if it exists. Without
it only our fits run (and the exit code does not check the speed-up).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import best_time, find_baseline
from helpers.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel, simulate

BG_TRUTH = {"r": 0.243, "alpha": 4.41, "a": 0.79, "b": 2.43}
PARETO_TRUTH = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
GG_TRUTH = {"p": 6.25, "q": 3.74, "v": 15.44}
MIN_SPEEDUP = 10.0
REQUIREMENT_SIZE = 1_000_000  # the speed-up is required (and enforced) at this size and above
MAX_REL_DIFF = 0.01

BASELINE_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from lifetimes import BetaGeoFitter
d = pd.read_csv(sys.argv[1])
t0 = time.perf_counter()
m = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "params": {k: float(v) for k, v in m.params_.items()}}))
"""


def _days_grid(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    T_days = rng.integers(183, 366, n)  # joined over ~6 months, observed to a common end
    return T_days, T_days / 7.0


CONTINUOUS = False  # set by --continuous: keep exact (never tied) purchase times


def _to_daily(t: np.ndarray, x: np.ndarray, T_days: np.ndarray) -> np.ndarray:
    """Round a continuous last-purchase time (weeks) up to whole days, as a daily log would."""
    if CONTINUOUS:
        return np.where(x > 0, t, 0.0)
    days = np.where(x > 0, np.clip(np.ceil(t * 7.0), 1, T_days), 0)
    return days / 7.0


def simulate_bgnbd(n: int, seed: int) -> pd.DataFrame:
    T_days, T = _days_grid(np.random.default_rng(seed + 100), n)
    d = simulate.simulate_bgnbd_summary(n, *BG_TRUTH.values(), seed=seed, T=T)
    return d.assign(recency=_to_daily(d["recency"].to_numpy(), d["frequency"].to_numpy(), T_days))


def simulate_bgnbd_weekly(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD customers with recency and T rounded down to whole weeks: some repeat buyers get
    recency 0 (every repeat purchase in their first week)."""
    _, T = _days_grid(np.random.default_rng(seed + 100), n)
    d = simulate.simulate_bgnbd_summary(n, *BG_TRUTH.values(), seed=seed, T=T)
    return d.assign(recency=np.floor(d["recency"].to_numpy()), T=np.floor(d["T"].to_numpy()))


def simulate_pareto(n: int, seed: int) -> pd.DataFrame:
    T_days, T = _days_grid(np.random.default_rng(seed + 100), n)
    d = simulate.simulate_pareto_nbd_summary(n, *PARETO_TRUTH.values(), seed=seed, T=T)
    return d.assign(recency=_to_daily(d["recency"].to_numpy(), d["frequency"].to_numpy(), T_days))


def simulate_spend(frequency: np.ndarray, seed: int) -> np.ndarray:
    spend = simulate.simulate_gamma_gamma_spend(frequency, *GG_TRUTH.values(), seed=seed)
    return np.round(spend, 2).clip(0.01)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="runs of our fits (best time is reported)")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--baseline-python", default=None, help="interpreter with lifetimes 0.11.3")
    ap.add_argument("--no-baseline", action="store_true", help="skip the lifetimes comparison")
    ap.add_argument(
        "--continuous",
        action="store_true",
        help="exact purchase times (no two customers share a summary): the worst case for our "
        "aggregation; informative only, the requirement is stated for day-resolution data",
    )
    args = ap.parse_args(argv)
    global CONTINUOUS
    CONTINUOUS = args.continuous
    n = args.customers

    baseline = (
        None if args.no_baseline else find_baseline(args.baseline_python, "CLV_BENCH_BASELINE_PYTHON", ".venv-bench")
    )
    datasets = {
        "daily": simulate_bgnbd(n, args.seed),
        "weekly grid (recency 0 allowed)": simulate_bgnbd_weekly(n, args.seed + 3),
    }
    results = {}
    for label, data in datasets.items():
        zero = int(((data["frequency"] > 0) & (data["recency"] == 0)).sum())
        print(
            f"Simulated {n:,} BG/NBD customers (truth {BG_TRUTH}), weeks, {label}: "
            f"{zero:,} repeat buyers with recency 0"
        )
        with tempfile.TemporaryDirectory(prefix="clv_bench_") as tmp:
            path = Path(tmp) / "bgnbd_summary.csv"
            data.to_csv(path, index=False)
            shared = pd.read_csv(path)  # both sides fit exactly what is in the file
            f, r, T = shared["frequency"], shared["recency"], shared["T"]
            t_bg, bg = best_time(lambda f=f, r=r, T=T: BetaGeoModel().fit(f, r, T), args.repeats)
            lt = None
            if baseline is not None:
                print(f"Running lifetimes 0.11.3 BetaGeoFitter with {baseline} ...", flush=True)
                proc = subprocess.run([baseline, "-c", BASELINE_SCRIPT, str(path)], capture_output=True, text=True)
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    print("baseline run failed", file=sys.stderr)
                    return 2
                lt = json.loads(proc.stdout.strip().splitlines()[-1])
        results[label] = (data, zero, t_bg, bg, lt)
    if baseline is None:
        print(
            "\nNo baseline interpreter: lifetimes not run. To compare, create it with\n"
            "    python3 -m venv .venv-bench && .venv-bench/bin/pip install lifetimes==0.11.3 "
            '"numpy<2" "pandas<2.2" "scipy<1.14"\n'
            "and pass --baseline-python .venv-bench/bin/python (or set CLV_BENCH_BASELINE_PYTHON)."
        )
    bg_data = datasets["daily"]

    pn_data = simulate_pareto(n, args.seed + 1)
    t_pn, pn = best_time(
        lambda: ParetoNBDModel().fit(pn_data["frequency"], pn_data["recency"], pn_data["T"]), args.repeats
    )
    rep = bg_data[bg_data["frequency"] > 0]
    spend = simulate_spend(rep["frequency"].to_numpy(), args.seed + 2)
    t_gg, gg = best_time(lambda: GammaGammaModel().fit(rep["frequency"], spend), args.repeats)

    status = 0
    for label, (data, zero, t_bg, bg, lt) in results.items():
        print(
            f"\n== BG/NBD, {n:,} customers, {label} ({data.drop_duplicates().shape[0]:,} distinct summaries, "
            f"{zero:,} with frequency > 0 and recency 0) =="
        )
        rows = []
        for k in BG_TRUTH:
            row = {"param": k, "truth": BG_TRUTH[k], "ours": bg.params_[k], "ours_se": bg.standard_errors_[k]}
            if lt is not None:
                row["lifetimes"] = lt["params"][k]
                row["rel_diff"] = abs(bg.params_[k] - lt["params"][k]) / abs(lt["params"][k])
            rows.append(row)
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        print(f"\n{'fit':<34}{'seconds':>10}")
        if lt is not None:
            ratio = lt["seconds"] / t_bg
            max_diff = max(r_["rel_diff"] for r_ in rows)
            print(f"{'lifetimes 0.11.3 BetaGeoFitter':<34}{lt['seconds']:>10.3f}")
        print(f"{'helpers.clv BetaGeoModel (best)':<34}{t_bg:>10.3f}")
        if lt is None:
            continue
        print(f"{'speed-up':<34}{ratio:>9.1f}x   (required >= {MIN_SPEEDUP:.0f}x on the daily data)")
        print(f"{'max relative parameter difference':<34}{max_diff:>10.2e}   (required <= {MAX_REL_DIFF:.0%})")
        enforced = label == "daily" and n >= REQUIREMENT_SIZE and not CONTINUOUS
        if ratio < MIN_SPEEDUP and enforced:
            print("FAIL: speed-up below requirement")
            status = 1
        elif ratio < MIN_SPEEDUP:
            print(
                f"(speed-up requirement applies to day-resolution data with >= {REQUIREMENT_SIZE:,} "
                "customers; not enforced here)"
            )
        if max_diff > MAX_REL_DIFF:
            print("FAIL: parameters differ from lifetimes by more than 1%")
            status = 1
    lt = results["daily"][4]
    print(
        f"{'helpers.clv ParetoNBDModel (best)':<34}{t_pn:>10.3f}   {n:,} customers; "
        + ", ".join(f"{k}={v:.4g}" for k, v in pn.params_.items())
        + f"  (truth {PARETO_TRUTH})"
    )
    print(
        f"{'helpers.clv GammaGammaModel (best)':<34}{t_gg:>10.3f}   {len(rep):,} repeat buyers; "
        + ", ".join(f"{k}={v:.4g}" for k, v in gg.params_.items())
        + f"  (truth {GG_TRUTH})"
    )
    if status == 0 and lt is not None:
        print("\nOK: requirement met")
    return status


if __name__ == "__main__":
    sys.exit(main())
