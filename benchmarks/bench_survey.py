"""The whole survey analysis on a large export: 100,000 respondents x 40 items.

Requirement: everything the survey notebook computes (contract check of the file, cleaning,
raking, NPS, CSAT, indices and distributions of three item blocks, reliability, key drivers with
exact Shapley importance on 15 drivers, group tests and letters, waves, expectation gaps) within
60 s. Baseline in the same run: what a quick hand analysis costs, ``pandas.read_csv`` plus a mean
per item and one least-squares regression of the outcome on the drivers (no checks, no weights,
no intervals, no tests), so the ratio shows the price of doing it properly. Each side runs in a
fresh process; peak memory is that process's own.

    python benchmarks/bench_survey.py [--respondents 100000]
"""

from __future__ import annotations

import argparse
import sys

from _common import CACHE, run_child, table

LIMIT_S = 60.0
DRIVERS = [f"d{i:02d}" for i in range(1, 16)]


def survey_csv(respondents: int):
    """15 driver ratings, a 10-item trust scale, 15 importance ratings (40 items on 1-5), overall
    satisfaction, likelihood to recommend, region, wave, segment; written once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"survey_{respondents}.csv"
    if not path.exists():
        from helpers.survey.simulate import generate_responses
        from helpers.synth import write_frame

        frame = generate_responses(respondents, seed=1, drivers=DRIVERS, scale_items=10).frame.drop(columns=["weight"])
        write_frame(frame, path)
    return path


CHILD = """import json, time
path, which = {path!r}, {which!r}
drivers = {drivers!r}
if which == "ours":
    from helpers import contracts
    from helpers.survey.workflow import SurveyAnalysis
    from helpers.core.engine import default_engine
    default_engine().ibis  # the engine's import, paid once per session
t = time.perf_counter()
if which == "ours":
    blocks = {{"Drivers": drivers, "Trust": [f"trust_{{i}}" for i in range(1, 11)],
              "Importance": [f"importance_{{d}}" for d in drivers]}}
    survey = SurveyAnalysis(id_col="respondent_id", nps_col="likelihood_to_recommend", csat_col="overall_satisfaction",
                            csat_scale_max=5, item_groups=blocks, item_scale=[1, 5], outcome_col="overall_satisfaction",
                            driver_cols=drivers, group_cols=["segment", "region"], wave_col="wave",
                            weight_targets={{"region": {{"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}}}},
                            expectation_pattern="importance_{{item}}")
    loaded = contracts.load(path, "responses", name="responses", items=survey.answer_columns(),
                            scale=survey.contract_scales(), columns={{"respondent_id": "respondent_id"}})
    survey.fit(loaded.to_pandas())
    result = {{"respondents": survey.cleaning_.respondents, "r2": round(float(survey.drivers_.r2_), 4)}}
else:
    import numpy as np, pandas as pd
    df = pd.read_csv(path)
    means = df.select_dtypes("number").mean()
    d = df[["overall_satisfaction", *drivers]].dropna()
    X = np.column_stack([np.ones(len(d)), d[drivers].to_numpy()])
    y = d["overall_satisfaction"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r2 = 1 - ((y - X @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    result = {{"respondents": len(df), "r2": round(float(r2), 4)}}
s = time.perf_counter() - t
print(json.dumps({{"what": {label!r}, "seconds": round(s, 2), "peak_mb": round(_peak()), **result}}))"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--respondents", type=int, default=100_000)
    args = ap.parse_args(argv)
    path = str(survey_csv(args.respondents))
    runs = []
    for which, label in (
        ("baseline", "read_csv + item means + one OLS (baseline)"),
        ("ours", "survey workflow, all sections"),
    ):
        r = run_child(CHILD.format(path=path, which=which, label=label, drivers=DRIVERS))
        r["respondents_in_file"] = f"{args.respondents:,}"
        runs.append(r)
    base, ours = runs
    full = args.respondents >= 100_000
    passed = ours["seconds"] <= LIMIT_S or not full
    ours["vs_baseline"] = f"{ours['seconds'] / base['seconds']:.1f}x"
    ours["requirement"] = f"<= {LIMIT_S:.0f} s " + ("PASS" if passed else "FAIL")
    print(
        table(
            runs,
            ["respondents_in_file", "what", "seconds", "peak_mb", "respondents", "r2", "vs_baseline", "requirement"],
        )
    )
    print(
        "items: 15 drivers + 10 trust + 15 importance = 40 on 1-5 (plus overall satisfaction and likelihood to recommend)"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
