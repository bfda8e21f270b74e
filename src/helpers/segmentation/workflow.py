"""The whole segmentation analysis for the notebook: ``SegmentationAnalysis(...).fit(table)``.

Steps, each a tested module of this package:
1. RFM per customer at ``as_of`` on the data engine (:mod:`.data`), scores and named segments
   (:mod:`.rfm`).
2. Value tiers by revenue and, where the CLV models fit, by predicted CLV; the concentration
   curves (:mod:`.value`).
3. Clusters of the log-standardised RFM features, k chosen or fixed, with diagnostics,
   stability and names (:mod:`.clustering`).
4. With a customer table: segment x attribute crosstabs with chi-square tests (:mod:`.profiles`).
5. With ``compare_to``: the same RFM segments at that earlier date and the movements between
   the two snapshots (:mod:`.migration`). The earlier snapshot is scored against the score
   boundaries of ``as_of`` (not its own quantiles), so a customer who did not buy in between can
   only stay or slip, and one who bought can move up: a move reflects what the customer did, not
   how the rest of the base changed.
Optional steps whose input is not given are skipped; ``skipped_`` says which and why.

At scale (millions of customers): the log's purchase days are aggregated once on the engine, in
one pass that gives both snapshots' RFM columns and each customer's first spend, from which the
CLV summary follows without another pass (:func:`helpers.clv.data.summary_from_totals`);
per-customer tables are joined by Arrow hash lookups (:func:`.data.positions`), never by pandas
merges on text ids; the choice of k, the Gaussian mixture and the stability bootstrap use a sample
of at most ``cluster_sample`` customers drawn within each RFM segment (the report says so, with
the sample's size); crosstabs and migration counts are bincounts of category codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.core.registry import key_part
from helpers.segmentation import migration, narrative, profiles
from helpers.segmentation.clustering import CustomerClusters, adjusted_rand
from helpers.segmentation.data import (
    RFMResult,
    arrow_array,
    labels_at,
    positions,
    rfm_tables,
    snapshot_checks,
    strictly_increasing,
)
from helpers.segmentation.rfm import score, segment_map, segment_table
from helpers.segmentation.value import abc_tiers, concentration, predicted_clv, tier_summary

__all__ = ["SEGMENT_COLUMNS", "SegmentationAnalysis", "slug"]

#: The columns of ``segments.csv``, one row per customer, for CRM tools: the issue's list first
#: (``value_tier`` by revenue), then the cluster's name, predicted CLV and the tier by it.
SEGMENT_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "cluster",
    "value_tier",
    "cluster_name",
    "predicted_clv",
    "clv_tier",
]


slug = key_part  # metric key parts (helpers.core.registry.key_part)


def _text(values: pd.Series) -> pd.Series:
    """A label column as text, "" where missing (categories by their codes: no Python object per row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = [*map(str, values.cat.categories), ""]
        codes = values.cat.codes.to_numpy()
        return pd.Series(labels_at(np.where(codes < 0, len(labels) - 1, codes), labels), index=values.index)
    if values.dtype == "str":
        return values.fillna("")
    return values.astype(object).where(values.notna(), "").astype(str)


def _attribute_frame(customers) -> pd.DataFrame:
    """The customer table as pandas: as given, or fetched from an Ibis table sorted by
    ``customer_id`` (so that unique ids are told by one comparison, and the lookup of the segmented
    customers, sorted the same way, is often the identity) as Arrow with its text columns (other
    than the id) dictionary-encoded, so that they arrive as categories."""
    if isinstance(customers, pd.DataFrame):
        return customers
    arrow = customers.order_by("customer_id").to_pyarrow()
    columns = [
        col.dictionary_encode() if name != "customer_id" and pa.types.is_string(col.type) else col
        for name, col in zip(arrow.column_names, arrow.columns)
    ]
    return pa.table(columns, names=arrow.column_names).to_pandas(date_as_object=False)


def _n_clusters(value: int | str) -> int | str:
    """``"auto"`` (any case) or a whole number; a number given as text (``"3"``, as a notebook
    parameter may arrive) is read as that number."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        return text
    return value


class SegmentationAnalysis:
    """RFM segments, value tiers, clusters, attribute profiles and migration, in one fit.

    Parameters: ``as_of`` (snapshot date; purchases before it count; default the day after the
    last row), ``compare_to`` (an earlier snapshot for migration; None = skip), ``rfm_bins``
    (scores 1..bins), ``segment_names`` (changes to the segment map, see
    :func:`~.rfm.segment_map`), ``n_clusters`` (``"auto"`` or a number), ``k_min``/``k_max``
    (the range searched), ``seed``, ``horizon_months`` (predicted CLV), ``abc_shares`` (value
    shares of tiers A and B), ``cluster_sample`` (the most customers the choice of k, the mixture
    and the stability bootstrap use; a larger base is sampled within each RFM segment)."""

    def __init__(
        self,
        as_of=None,
        compare_to=None,
        rfm_bins: int = 5,
        segment_names: Mapping[str, str] | None = None,
        n_clusters: int | str = "auto",
        k_min: int = 2,
        k_max: int = 8,
        seed: int = 42,
        horizon_months: int = 12,
        abc_shares: Sequence[float] = (0.8, 0.15),
        cluster_sample: int = 20_000,
    ):
        self.as_of = as_of
        self.compare_to = compare_to
        self.rfm_bins = rfm_bins
        self.segment_names = segment_names
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.seed = seed
        self.horizon_months = horizon_months
        self.abc_shares = tuple(abc_shares)
        self.cluster_sample = cluster_sample

    # ------------------------------------------------------------------------------------
    def fit(
        self,
        table,
        customers: pd.DataFrame | None = None,
        customer_col="customer_id",
        date_col="date",
        amount_col="amount",
    ) -> SegmentationAnalysis:
        """``table``: the transaction log (Ibis); ``customers``: one row per customer with
        ``customer_id`` and attribute columns, as pandas or as an Ibis table (e.g. a load's
        ``.table``: fetched as Arrow with text columns as categories, a code per customer), or None."""
        cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        self.map_ = segment_map(self.segment_names)
        self.skipped_: dict[str, str] = {}
        checks = snapshot_checks(table, self.as_of, **cols)
        # one aggregation of the purchase days gives both snapshots' RFM columns and, with each
        # customer's first spend, the CLV models' summary (no second pass over the log)
        self.rfm_, before = rfm_tables(table, self.as_of, self.compare_to, checks=checks, first_spend=True, **cols)
        self.clv_ = predicted_clv(table, self.rfm_.as_of, self.horizon_months, rfm=self.rfm_.rfm, **cols)
        self.rfm_.rfm = self.rfm_.rfm.drop(columns="first_spend")
        if len(self.rfm_.rfm) < 3:
            raise ValueError(
                f"Only {len(self.rfm_.rfm)} customers bought before {self.rfm_.as_of.date()}: too few to segment."
            )
        c = self._segment(self.rfm_)
        # the table is sorted by customer_id, so ties in value fall to the lower id by position
        c["value_tier"] = abc_tiers(c["monetary"], None, self.abc_shares)
        self.revenue_tiers_ = tier_summary(c, "value_tier", "monetary")
        self.revenue_concentration_ = concentration(c["monetary"])
        if self.clv_.available:
            at = positions(c["customer_id"], self.clv_.clv["customer_id"])
            values = self.clv_.clv["predicted_clv"].to_numpy(dtype=float)
            c["predicted_clv"] = np.where(at >= 0, values[at], np.nan)
            known = c["predicted_clv"].notna().to_numpy()
            every = bool(known.all())  # the usual case: no copies of the customer table by a mask
            clv = c["predicted_clv"] if every else c["predicted_clv"][known]
            codes = np.full(len(c), -1, dtype=np.int8)  # -1: no predicted CLV, no tier
            codes[known] = abc_tiers(clv, None, self.abc_shares).cat.codes.to_numpy()
            c["clv_tier"] = pd.Categorical.from_codes(codes, categories=["A", "B", "C"], ordered=True)
            tiers = c[["clv_tier", "predicted_clv"]]
            self.clv_tiers_ = tier_summary(tiers if every else tiers[known], "clv_tier", "predicted_clv")
            self.clv_concentration_ = concentration(clv)
        else:
            c["predicted_clv"] = np.nan
            c["clv_tier"] = pd.Categorical(np.full(len(c), None), categories=["A", "B", "C"], ordered=True)
            self.clv_tiers_ = self.clv_concentration_ = None
            self.skipped_["clv"] = self.clv_.reason

        self.clusters_ = CustomerClusters(
            n_clusters=_n_clusters(self.n_clusters),
            k_min=self.k_min,
            k_max=self.k_max,
            seed=self.seed,
            search_sample=self.cluster_sample,
            sample_parameter="cluster_sample",
        ).fit(
            c[["customer_id", "recency_days", "frequency", "monetary"]],
            strata=c["rfm_segment"],
            strata_label="RFM segment",
        )
        c["cluster"] = self.clusters_.labels_
        c["cluster_name"] = pd.Categorical.from_codes(
            self.clusters_.labels_, categories=[self.clusters_.names_[k] for k in range(self.clusters_.k_)]
        )
        self.cluster_segment_ari_ = adjusted_rand(c["rfm_segment"], c["cluster"])
        self.customers_ = c
        self.segments_ = segment_table(c, self.map_)

        self.profiles_ = self.profile_tests_ = self.cluster_profiles_ = self.cluster_profile_tests_ = None
        self.customer_file_ = None
        if customers is None:
            self.skipped_["profiles"] = narrative.skipped("Profiles by attribute are", "customer table", "customers")
        else:
            self._profile(_attribute_frame(customers))

        self.migration_ = None
        if self.compare_to is None:
            self.skipped_["migration"] = narrative.skipped(
                "Migration between segments is", "earlier date", "compare_to"
            )
        else:
            self._migrate(before)
        return self

    def _segment(self, result: RFMResult, reference: pd.DataFrame | None = None) -> pd.DataFrame:
        c = score(result.rfm, self.rfm_bins, reference)
        c["rfm_segment"] = self.map_.assign(c["r_score"], c["fm_score"], self.rfm_bins).array  # categories: best first
        return c

    def _profile(self, customers: pd.DataFrame) -> None:
        c = self.customers_
        ids = customers["customer_id"]
        # sorted ids are unique when each is greater than the one before; else hashed in Arrow
        unique = strictly_increasing(ids) or pc.count_distinct(arrow_array(ids), mode="all").as_py() == len(ids)
        attrs = customers if unique else customers.drop_duplicates("customer_id")
        # each segmented customer's row of the customer table, by hash lookup (not a merge on text ids)
        at = positions(c["customer_id"], attrs["customer_id"])
        found = at >= 0
        self.customer_file_ = {
            "rows": len(customers),
            "segmented_without_row": int((~found).sum()),
            "rows_without_purchase": int(len(attrs) - found.sum()),
        }
        names = profiles.candidate_attributes(attrs)
        if not names:
            self.skipped_["profiles"] = (
                "Profiles by attribute are skipped: the customer table has no column with 2 to 30 categories."
            )
            return
        merged = attrs[names].iloc[np.where(found, at, 0)].reset_index(drop=True)
        if not found.all():  # no row in the customer table: the attributes are missing
            merged = merged.where(np.broadcast_to(found[:, None], merged.shape))
        merged = merged.astype("category")  # coded once, for the crosstabs by segment and by cluster
        merged.insert(0, "rfm_segment", c["rfm_segment"].array)
        merged.insert(1, "cluster_name", c["cluster_name"].array)
        self.profiles_, self.profile_tests_ = profiles.profile_attributes(
            merged, "rfm_segment", names, segment_order=self.map_.order
        )
        self.cluster_profiles_, self.cluster_profile_tests_ = profiles.profile_attributes(
            merged, "cluster_name", names, segment_order=list(self.clusters_.profiles_["name"])
        )

    def _migrate(self, before_rfm: RFMResult) -> None:
        earlier = pd.Timestamp(self.compare_to)
        self.rfm_before_ = before_rfm
        if self.rfm_.rfm.empty or len(self.rfm_before_.rfm) < 3:
            self.skipped_["migration"] = (
                f"Migration is skipped: only {len(self.rfm_before_.rfm)} customers had bought before "
                f"{earlier.date()}, too few to segment."
            )
            return
        # scored against the later snapshot's boundaries: a move reflects what the customer did
        before = self._segment(self.rfm_before_, reference=self.rfm_.rfm).set_index("customer_id")["rfm_segment"]
        after = self.customers_.set_index("customer_id")["rfm_segment"]
        counts, shares, moves = migration.compare(before, after, order=self.map_.order, rank=self.map_.rank)
        self.migration_ = {
            "counts": counts,
            "shares": shares,
            "movements": moves,
            "summary": migration.migration_summary(moves),
        }

    # ------------------------------------------------------------------------------------
    def customers_table(self) -> pd.DataFrame:
        """``segments.csv``: one row per customer (columns :data:`SEGMENT_COLUMNS`), money to
        the cent."""
        out = self.customers_[SEGMENT_COLUMNS].round({"monetary": 2, "predicted_clv": 2})
        out["customer_id"] = out["customer_id"].astype("str")  # the same Arrow text, pandas' default type
        for col in ("rfm_segment", "value_tier", "cluster_name", "clv_tier"):
            out[col] = _text(out[col])
        if strictly_increasing(out["customer_id"]):
            return out.reset_index(drop=True)  # already in customer order (the RFM table is sorted)
        return out.sort_values("customer_id", ignore_index=True)

    def movements_table(self) -> pd.DataFrame | None:
        """``migration.csv``: customers who upgraded or slipped (None without ``compare_to``), the
        segments and the movement as text."""
        if self.migration_ is None:
            return None
        m = self.migration_["movements"]
        m = m[m["movement"].isin(["upgraded", "slipped"])].reset_index(drop=True)
        for col in ("segment_before", "segment_after", "movement"):
            m[col] = _text(m[col])
        return m

    def moved_customers(self) -> int:
        """How many customers upgraded or slipped: the rows of :meth:`movements_table` (0 without
        ``compare_to``), counted without building it."""
        if self.migration_ is None:
            return 0
        return int(self.migration_["summary"][["upgraded", "slipped"]].sum())

    # ------------------------------------------------------------------------------------
    def silhouette(self) -> float:
        """Mean silhouette of the clusters in use (from the diagnostics at the chosen k)."""
        d = self.clusters_.diagnostics_.set_index("k")
        return float(d.loc[self.clusters_.k_, "silhouette"])

    def metrics(self) -> dict:
        """Key figures with the dotted names of ``metrics.json`` (declared in ``segmentation/domain.py``)."""
        r = self.rfm_
        conc = self.revenue_concentration_
        a = self.revenue_tiers_.set_index("tier").loc["A"]
        out = {
            "customers": len(self.customers_),
            "clusters": int(self.clusters_.k_),
            "silhouette": self.silhouette(),
            "segmentation.as_of": str(r.as_of.date()),
            "segmentation.rfm_bins": int(self.rfm_bins),
            "transactions.negative_rows": r.negative_rows,
            "transactions.zero_value_rows": r.zero_rows,
            "segmentation.rows_after_as_of": r.rows_after_as_of,
            "segmentation.customers_without_purchase": r.customers_without_purchase,
            "segmentation.revenue": float(self.customers_["monetary"].sum()),
            "segmentation.gini": conc.gini,
            "segmentation.pareto_customer_share": conc.pareto_customer_share,
            "segmentation.tier_a_customer_share": float(a["share_of_customers_pct"]) / 100,
            "clusters.stability": float(self.clusters_.stability_["mean"]),
            "clusters.gmm_agreement": float(self.clusters_.gmm_agreement_),
            "clusters.rfm_agreement": self.cluster_segment_ari_,
        }
        for row in self.segments_.itertuples():
            key = slug(row.segment)
            out[f"segments.{key}.customer_share"] = float(row.share_of_customers_pct) / 100
            out[f"segments.{key}.revenue_share"] = float(row.share_of_revenue_pct) / 100
        if self.clv_concentration_ is not None:
            out["segmentation.clv_total"] = float(self.customers_["predicted_clv"].sum())
            out["segmentation.clv_pareto_customer_share"] = self.clv_concentration_.pareto_customer_share
        if self.profiles_ is not None:
            out["profiles.attributes_tested"] = int(self.profiles_["valid"].sum())
            out["profiles.attributes_significant"] = int(self.profiles_["significant"].sum())
            out["profiles.attributes_significant_by_cluster"] = int(self.cluster_profiles_["significant"].sum())
        if self.migration_ is not None:
            s = self.migration_["summary"]
            for key in ("upgraded", "slipped", "unchanged", "new"):
                out[f"migration.{key}"] = int(s.get(key, 0))
        return out

    def summary_figures(self, input_name: str = "transactions") -> dict[str, str]:
        """The report's summary cards: recorded metric key -> card label."""
        figs = {
            "customers": "Customers segmented",
            "segmentation.revenue": "Revenue before the snapshot",
            "segmentation.pareto_customer_share": "Share of customers making 80 % of revenue",
            "clusters": "Clusters found",
        }
        champions = slug(self.map_.order[0])
        figs[f"segments.{champions}.revenue_share"] = f"Revenue from {self.map_.order[0]}"
        if self.migration_ is not None:
            figs["migration.slipped"] = f"Customers who slipped since {pd.Timestamp(self.compare_to).date()}"
        figs[f"rows.{input_name}.quarantined_share"] = "Rows set aside"
        return figs

    def findings(self, currency: str = "") -> dict[str, str]:
        """The report's sentences that compare or judge, from this run's numbers ("" when a
        section does not apply)."""
        conc = self.revenue_concentration_
        c = self.customers_
        win = c.loc[c["rfm_segment"].isin(narrative.WIN_BACK), "recency_days"]  # one column, not the whole table
        out = {
            "segments": narrative.segment_overview(self.segments_),
            "concentration": narrative.concentration_sentence(conc.pareto_customer_share, 0.8, conc.gini),
            "win_back": narrative.win_back(self.segments_, float(win.median()) if len(win) else None, currency),
            "revenue_tiers": narrative.tiers_sentence(self.revenue_tiers_, "revenue"),
            "clv_tiers": narrative.tiers_sentence(self.clv_tiers_, "predicted CLV")
            if self.clv_tiers_ is not None
            else "",
            "clusters": " ".join(
                (
                    self.clusters_.choice_reason_,
                    self.clusters_.stability_sentence(),
                    narrative.mixture_agreement(float(self.clusters_.gmm_agreement_), int(self.clusters_.k_)),
                )
            ),
            "clusters_vs_segments": narrative.clusters_vs_segments(
                self.cluster_segment_ari_, int(self.clusters_.k_), int((self.segments_["customers"] > 0).sum())
            ),
            "migration": "",
            "profiles": "",
            "cluster_profiles": "",
        }
        if self.migration_ is not None:
            out["migration"] = migration.migration_sentence(
                self.migration_["summary"],
                self.migration_["counts"],
                pd.Timestamp(self.compare_to),
                self.rfm_.as_of,
            )
        if self.profile_tests_:
            out["profiles"] = self.profile_tests_[self.profiles_.iloc[0]["attribute"]].sentence()
            out["cluster_profiles"] = self.cluster_profile_tests_[self.cluster_profiles_.iloc[0]["attribute"]].sentence(
                groups="clusters"
            )
        return out

    def summary_findings(self, currency: str = "") -> list[str]:
        """The three findings the report opens with: where the revenue is, the win-back list,
        and what changed since ``compare_to`` (else how concentrated revenue is)."""
        f = self.findings(currency)
        return [s for s in (f["segments"], f["win_back"], f["migration"], f["concentration"]) if s][:3]

    def concentration_curves(self) -> pd.DataFrame:
        """Share of customers (best first, %) against the share of revenue and of predicted CLV
        they hold (%), with the line of equal shares, for one chart."""
        out = self.revenue_concentration_.curve.rename(columns={"share_of_value_pct": "revenue"})
        if self.clv_concentration_ is not None:
            out["predicted_clv"] = self.clv_concentration_.curve["share_of_value_pct"].to_numpy()
        out["equal"] = out["share_of_customers_pct"]
        return out

    def cluster_shares(self) -> pd.DataFrame:
        """Per cluster (by name): share of customers and of revenue, in %."""
        p = self.clusters_.profiles_
        return p[["name", "share_of_customers_pct", "revenue_share_pct"]]

    def significant_profiles(self, per_grouping: int = 2) -> list[tuple[str, profiles.CrosstabTest]]:
        """The strongest valid, significant attribute tests, up to ``per_grouping`` by RFM segment
        and as many by cluster: ``[(grouping, test), ...]`` with grouping "segments" or "clusters"."""
        out = []
        for groups, overview, tests in (
            ("segments", self.profiles_, self.profile_tests_),
            ("clusters", self.cluster_profiles_, self.cluster_profile_tests_),
        ):
            if overview is None:
                continue
            names = overview.loc[overview["valid"] & overview["significant"], "attribute"]
            out += [(groups, tests[name]) for name in list(names)[:per_grouping]]
        return out
