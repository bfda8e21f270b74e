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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from helpers.core.registry import key_part
from helpers.segmentation import migration, narrative, profiles
from helpers.segmentation.clustering import CustomerClusters
from helpers.segmentation.data import RFMResult, rfm_table
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
    shares of tiers A and B)."""

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
        ``customer_id`` and attribute columns (pandas), or None."""
        cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        self.map_ = segment_map(self.segment_names)
        self.skipped_: dict[str, str] = {}
        self.rfm_ = rfm_table(table, self.as_of, **cols)
        if len(self.rfm_.rfm) < 3:
            raise ValueError(
                f"Only {len(self.rfm_.rfm)} customers bought before {self.rfm_.as_of.date()}: too few to segment."
            )
        c = self._segment(self.rfm_)
        c["value_tier"] = abc_tiers(c["monetary"], c["customer_id"], self.abc_shares)
        self.revenue_tiers_ = tier_summary(c, "value_tier", "monetary")
        self.revenue_concentration_ = concentration(c["monetary"])
        self.clv_ = predicted_clv(table, self.rfm_.as_of, self.horizon_months, **cols)
        if self.clv_.available:
            c = c.merge(self.clv_.clv, on="customer_id", how="left")
            known = c["predicted_clv"].notna()
            c["clv_tier"] = pd.Categorical(np.full(len(c), None), categories=["A", "B", "C"], ordered=True)
            c.loc[known, "clv_tier"] = abc_tiers(
                c.loc[known, "predicted_clv"], c.loc[known, "customer_id"], self.abc_shares
            )
            self.clv_tiers_ = tier_summary(c[known], "clv_tier", "predicted_clv")
            self.clv_concentration_ = concentration(c.loc[known, "predicted_clv"])
        else:
            c["predicted_clv"] = np.nan
            c["clv_tier"] = pd.Categorical(np.full(len(c), None), categories=["A", "B", "C"], ordered=True)
            self.clv_tiers_ = self.clv_concentration_ = None
            self.skipped_["clv"] = self.clv_.reason

        self.clusters_ = CustomerClusters(
            n_clusters=_n_clusters(self.n_clusters), k_min=self.k_min, k_max=self.k_max, seed=self.seed
        ).fit(c[["customer_id", "recency_days", "frequency", "monetary"]])
        c["cluster"] = self.clusters_.labels_
        c["cluster_name"] = c["cluster"].map(self.clusters_.names_)
        self.cluster_segment_ari_ = float(adjusted_rand_score(c["rfm_segment"].astype(str), c["cluster"]))
        self.customers_ = c
        self.segments_ = segment_table(c, self.map_)

        self.profiles_ = self.profile_tests_ = self.cluster_profiles_ = self.cluster_profile_tests_ = None
        self.customer_file_ = None
        if customers is None:
            self.skipped_["profiles"] = narrative.skipped("Profiles by attribute are", "customer table", "customers")
        else:
            self._profile(customers)

        self.migration_ = None
        if self.compare_to is None:
            self.skipped_["migration"] = narrative.skipped(
                "Migration between segments is", "earlier date", "compare_to"
            )
        else:
            self._migrate(table, cols)
        return self

    def _segment(self, result: RFMResult, reference: pd.DataFrame | None = None) -> pd.DataFrame:
        c = score(result.rfm, self.rfm_bins, reference)
        c["rfm_segment"] = self.map_.assign(c["r_score"], c["fm_score"], self.rfm_bins).to_numpy()
        return c

    def _profile(self, customers: pd.DataFrame) -> None:
        attrs = customers.drop_duplicates("customer_id")
        merged = self.customers_[["customer_id", "rfm_segment", "cluster_name"]].merge(
            attrs, on="customer_id", how="left"
        )
        self.customer_file_ = {
            "rows": len(customers),
            "segmented_without_row": int((~self.customers_["customer_id"].isin(attrs["customer_id"])).sum()),
            "rows_without_purchase": int((~attrs["customer_id"].isin(self.customers_["customer_id"])).sum()),
        }
        names = profiles.candidate_attributes(attrs)
        if not names:
            self.skipped_["profiles"] = (
                "Profiles by attribute are skipped: the customer table has no column with 2 to 30 categories."
            )
            return
        self.profiles_, self.profile_tests_ = profiles.profile_attributes(
            merged, "rfm_segment", names, segment_order=self.map_.order
        )
        self.cluster_profiles_, self.cluster_profile_tests_ = profiles.profile_attributes(
            merged, "cluster_name", names, segment_order=list(self.clusters_.profiles_["name"])
        )

    def _migrate(self, table, cols) -> None:
        earlier = pd.Timestamp(self.compare_to)
        if earlier >= self.rfm_.as_of:
            raise ValueError(
                f"compare_to ({earlier.date()}) must be before as_of ({self.rfm_.as_of.date()}): it is the earlier snapshot."
            )
        self.rfm_before_ = rfm_table(table, earlier, **cols)
        if self.rfm_.rfm.empty or len(self.rfm_before_.rfm) < 3:
            self.skipped_["migration"] = (
                f"Migration is skipped: only {len(self.rfm_before_.rfm)} customers had bought before "
                f"{earlier.date()}, too few to segment."
            )
            return
        # scored against the later snapshot's boundaries: a move reflects what the customer did
        before = self._segment(self.rfm_before_, reference=self.rfm_.rfm).set_index("customer_id")["rfm_segment"]
        after = self.customers_.set_index("customer_id")["rfm_segment"]
        counts, shares = migration.transition_matrix(before, after, order=self.map_.order)
        moves = migration.movements(before, after, rank=self.map_.rank)
        self.migration_ = {
            "counts": counts,
            "shares": shares,
            "movements": moves,
            "summary": migration.migration_summary(moves),
        }

    # ------------------------------------------------------------------------------------
    def customers_table(self) -> pd.DataFrame:
        """``segments.csv``: one row per customer (columns :data:`SEGMENT_COLUMNS`)."""
        out = self.customers_[SEGMENT_COLUMNS].copy()
        for col in ("rfm_segment", "value_tier", "clv_tier"):
            out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
        return out.sort_values("customer_id", ignore_index=True)

    def movements_table(self) -> pd.DataFrame | None:
        """``migration.csv``: customers who upgraded or slipped (None without ``compare_to``)."""
        if self.migration_ is None:
            return None
        m = self.migration_["movements"]
        return m[m["movement"].isin(["upgraded", "slipped"])].reset_index(drop=True)

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
        win = c[c["rfm_segment"].isin(narrative.WIN_BACK)]
        out = {
            "segments": narrative.segment_overview(self.segments_),
            "concentration": narrative.concentration_sentence(conc.pareto_customer_share, 0.8, conc.gini),
            "win_back": narrative.win_back(
                self.segments_, float(win["recency_days"].median()) if len(win) else None, currency
            ),
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
