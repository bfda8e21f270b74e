"""Customer clusters: ``CustomerClusters(n_clusters="auto", k_min=2, k_max=8).fit(...)`` end to end.

Requirement: 1 million customers clustered with automatic k (2..8, bootstrap included) within 60 s.
Baseline in the same run: what an analyst would do by hand with k already known, a plain
scikit-learn ``KMeans(n_clusters=<the chosen k>, n_init=10)`` on all customers' log1p-standardised
features, so the ratio shows what choosing k, the mixture, the stability bootstrap, profiles and
names add. Customers come from four simulated segments (seeded numpy); both sides also report the
adjusted Rand index against the simulated segments. Each side runs in a fresh process; peak memory
is that process's own maximum resident set (the simulated table included).

    python benchmarks/bench_segmentation_clustering.py [--customers 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys

from _common import run_child, table

LIMIT_S = 60.0
REQUIREMENT_CUSTOMERS = 1_000_000

SIMULATE = """import json, time
import numpy as np, pandas as pd
from sklearn.metrics import adjusted_rand_score
rng = np.random.default_rng({seed})
n = {n}
# median recency (days), mean extra purchase days, median spend, share: four segments
g = np.array([(12, 12.0, 1500.0, 0.15), (20, 0.3, 55.0, 0.30), (330, 0.2, 33.0, 0.35), (90, 4.0, 250.0, 0.20)])
truth = rng.choice(len(g), n, p=g[:, 3])
customers = pd.DataFrame({{
    "customer_id": np.arange(1, n + 1),
    "recency_days": np.round(g[truth, 0] * rng.lognormal(0, 0.35, n)),
    "frequency": 1 + rng.poisson(g[truth, 1]),
    "monetary": np.round(g[truth, 2] * rng.lognormal(0, 0.35, n), 2),
}})
"""

OURS = """from helpers.segmentation.clustering import CustomerClusters
t = time.perf_counter()
model = CustomerClusters(n_clusters="auto", k_min=2, k_max=8).fit(customers)
s = time.perf_counter() - t
print(json.dumps({"what": "CustomerClusters, auto k 2..8 (ours)", "seconds": round(s, 2), "peak_mb": round(_peak()),
                  "k": model.k_, "ari_vs_truth": round(adjusted_rand_score(truth, model.labels_), 3),
                  "reason": model.choice_reason_, "note": model.note_, "stability": model.stability_sentence()}))"""

BASELINE = """from sklearn.cluster import KMeans
t = time.perf_counter()
z = np.log1p(customers[["recency_days", "frequency", "monetary"]].to_numpy(dtype=float))
z = (z - z.mean(axis=0)) / z.std(axis=0)
labels = KMeans(n_clusters={k}, n_init=10, random_state=0).fit(z).labels_
s = time.perf_counter() - t
print(json.dumps({{"what": "sklearn KMeans, k={k} given, n_init=10 (baseline)", "seconds": round(s, 2),
                  "peak_mb": round(_peak()), "k": {k}, "ari_vs_truth": round(adjusted_rand_score(truth, labels), 3)}}))"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=REQUIREMENT_CUSTOMERS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    simulate = SIMULATE.format(seed=args.seed, n=args.customers)
    ours = run_child(simulate + OURS)
    base = run_child(simulate + BASELINE.format(k=ours["k"]))
    for r in (ours, base):
        r["customers"] = f"{args.customers:,}"
    ours["vs_baseline"] = f"{ours['seconds'] / base['seconds']:.2f}x"
    recovered = ours["ari_vs_truth"] >= 0.9 and ours["k"] == 4
    budget = LIMIT_S if args.customers <= REQUIREMENT_CUSTOMERS else None
    passed = recovered and (budget is None or ours["seconds"] <= budget)
    ours["requirement"] = (f"<= {budget:.0f} s " if budget else "") + ("PASS" if passed else "FAIL")
    print(
        table(
            [base, ours], ["customers", "what", "seconds", "peak_mb", "k", "ari_vs_truth", "vs_baseline", "requirement"]
        )
    )
    print(f"choice: {ours['reason']}")
    print(f"note: {ours['note'] or '(none)'}")
    print(f"stability: {ours['stability']}")
    print(
        "check: four simulated segments recovered (k = 4, adjusted Rand index >= 0.9): "
        + ("yes" if recovered else "NO")
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
