"""The segmentation domain's declaration: the ``customers`` contract and its simulator.

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``).
"""

from __future__ import annotations

from helpers.contracts.kinds import Contract, Field
from helpers.core.registry import Domain, Metric, register

CUSTOMERS = Contract(
    "customers",
    (
        Field("customer_id", "id", description="customer identifier, unique"),
        Field("signup_date", "date", required=False, nullable=True, description="first contact or signup"),
        Field("region", "text", required=False, nullable=True),
        Field("age_band", "text", required=False, nullable=True),
        Field("acquisition_channel", "text", required=False, nullable=True),
    ),
    "one row per customer",
    unique="customer_id",  # a repeated id is set aside (the first row is kept)
)

DOMAIN = register(
    Domain(
        name="segmentation",
        title="Customer segmentation",
        kinds=(CUSTOMERS,),
        simulators={"customers": "helpers.segmentation.simulate:generate_customers"},
        metrics=(
            Metric("customers", "Customers", kind="int", help="customers with a purchase before the snapshot date"),
            Metric("transactions.negative_rows", "Return rows", kind="int", help="rows with a negative amount"),
            Metric("transactions.zero_value_rows", "Zero-value rows", kind="int"),
            Metric("clusters", "Clusters", kind="int", help="number of clusters in use (chosen or fixed)"),
            Metric("silhouette", "Silhouette of the clusters", kind="float", help="mean silhouette, -1 to 1"),
            Metric("segmentation.as_of", "Snapshot date", kind="date", help="purchases before this day count"),
            Metric("segmentation.rfm_bins", "RFM score levels", kind="int"),
            Metric("segmentation.rows_after_as_of", "Rows after the snapshot", kind="int"),
            Metric("segmentation.customers_without_purchase", "Customers with only returns", kind="int"),
            Metric("segmentation.revenue", "Revenue before the snapshot", kind="money"),
            Metric("segmentation.gini", "Gini coefficient of revenue", kind="float"),
            Metric(
                "segmentation.pareto_customer_share",
                "Customers making 80 % of revenue",
                kind="share",
                help="smallest share of customers (best first) that makes 80 % of revenue",
            ),
            Metric("segmentation.tier_a_customer_share", "Customers in tier A (revenue)", kind="share"),
            Metric("segmentation.clv_total", "Predicted CLV", kind="money"),
            Metric("segmentation.clv_pareto_customer_share", "Customers holding 80 % of predicted CLV", kind="share"),
            Metric("clusters.stability", "Cluster stability (bootstrap ARI)", kind="float"),
            Metric("clusters.gmm_agreement", "K-means vs Gaussian mixture (ARI)", kind="float"),
            Metric("clusters.rfm_agreement", "Clusters vs RFM segments (ARI)", kind="float"),
            Metric("segments.{segment}.customer_share", "Customers in {segment}", kind="share"),
            Metric("segments.{segment}.revenue_share", "Revenue from {segment}", kind="share"),
            Metric("profiles.attributes_tested", "Attributes tested", kind="int"),
            Metric("profiles.attributes_significant", "Attributes that differ by segment", kind="int"),
            Metric("profiles.attributes_significant_by_cluster", "Attributes that differ by cluster", kind="int"),
            *(
                Metric(f"migration.{m}", f"Customers {label}", kind="int")
                for m, label in (
                    ("upgraded", "who upgraded"),
                    ("slipped", "who slipped"),
                    ("unchanged", "in the same segment"),
                    ("new", "new since the earlier date"),
                )
            ),
        ),
    )
)
