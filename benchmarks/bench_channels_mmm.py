"""Benchmark: the marketing-mix model with bootstrap intervals against PyMC-Marketing's MMM.

    python benchmarks/bench_channels_mmm.py [--weeks 156] [--datasets 3] [--seed 20240501]
                                            [--bootstrap 200] [--draws 500] [--tune 500] [--chains 2]
                                            [--baseline-python PATH] [--no-baseline]

What it does
------------
1. Simulates ``--datasets`` weekly data sets with ``helpers.channels.simulate.generate_spend``
   (``--weeks`` weeks, 4 channels tv/search/social/display, seeds ``--seed``, ``--seed`` + 1, ...):
   geometric adstock (l_max 8) and logistic saturation, so the true ROAS per channel is known.
2. Ours: ``MarketingMixModel(adstock="geometric", saturation="logistic", l_max=8, seasonality=2,
   bootstrap=200)`` (default holdout of 12 weeks included), one timed fit per data set. Its ROAS is
   the model's point estimate, the posterior mean (importance sampling around the posterior mode,
   see ``helpers.channels.mmm``), the interval the 5 % and 95 % bootstrap percentiles.
3. Baseline, in a subprocess with its own interpreter: PyMC-Marketing 0.19.2's documented
   ``pymc_marketing.mmm.multidimensional.MMM`` with ``GeometricAdstock(l_max=8)``,
   ``LogisticSaturation()``, ``yearly_seasonality=2`` and a linear trend as the control ``t``
   (weeks / (weeks - 1), in [0, 1]); default priors; NUTS with ``--tune``/``--draws`` per chain,
   ``--chains`` chains on as many cores. Its ROAS is the posterior mean of the channel's summed
   contribution (``channel_contribution_original_scale``) over its spend, the interval the 5 % and
   95 % posterior quantiles. Timed: model build + sampling (imports excluded).
4. Prints a table per data set and the summary; writes ``benchmarks/results/bench_channels_mmm.json``.

Requirements (exit code 1 if one fails):
- each of our fits (with intervals) <= 30 s;
- speed-up (baseline time / ours, summed over the data sets) >= 10x;
- ROAS accuracy: our mean absolute relative error against the true ROAS (over channels and data
  sets) <= the baseline's + 0.05. The margin: on one data set the error of either method moves by
  about 0.1 from seed to seed (the weakly identified channels dominate it), so several data sets
  are compared and 5 points of relative error are allowed on their mean.

The baseline interpreter
------------------------
PyMC-Marketing pins its own PyMC/PyTensor stack, so it lives in its own venv:

    python3 -m venv .venv-bench-pymc && .venv-bench-pymc/bin/pip install pymc-marketing==0.19.2

It is found at ``.venv-bench-pymc/bin/python`` or passed with ``--baseline-python`` (or
``MMM_BENCH_BASELINE_PYTHON``). Without it (or with ``--no-baseline``) only our fits run and
only the time requirement is checked.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import find_baseline
from helpers.channels.mmm import MarketingMixModel
from helpers.channels.simulate import generate_spend

CHANNELS = ["tv", "search", "social", "display"]
MAX_SECONDS = 30.0
MIN_SPEEDUP = 10.0
ROAS_MARGIN = 0.05
RESULTS = ROOT / "benchmarks" / "results"

BASELINE_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import logging
logging.getLogger("pymc").setLevel(logging.ERROR)
import numpy as np, pandas as pd
from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
from pymc_marketing.mmm.multidimensional import MMM
import pymc_marketing
draws, tune, chains = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = []
for i, path in enumerate(sys.argv[4:]):
    d = pd.read_csv(path, parse_dates=["date"])
    channels = [c for c in d.columns if c not in ("date", "revenue")]
    X = d[["date", *channels]].copy()
    X["t"] = np.arange(len(d)) / (len(d) - 1)
    y = d["revenue"].rename("y")
    t0 = time.perf_counter()
    mmm = MMM(date_column="date", channel_columns=channels, target_column="y",
              adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(),
              control_columns=["t"], yearly_seasonality=2)
    mmm.build_model(X, y)
    mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
    idata = mmm.fit(X, y, draws=draws, tune=tune, chains=chains, cores=chains, random_seed=i, progressbar=False)
    seconds = time.perf_counter() - t0
    total = idata.posterior["channel_contribution_original_scale"].sum("date")
    spend = d[channels].sum()
    mean = total.mean(("chain", "draw")).to_series() / spend
    q = total.quantile([0.05, 0.95], dim=("chain", "draw"))
    low, high = q.sel(quantile=0.05).to_series() / spend, q.sel(quantile=0.95).to_series() / spend
    div = int(idata.sample_stats["diverging"].sum())
    out.append({"seconds": seconds, "roas": mean.to_dict(), "roas_low": low.to_dict(), "roas_high": high.to_dict(),
                "divergences": div})
print(json.dumps({"version": pymc_marketing.__version__, "fits": out}))
"""


def mare(est: dict, truth: dict) -> float:
    return float(np.mean([abs(est[c] / truth[c] - 1.0) for c in CHANNELS]))


def run_baseline(python: str, paths: list[Path], args) -> dict:
    ready = subprocess.run([python, "-c", "import pymc_marketing"], capture_output=True, text=True)
    if ready.returncode != 0:
        raise RuntimeError(f"{python} cannot import pymc_marketing:\n{ready.stderr[-2000:]}")
    cmd = [python, "-c", BASELINE_SCRIPT, str(args.draws), str(args.tune), str(args.chains), *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weeks", type=int, default=156)
    ap.add_argument("--datasets", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--baseline-python", default=None, help="interpreter with pymc-marketing 0.19.2")
    ap.add_argument("--no-baseline", action="store_true", help="skip the PyMC-Marketing comparison")
    args = ap.parse_args(argv)

    seeds = [args.seed + i for i in range(args.datasets)]
    sims = {s: generate_spend(args.weeks, seed=s) for s in seeds}
    truth = {s: {c: sims[s].truth["channels"][c]["roas"] for c in CHANNELS} for s in seeds}
    ours = {}
    for s in seeds:
        model = MarketingMixModel(
            adstock="geometric", saturation="logistic", l_max=8, seasonality=2, bootstrap=args.bootstrap, seed=0
        )
        t0 = time.perf_counter()
        model.fit(sims[s].frame, "date", "revenue", CHANNELS)
        seconds = time.perf_counter() - t0
        r = model.roas_
        ours[s] = {"seconds": seconds, **{k: r[k].to_dict() for k in ("roas", "roas_low", "roas_high")},
                   "r2": model.r2_, "holdout_mape": model.holdout_mape_, "notes": model.notes_}  # fmt: skip
        print(f"seed {s}: our fit with {args.bootstrap} bootstrap refits {seconds:.2f} s", flush=True)

    baseline = (
        None
        if args.no_baseline
        else find_baseline(args.baseline_python, "MMM_BENCH_BASELINE_PYTHON", ".venv-bench-pymc")
    )
    theirs, version = {}, None
    if baseline is not None:
        print(f"Running PyMC-Marketing with {baseline} ({args.datasets} data sets, {args.chains} chains x "
              f"{args.tune} tune + {args.draws} draws) ...", flush=True)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="mmm_bench_") as tmp:
            paths = []
            for s in seeds:
                paths.append(Path(tmp) / f"spend_{s}.csv")
                sims[s].frame.to_csv(paths[-1], index=False)
            out = run_baseline(baseline, paths, args)
        version = out["version"]
        theirs = dict(zip(seeds, out["fits"]))
    else:
        print("\nNo baseline interpreter (or --no-baseline): PyMC-Marketing not run. Create it with\n"
              "    python3 -m venv .venv-bench-pymc && .venv-bench-pymc/bin/pip install pymc-marketing==0.19.2")  # fmt: skip

    rows = []
    for s in seeds:
        for c in CHANNELS:
            row = {"seed": s, "channel": c, "true_roas": truth[s][c], "ours": ours[s]["roas"][c],
                   "ours_90": f"{ours[s]['roas_low'][c]:.3f}-{ours[s]['roas_high'][c]:.3f}",
                   "ours_err": ours[s]["roas"][c] / truth[s][c] - 1}  # fmt: skip
            if s in theirs:
                t = theirs[s]
                row |= {"pymc": t["roas"][c], "pymc_90": f"{t['roas_low'][c]:.3f}-{t['roas_high'][c]:.3f}",
                        "pymc_err": t["roas"][c] / truth[s][c] - 1}  # fmt: skip
            rows.append(row)
    print("\n" + pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    status = 0
    t_ours = sum(ours[s]["seconds"] for s in seeds)
    e_ours = float(np.mean([mare(ours[s]["roas"], truth[s]) for s in seeds]))
    cover = lambda fit, s: sum(fit[s]["roas_low"][c] <= truth[s][c] <= fit[s]["roas_high"][c] for c in CHANNELS)  # noqa: E731
    print(f"\n{'':<44}{'ours':>12}{'PyMC-Marketing':>18}")
    line = f"{'fit time, per data set (s)':<44}" + "".join(f"{ours[s]['seconds']:>7.2f}" for s in seeds)
    print(line + ("   |" + "".join(f"{theirs[s]['seconds']:>8.1f}" for s in seeds) if theirs else ""))
    e_theirs = float(np.mean([mare(theirs[s]["roas"], truth[s]) for s in seeds])) if theirs else None
    print(f"{'ROAS mean abs. relative error, per data set':<44}" + "".join(
        f"{mare(ours[s]['roas'], truth[s]):>7.3f}" for s in seeds)
        + ("   |" + "".join(f"{mare(theirs[s]['roas'], truth[s]):>8.3f}" for s in seeds) if theirs else ""))  # fmt: skip
    print(f"{'ROAS mean abs. relative error, all':<44}{e_ours:>7.3f}" + (f"   |{e_theirs:>8.3f}" if theirs else ""))
    n_int = 4 * len(seeds)
    print(f"{'truth inside the 90 % ROAS intervals':<44}{sum(cover(ours, s) for s in seeds):>4} / {n_int}"
          + (f"  |{sum(cover(theirs, s) for s in seeds):>5} / {n_int}" if theirs else ""))  # fmt: skip
    slow = [s for s in seeds if ours[s]["seconds"] > MAX_SECONDS]
    print(f"our slowest fit {max(ours[s]['seconds'] for s in seeds):.2f} s (required <= {MAX_SECONDS:.0f} s)")
    if slow:
        print(f"FAIL: fits slower than {MAX_SECONDS:.0f} s for seeds {slow}")
        status = 1
    result = {"weeks": args.weeks, "seeds": seeds, "bootstrap": args.bootstrap, "truth": truth, "ours": ours,
              "ours_mare": e_ours, "pymc_marketing": version, "theirs": theirs, "theirs_mare": e_theirs}  # fmt: skip
    if theirs:
        t_theirs = sum(theirs[s]["seconds"] for s in seeds)
        ratio = t_theirs / t_ours
        result["speedup"] = ratio
        print(f"speed-up {ratio:.1f}x (PyMC-Marketing {version}: {t_theirs:.1f} s / ours {t_ours:.2f} s; "
              f"required >= {MIN_SPEEDUP:.0f}x)")  # fmt: skip
        print(f"ROAS error: ours {e_ours:.3f} vs PyMC-Marketing {e_theirs:.3f} (required <= theirs + {ROAS_MARGIN})")
        if ratio < MIN_SPEEDUP:
            print("FAIL: speed-up below requirement")
            status = 1
        if e_ours > e_theirs + ROAS_MARGIN:
            print("FAIL: our ROAS error is above PyMC-Marketing's plus the margin")
            status = 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS / "bench_channels_mmm.json"
    out_path.write_text(json.dumps(result, indent=1, default=str))
    print(f"results written to {out_path.relative_to(ROOT)}")
    if status == 0:
        print("\nOK: requirements met" + ("" if theirs else " (time only; no baseline)"))
    return status


if __name__ == "__main__":
    sys.exit(main())
