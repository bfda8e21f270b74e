"""The whole CLV analysis in one estimator, so the notebook only shows and explains results.

Two fits, each with a purpose:
1. *Validation fit*: models fitted on the calibration period (to ``calibration_end``) and judged
   on the holdout (to ``observation_end``): published-value checks, model comparison, tracking
   plots, the churn classifier. Its parameters are the ``bgnbd.*``/``pareto_nbd.*`` metrics.
2. *Forward-looking fit*: the chosen transaction model and Gamma-Gamma refitted on everything up
   to ``observation_end``; P(alive), expected purchases and CLV per customer come from it.
With no holdout (``observation_end`` equal to or before ``calibration_end``, or missing), the two
fits are the same and the holdout checks are skipped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.clv import analysis
from helpers.clv.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModelFitError,
    ParetoNBDModel,
    customer_lifetime_value,
    days_per_unit,
    gamma_gamma_independence,
)
from helpers.clv.summary import cohort_retention, customer_summary

TRANSACTION_MODELS = {"bgnbd": BetaGeoModel, "pareto_nbd": ParetoNBDModel}
MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
CUSTOMER_COLUMNS = [
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


class CLVAnalysis:
    """Fit, validate and score: ``CLVAnalysis(...).fit(transactions_table)``.

    Parameters: ``calibration_end``/``observation_end`` (dates), ``time_unit`` (``W``/``D``),
    ``discount_rate`` (annual), ``horizon_months``, ``margin`` (share of spend that is profit,
    1.0 = CLV in revenue), ``churn_threshold`` (P(alive) below which a customer is at risk),
    ``transaction_model`` (``bgnbd`` or ``pareto_nbd``, used for CLV), ``tier_shares``.
    """

    def __init__(
        self,
        calibration_end=None,
        observation_end=None,
        time_unit: str = "W",
        discount_rate: float = 0.10,
        horizon_months: int = 12,
        margin: float = 1.0,
        churn_threshold: float = 0.3,
        transaction_model: str = "bgnbd",
        tier_shares: tuple[float, float] = (0.2, 0.3),
        seed: int = 0,
    ):
        self.calibration_end = calibration_end
        self.observation_end = observation_end
        self.time_unit = time_unit
        self.discount_rate = discount_rate
        self.horizon_months = horizon_months
        self.margin = margin
        self.churn_threshold = churn_threshold
        self.transaction_model = transaction_model
        self.tier_shares = tier_shares
        self.seed = seed

    # ------------------------------------------------------------------------------------
    def fit(self, table, customer_col="customer_id", date_col="date", amount_col="amount") -> CLVAnalysis:
        if self.transaction_model not in TRANSACTION_MODELS:
            raise ValueError(f"transaction_model must be one of {', '.join(TRANSACTION_MODELS)}")
        if not 0 < self.churn_threshold < 1:
            raise ValueError("churn_threshold must be between 0 and 1")
        cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        cal = self.calibration_end
        obs = self.observation_end
        if cal is not None and obs is not None and pd.Timestamp(obs) <= pd.Timestamp(cal):
            obs = cal
        self.calibration_ = customer_summary(table, cal, obs if cal is not None else None, self.time_unit, **cols)
        s = self.calibration_.summary
        if len(s) == 0:
            raise ModelFitError("No customer made a purchase before the calibration end: move calibration_end later.")
        self.has_holdout_ = self.calibration_.has_holdout
        self.holdout_duration_ = self.calibration_.holdout_duration if self.has_holdout_ else None

        # 1. validation fit on the calibration period
        self.bgnbd_ = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
        self.pareto_nbd_ = ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])
        repeat = s[(s["frequency"] > 0) & (s["monetary"] > 0)]
        self.repeat_buyers_ = int((s["frequency"] > 0).sum())
        self.gamma_gamma_excluded_ = int(len(s) - len(repeat))
        self.gamma_gamma_ = GammaGammaModel().fit(repeat["frequency"], repeat["monetary"])
        self.independence_ = gamma_gamma_independence(repeat["frequency"], repeat["monetary"], warn=False)
        models = {"BG/NBD": self.bgnbd_, "Pareto/NBD": self.pareto_nbd_}
        self.comparison_ = analysis.compare_models(models, s, self.holdout_duration_)
        if self.has_holdout_:
            chosen = self.bgnbd_ if self.transaction_model == "bgnbd" else self.pareto_nbd_
            self.holdout_table_ = analysis.holdout_by_frequency(chosen, s, self.holdout_duration_)
            first = pd.Timestamp(s["first_purchase"].min())
            self.tracking_ = analysis.tracking(
                chosen, table, s["first_purchase"], first, self.calibration_.observation_end, self.time_unit, **cols
            )
            p_alive_cal = np.asarray(chosen.p_alive(s["frequency"], s["recency"], s["T"]), dtype=float)
            expected_cal = np.asarray(
                chosen.expected_purchases(self.holdout_duration_, s["frequency"], s["recency"], s["T"]), dtype=float
            )
            self.churn_ = analysis.ChurnClassifier(seed=self.seed).fit(
                s, baseline_score=1 - p_alive_cal, baseline_label="1 - P(alive)"
            )
            from sklearn.metrics import roc_auc_score

            y = (s["frequency_holdout"].to_numpy() == 0).astype(int)
            self.expected_purchases_auc_ = float(roc_auc_score(y, -expected_cal))
        else:
            self.holdout_table_ = self.tracking_ = self.churn_ = None
            self.expected_purchases_auc_ = None

        # 2. forward-looking fit on everything observed
        if self.has_holdout_:
            self.full_ = customer_summary(table, self.calibration_.observation_end, None, self.time_unit, **cols)
            f = self.full_.summary
            self.final_model_ = TRANSACTION_MODELS[self.transaction_model]().fit(f["frequency"], f["recency"], f["T"])
            rep_f = f[(f["frequency"] > 0) & (f["monetary"] > 0)]
            self.final_spend_model_ = GammaGammaModel().fit(rep_f["frequency"], rep_f["monetary"])
        else:
            self.full_ = self.calibration_
            f = s
            self.final_model_ = self.bgnbd_ if self.transaction_model == "bgnbd" else self.pareto_nbd_
            self.final_spend_model_ = self.gamma_gamma_
        self.customers_ = self._score(f)
        self.at_risk_ = analysis.at_risk(self.customers_, self.churn_threshold)
        self.cohorts_ = cohort_retention(table, **cols)
        return self

    def _score(self, f: pd.DataFrame) -> pd.DataFrame:
        horizon = self.horizon_months * days_per_unit("M") / days_per_unit(self.time_unit)
        m = self.final_model_
        out = f[["customer_id", "frequency", "recency", "T", "monetary"]].copy()
        out["p_alive"] = np.asarray(m.p_alive(f["frequency"], f["recency"], f["T"]), dtype=float)
        out["expected_purchases"] = np.asarray(
            m.expected_purchases(horizon, f["frequency"], f["recency"], f["T"]), dtype=float
        )
        out["expected_spend"] = np.asarray(
            self.final_spend_model_.expected_spend(f["frequency"], f["monetary"]), dtype=float
        )
        out["clv"] = np.asarray(
            customer_lifetime_value(
                m,
                self.final_spend_model_,
                f["frequency"],
                f["recency"],
                f["T"],
                f["monetary"],
                horizon_months=self.horizon_months,
                discount_rate=self.discount_rate,
                margin=self.margin,
                time_unit=self.time_unit.upper(),
            ),
            dtype=float,
        )
        out["value_tier"] = analysis.value_tiers(out["clv"], self.tier_shares)
        return out.sort_values("clv", ascending=False, ignore_index=True)

    # ------------------------------------------------------------------------------------
    def customers_table(self) -> pd.DataFrame:
        """The per-customer export for CRM tools (``customers.csv``)."""
        return self.customers_[CUSTOMER_COLUMNS]

    def tiers(self) -> pd.DataFrame:
        return analysis.tier_table(self.customers_)

    def top_tier_share(self) -> float:
        t = self.tiers()
        return float(t.loc[t["value_tier"] == "top", "share_of_value_pct"].iloc[0]) / 100

    def metrics(self) -> dict:
        """Key figures with the dotted names of ``metrics.json``."""
        out = {
            "customers": len(self.customers_),
            "customers_calibration": len(self.calibration_.summary),
            "transactions.negative_rows": self.calibration_.negative_rows,
            "transactions.zero_value_rows": self.calibration_.zero_rows,
            "gamma_gamma.repeat_buyers": int(self.repeat_buyers_),
            "gamma_gamma.excluded_customers": int(self.gamma_gamma_excluded_),
            "gamma_gamma.frequency_spend_correlation": self.independence_.correlation,
            "clv.total": float(self.customers_["clv"].sum()),
            "clv.mean": float(self.customers_["clv"].mean()),
            "clv.top_tier_share": self.top_tier_share(),
            "clv.horizon_months": self.horizon_months,
            "clv.discount_rate": self.discount_rate,
            "clv.margin": self.margin,
            "churn.threshold": self.churn_threshold,
            "churn.at_risk_customers": len(self.at_risk_),
            "churn.value_at_risk": float(self.at_risk_["value_at_risk"].sum()),
        }
        for prefix, model in (
            ("bgnbd", self.bgnbd_),
            ("pareto_nbd", self.pareto_nbd_),
            ("gamma_gamma", self.gamma_gamma_),
        ):
            for k, v in model.params_.items():
                out[f"{prefix}.{k}"] = float(v)
            out[f"{prefix}.loglik"] = float(model.log_likelihood_)
            out[f"{prefix}.aic"] = float(model.aic_)
        if self.has_holdout_:
            chosen = self.comparison_.set_index("model").loc[MODEL_LABELS[self.transaction_model]]
            out["holdout.actual_repeat_transactions"] = int(self.calibration_.summary["frequency_holdout"].sum())
            out["holdout.predicted_repeat_transactions"] = float(chosen["holdout_predicted"])
            out["holdout.weeks" if self.time_unit.upper() == "W" else "holdout.days"] = float(self.holdout_duration_)
            out["churn.classifier_auc"] = self.churn_.auc_
            out["churn.p_alive_auc"] = self.churn_.baseline_auc_
            out["churn.expected_purchases_auc"] = self.expected_purchases_auc_
        return out

    def headline(self) -> dict[str, str]:
        total = self.customers_["clv"].sum()
        return {
            "customers": f"{len(self.customers_):,}",
            f"predicted value, next {self.horizon_months} months": f"{total:,.0f}",
            "share of value in the top tier": f"{100 * self.top_tier_share():.0f} %",
            f"customers at risk (P(alive) < {self.churn_threshold:g})": f"{len(self.at_risk_):,}",
        }
