"""helpers.quality.profiling: the data-quality report's summary cards and findings."""

from __future__ import annotations

import pytest

from helpers import contracts
from helpers.quality import profiling


@pytest.fixture
def profile(engine, tmp_path):
    rows = ["customer_id,date,amount,channel"]
    months = ["2024-01-15", "2024-02-15", "2024-05-15"]  # March and April are missing
    for i in range(30):
        channel = "" if i % 10 == 0 else "web"
        rows.append(f"c{i},{months[i % 3]},{10 + i},{channel}")
    rows.append("c99,not a date,5,web")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n")
    loaded = contracts.load(path, "transactions", name="orders", engine=engine, max_quarantined_share=1.0)
    return profiling.Profile(loaded)


def test_summary_figures_are_recorded_metric_keys_with_labels(profile):
    figures = profile.summary_figures()
    assert list(figures)[:3] == ["rows.orders.read", "rows.orders.accepted", "rows.orders.quarantined_share"]
    assert figures["date_min"] == "First date" and figures["date_max"] == "Last date"
    recorded = {**profile.metrics(), **profile.loaded.metrics()}
    assert set(figures) <= set(recorded)


def test_findings_name_what_was_set_aside_the_worst_column_and_missing_months(profile):
    quality, missing, coverage = profile.summary_findings()
    assert quality.startswith("1 of 31 rows (3.23 %) broke the transactions contract")
    assert missing == "**channel** misses the most values: 3 of 30 accepted rows (10.0 %)."
    assert coverage == (
        "The dates in **date** cover 5 calendar months; 2 of them have no rows at all (2024-03, 2024-04): "
        "check for a missing extract."
    )


def test_complete_data_says_so(engine, tmp_path):
    path = tmp_path / "clean.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-02-01,2\n")
    p = profiling.Profile(contracts.load(path, "transactions", engine=engine))
    assert p.missing_sentence() == "No value is missing in any of the 3 columns of the accepted rows."
    assert p.coverage_sentence() == "The dates in **date** cover 2 calendar months, each with rows."
