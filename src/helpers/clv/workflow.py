"""The whole CLV analysis for the notebook: fit once, then present with display settings.

``CLVAnalysis(...).fit(table)`` does the expensive work and depends only on the model settings
(dates, time unit, transaction model, discount rate, horizon, margin):

1. *Validation fit*: both transaction models and Gamma-Gamma fitted on the calibration period (to
   ``calibration_end``) and judged on the holdout (to ``observation_end``): model comparison,
   tracking, the churn classifier. Their parameters are the ``bgnbd.*``/``pareto_nbd.*`` metrics.
2. *Forward-looking fit*: the transaction model in use and Gamma-Gamma refitted on everything up
   to ``observation_end``; P(alive), expected purchases and CLV per customer come from it.
With no holdout (``observation_end`` equal to or before ``calibration_end``, or missing), the two
fits are the same and the holdout checks are skipped.

A transaction model whose parameters run to the edge of their range (a young customer base where
nobody has visibly dropped out yet) does not stop the run: :func:`~.models.fit_transaction_model`
moves on to the other model or a small penalty, and the report says which model scores the
customers and why (``model.used``, ``model.fallback_reason``).

Exact duplicate rows (identical in every column) are counted before anything is fitted
(:func:`helpers.quality.duplicates.exact_duplicates`); left in, each counts as one more purchase,
so a log exported twice doubles every CLV. ``drop_duplicates=True`` fits on the distinct rows;
either way the report says how many there were and what was done (``transactions.duplicate_rows``,
``transactions.duplicates_dropped``).

``analysis.present(churn_threshold=..., tier_shares=...)`` is cheap: value tiers, the at-risk
list, metrics, headline figures and the report's sentences (:mod:`.narrative`), without refitting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from helpers.clv import churn, narrative, validation
from helpers.clv.data import customer_summaries, purchase_days_expr, transaction_checks
from helpers.clv.models import (
    DROPOUT_PARAMETERS,
    FALLBACK_LOG_PENALIZER,
    MODEL_LABELS,
    TRANSACTION_MODELS,
    GammaGammaModel,
    ModelFitError,
    NotIdentifiedError,
    TransactionFit,
    choose,
    fit_transaction_model,
)
from helpers.clv.models._inputs import remember_rows
from helpers.clv.models.base import NoRepeatPurchasesError
from helpers.clv.value import (
    customer_lifetime_value,
    descending_order,
    gamma_gamma_independence,
    tier_table,
    value_tiers,
)
from helpers.core.engine import Materialised
from helpers.core.units import days_per_unit, unit_name
from helpers.quality.duplicates import exact_duplicates

__all__ = ["CUSTOMER_COLUMNS", "EXPORT_DECIMALS", "MODEL_LABELS", "CLVAnalysis", "CLVPresentation"]

_SCORE_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary", "p_alive"]
#: The columns of ``customers.csv`` (every customer) and ``at_risk.csv`` (those at risk), for CRM tools.
CUSTOMER_COLUMNS = [*_SCORE_COLUMNS, "expected_purchases", "clv", "value_tier"]
AT_RISK_COLUMNS = [*_SCORE_COLUMNS, "value_if_active", "value_at_risk"]
#: Decimals of the exports: money to the cent, weeks to 4 decimals (under a minute), probabilities
#: and expected purchases to 6; a CRM tool gains nothing from 17 digits, and the file is smaller
#: and faster to write.
EXPORT_DECIMALS = {
    "recency": 4,
    "T": 4,
    "monetary": 2,
    "p_alive": 6,
    "expected_purchases": 6,
    "clv": 2,
    "value_if_active": 2,
    "value_at_risk": 2,
}


def _beside(fn, *args, **kwargs) -> Future:
    """``fn(*args, **kwargs)`` in a second thread when there is a second core, else here and now;
    ``.result()`` gives its value (or raises its error). The churn classifier runs beside the
    forward-looking fit and scoring: gradient boosting leaves the interpreter lock while it
    computes, so on two cores the two overlap almost entirely (4.5 s + 3.9 s -> 4.5 s measured);
    every step is seeded, so the results do not depend on the threads."""
    if (os.cpu_count() or 1) > 1:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="churn")
        future = pool.submit(fn, *args, **kwargs)
        pool.shutdown(wait=False)  # the thread ends with the task
        return future
    done: Future = Future()
    try:
        done.set_result(fn(*args, **kwargs))
    except Exception as exc:  # kept for .result(), as a thread's error would be
        done.set_exception(exc)
    return done


def fit_spend_model(summary: pd.DataFrame) -> GammaGammaModel:
    """Gamma-Gamma on the repeat buyers; with a small stated penalty (``log_penalizer``) when the
    data do not pin it down (e.g. every customer spends alike on average: q and v run off)."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    try:
        return GammaGammaModel().fit(repeat["frequency"], repeat["monetary"])
    except NotIdentifiedError:
        return GammaGammaModel(log_penalizer=FALLBACK_LOG_PENALIZER).fit(repeat["frequency"], repeat["monetary"])


class CLVAnalysis:
    """Fit, validate and score: ``CLVAnalysis(...).fit(transactions_table)``, then ``.present(...)``.

    Parameters: ``calibration_end``/``observation_end`` (dates), ``time_unit`` (``W``/``D``),
    ``discount_rate`` (annual), ``horizon_months``, ``margin`` (share of spend that is profit,
    1.0 = CLV in revenue), ``transaction_model`` (``bgnbd`` or ``pareto_nbd``: the model asked for
    behind P(alive) and CLV), ``seed`` (the churn classifier's folds), ``drop_duplicates`` (fit
    on the distinct rows when some rows repeat an earlier row exactly; they are counted either way),
    ``churn_sample_size`` (customers the churn classifier is cross-validated and judged on when
    there are more: a stratified sample; None for all).
    """

    def __init__(
        self,
        calibration_end=None,
        observation_end=None,
        time_unit: str = "W",
        discount_rate: float = 0.10,
        horizon_months: int = 12,
        margin: float = 1.0,
        transaction_model: str = "bgnbd",
        seed: int = 0,
        drop_duplicates: bool = False,
        churn_sample_size: int | None = 50_000,
    ):
        self.calibration_end = calibration_end
        self.observation_end = observation_end
        self.time_unit = time_unit
        self.discount_rate = discount_rate
        self.horizon_months = horizon_months
        self.margin = margin
        self.transaction_model = transaction_model
        self.seed = seed
        self.drop_duplicates = drop_duplicates
        self.churn_sample_size = churn_sample_size

    # ------------------------------------------------------------------------------------
    def fit(self, table, customer_col="customer_id", date_col="date", amount_col="amount") -> CLVAnalysis:
        if self.transaction_model not in TRANSACTION_MODELS:
            raise ValueError(f"transaction_model must be one of {', '.join(TRANSACTION_MODELS)}")
        cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        self.duplicates_ = exact_duplicates(table)
        if self.drop_duplicates:
            table = self.duplicates_.table
        # Every later aggregation reads the purchase days (one row per customer and day with a
        # purchase), so they are computed once; the log's own counts come from the log.
        checks = transaction_checks(table, **cols)
        # the customers' distinct rows are kept while the models fit and score them
        with remember_rows(), Materialised(purchase_days_expr(table, **cols), "wb_clv_purchase_days") as days:
            return self._fit(days, checks)

    def _fit(self, table, checks) -> CLVAnalysis:
        """``fit`` on the purchase days (columns customer_id, date, amount)."""
        cal = self.calibration_end
        obs = self.observation_end
        if cal is not None and obs is not None and pd.Timestamp(obs) <= pd.Timestamp(cal):
            obs = cal
        # the calibration summary and the summary to observation_end, from one pass
        self.calibration_, whole = customer_summaries(
            table, cal, obs if cal is not None else None, self.time_unit, checks=checks, days=True, cohorts=True
        )
        s = self.calibration_.summary
        if len(s) == 0:
            raise ModelFitError("No customer made a purchase before the calibration end: move calibration_end later.")
        self.has_holdout_ = self.calibration_.has_holdout
        self.holdout_duration_ = self.calibration_.holdout_duration if self.has_holdout_ else None

        # 1. validation fit on the calibration period: both models, each unpenalised if it can be
        fits: dict[str, TransactionFit] = {}
        errors: dict[str, ModelFitError] = {}
        for key in TRANSACTION_MODELS:
            try:
                fits[key] = fit_transaction_model(s["frequency"], s["recency"], s["T"], key, switch=False)
            except NoRepeatPurchasesError:
                raise
            except ModelFitError as exc:
                errors[key] = exc
        if not fits:
            raise errors[self.transaction_model]
        self.transaction_fit_ = choose(fits, self.transaction_model)
        self.bgnbd_ = fits["bgnbd"].model if "bgnbd" in fits else None
        self.pareto_nbd_ = fits["pareto_nbd"].model if "pareto_nbd" in fits else None
        chosen = self.transaction_fit_.model
        repeat = s[(s["frequency"] > 0) & (s["monetary"] > 0)]
        self.repeat_buyers_ = int((s["frequency"] > 0).sum())
        self.gamma_gamma_excluded_ = int(len(s) - len(repeat))
        self.gamma_gamma_ = fit_spend_model(s)
        self.independence_ = gamma_gamma_independence(repeat["frequency"], repeat["monetary"], warn=False)
        models = {MODEL_LABELS[k]: f.model for k, f in fits.items()}
        self.comparison_ = validation.compare_models(models, s, self.holdout_duration_)
        self.one_time_buyers_p_alive_one_ = bool(
            np.all(np.asarray(chosen.p_alive(np.zeros(len(s)), np.zeros(len(s)), s["T"]), dtype=float) == 1.0)
        )
        if self.has_holdout_:
            self.holdout_table_ = validation.holdout_by_frequency(chosen, s, self.holdout_duration_)
            # every customer first seen by the observation end, also those first seen in the holdout
            # (their repeat purchases are in the actual counts, so their expectation is too)
            births = whole.summary["first_purchase"]
            first = pd.Timestamp(s["first_purchase"].min())
            self.tracking_ = validation.tracking(
                chosen,
                table,
                births,
                first,
                self.calibration_.observation_end,
                self.time_unit,
                days=True,
                every_customer=True,
            )
            p_alive_cal = np.asarray(chosen.p_alive(s["frequency"], s["recency"], s["T"]), dtype=float)
            classifier = churn.ChurnClassifier(seed=self.seed, sample_size=self.churn_sample_size)
            churn_fit = _beside(classifier.fit, s, baseline_score=1 - p_alive_cal, baseline_label="1 - P(alive)")
            expected_cal = np.asarray(
                chosen.expected_purchases(self.holdout_duration_, s["frequency"], s["recency"], s["T"]), dtype=float
            )
        else:
            self.holdout_table_ = self.tracking_ = self.churn_ = churn_fit = None
            self.expected_purchases_auc_ = None

        # 2. forward-looking fit on everything observed
        if self.has_holdout_:
            self.full_ = whole
            f = self.full_.summary
            final = fit_transaction_model(f["frequency"], f["recency"], f["T"], self.transaction_fit_.used)
            self.final_fit_ = TransactionFit(
                self.transaction_model,
                final.used,
                final.model,
                final.log_penalizer,
                self.transaction_fit_.attempts + final.attempts,
            )
            self.final_spend_model_ = fit_spend_model(f)
        else:
            self.full_ = self.calibration_
            f = s
            self.final_fit_ = self.transaction_fit_
            self.final_spend_model_ = self.gamma_gamma_
        self.final_model_ = self.final_fit_.model
        self.scores_ = self._score(f)
        self.cohorts_ = self.calibration_.cohorts
        if churn_fit is not None:
            self.churn_ = churn_fit.result()  # raises what the classifier raised
            rows = self.churn_.rows_ if self.churn_.rows_ is not None else slice(None)
            y = (s["frequency_holdout"].to_numpy() == 0).astype(int)[rows]
            self.expected_purchases_auc_ = float(roc_auc_score(y, -expected_cal[rows]))
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
        return out  # in summary order: value tiers break ties in CLV by it

    # ------------------------------------------------------------------------------------
    def present(
        self, churn_threshold: float = 0.3, tier_shares: Sequence[float] = (0.2, 0.3), currency: str = ""
    ) -> CLVPresentation:
        """Value tiers, at-risk list, metrics and sentences for the given display settings (no
        refit); ``currency`` is how the sentences write amounts (``"$"``, ``"EUR"``)."""
        if not hasattr(self, "scores_"):
            raise RuntimeError("CLVAnalysis is not fitted yet: call .fit(table) first")
        return CLVPresentation(self, churn_threshold=churn_threshold, tier_shares=tier_shares, currency=currency)

    def fallback_reason(self) -> str:
        """Why the customers are not scored with the requested model as is ("" when they are)."""
        fit = self.final_fit_
        if not fit.fell_back:
            return ""
        failures = fit.failures
        boundary = next((a for a in failures if a.dropout_at_edge), None)
        note = None
        if boundary is not None:
            note = narrative.dropout_boundary(
                MODEL_LABELS[boundary.model],
                [p for p in DROPOUT_PARAMETERS[boundary.model] if p in boundary.extreme],
            )
        return narrative.model_used(
            MODEL_LABELS[fit.requested],
            MODEL_LABELS[fit.used],
            fit.log_penalizer,
            [a.error for a in failures if a.error],
            note,
        )


class CLVPresentation:
    """What the report shows for one choice of display settings; made by :meth:`CLVAnalysis.present`."""

    def __init__(self, analysis: CLVAnalysis, churn_threshold: float = 0.3, tier_shares=(0.2, 0.3), currency: str = ""):
        if not 0 < churn_threshold < 1:
            raise ValueError("churn_threshold must be between 0 and 1")
        self.analysis = analysis
        self.currency = currency
        self.churn_threshold = churn_threshold
        self.tier_shares = tuple(tier_shares)
        scores = analysis.scores_
        order = descending_order(scores["clv"])  # ties in summary (customer) order
        tiers = value_tiers(scores["clv"], self.tier_shares, order=order)
        self.customers_ = scores.assign(value_tier=tiers).take(order).reset_index(drop=True)
        self.at_risk_ = churn.at_risk(self.customers_, churn_threshold)

    def customers_table(self) -> pd.DataFrame:
        """The per-customer export for CRM tools (``customers.csv``), rounded (:data:`EXPORT_DECIMALS`)."""
        return self.customers_[CUSTOMER_COLUMNS].round(EXPORT_DECIMALS)

    def tiers(self) -> pd.DataFrame:
        return tier_table(self.customers_)

    def at_risk_by_tier(self) -> pd.DataFrame:
        """The at-risk customers counted per value tier (no customer named)."""
        return churn.at_risk_by_tier(self.customers_, self.at_risk_)

    def at_risk_table(self) -> pd.DataFrame:
        """The at-risk customers, riskiest value first, for the CRM export (``at_risk.csv``),
        rounded (:data:`EXPORT_DECIMALS`)."""
        return self.at_risk_[AT_RISK_COLUMNS].round(EXPORT_DECIMALS)

    def top_tier_share(self) -> float:
        t = self.tiers()
        return float(t.loc[t["value_tier"] == "top", "share_of_value_pct"].iloc[0]) / 100

    def metrics(self) -> dict:
        """Key figures with the dotted names of ``metrics.json`` (declared in ``clv/domain.py``)."""
        a = self.analysis
        out = {
            "customers": len(self.customers_),
            "customers_calibration": len(a.calibration_.summary),
            "transactions.negative_rows": a.calibration_.negative_rows,
            "transactions.zero_value_rows": a.calibration_.zero_rows,
            "transactions.duplicate_rows": a.duplicates_.count,
            "transactions.duplicates_dropped": a.duplicates_.count if a.drop_duplicates else 0,
            "gamma_gamma.repeat_buyers": int(a.repeat_buyers_),
            "gamma_gamma.excluded_customers": int(a.gamma_gamma_excluded_),
            "gamma_gamma.frequency_spend_correlation": a.independence_.correlation,
            "clv.total": float(self.customers_["clv"].sum()),
            "clv.mean": float(self.customers_["clv"].mean()),
            "clv.top_tier_share": self.top_tier_share(),
            "clv.horizon_months": a.horizon_months,
            "clv.discount_rate": a.discount_rate,
            "clv.margin": a.margin,
            "churn.threshold": self.churn_threshold,
            "churn.at_risk_customers": len(self.at_risk_),
            "churn.value_at_risk": float(self.at_risk_["value_at_risk"].sum()),
            "model.requested": a.transaction_model,
            "model.used": a.final_fit_.used,
            "model.log_penalizer": float(a.final_fit_.log_penalizer),
            "model.fallback_reason": a.fallback_reason() or "none",
            "gamma_gamma.log_penalizer": float(a.final_spend_model_.log_penalizer),
        }
        for prefix, model in (
            ("bgnbd", a.bgnbd_),
            ("pareto_nbd", a.pareto_nbd_),
            ("gamma_gamma", a.gamma_gamma_),
        ):
            if model is None:
                continue
            for k, v in model.params_.items():
                out[f"{prefix}.{k}"] = float(v)
            out[f"{prefix}.loglik"] = float(model.log_likelihood_)
            out[f"{prefix}.aic"] = float(model.aic_)
        if a.has_holdout_:
            chosen = a.comparison_.set_index("model").loc[MODEL_LABELS[a.transaction_fit_.used]]
            out["holdout.actual_repeat_transactions"] = int(a.calibration_.summary["frequency_holdout"].sum())
            out["holdout.predicted_repeat_transactions"] = float(chosen["holdout_predicted"])
            out["holdout.days"] = int((a.calibration_.observation_end - a.calibration_.calibration_end).days)
            out["churn.classifier_auc"] = a.churn_.auc_
            out["churn.p_alive_auc"] = a.churn_.baseline_auc_
            out["churn.expected_purchases_auc"] = a.expected_purchases_auc_
            out["churn.classifier_customers"] = a.churn_.n_used_
        return out

    def metric_units(self) -> dict[str, str]:
        """Units of the figures that depend on ``time_unit``: the scale parameters, in its unit."""
        unit = unit_name(self.analysis.time_unit)
        return {f"{m}.{p}": unit for m, p in (("bgnbd", "alpha"), ("pareto_nbd", "alpha"), ("pareto_nbd", "beta"))}

    def summary_figures(self, input_name: str = "transactions") -> dict[str, str]:
        """The report's summary cards: recorded metric key -> card label (with this run's
        horizon, tier share and threshold in the words)."""
        return {
            "customers": "Customers",
            "clv.total": f"Predicted value, next {self.analysis.horizon_months} months",
            "clv.top_tier_share": f"Share of value in the top {100 * self.tier_shares[0]:.0f} % of customers",
            "churn.at_risk_customers": f"Customers at risk (P(alive) below {self.churn_threshold:g})",
            "churn.value_at_risk": "Value at risk",
            f"rows.{input_name}.quarantined_share": "Rows set aside",
        }

    def summary_findings(self) -> list[str]:
        """The report's three findings, most important first: a warning about duplicated rows
        when there is one, the value summary, the holdout check, the churn ranking (the checks
        that do not apply, e.g. without a holdout, are left out)."""
        f = self.findings()
        return [s for s in (f["duplicates"], f["model_used"], f["value"], f["holdout"], f["churn"]) if s][:3]

    def headline(self) -> dict[str, str]:
        total = self.customers_["clv"].sum()
        return {
            "customers": f"{len(self.customers_):,}",
            f"predicted value, next {self.analysis.horizon_months} months": f"{total:,.0f}",
            "share of value in the top tier": f"{100 * self.top_tier_share():.0f} %",
            f"customers at risk (P(alive) < {self.churn_threshold:g})": f"{len(self.at_risk_):,}",
        }

    def findings(self) -> dict[str, str]:
        """The report's sentences that compare or judge, from this run's numbers (empty strings
        for checks that do not apply, e.g. no holdout)."""
        a = self.analysis
        m = self.metrics()
        used_label = MODEL_LABELS[a.transaction_fit_.used]
        out = {
            "value": narrative.value_summary(
                m["customers"],
                m["clv.total"],
                a.horizon_months,
                a.margin,
                a.discount_rate,
                self.tier_shares[0],
                m["clv.top_tier_share"],
                m["churn.at_risk_customers"],
                self.churn_threshold,
                m["churn.value_at_risk"],
                currency=self.currency,
            ),
            "model_used": a.fallback_reason(),
            "model_comparison": narrative.best_by_aic(list(a.comparison_["model"]), list(a.comparison_["aic"])),
            "spend_model": narrative.spend_penalty(a.final_spend_model_.log_penalizer),
            "duplicates": narrative.duplicate_rows(a.duplicates_.count, a.duplicates_.rows, a.drop_duplicates),
            "holdout": "",
            "churn": "",
        }
        if a.has_holdout_:
            out["holdout"] = narrative.holdout_check(
                m["holdout.actual_repeat_transactions"], m["holdout.predicted_repeat_transactions"], used_label
            )
            out["churn"] = narrative.churn_ranking(
                a.churn_.auc_,
                a.churn_.baseline_auc_,
                a.expected_purchases_auc_,
                used_label,
                a.one_time_buyers_p_alive_one_,
            )
            if a.churn_.sampled_:
                out["churn"] += " " + narrative.churn_sample(
                    a.churn_.n_used_, a.churn_.n_customers_, a.churn_.auc_standard_error()
                )
        return out
