"""Benchmark: each report end to end at its large size through ``workbench run``, beside the same
analysis called directly in Python in the same run.

    python benchmarks/bench_reports.py [--scale 1.0] [--only clv,segmentation,survey,channels]
                                       [--top 6] [--timeout 900] [--json PATH]

Inputs (generated once with ``workbench synth`` into ``.cache/reports_data/`` with fixed seeds;
``--scale`` multiplies every row count, e.g. 0.1 for a quick look):

- clv: 10 million transactions (``--kind transactions --rows 10000000 --seed 1``, Parquet, 2024-01-01
  to 2025-12-28), ``calibration_end=2025-06-30``, ``observation_end=2025-12-28`` (the issue's run);
- segmentation: the same transactions plus a customer table of every customer in them
  (``--kind customers``, CSV, region, age band, acquisition channel, gender) and
  ``compare_to=2025-07-01``;
- survey: 100,000 respondents (``--kind responses``, CSV) with 15 drivers, a 10-item trust scale and
  15 importance ratings: 40 items on 1-5, plus overall satisfaction and likelihood to recommend,
  weighted to regions, two waves, groups by segment and region, expectation gaps;
- channels: 1 million journeys as raw touchpoints (``--kind touchpoints``, Parquet, about 2.5
  touches each), 156 weeks of spend (``--kind spend``, CSV; never scaled), and, for the scorecard and
  the funnel, a base of as many leads as journeys (customers and transactions as Parquet, monthly
  costs as CSV, from the simulator behind ``--kind costs``) and a funnel of as many leads
  (``--kind funnel``, Parquet).

Every notebook gets ``memory_limit=4GB`` (DuckDB's cap) where it declares that parameter.

What is measured, per notebook
------------------------------
1. Runner: ``workbench run NB --name bench-NB --output-dir DIR --force -p ...`` as a new process,
   as a user runs it (kernel start, every cell, HTML report, index, preview). ``runner_s`` is its
   wall-clock time. Memory, under a small wrapper process: ``runner_gb`` is the peak of the summed
   proportional set size (PSS: shared pages split between the processes sharing them, so the
   browser's many processes are not counted several times) of the whole process tree (runner,
   kernel, the previews' browser), sampled every 0.5 s; ``kernel_gb`` is the wrapper's
   ``RUSAGE_CHILDREN`` maximum resident set, i.e. the largest single process among every descendant
   waited for (the kernel), exact. The requirement uses the larger of the two. Check:
   ``RUSAGE_CHILDREN`` must be at least the kernel's sampled peak, which shows that the kernel is
   counted (printed as "memory check"). Per-cell times come from the executed notebook
   (``metadata.workbench.elapsed_s`` when the runner writes it, else ``metadata.papermill.duration``).
2. Direct: the same analysis called directly in Python: a fresh ``python`` process executes the
   notebook's code cells in order in one namespace, with the run's parameters (as the runner
   resolves them) set after the parameters cell, matplotlib's Agg backend (figures closed after
   each cell, never rendered), ``display`` a no-op, ``WORKBENCH_RUN_DIR`` pointing to a scratch run
   folder, the kernel's working folder (``notebooks/``) and thread settings. No kernel, papermill,
   output capture, image or HTML rendering. ``direct_s`` is that process's wall-clock time and
   ``direct_gb`` its peak, measured the same way.
3. ``ratio`` = runner_s / direct_s: what running it as a report costs on top of the analysis.

Requirement (issue 13, at scale 1 only; exit code 1 if missed or if a run fails): each report
within 60 s and 4 GB (GB = 2^30 bytes) peak memory. At other scales the verdicts are shown with ``*``
and do not set the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import CACHE, run_measured, table

NOTEBOOKS = ("clv", "segmentation", "survey", "channels")
LIMIT_S, LIMIT_GB = 60.0, 4.0
MEMORY_LIMIT = "4GB"
DATA = CACHE / "reports_data"
WORK = CACHE / "bench_reports"
DRIVERS = [f"d{i:02d}" for i in range(1, 16)]

CHANNEL_BASE = """import sys
from helpers.channels.simulate_base import generate_channel_base
from helpers.synth import write_frame
leads, seed, customers, transactions, costs = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]
base = generate_channel_base(leads, seed)
write_frame(base.details["transactions"], transactions)
write_frame(base.details["costs"], costs)
write_frame(base.frame, customers)  # written last: its presence marks the set complete
"""

DIRECT = r"""import json, os, resource, sys, time, traceback
spec = json.loads(sys.argv[1])
os.chdir(spec["cwd"])
with open(spec["notebook"], encoding="utf-8") as fh:
    nb = json.load(fh)
ns = {"__name__": "__main__", "display": lambda *objs, **kw: None}
cells, error = [], None
for index, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    t = time.perf_counter()
    try:
        exec(compile(src, f"<cell {index + 1}>", "exec"), ns)
        if "parameters" in (cell.get("metadata") or {}).get("tags", []):
            ns.update(spec["parameters"])
    except BaseException as exc:
        error = {"cell": index + 1, "message": f"{type(exc).__name__}: {exc}"[:400], "traceback": traceback.format_exc()[-3000:]}
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
    cells.append({"cell": index + 1, "elapsed_s": round(time.perf_counter() - t, 3),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)})
    if error:
        break
with open(spec["out"], "w", encoding="utf-8") as fh:
    json.dump({"cells": cells, "error": error}, fh)
sys.exit(1 if error else 0)
"""


def rows_at(full: int, scale: float, least: int) -> int:
    return max(least, round(full * scale))


def synth(path: Path, kind: str, rows: int, seed: int, *options: str) -> Path:
    """``workbench synth --kind KIND --rows ROWS --seed SEED [-o ...] --out PATH`` once (with its
    truth beside it as ``PATH.truth.json``); later calls reuse the file."""
    truth = path.with_name(path.name + ".truth.json")
    if not (path.exists() and truth.exists()):
        DATA.mkdir(parents=True, exist_ok=True)
        cmd = [*workbench(), "synth", "--kind", kind, "--rows", str(rows), "--seed", str(seed), "--out", str(path)]
        cmd += ["--truth-out", str(truth)]
        for opt in options:
            cmd += ["-o", opt]
        print(f"  generating {path.name}: {' '.join(cmd[1:])}", flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"workbench synth failed:\n{proc.stderr[-3000:]}")
    return path


def channel_base(leads: int, seed: int) -> dict[str, Path]:
    """Customers, transactions and monthly costs of ``leads`` simulated leads (the simulator behind
    ``workbench synth --kind costs``, whose CLI writes only the costs)."""
    files = {
        "customers": DATA / f"channel_customers_{leads}_s{seed}.parquet",
        "transactions": DATA / f"channel_transactions_{leads}_s{seed}.parquet",
        "costs": DATA / f"channel_costs_{leads}_s{seed}.csv",
    }
    if not files["customers"].exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"  generating the channel base of {leads:,} leads (seed {seed})", flush=True)
        args = [str(leads), str(seed), str(files["customers"]), str(files["transactions"]), str(files["costs"])]
        proc = subprocess.run([sys.executable, "-c", CHANNEL_BASE, *args], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"channel base failed:\n{proc.stderr[-3000:]}")
    return files


def transactions(scale: float) -> tuple[Path, int, int]:
    """The transaction log, its rows and its customers."""
    rows = rows_at(10_000_000, scale, 10_000)
    path = synth(DATA / f"transactions_{rows}_s1.parquet", "transactions", rows, 1)
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))
    return path, int(truth["n_rows"]), int(truth["n_customers"])


def inputs(nb: str, scale: float) -> tuple[str, dict]:
    """A description of the inputs and the parameters given with ``-p`` (besides memory_limit)."""
    if nb == "clv":
        tx, n, customers = transactions(scale)
        params = {"transactions": str(tx), "calibration_end": "2025-06-30", "observation_end": "2025-12-28"}
        return f"{n:,} transactions, {customers:,} customers", params
    if nb == "segmentation":
        tx, n, customers = transactions(scale)
        people = synth(DATA / f"customers_{customers}_s1.csv", "customers", customers, 1)
        params = {"transactions": str(tx), "customers": str(people), "compare_to": "2025-07-01"}
        return f"{n:,} transactions, {customers:,} customers with attributes", params
    if nb == "survey":
        n = rows_at(100_000, scale, 1_000)
        options = (f"drivers={json.dumps(DRIVERS)}", "scale_items=10")
        path = synth(DATA / f"responses_{n}_s1.csv", "responses", n, 1, *options)
        blocks = {
            "Drivers": DRIVERS,
            "Trust": [f"trust_{i}" for i in range(1, 11)],
            "Importance": [f"importance_{d}" for d in DRIVERS],
        }
        params = {
            "responses": str(path),
            "id_col": "respondent_id",
            "nps_col": "likelihood_to_recommend",
            "csat_col": "overall_satisfaction",
            "csat_scale_max": 5,
            "item_groups": blocks,
            "item_scale": [1, 5],
            "outcome_col": "overall_satisfaction",
            "driver_cols": DRIVERS,
            "group_cols": ["segment", "region"],
            "wave_col": "wave",
            "weight_targets": {"region": {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}},
            "expectation_pattern": "importance_{item}",
        }
        return f"{n:,} respondents x 40 items", params
    if nb == "channels":
        n = rows_at(1_000_000, scale, 10_000)
        touch = synth(DATA / f"touchpoints_{n}_s1.parquet", "touchpoints", n, 1)
        spend = synth(DATA / "spend_156_s2.csv", "spend", 156, 2)
        base = channel_base(n, 3)
        funnel = synth(DATA / f"funnel_{n}_s4.parquet", "funnel", n, 4)
        params = {"journeys": str(touch), "spend": str(spend), **{k: str(v) for k, v in base.items()},
                  "funnel": str(funnel)}  # fmt: skip
        return f"{n:,} journeys (touchpoints), 156 weeks of spend, {n:,} leads", params
    raise ValueError(nb)


def workbench() -> list[str]:
    """The ``workbench`` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "workbench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "helpers"]


def label(source: str, width: int = 58) -> str:
    """A cell's first line that is neither blank nor a comment, shortened."""
    line = next((s.strip() for s in source.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def notebook_cells(path: Path) -> dict[int, str]:
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    out = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            out[i + 1] = label(src)
    return out


def executed_cells(path: Path) -> tuple[dict[int, float], str]:
    """Seconds per code cell of an executed notebook, by the cell's position in the notebook file
    (the injected-parameters cell counts with the parameters cell), and where they came from."""
    from helpers.runner.common import INJECTED_TAG, PAPERMILL_ERROR_TAG, cell_tags

    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    times: dict[int, float] = {}
    sources = set()
    n = 0
    for cell in nb["cells"]:
        tags = cell_tags(cell)
        if PAPERMILL_ERROR_TAG in tags:
            continue
        if INJECTED_TAG not in tags:
            n += 1
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata") or {}
        seconds = (meta.get("workbench") or {}).get("elapsed_s")
        if seconds is not None:
            sources.add("metadata.workbench.elapsed_s")
        else:
            seconds = (meta.get("papermill") or {}).get("duration")
            if seconds is not None:
                sources.add("metadata.papermill.duration")
        if seconds is not None:
            times[n] = times.get(n, 0.0) + float(seconds)
    return times, " + ".join(sorted(sources)) or "none"


def resolved_parameters(nb: str, name: str, assignments: list[str]) -> dict:
    """The values the runner injects for these ``-p`` assignments (checked and resolved by the
    runner's own planning), so that the direct run gets exactly the same."""
    from helpers.runner import RunOptions, open_project, plan_runs

    project = open_project(cwd=ROOT, output_dir=WORK / "reports")
    (spec,) = plan_runs(project, RunOptions(notebooks=[nb], name=name, assignments=assignments, force=True))
    return spec.parameters


def measure(nb: str, scale: float, timeout: float) -> dict:
    from helpers.core.runfiles import RUN_FILE
    from helpers.runner import kernel_threads, read_notebook_info

    notebook = ROOT / "notebooks" / f"{nb}.ipynb"
    size, params = inputs(nb, scale)
    if read_notebook_info(notebook).parameter("memory_limit") is not None:
        params["memory_limit"] = MEMORY_LIMIT
    name = f"bench-{nb}"
    assignments = [f"{k}={json.dumps(v)}" for k, v in params.items()]
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result: dict = {"notebook": nb, "size": size, "parameters": params}

    # (a) the runner, as a user runs it
    cmd = [*workbench(), "run", nb, "--name", name, "--output-dir", str(WORK / "reports"), "--force"]
    cmd += ["--timeout", str(int(timeout))]
    for a in assignments:
        cmd += ["-p", a]
    print(f"  {nb}: workbench run ({size}) ...", flush=True)
    load = os.getloadavg()[0]
    runner = run_measured(cmd, cwd=ROOT, log=logs / f"{nb}-runner.log", timeout=timeout + 120)
    runner["load_1min"] = round(load, 2)
    run_dir = WORK / "reports" / name
    run_state = {}
    if (run_dir / RUN_FILE).exists():
        run_state = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    runner["status"] = run_state.get("status", "no run.json")
    runner["error"] = (run_state.get("error") or {}).get("message")
    runner["run_duration_s"] = run_state.get("duration_s")
    runner["run_json_cells"] = run_state.get("cells")
    runner["cells"], runner["cells_from"] = {}, "none"
    if (run_dir / "notebook.ipynb").exists():
        runner["cells"], runner["cells_from"] = executed_cells(run_dir / "notebook.ipynb")
    if runner["returncode"] != 0 and runner["status"] == "ok":
        runner["status"] = f"exit {runner['returncode']}"
    if runner["timed_out"]:
        runner["status"] = "killed (timeout)"
    result["runner"] = runner

    # (b) the same analysis called directly in Python
    direct_dir = WORK / "direct" / nb
    shutil.rmtree(direct_dir, ignore_errors=True)
    direct_dir.mkdir(parents=True)
    spec = {
        "notebook": str(notebook),
        "cwd": str(notebook.parent),
        "parameters": resolved_parameters(nb, name, assignments),
        "out": str(WORK / "direct" / f"{nb}.json"),
    }
    env = {**kernel_threads(1), "MPLBACKEND": "Agg", "WORKBENCH_RUN_DIR": str(direct_dir)}
    print(f"  {nb}: direct ...", flush=True)
    load = os.getloadavg()[0]
    direct = run_measured([sys.executable, "-c", DIRECT, json.dumps(spec)], env=env, cwd=ROOT,
                          log=logs / f"{nb}-direct.log", timeout=timeout)  # fmt: skip
    direct["load_1min"] = round(load, 2)
    out = Path(spec["out"])
    detail = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"cells": [], "error": None}
    direct["cells"] = {c["cell"]: c["elapsed_s"] for c in detail["cells"]}
    direct["peak_mb_after_cell"] = {c["cell"]: c["peak_mb"] for c in detail["cells"]}
    direct["error"] = (detail.get("error") or {}).get("message")
    direct["status"] = "killed (timeout)" if direct["timed_out"] else ("ok" if direct["returncode"] == 0 else "failed")
    if direct["status"] == "failed" and not direct["error"]:
        direct["error"] = f"exit {direct['returncode']} (see {logs / f'{nb}-direct.log'})"
    result["direct"] = direct
    result["labels"] = notebook_cells(notebook)
    return result


def gb(mb: float) -> float:
    return round(mb / 1024, 2)


def verdict(r: dict, full: bool) -> tuple[str, bool]:
    """PASS / FAIL against the requirement (``*`` when not at full size) and whether it passed."""
    run = r["runner"]
    peak = max(run["tree_pss_peak_mb"], run["maxrss_mb"]) / 1024
    ok = run["status"] == "ok" and run["wall_s"] <= LIMIT_S and peak <= LIMIT_GB
    return ("PASS" if ok else "FAIL") + ("" if full else "*"), ok


def memory_check(run: dict) -> str:
    k, m = run["kernel_sampled_mb"], run["maxrss_mb"]
    if not k:
        return "no kernel process seen"
    return f"RUSAGE_CHILDREN {m:,} MB {'>=' if m >= k * 0.98 else '< (kernel NOT counted?)'} kernel sampled {k:,} MB"


def cell_rows(r: dict, top: int) -> list[dict]:
    run, direct, labels = r["runner"], r["direct"], r["labels"]
    cells = sorted(set(run["cells"]) | set(direct["cells"]), key=lambda c: -run["cells"].get(c, direct["cells"].get(c)))
    rows = []
    for c in cells[:top]:
        a, b = run["cells"].get(c), direct["cells"].get(c)
        rows.append(
            {
                "cell": c,
                "first line": labels.get(c, ""),
                "runner_s": f"{a:.2f}" if a is not None else "",
                "direct_s": f"{b:.2f}" if b is not None else "",
                "ratio": f"{a / b:.2f}" if a is not None and b else "",
            }
        )
    rest_a = run["wall_s"] - sum(run["cells"].values())
    rest_b = direct["wall_s"] - sum(direct["cells"].values())
    rows.append(
        {
            "cell": "-",
            "first line": "outside cells (start, kernel/papermill, report, index | interpreter)",
            "runner_s": f"{rest_a:.2f}",
            "direct_s": f"{rest_b:.2f}",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--scale", type=float, default=1.0, help="multiplies every row count (default 1.0: the issue's sizes)"
    )
    ap.add_argument("--only", default=",".join(NOTEBOOKS), help="comma-separated notebooks (default: all four)")
    ap.add_argument("--top", type=int, default=6, help="slowest cells listed per notebook (default 6)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a run is stopped (default 900)")
    ap.add_argument(
        "--json", type=Path, default=CACHE / "bench_reports.json", help="results file (default: in the cache)"
    )
    args = ap.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in NOTEBOOKS]
    if unknown or not chosen or args.scale <= 0:
        ap.error(f"--only takes {', '.join(NOTEBOOKS)}; --scale must be > 0")
    full = args.scale >= 1.0

    shutil.rmtree(WORK, ignore_errors=True)  # every run a first run: no history, no cached hashes
    print(
        f"{os.cpu_count()} CPU(s), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"scale {args.scale:g}, load {os.getloadavg()[0]:.2f}; work folder {WORK}",
        flush=True,
    )
    results = []
    for nb in chosen:
        t0 = time.perf_counter()
        r = measure(nb, args.scale, args.timeout)
        print(f"  {nb}: done in {time.perf_counter() - t0:.0f} s", flush=True)
        results.append(r)

    rows, failed = [], False
    for r in results:
        run, direct = r["runner"], r["direct"]
        text, ok = verdict(r, full)
        failed |= run["status"] != "ok" or direct["status"] != "ok" or (full and not ok)
        r["requirement"] = {"seconds": LIMIT_S, "gb": LIMIT_GB, "passed": ok, "at_full_size": full}
        rows.append(
            {
                "notebook": r["notebook"],
                "size": r["size"],
                "status": run["status"]
                if run["status"] == direct["status"]
                else f"{run['status']} / {direct['status']}",
                "runner_s": f"{run['wall_s']:.1f}",
                "direct_s": f"{direct['wall_s']:.1f}",
                "ratio": f"{run['wall_s'] / direct['wall_s']:.2f}" if direct["wall_s"] else "",
                "runner_gb": gb(run["tree_pss_peak_mb"]),
                "kernel_gb": gb(run["maxrss_mb"]),
                "direct_gb": gb(max(direct["tree_pss_peak_mb"], direct["maxrss_mb"])),
                "load": f"{run['load_1min']:.1f}/{direct['load_1min']:.1f}",
                f"<= {LIMIT_S:.0f} s, {LIMIT_GB:.0f} GB": text,
            }
        )
    print()
    print(table(rows, list(rows[0])))
    if not full:
        print(f"* scale {args.scale:g}: not the requirement's size (verdicts informative only)")
    print(
        "runner_gb: peak of the process tree's summed PSS (runner, kernel, browser; sampled every 0.5 s); "
        "kernel_gb: largest single process (RUSAGE_CHILDREN, exact); load: 1-min load average before "
        "the runner / direct run"
    )
    for r in results:
        run, direct = r["runner"], r["direct"]
        print(
            f"\n{r['notebook']}: slowest cells (runner times from {run['cells_from']}); memory check: {memory_check(run)}"
        )
        for side, d in (("runner", run), ("direct", direct)):
            if d.get("error"):
                print(f"  {side} failed: {d['error']}")
        print(table(cell_rows(r, args.top), ["cell", "first line", "runner_s", "direct_s", "ratio"]))

    args.json.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "results": results,
    }
    args.json.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nresults: {args.json}; reports: {WORK / 'reports'}; logs: {WORK / 'logs'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
