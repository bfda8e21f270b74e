"""Benchmark: Markov-chain attribution on a million distinct paths against ChannelAttribution.

    python benchmarks/bench_channels_attribution.py [--paths 1000000] [--channels 8] [--seed 7]
                                                    [--repeats 3] [--orders 1 2 3]
                                                    [--baseline-python PATH] [--no-baseline]

What it does
------------
1. Simulates ``--paths`` DISTINCT paths (seeded): ``--channels`` channels (5-10) drawn with
   Dirichlet shares, lengths 1-10 uniformly (short paths repeat, so draws continue until enough
   distinct ones), 1 + Geometric(0.5) journeys per path converting with a logistic probability in
   the channels' touches. Written once to ``benchmarks/.cache/channel_paths_<n>_<k>_<seed>.csv``.
2. Ours: ``MarkovAttribution(order=1).fit(path, conversions, nulls)`` on the CSV read by pandas
   (fit call only, best of ``--repeats``), then orders 2 and 3 (``--orders``) and the whole
   :func:`attribution_table` (five rules, Markov, Shapley; informative).
3. Baseline, in its own interpreter (subprocess): ChannelAttribution 2.2.5's
   ``markov_model(Data, "path", "conversions", var_null="nulls", order=1)`` with its defaults
   (1e5 simulations to start, ``max_step`` = the longest path, one core; the call only), then
   once more with ``max_step=100, nsim_start=1e6`` for an accurate comparison. Its removal
   effects are Monte-Carlo: with the defaults a simulated journey is cut after ``max_step`` steps
   (and counted as a null), which biases them down when journeys loop; with 100 steps and 1e6
   simulations the difference to our exact values is Monte-Carlo noise (a few 1e-3).
4. Prints a table and saves it (JSON) to ``benchmarks/results/bench_channels_attribution.json``.
   Exits 1 if ours (order 1) is slower than the default ChannelAttribution run, or if our removal
   effects differ from the accurate run by more than 0.02 (a bug, not noise), at ``--paths``
   >= 1,000,000 (smaller runs are smoke tests).

The baseline interpreter
------------------------
    python3 -m venv .venv-bench-ca && .venv-bench-ca/bin/pip install channelattribution==2.2.5 matplotlib

(the package imports matplotlib without declaring it). Found at ``.venv-bench-ca/bin/python``, or
pass ``--baseline-python`` / set ``CA_BENCH_BASELINE_PYTHON``. Without it only ours run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from _common import CACHE, best_time, find_baseline, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.channels.attribution import MarkovAttribution, attribution_table

NAMES = ("search", "social", "email", "display", "direct", "affiliate", "video", "referral", "push", "sms")
REQUIREMENT_SIZE = 1_000_000
MAX_RE_DIFF = 0.02
RESULTS = Path(__file__).resolve().parent / "results" / "bench_channels_attribution.json"

BASELINE_SCRIPT = r"""
import contextlib, io, json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ca
d = pd.read_csv(sys.argv[1])
out = {}
for label, kw in (("default", {}), ("accurate", {"max_step": 100, "nsim_start": 1e6})):
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        r = ca.markov_model(d, "path", "conversions", var_null="nulls", order=1, out_more=True,
                            verbose=False, flg_pro=False, **kw)
    elapsed = time.perf_counter() - t0
    re = r["removal_effects"].set_index("channel_name").iloc[:, 0]
    out[label] = {"seconds": elapsed, "removal_effects": {str(k): float(v) for k, v in re.items()}}
print(json.dumps(out))
"""


def simulate_paths(n: int, k: int, seed: int) -> pd.DataFrame:
    """``n`` distinct paths over ``k`` channels with conversions and nulls (see the module doc)."""
    if not 1 <= k <= len(NAMES):
        raise ValueError(f"--channels must be 1-{len(NAMES)}, not {k}")
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(k, 3.0))
    base = k + 1
    codes, lengths, touches = [], [], []
    distinct = 0
    while distinct < n:  # draw batches until n distinct paths exist (short ones repeat)
        L = rng.integers(1, 11, n)
        ch = rng.choice(k, size=int(L.sum()), p=shares)
        starts = np.cumsum(L) - L
        pos = np.arange(ch.size) - np.repeat(starts, L)
        codes.append(np.add.reduceat((ch + 1) * base**pos, starts))
        lengths.append(L)
        touches.append(ch)
        distinct = np.unique(np.concatenate(codes)).size
    code, L, ch = np.concatenate(codes), np.concatenate(lengths), np.concatenate(touches)
    _, first = np.unique(code, return_index=True)
    keep = np.zeros(code.size, dtype=bool)
    keep[np.sort(first)[:n]] = True
    L, ch = L[keep], ch[np.repeat(keep, L)]
    offsets = pa.array(np.concatenate([[0], np.cumsum(L)]).astype(np.int32))
    tokens = pa.DictionaryArray.from_arrays(pa.array(ch.astype(np.int32)), pa.array(NAMES[:k])).cast(pa.string())
    paths = pc.binary_join(pa.ListArray.from_arrays(offsets, tokens), " > ")
    beta = rng.normal(0.3, 0.2, k)
    eta = -3.0 + np.bincount(np.repeat(np.arange(n), L), weights=beta[ch], minlength=n)
    journeys = 1 + rng.geometric(0.5, n)
    conv = rng.binomial(journeys, 1.0 / (1.0 + np.exp(-eta)))
    return pd.DataFrame({"path": paths.to_pandas(), "conversions": conv, "nulls": journeys - conv})


def paths_csv(n: int, k: int, seed: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"channel_paths_{n}_{k}_{seed}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        simulate_paths(n, k, seed).to_csv(tmp, index=False)
        tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paths", type=int, default=1_000_000, help="distinct paths")
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3, help="runs of our fits (best time is reported)")
    ap.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--baseline-python", default=None, help="interpreter with channelattribution 2.2.5")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)
    n = args.paths

    t0 = time.perf_counter()
    csv = paths_csv(n, args.channels, args.seed)
    data = pd.read_csv(csv)
    print(
        f"{len(data):,} distinct paths ({data['path'].nunique():,} unique), {args.channels} channels, "
        f"{int(data['conversions'].sum()):,} conversions, {int(data['nulls'].sum()):,} nulls "
        f"({time.perf_counter() - t0:.1f} s to load or simulate; {csv})",
        flush=True,
    )
    p, c, u = data["path"], data["conversions"], data["nulls"]
    ours = {}
    for order in sorted({1, *args.orders}):
        t, m = best_time(lambda order=order: MarkovAttribution(order=order).fit(p, c, u), args.repeats)
        ours[order] = (t, m)
        print(f"ours order {order}: {t:.3f} s, {m.n_states_:,} states", flush=True)
    t_table, _ = best_time(lambda: attribution_table(p, c, u), 1)

    baseline = (
        None if args.no_baseline else find_baseline(args.baseline_python, "CA_BENCH_BASELINE_PYTHON", ".venv-bench-ca")
    )
    ca = None
    if baseline is not None:
        print(f"Running ChannelAttribution 2.2.5 markov_model with {baseline} ...", flush=True)
        proc = subprocess.run([baseline, "-c", BASELINE_SCRIPT, str(csv)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            print("baseline run failed", file=sys.stderr)
            return 2
        ca = json.loads(proc.stdout.strip().splitlines()[-1])
    else:
        print(
            "\nNo baseline interpreter: ChannelAttribution not run. Create it with\n"
            "    python3 -m venv .venv-bench-ca && .venv-bench-ca/bin/pip install channelattribution==2.2.5 matplotlib"
        )

    re1 = ours[1][1].removal_effects_
    rows = []
    for order, (t, m) in ours.items():
        rows.append({"what": f"ours MarkovAttribution(order={order})", "seconds": f"{t:.3f}", "states": m.n_states_})
    rows.append({"what": "ours attribution_table (7 models)", "seconds": f"{t_table:.3f}"})
    diffs = {}
    if ca is not None:
        for label in ("default", "accurate"):
            theirs = pd.Series(ca[label]["removal_effects"]).reindex(re1.index)
            diffs[label] = float((theirs - re1).abs().max())
            what = (
                "ChannelAttribution order 1, defaults"
                if label == "default"
                else "ChannelAttribution, 100 steps, 1e6 sims"
            )
            rows.append(
                {
                    "what": what,
                    "seconds": f"{ca[label]['seconds']:.3f}",
                    "ours/theirs": f"{ours[1][0] / ca[label]['seconds']:.2f}",
                    "max |RE diff|": f"{diffs[label]:.2e}",
                }
            )
    print()
    print(table(rows, ["what", "seconds", "states", "ours/theirs", "max |RE diff|"]))
    print("\nremoval effects, order 1 (ours, exact):", {k: round(v, 4) for k, v in re1.items()})

    status = 0
    enforced = n >= REQUIREMENT_SIZE
    if ca is not None:
        ratio = ours[1][0] / ca["default"]["seconds"]
        print(f"\nours / ChannelAttribution (order 1, defaults): {ratio:.2f} (required <= 1)")
        print(f"max |RE diff| against the accurate run: {diffs['accurate']:.2e} (required <= {MAX_RE_DIFF})")
        if enforced and ratio > 1.0:
            print("FAIL: slower than ChannelAttribution")
            status = 1
        if enforced and diffs["accurate"] > MAX_RE_DIFF:
            print("FAIL: removal effects differ from ChannelAttribution's")
            status = 1
        if not enforced:
            print(f"(requirements apply at >= {REQUIREMENT_SIZE:,} paths; not enforced here)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "paths": n,
                "channels": args.channels,
                "seed": args.seed,
                "ours_seconds": {str(o): t for o, (t, _) in ours.items()},
                "ours_states": {str(o): m.n_states_ for o, (_, m) in ours.items()},
                "attribution_table_seconds": t_table,
                "channelattribution": ca,
                "max_abs_removal_effect_diff": diffs,
                "removal_effects": {k: float(v) for k, v in re1.items()},
                "status": status,
            },
            indent=2,
        )
    )
    if status == 0 and ca is not None and enforced:
        print("\nOK: requirement met")
    return status


if __name__ == "__main__":
    sys.exit(main())
