"""The whole segmentation analysis on simulated data with known groups: the clusters recover the
groups from the transaction log, the run is deterministic, migration reflects what customers did,
and optional sections are skipped with a sentence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers.segmentation.simulate import generate_segmented_base
from helpers.segmentation.workflow import SEGMENT_COLUMNS, SegmentationAnalysis, slug


def _table(engine, frame: pd.DataFrame, name: str):
    engine.con.register(name, frame)
    return engine.table(name)


@pytest.fixture(scope="module")
def base():
    return generate_segmented_base(2400, seed=3)


@pytest.fixture(scope="module")
def fitted(engine, base):
    tx, customers = base
    table = _table(engine, tx.frame, "seg_tx")
    return SegmentationAnalysis(compare_to="2025-07-01", seed=42).fit(table, customers=customers.frame)


def test_automatic_k_finds_the_simulated_groups_from_the_transaction_log(fitted, base):
    truth = base[0].details["groups"]
    m = fitted.customers_.merge(truth, on="customer_id")
    assert len(m) == len(truth) == 2400
    assert fitted.clusters_.k_ == truth["group"].nunique() == 4
    assert adjusted_rand_score(m["group"], m["cluster"]) >= 0.9
    # the highest-spending cluster is the loyal group, named as such
    top = m[m["cluster"] == 0]["group"].value_counts(normalize=True)
    assert top.index[0] == "loyal" and top.iloc[0] > 0.9
    assert fitted.clusters_.names_[0].startswith("Recent, frequent")


def test_the_same_seed_gives_the_same_segments_and_clusters(engine, base, fitted):
    table = _table(engine, base[0].frame.sample(frac=1.0, random_state=1), "seg_tx_shuffled")
    again = SegmentationAnalysis(compare_to="2025-07-01", seed=42).fit(table, customers=base[1].frame)
    pd.testing.assert_frame_equal(again.customers_table(), fitted.customers_table())
    pd.testing.assert_frame_equal(again.clusters_.diagnostics_, fitted.clusters_.diagnostics_)


def test_the_crm_export_has_one_row_per_customer_and_the_documented_columns(fitted):
    out = fitted.customers_table()
    assert list(out.columns) == SEGMENT_COLUMNS
    assert out["customer_id"].is_unique and len(out) == 2400
    assert set(out["value_tier"]) <= {"A", "B", "C"} and set(out["rfm_segment"]) <= set(fitted.map_.order)
    assert out[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    assert out["predicted_clv"].notna().all() and set(out["clv_tier"]) <= {"A", "B", "C"}


def test_metrics_hold_each_segments_shares_and_they_add_up(fitted):
    m = fitted.metrics()
    assert m["customers"] == 2400 and m["clusters"] == 4 and 0.25 < m["silhouette"] <= 1
    shares = {k: v for k, v in m.items() if k.startswith("segments.")}
    assert len(shares) == 2 * len(fitted.map_.order)
    assert sum(v for k, v in shares.items() if k.endswith("customer_share")) == pytest.approx(1.0)
    assert sum(v for k, v in shares.items() if k.endswith("revenue_share")) == pytest.approx(1.0)
    assert m["segmentation.revenue"] == pytest.approx(fitted.customers_["monetary"].sum())
    assert m["migration.new"] + m["migration.upgraded"] + m["migration.slipped"] + m["migration.unchanged"] <= 2400
    assert slug("Cannot lose them") == "cannot_lose_them" and f"segments.{slug('Cannot lose them')}.customer_share" in m


def test_customers_who_did_not_buy_between_the_snapshots_never_upgrade(fitted, base):
    tx = base[0].frame
    bought = set(tx.loc[(tx["date"] >= "2025-07-01") & (tx["amount"] >= 0), "customer_id"])
    moves = fitted.migration_["movements"]
    idle = moves[~moves["customer_id"].isin(bought) & (moves["movement"] != "new")]
    assert len(idle) > 300
    assert set(idle["movement"]) <= {"unchanged", "slipped", "sideways"}
    counts = fitted.migration_["counts"]
    assert int(counts.to_numpy().sum()) == 2400  # every customer of either date, once
    assert fitted.moved_customers() == len(fitted.movements_table()) > 0


def test_attributes_that_depend_on_the_group_differ_by_cluster_and_the_others_do_not(fitted, base):
    truth = base[1].truth
    by_cluster = fitted.cluster_profiles_.set_index("attribute")
    for name in truth["dependent_attributes"]:
        assert by_cluster.loc[name, "valid"] and by_cluster.loc[name, "significant"], name
    for name in truth["independent_attributes"]:
        assert not by_cluster.loc[name, "significant"], name
    assert "differs between clusters" in fitted.findings()["cluster_profiles"]


def test_optional_sections_are_skipped_with_a_sentence(engine, base):
    table = _table(engine, base[0].frame, "seg_tx_plain")
    plain = SegmentationAnalysis(n_clusters=3).fit(table)
    assert (
        plain.profiles_ is None
        and plain.migration_ is None
        and plain.movements_table() is None
        and plain.moved_customers() == 0
    )
    assert "no customer table was given (parameter `customers`)" in plain.skipped_["profiles"]
    assert "no earlier date was given (parameter `compare_to`)" in plain.skipped_["migration"]
    assert plain.clusters_.k_ == 3 and "migration.slipped" not in plain.metrics()
    assert len(plain.summary_findings()) == 3


def test_without_repeat_buyers_the_clv_tiers_are_skipped_with_the_reason(engine):
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(40)],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(40) * 3, unit="D"),
            "amount": np.linspace(5, 200, 40),
        }
    )
    a = SegmentationAnalysis(n_clusters=2).fit(_table(engine, frame, "one_time"))
    assert not a.clv_.available and "could not be fitted" in a.skipped_["clv"]
    assert a.customers_table()["clv_tier"].eq("").all() and a.findings()["clv_tiers"] == ""


def test_a_compare_to_date_after_as_of_is_refused(engine, base):
    with pytest.raises(ValueError, match="must be before as_of"):
        SegmentationAnalysis(as_of="2025-01-01", compare_to="2025-06-01").fit(_table(engine, base[0].frame, "seg_tx_2"))


def test_a_number_of_clusters_given_as_text_is_read_as_a_number():
    from helpers.segmentation.workflow import _n_clusters

    assert _n_clusters("3") == 3 and _n_clusters(" Auto ") == "auto" and _n_clusters(5) == 5
