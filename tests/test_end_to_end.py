"""Every report in reports.yaml, run by the workbench on the bundled data in a temporary
directory, as `make reports` does: this is how CI re-runs every notebook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from notebook_factory import build_once

ROOT = Path(__file__).resolve().parents[1]
RUNS = yaml.safe_load((ROOT / "reports.yaml").read_text())["runs"]


@pytest.fixture(scope="session")
def reports(tmp_path_factory):
    """Every run of reports.yaml, once per test session, shared by the pytest-xdist workers."""

    def build(tmp: Path) -> dict:
        proc = subprocess.run(
            [sys.executable, "-m", "helpers", "run", "--output-dir", str(tmp / "out"), "--jobs", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1200,
            env={**os.environ, "WORKBENCH_MEMORY_LIMIT": "2GB"},
        )
        return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    tmp, result = build_once(tmp_path_factory, "end-to-end-reports", build)
    return tmp / "out", subprocess.CompletedProcess([], result["returncode"], result["stdout"], result["stderr"])


@pytest.mark.slow
def test_every_report_runs_and_the_index_lists_it(reports):
    out, proc = reports
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    index = (out / "index.html").read_text()
    for run in RUNS:
        folder = out / run["name"]
        assert (folder / "report.html").stat().st_size > 10_000, run["name"]
        assert (folder / "notebook.ipynb").exists() and (folder / "metrics.json").exists()
        assert f"{run['name']}/report.html" in index


@pytest.mark.slow
def test_reports_are_offline_and_hide_code(reports):
    out, _ = reports
    for run in RUNS:
        html = (out / run["name"] / "report.html").read_text()
        external = re.findall(r'(?:src|href)\s*=\s*["\']\s*(?:https?:)?//', html, flags=re.I)
        assert not external, (run["name"], external[:3])
        assert "@import url(http" not in html
        assert "contracts.load(" not in html and "rep.record_metrics(" not in html, run["name"]


@pytest.mark.slow
def test_row_accounting_adds_up_in_every_report(reports):
    out, _ = reports
    for run in RUNS:
        metrics = json.loads((out / run["name"] / "metrics.json").read_text())
        reads = {k[: -len(".read")] for k in metrics if k.startswith("rows.") and k.endswith(".read")}
        assert reads, run["name"]
        for prefix in reads:
            assert metrics[f"{prefix}.read"] == metrics[f"{prefix}.accepted"] + metrics[f"{prefix}.quarantined"]


@pytest.mark.slow
def test_messy_export_quarantine_file_and_clv_outputs(reports):
    out, _ = reports
    q = pd.read_csv(out / "data-quality-messy-export" / "quarantine" / "input_file.csv", dtype=str)
    assert len(q) == 30 and q["reason"].notna().all() and q["line"].notna().all()
    clv = json.loads((out / "clv-cdnow" / "metrics.json").read_text())
    assert clv["customers"] == 2357 and clv["holdout.actual_repeat_transactions"] == 1882
    assert clv["bgnbd.r"] == pytest.approx(0.2426, abs=1e-4)
    customers = pd.read_csv(out / "clv-cdnow" / "customers.csv")
    assert list(customers.columns) == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary",
        "p_alive",
        "expected_purchases",
        "clv",
        "value_tier",
    ]
    synth = json.loads((out / "clv-synthetic-export" / "metrics.json").read_text())
    assert synth["rows.transactions.quarantined"] == 30 and synth["transactions.negative_rows"] > 0


@pytest.mark.slow
def test_pareto_nbd_report_judges_p_alive_by_its_own_numbers(reports):
    """With Pareto/NBD, P(alive) ranks about as well as the classifier on CDNOW: the report must
    say so, and must not repeat the BG/NBD explanation (P(alive) = 1 for one-time buyers)."""
    out, _ = reports
    metrics = json.loads((out / "clv-cdnow-pareto-nbd" / "metrics.json").read_text())
    assert metrics["model.used"] == "pareto_nbd"
    assert abs(metrics["churn.p_alive_auc"] - metrics["churn.classifier_auc"]) < 0.02
    html = (out / "clv-cdnow-pareto-nbd" / "report.html").read_text()
    assert "about as well as the classifier" in html
    assert "poor ranking" not in html and "P(alive) = 1" not in html
    bg = (out / "clv-cdnow" / "report.html").read_text()
    assert "poor ranking" in bg


@pytest.mark.slow
def test_a_second_run_skips_everything(reports):
    out, _ = reports
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "--output-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("skipped") >= len(RUNS), proc.stdout


@pytest.mark.slow
def test_clv_on_data_no_model_can_use_stops_with_a_sentence_about_the_data(tmp_path):
    """One customer's purchases: the run fails before any model, saying what is wrong with the data."""
    data = tmp_path / "one_customer.csv"
    data.write_text("customer_id,date,amount\nC1,2024-01-05,10\nC1,2024-02-05,12\nC1,2024-03-09,9\n")
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "clv", "--name", "one", "--output-dir", str(tmp_path / "out"),
         "-p", f"transactions={data}", "-p", "calibration_end=null", "-p", "observation_end=null"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = (tmp_path / "out" / "one" / "report.html").read_text()
    assert "belong to 1 customer_id value" in report and "problem with the data" in report
    assert "Hessian" not in report and "ModelFitError" not in report


@pytest.mark.slow
def test_every_report_opens_with_its_summary_and_closes_with_about_this_run(reports):
    from helpers.runner.navigation import section_ids

    out, _ = reports
    for run in RUNS:
        html = (out / run["name"] / "report.html").read_text()
        ids = section_ids(html)
        assert ids[0] == "summary" and ids[-1] == "about", (run["name"], ids)
        body = html[html.index("</header>") :]
        first_chart_or_table = min(i for i in (body.find("<img"), body.find("<table")) if i >= 0)
        assert body.index('id="summary"') < first_chart_or_table, run["name"]
        labels = re.findall(r'<div class="wb-card-label">([^<]*)</div>', html)
        assert labels and not [x for x in labels if re.fullmatch(r"[\w]+(\.[\w]+)+", x)], (run["name"], labels)
    index = (out / "index.html").read_text()
    labels = re.findall(r'<div class="wb-card-label">([^<]*)</div>', index)
    assert labels and not [x for x in labels if "." in x and " " not in x], labels  # labels, never dotted keys


@pytest.mark.slow
def test_stakeholder_reports_show_customers_only_in_aggregate(reports):
    out, _ = reports
    for run in RUNS:
        html = (out / run["name"] / "report.html").read_text()
        assert ">customer id</th>" not in html, run["name"]
    clv = (out / "clv-cdnow" / "report.html").read_text()
    assert "only in aggregate" in clv and "customers at risk</th>" in clv
    assert '<a href="customers.csv">customers.csv</a>' in clv  # listed under "About this run"
    assert (out / "clv-cdnow" / "customers.csv").exists() and (out / "clv-cdnow" / "at_risk.csv").exists()
    messy = (out / "data-quality-messy-export" / "report.html").read_text()
    raw = pd.read_csv(out / "data-quality-messy-export" / "quarantine" / "input_file.csv", dtype=str)
    assert not [v for v in raw["raw_line"].dropna() if v in messy]  # the set-aside rows stay in their CSV
    assert "include_customer_detail: true" in messy


@pytest.mark.slow
def test_customer_detail_on_request_lists_customers_and_links_the_exports(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "clv-cdnow", "-p", "include_customer_detail=true",
         "--name", "clv-detail", "--output-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "WORKBENCH_PREVIEWS": "0"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = (out / "clv-detail" / "report.html").read_text()
    assert html.count(">customer id</th>") == 2  # the value ranking and the at-risk list
    assert "Showing the first 15 of 2,357 rows" in html and '<a href="customers.csv">customers.csv</a>' in html
    at_risk = pd.read_csv(out / "clv-detail" / "at_risk.csv", dtype={"customer_id": str})
    assert f'<td class="text">{at_risk["customer_id"].iloc[0]}</td>' in html  # the riskiest customer is named


@pytest.mark.slow
def test_every_report_of_reports_yaml_passes_the_browser_checks(reports):
    """The reports `make reports` writes, and their index, in headless Chromium with the network
    off (tests/test_browser.py checks the checker and one run of each notebook with previews)."""
    from helpers.runner import browser

    if browser.missing():
        pytest.skip(f"needs Chromium and Playwright. {browser.missing()}")
    out, _ = reports
    pages = [out / run["name"] / "report.html" for run in RUNS] + [out / "index.html"]
    found = browser.check_pages(pages, [1200, 600])
    problems = {str(p.relative_to(out)): v for p, v in found.items() if v}
    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(v) for name, v in problems.items())


@pytest.mark.slow
def test_a_wide_survey_export_gets_a_readable_data_quality_report(reports):
    """28 answer columns: every column in the table, eight distributions drawn and the rest named,
    and a sentence instead of an empty date-coverage section."""
    out, _ = reports
    html = (out / "data-quality-bank-survey" / "report.html").read_text()
    assert "The first 8 of the 27 numeric columns are shown" in html and html.count("<img") == 8
    assert "This input has no date column" in html and "Showing the first" not in html


@pytest.mark.slow
def test_segmentation_reports_export_one_row_per_customer_and_record_every_segments_shares(reports):
    from sklearn.metrics import adjusted_rand_score

    from helpers.segmentation.workflow import SEGMENT_COLUMNS

    out, _ = reports
    for name, n in (("segmentation-cdnow", 2357), ("segmentation-synthetic", 3000)):
        m = json.loads((out / name / "metrics.json").read_text())
        assert m["customers"] == n and m["clusters"] >= 2 and -1 <= m["silhouette"] <= 1, name
        assert m["rows.transactions.read"] == m["rows.transactions.accepted"] + m["rows.transactions.quarantined"]
        for what in ("customer_share", "revenue_share"):
            total = sum(v for k, v in m.items() if k.startswith("segments.") and k.endswith(what))
            assert total == pytest.approx(1.0), (name, what)
        seg = pd.read_csv(out / name / "segments.csv", dtype={"customer_id": str})
        assert list(seg.columns) == SEGMENT_COLUMNS and len(seg) == n and seg["customer_id"].is_unique
        moves = pd.read_csv(out / name / "migration.csv", dtype={"customer_id": str})
        assert (
            set(moves["movement"]) <= {"upgraded", "slipped"}
            and len(moves) == m["migration.upgraded"] + m["migration.slipped"]
        )
    synth = json.loads((out / "segmentation-synthetic" / "metrics.json").read_text())
    assert synth["rows.transactions.quarantined"] == 3 and synth["clusters"] == 4
    assert synth["profiles.attributes_significant_by_cluster"] == 2  # acquisition channel and age band
    seg = pd.read_csv(out / "segmentation-synthetic" / "segments.csv").merge(
        pd.read_csv(ROOT / "data" / "synthetic" / "segmentation_groups.csv"), on="customer_id"
    )
    assert adjusted_rand_score(seg["group"], seg["cluster"]) >= 0.9
    cdnow = (out / "segmentation-cdnow" / "report.html").read_text()
    assert "Profiles by attribute are skipped: no customer table was given" in cdnow


@pytest.mark.slow
def test_segmentation_with_transactions_only_skips_the_optional_sections_with_a_sentence(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "helpers", "run", "segmentation", "--name", "plain", "--output-dir", str(tmp_path / "out"),
         "-p", "transactions=data/synthetic/segmentation_transactions.csv", "-p", "n_clusters=3"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "WORKBENCH_PREVIEWS": "0"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = (tmp_path / "out" / "plain" / "report.html").read_text()
    assert "Profiles by attribute are skipped" in html and "Migration between segments is skipped" in html
    assert not (tmp_path / "out" / "plain" / "migration.csv").exists()
    assert json.loads((tmp_path / "out" / "plain" / "metrics.json").read_text())["clusters"] == 3


@pytest.mark.slow
def test_survey_reports_record_the_headline_scores_reliability_and_drivers(reports):
    out, _ = reports
    bank = json.loads((out / "survey-bank" / "metrics.json").read_text())
    assert bank["respondents"] == 250
    assert bank["alpha.imag"] == pytest.approx(0.8219, abs=5e-5)  # raw alpha, as SPSS reports it
    assert bank["alpha_standardized.imag"] == pytest.approx(0.830227, abs=1e-5)  # as R plspm reports it
    for name in ("survey-bank", "survey-nps-testdata", "survey-synthetic"):
        m = json.loads((out / name / "metrics.json").read_text())
        assert m["rows.responses.read"] == m["rows.responses.accepted"] + m["rows.responses.quarantined"], name
        assert -100 <= m["nps"] <= 100 and m["nps_moe"] > 0, name
        for method in ("relative_weight", "shapley"):
            total = sum(v for k, v in m.items() if k.startswith(f"drivers.{method}."))
            assert total == pytest.approx(m["drivers.r2"], abs=1e-9), (name, method)
    synth = json.loads((out / "survey-synthetic" / "metrics.json").read_text())
    assert 0 < synth["weighting.efficiency"] < 1 and 0 <= synth["csat.top_box"] <= 1
    assert synth["cleaning.duplicate_respondents"] == 6 and synth["cleaning.speeders"] >= 25
    html = (out / "survey-synthetic" / "report.html").read_text()
    assert "Improve <strong>price</strong> first" in html and "a significant change" in html
    gap = (out / "survey-gap" / "report.html").read_text()
    assert "No item falls significantly short of expectations" in gap
    assert "Key drivers are skipped" in gap and "Weighting is skipped" in gap


@pytest.mark.slow
def test_channel_reports_lead_with_the_budget_and_record_what_the_issue_names(reports):
    out, _ = reports
    truth = json.loads((ROOT / "data" / "synthetic" / "channels_truth.json").read_text())
    synth = json.loads((out / "channels-synthetic" / "metrics.json").read_text())
    for name in ("journeys", "spend", "customers", "transactions", "costs", "funnel"):
        assert synth[f"rows.{name}.read"] == synth[f"rows.{name}.accepted"] + synth[f"rows.{name}.quarantined"]
    assert synth["rows.journeys.quarantined"] == 2  # the two planted touchpoints
    assert synth["attribution.conversions"] == truth["touchpoints"]["n_conversions"]
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"):
        credited = sum(v for k, v in synth.items() if k.startswith(f"attribution.{model}."))
        assert credited == pytest.approx(synth["attribution.conversions"], rel=1e-9), model
    spend = pd.read_csv(ROOT / "data" / "synthetic" / "channels_spend.csv")
    optimal = sum(v for k, v in synth.items() if k.startswith("budget.optimal_spend."))
    assert optimal == pytest.approx(spend[["tv", "search", "social", "display"]].to_numpy().sum(), rel=1e-6)
    assert synth["budget.expected_response_gain"] >= 0 and 0 < synth["mmm.r2"] <= 1 and synth["mmm.holdout_mape"] > 0
    html = (out / "channels-synthetic" / "report.html").read_text()
    summary = html[html.index('id="summary"') : html.index('id="Where-the-next-pound-should-go"')]
    assert re.search(r"<li>(<p>)?Move .+? from .+? to .+?: the expected revenue goes from", summary)  # budget first
    for name in ("budget.csv", "attribution.csv", "contributions.csv", "roas.csv", "scorecard.csv", "funnel.csv"):
        assert (out / "channels-synthetic" / name).exists(), name
    pymc = json.loads((out / "channels-pymc-example" / "metrics.json").read_text())
    assert pymc["mmm.r2"] > 0.9  # the documented process: R² 0.95 with the true transforms
    assert "mmm.roas.x1" in pymc and "scorecard.customers" not in pymc
    pymc_html = (out / "channels-pymc-example" / "report.html").read_text()
    assert "No channel scorecard: customers and transactions not given." in pymc_html
    assert "No funnel: lead events not given." in pymc_html
    robyn = json.loads((out / "channels-robyn" / "metrics.json").read_text())
    assert {f"budget.optimal_spend.{c}" for c in ("tv_S", "ooh_S", "print_S", "search_S", "facebook_S")} <= set(robyn)
    assert "attribution.conversions" not in robyn
