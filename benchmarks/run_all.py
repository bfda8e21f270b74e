"""Run every benchmark in this folder (``make bench``); each prints its own table and requirement.

    python benchmarks/run_all.py [--quick]

``--quick`` runs the small sizes only (a smoke test of the benchmark code, not the requirements).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["bench_runner.py"],
    ["bench_previews.py"],
    ["bench_contracts.py"],
    ["bench_clv_summary.py"],
    ["bench_clv_fit.py"],
    ["bench_spark.py"],
    ["bench_segmentation_rfm.py"],
    ["bench_segmentation_clustering.py"],
    ["bench_survey.py"],
    ["bench_survey_shapley.py"],
    ["bench_channels_attribution.py"],
    ["bench_channels_mmm.py"],
    ["bench_channels_budget.py"],
    ["bench_reports.py"],  # whole reports at the sizes: minutes; not in --quick
]
QUICK = [
    ["bench_runner.py"],
    ["bench_previews.py", "--notebooks", "2", "--repeats", "1"],
    ["bench_contracts.py", "--rows", "200000", "--customers", "20000", "--defects", "10"],
    ["bench_clv_summary.py", "--rows", "200000", "--customers", "20000"],
    ["bench_clv_fit.py", "--customers", "20000"],
    ["bench_spark.py", "--rows", "200000", "--customers", "20000"],
    ["bench_segmentation_rfm.py", "--rows", "200000", "--customers", "20000"],
    ["bench_segmentation_clustering.py", "--customers", "20000"],
    ["bench_survey.py", "--respondents", "5000"],
    [
        "bench_survey_shapley.py",
        "--rows",
        "5000",
        "--drivers",
        "8",
        "--sample-subsets",
        "50",
        "--check-drivers",
        "6",
        "--check-rows",
        "2000",
    ],
    ["bench_channels_attribution.py", "--paths", "50000", "--repeats", "1", "--no-baseline"],
    ["bench_channels_mmm.py", "--datasets", "1", "--no-baseline"],
    ["bench_channels_budget.py", "--repeats", "2"],
]


def main() -> int:
    plan = QUICK if "--quick" in sys.argv else FULL
    failed = []
    for cmd in plan:
        print(f"\n=== {' '.join(cmd)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], cwd=HERE).returncode != 0:
            failed.append(cmd[0])
    print("\nall benchmarks passed their requirements" if not failed else f"\nrequirement not met: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
