"""The CLV domain's declaration: the ``transactions`` contract and its simulator.

Light by design (standard library, ``helpers.core.registry`` and ``helpers.contracts.kinds``):
the registry imports this module to learn what the domain reads and simulates.
"""

from __future__ import annotations

from helpers.contracts.kinds import Contract, Field
from helpers.core.registry import Domain, Metric, register

TRANSACTIONS = Contract(
    "transactions",
    (
        Field("customer_id", "id", description="customer identifier"),
        Field("date", "date", description="purchase date"),
        Field("amount", "number", description="order value in currency units; negative for returns"),
        Field("order_id", "id", required=False, nullable=True, description="order identifier"),
        Field("channel", "text", required=False, nullable=True, description="sales channel"),
        Field("quantity", "integer", required=False, nullable=True, description="items in the order"),
    ),
    "one row per purchase",
)

DOMAIN = register(
    Domain(
        name="clv",
        title="Customer lifetime value",
        kinds=(TRANSACTIONS,),
        simulators={"transactions": "helpers.clv.simulate:generate_transactions"},
        metrics=(
            Metric(
                "customers", "Customers", kind="int", help="customers scored (first purchase by the end of the data)"
            ),
            Metric("customers_calibration", "Customers in calibration", kind="int"),
            Metric("transactions.negative_rows", "Return rows", kind="int", help="rows with a negative amount"),
            Metric("transactions.zero_value_rows", "Zero-value rows", kind="int"),
            Metric(
                "transactions.duplicate_rows",
                "Exact duplicate rows",
                kind="int",
                help="accepted rows identical in every column to an earlier row",
            ),
            Metric(
                "transactions.duplicates_dropped",
                "Duplicate rows dropped",
                kind="int",
                help="exact duplicate rows dropped before fitting (drop_duplicates); 0 when they were kept",
            ),
            Metric("model.requested", "Transaction model asked for", kind="text"),
            Metric("model.used", "Transaction model used", kind="text", help="the model behind P(alive) and CLV"),
            Metric("model.log_penalizer", "Penalty on log-parameters", kind="float"),
            Metric("model.fallback_reason", "Why another model is used", kind="text"),
            *(
                Metric(f"bgnbd.{p}", f"BG/NBD {p}", kind="float", unit=u)
                for p, u in (("r", ""), ("alpha", "time units"), ("a", ""), ("b", ""))
            ),
            *(
                Metric(f"pareto_nbd.{p}", f"Pareto/NBD {p}", kind="float", unit=u)
                for p, u in (("r", ""), ("alpha", "time units"), ("s", ""), ("beta", "time units"))
            ),
            *(Metric(f"gamma_gamma.{p}", f"Gamma-Gamma {p}", kind="float") for p in ("p", "q")),
            Metric("gamma_gamma.v", "Gamma-Gamma v", kind="money"),
            *(
                Metric(f"{m}.{stat}", f"{label} {stat_label}", kind="float")
                for m, label in (("bgnbd", "BG/NBD"), ("pareto_nbd", "Pareto/NBD"), ("gamma_gamma", "Gamma-Gamma"))
                for stat, stat_label in (("loglik", "log-likelihood"), ("aic", "AIC"))
            ),
            Metric("gamma_gamma.repeat_buyers", "Repeat buyers", kind="int"),
            Metric("gamma_gamma.log_penalizer", "Gamma-Gamma penalty on log-parameters", kind="float"),
            Metric("gamma_gamma.excluded_customers", "Left out of Gamma-Gamma", kind="int"),
            Metric("gamma_gamma.frequency_spend_correlation", "Frequency-spend correlation", kind="float"),
            Metric("clv.total", "Predicted value", kind="money", help="sum of CLV over the horizon"),
            Metric("clv.mean", "Mean CLV", kind="money"),
            Metric("clv.top_tier_share", "Value in the top tier", kind="share"),
            Metric("clv.horizon_months", "CLV horizon", kind="int", unit="months"),
            Metric("clv.discount_rate", "Discount rate", kind="share", unit="per year"),
            Metric("clv.margin", "Margin", kind="share", help="share of spend kept as profit"),
            Metric(
                "churn.threshold", "At-risk threshold", kind="float", help="P(alive) below which a customer is at risk"
            ),
            Metric("churn.at_risk_customers", "Customers at risk", kind="int"),
            Metric("churn.value_at_risk", "Value at risk", kind="money"),
            Metric("churn.classifier_auc", "Churn classifier ROC AUC", kind="float"),
            Metric("churn.p_alive_auc", "1 - P(alive) ROC AUC", kind="float"),
            Metric("churn.expected_purchases_auc", "Expected purchases ROC AUC", kind="float"),
            Metric(
                "churn.classifier_customers",
                "Customers the churn rankings were judged on",
                kind="int",
                help="all customers, or a stratified sample of churn_sample_size when there are more",
            ),
            Metric("holdout.actual_repeat_transactions", "Holdout repeat purchases", kind="int"),
            Metric("holdout.predicted_repeat_transactions", "Predicted holdout repeat purchases", kind="float"),
            Metric("holdout.days", "Holdout length", kind="int", unit="days"),
        ),
    )
)
