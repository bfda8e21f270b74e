"""Segmentation at scale: the stratified, seeded sample of the cluster search and the sentence that
states it, clusters on a sample agreeing with clusters on every customer, and the fast paths
(counting scores, Arrow lookups, code bincounts, one aggregation for both snapshots) giving exactly
what the general paths give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from helpers.segmentation import migration, narrative, profiles, rfm
from helpers.segmentation.clustering import CustomerClusters, adjusted_rand
from helpers.segmentation.data import labels_at, positions, rfm_table, rfm_tables
from helpers.segmentation.sampling import allocation, stratified_sample
from helpers.segmentation.simulate import generate_segmented_base
from helpers.segmentation.workflow import SegmentationAnalysis
from test_segmentation_clustering import simulate


def _table(engine, frame: pd.DataFrame, name: str):
    engine.con.register(name, frame)
    return engine.table(name)


# -- the stratified sample ---------------------------------------------------------------------------
def test_allocation_is_proportional_with_the_largest_remainders_first():
    # exact shares 2.5, 1.5, 1.0: floors 2, 1, 1; the one row left goes to the first of the tied remainders
    assert allocation([5, 3, 2], 5).tolist() == [3, 1, 1]
    assert allocation([70, 20, 10], 10).tolist() == [7, 2, 1]
    assert allocation([1, 1, 998], 10).tolist() == [0, 0, 10]
    assert allocation([4, 6], 50).tolist() == [4, 6]  # a sample as large as the data takes everything


def test_a_stratified_sample_keeps_every_strata_share_and_depends_only_on_the_seed():
    rng = np.random.default_rng(0)
    strata = pd.Series(rng.choice(["Champions", "Loyal", "Lost", "New"], 50_000, p=[0.004, 0.2, 0.6, 0.196]))
    pick = stratified_sample(strata, 5000, 11)
    assert len(pick) == len(np.unique(pick)) == 5000 and (np.diff(pick) > 0).all()
    expected = strata.value_counts() * 5000 / len(strata)
    got = strata.iloc[pick].value_counts()
    assert (abs(got - expected.reindex(got.index)) < 1).all()  # each stratum within one row of its share
    assert got["Champions"] == round(expected["Champions"])  # the small group is neither missed nor over-drawn
    np.testing.assert_array_equal(stratified_sample(strata, 5000, 11), pick)
    assert not np.array_equal(stratified_sample(strata, 5000, 12), pick)
    np.testing.assert_array_equal(stratified_sample(strata, 60_000, 11), np.arange(50_000))


def test_a_missing_stratum_label_is_a_stratum_and_a_bad_size_is_refused():
    strata = pd.Series(["a"] * 60 + [None] * 40)
    pick = stratified_sample(strata, 10, 1)
    assert strata.iloc[pick].isna().sum() == 4
    with pytest.raises(ValueError, match="whole number >= 1"):
        stratified_sample(strata, 0, 1)


def test_the_sample_sentence_appears_only_when_a_sample_was_drawn_and_states_its_size():
    assert narrative.sample_sentence("k was chosen", 3000, 3000, "cluster_sample") == ""
    text = narrative.sample_sentence(
        "the number of clusters was chosen", 20_000, 3_308_413, "cluster_sample", "RFM segment"
    )
    assert text == (
        "The number of clusters was chosen on a random sample of 20,000 of the 3,308,413 customers, drawn within "
        "each RFM segment in proportion to its size (seeded; the sample's size is the parameter `cluster_sample`)."
    )
    assert "drawn within" not in narrative.sample_sentence("k was chosen", 10, 20, "search_sample")


# -- clusters on a sample against clusters on every customer --------------------------------------------
@pytest.fixture(scope="module")
def many():
    return simulate(30_000, seed=4)


def test_clusters_searched_on_a_stratified_sample_agree_with_the_search_on_every_customer(many):
    frame, truth = many
    strata = pd.Series(np.where(frame["monetary"] > 200, "high", "low"))
    full = CustomerClusters(seed=3, search_sample=30_000, bootstrap=5).fit(frame)
    sample = CustomerClusters(seed=3, search_sample=4000, bootstrap=5).fit(frame, strata=strata, strata_label="band")
    # stated tolerance: the same k, labels that agree at ARI >= 0.95 with each other and >= 0.9 with the
    # truth, silhouette and mixture agreement within 0.03, stability within 0.1
    assert sample.k_ == full.k_ == 4
    assert adjusted_rand_score(full.labels_, sample.labels_) >= 0.95
    assert adjusted_rand_score(truth, sample.labels_) >= 0.9
    s_full = full.diagnostics_.set_index("k").loc[4, "silhouette"]
    s_sample = sample.diagnostics_.set_index("k").loc[4, "silhouette"]
    assert abs(s_full - s_sample) < 0.03
    assert abs(full.gmm_agreement_ - sample.gmm_agreement_) < 0.03
    assert abs(full.stability_["mean"] - sample.stability_["mean"]) < 0.1
    assert len(sample.labels_) == len(sample.gmm_labels_) == 30_000
    assert sample.sample_size_ == 4000 and sample.stratified_ and not full.stratified_
    assert "random sample of 4,000 of the 30,000 customers, drawn within each band" in sample.note_
    assert "random sample" not in full.note_


def test_the_same_seed_draws_the_same_sample_and_the_strata_must_match_the_customers(many):
    frame, _ = many
    strata = np.where(frame["frequency"] > 1, "repeat", "one-off")
    a = CustomerClusters(seed=5, search_sample=2000, bootstrap=3).fit(frame, strata=strata)
    b = CustomerClusters(seed=5, search_sample=2000, bootstrap=3).fit(frame, strata=strata)
    pd.testing.assert_frame_equal(a.diagnostics_, b.diagnostics_)
    assert a.stability_ == b.stability_
    with pytest.raises(ValueError, match="one per customer"):
        CustomerClusters(search_sample=2000).fit(frame, strata=strata[:10])


def test_the_report_states_the_cluster_sample_only_when_the_base_is_larger(engine):
    tx, _ = generate_segmented_base(1200, seed=5)
    table = _table(engine, tx.frame, "scale_tx")
    small = SegmentationAnalysis(seed=1, cluster_sample=1000).fit(table)
    whole = SegmentationAnalysis(seed=1, cluster_sample=5000).fit(table)
    assert (
        "random sample of 1,000 of the 1,200 customers, drawn within each RFM segment in proportion to its size "
        "(seeded; the sample's size is the parameter `cluster_sample`)" in small.clusters_.note_
    )
    assert "random sample" not in whole.clusters_.note_
    assert small.clusters_.k_ == whole.clusters_.k_ == 4
    assert adjusted_rand_score(small.customers_["cluster"], whole.customers_["cluster"]) >= 0.95


# -- fast paths give what the general paths give ----------------------------------------------------------
def test_adjusted_rand_is_scikit_learns_value():
    rng = np.random.default_rng(2)
    for _ in range(30):
        n = int(rng.integers(2, 400))
        a, b = rng.integers(0, int(rng.integers(1, 9)), n), rng.integers(0, int(rng.integers(1, 9)), n)
        assert adjusted_rand(a, b) == adjusted_rand_score(a, b)
    a = rng.integers(0, 5, 1000)
    words = np.array(["Lost", "Loyal", "New", "At risk", "Champions"])[a]
    cat = pd.Series(pd.Categorical(words))
    b = rng.integers(0, 3, 1000)
    assert adjusted_rand(cat, b) == adjusted_rand(pd.Series(words, dtype="str"), b) == adjusted_rand_score(words, b)
    unique, many = np.arange(5000), rng.integers(0, 300, 5000)  # 1.5 million cells: counted by sorting
    assert adjusted_rand(unique, many) == adjusted_rand_score(unique, many)
    assert adjusted_rand([1, 1, 1], [2, 2, 2]) == adjusted_rand_score([1, 1, 1], [2, 2, 2]) == 1.0


def test_scores_from_the_boundary_values_equal_the_counts_of_worse_customers():
    """Scores come from the ``bins - 1`` boundary values of the reference (order statistics), not
    from a count per customer: the same scores as counting, for whole numbers and floats, with or
    without a reference of another size."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(1, 500))
        values = rng.integers(-3, 40, n).astype(float)
        reference = rng.integers(-10, 60, int(rng.integers(1, 300))).astype(float)
        for ref in (None, reference):
            r = values if ref is None else ref
            worse = np.array([(r < v).sum() for v in values])
            for bins in (2, 5, 9):
                expected = np.minimum(1 + bins * worse // r.size, bins)
                np.testing.assert_array_equal(rfm.quantile_scores(values, bins, True, ref), expected)
                shifted = None if ref is None else ref + 1e-3
                np.testing.assert_array_equal(rfm.quantile_scores(values + 1e-3, bins, True, shifted), expected)


def test_positions_is_a_left_lookup_with_the_first_of_repeated_ids():
    keys = pd.Series(["c", "a", "zz", "b", "a"], dtype="str")
    lookup = pd.Series(["a", "b", "c", "a"], dtype="str")
    np.testing.assert_array_equal(positions(keys, lookup), [2, 0, -1, 1, 0])
    same = pd.Series([f"C{i:05d}" for i in range(100)], dtype="str")
    np.testing.assert_array_equal(positions(same, same), np.arange(100))  # identical sorted ids: no lookup
    np.testing.assert_array_equal(positions(pd.Series([3, 1, 7]), pd.Series([1, 2, 3])), [2, 0, -1])
    mixed = pd.Series(["a", 1, 2.5], dtype=object)  # Arrow cannot hold these: pandas looks them up
    np.testing.assert_array_equal(positions(pd.Series([2.5, "a", "x"], dtype=object), mixed), [2, 0, -1])


def test_labels_at_gives_text_or_objects_and_missing_for_minus_one():
    text = labels_at(np.array([1, 0, -1, 1]), ["Loyal", "Lost"])
    assert list(pd.Series(text).fillna("<na>")) == ["Lost", "Loyal", "<na>", "Lost"] and str(text.dtype) == "str"
    other = labels_at(np.array([0, 1]), [1, "x"])
    assert list(other) == [1, "x"] and other.dtype == object


def test_crosstab_counts_do_not_depend_on_how_segments_and_values_are_stored():
    rng = np.random.default_rng(4)
    seg = rng.choice(["Champions", "Loyal", "Lost", None], 3000, p=[0.2, 0.3, 0.45, 0.05])
    att = rng.choice([1.0, 2.0, 3.0, np.nan], 3000, p=[0.5, 0.3, 0.15, 0.05])
    plain = profiles.crosstab_test(pd.Series(seg, dtype=object), pd.Series(att), name="tier", segment_order=["Loyal"])
    coded = profiles.crosstab_test(
        pd.Series(pd.Categorical(seg)), pd.Series(att).astype("category"), name="tier", segment_order=["Loyal"]
    )
    expected = pd.crosstab(
        pd.Series(seg, dtype=object), pd.Series(att).map({1.0: "1", 2.0: "2", 3.0: "3"}).fillna(profiles.MISSING)
    )
    for t in (plain, coded):
        assert list(t.counts.index) == ["Loyal", "Champions", "Lost"]
        assert list(t.counts.columns) == ["1", "2", "3", profiles.MISSING]
        np.testing.assert_array_equal(t.counts.to_numpy(), expected.loc[list(t.counts.index), list(t.counts.columns)])
        assert t.note.startswith(f"{int(pd.isna(seg).sum()):,} customers without a segment left out.")
    assert plain.chi2 == coded.chi2 and plain.p_value == coded.p_value


def test_compare_pairs_the_snapshots_once_and_agrees_with_the_separate_functions():
    before = pd.Series({"a": "X", "b": "Y", "c": "Y", "d": "X"})
    after = pd.Series({"a": "Y", "b": "Y", "c": "X", "e": "X"})
    counts, shares, moves = migration.compare(before, after, order=["X", "Y"], rank={"X": 2, "Y": 1})
    c2, s2 = migration.transition_matrix(before, after, order=["X", "Y"])
    m2 = migration.movements(before, after, rank={"X": 2, "Y": 1})
    pd.testing.assert_frame_equal(counts, c2)
    pd.testing.assert_frame_equal(shares, s2)
    assert isinstance(moves["movement"].dtype, pd.CategoricalDtype)  # codes, not text, for millions of customers
    pd.testing.assert_frame_equal(moves.astype(str), m2.astype(str))
    assert moves["movement"].tolist() == ["upgraded", "unchanged", "slipped", "new", "gone"]


def test_both_snapshots_from_one_aggregation_equal_each_snapshot_on_its_own(engine):
    tx, _ = generate_segmented_base(800, seed=9)
    frame = tx.frame.copy()
    frame.loc[frame.sample(40, random_state=1).index, "amount"] *= -1  # returns, some customers with only returns
    table = _table(engine, frame, "pair_tx")
    now, before = rfm_tables(table, None, "2025-07-01")
    pd.testing.assert_frame_equal(now.rfm, rfm_table(table).rfm)
    alone = rfm_table(table, "2025-07-01")
    pd.testing.assert_frame_equal(before.rfm, alone.rfm)
    assert (before.customers_in_log, before.negative_rows, before.rows_after_as_of) == (
        alone.customers_in_log,
        alone.negative_rows,
        alone.rows_after_as_of,
    )
    with pytest.raises(ValueError, match="must be before as_of"):
        rfm_tables(table, "2025-01-01", "2025-01-01")


def test_attributes_from_an_ibis_table_give_the_profiles_of_the_same_table_in_pandas(engine):
    tx, customers = generate_segmented_base(900, seed=6)
    table = _table(engine, tx.frame, "attr_tx")
    people = _table(engine, customers.frame, "attr_people")
    from_pandas = SegmentationAnalysis(seed=2).fit(table, customers=customers.frame)
    from_ibis = SegmentationAnalysis(seed=2).fit(table, customers=people)
    pd.testing.assert_frame_equal(from_ibis.profiles_, from_pandas.profiles_)
    pd.testing.assert_frame_equal(from_ibis.cluster_profiles_, from_pandas.cluster_profiles_)
    assert from_ibis.customer_file_ == from_pandas.customer_file_
