"""The whole channel analysis for the notebook: ``ChannelAnalysis(...).fit(...)``.

Sections, each a tested module of this package, each run only when its inputs are given
(``skipped_`` says which were not, in a sentence the report shows):
1. Attribution from aggregated paths (:mod:`.attribution`, :mod:`.markov`, :mod:`.shapley`):
   five heuristics, the Markov chain (exact removal effects) and Shapley values side by side.
2. Marketing-mix model from weekly spend and the KPI (:mod:`.mmm`): transforms estimated,
   holdout error, bootstrap intervals, contributions, ROAS and marginal ROAS, response curves.
3. Budget re-allocation on the fitted response (:mod:`.budget`): the split that maximises the
   expected KPI for the budget under per-channel bounds, with the gain's interval over the
   bootstrap refits.
4. Channel scorecard from customers, their transactions and channel costs (:mod:`.scorecard`).
5. Funnel from lead events (:mod:`.funnel`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.channels import narrative
from helpers.channels.attribution import HEURISTIC_MODELS, attribution_sentence, heuristic_credits
from helpers.channels.budget import BudgetOptimizer
from helpers.channels.domain import MODEL_LABELS
from helpers.channels.funnel import FunnelAnalysis
from helpers.channels.markov import MarkovAttribution
from helpers.channels.mmm import MarketingMixModel
from helpers.channels.scorecard import RETENTION_DAYS, ChannelScorecard
from helpers.channels.shapley import ShapleyAttribution

__all__ = ["ATTRIBUTION_MODELS", "ChannelAnalysis", "channel_key"]

#: The attribution models in the report's order (columns of ``attribution_``).
ATTRIBUTION_MODELS = (*HEURISTIC_MODELS, "markov", "shapley")


class ChannelAnalysis:
    """Attribution, marketing mix, budget, scorecard and funnel in one fit.

    Parameters: ``path_sep`` (separator of the channels in a path), ``markov_order``,
    ``adstock`` (``geometric``/``weibull``), ``l_max`` (weeks of carry-over), ``saturation``
    (``hill``/``logistic``), ``holdout_weeks``, ``seasonality`` (yearly Fourier order),
    ``synergy`` (two channel groups for an interaction term, or None), ``bootstrap`` (refits for
    the intervals), ``budget`` (total over the modelled period; None = the historical total),
    ``budget_bounds`` (per-channel multiples of historical spend), ``funnel_stages`` (stage order;
    None = inferred), ``funnel_group`` (column the funnel is compared by), ``retention_days`` and
    ``horizon_months`` (scorecard), ``seed``."""

    def __init__(
        self,
        path_sep: str = ">",
        markov_order: int = 1,
        adstock: str = "geometric",
        l_max: int = 8,
        saturation: str = "hill",
        holdout_weeks: int = 12,
        seasonality: int = 2,
        synergy: Sequence[Sequence[str]] | None = None,
        bootstrap: int = 200,
        budget: float | None = None,
        budget_bounds: Sequence[float] = (0.5, 1.5),
        funnel_stages: Sequence[str] | None = None,
        funnel_group: str = "channel",
        retention_days: Sequence[int] = RETENTION_DAYS,
        horizon_months: int = 12,
        seed: int = 0,
    ):
        self.path_sep = path_sep
        self.markov_order = markov_order
        self.adstock = adstock
        self.l_max = l_max
        self.saturation = saturation
        self.holdout_weeks = holdout_weeks
        self.seasonality = seasonality
        self.synergy = synergy
        self.bootstrap = bootstrap
        self.budget = budget
        self.budget_bounds = tuple(budget_bounds)
        self.funnel_stages = funnel_stages
        self.funnel_group = funnel_group
        self.retention_days = tuple(retention_days)
        self.horizon_months = horizon_months
        self.seed = seed

    # ------------------------------------------------------------------------------------
    def fit(
        self,
        paths: pd.DataFrame | None = None,
        spend: pd.DataFrame | None = None,
        *,
        channel_cols: Sequence[str] | None = None,
        control_cols: Sequence[str] = (),
        date_col: str = "date",
        target_col: str = "kpi",
        customers: pd.DataFrame | None = None,
        transactions=None,
        costs: pd.DataFrame | None = None,
        funnel: pd.DataFrame | None = None,
    ) -> ChannelAnalysis:
        """``paths``: one row per distinct path (``path``, ``conversions``, ``nulls``,
        ``conversion_value``); ``spend``: one row per week (``date_col``, ``target_col``, the
        channels' spend, the controls); ``customers``/``costs``/``funnel``: pandas tables of those
        kinds; ``transactions``: the transaction log (Ibis). Any may be None."""
        self.skipped_: dict[str, str] = {}
        self.attribution_ = self.markov_ = self.shapley_ = None
        self.mmm_ = self.budget_ = self.scorecard_ = self.funnel_ = self.roas_ = None
        if paths is not None:
            self._fit_attribution(paths)
        else:
            self.skipped_["attribution"] = narrative.skipped("attribution", "journeys")
        if spend is not None:
            self._fit_mix(spend, channel_cols, control_cols, date_col, target_col)
        else:
            self.skipped_["mmm"] = narrative.skipped("marketing-mix model", "weekly spend")
            self.skipped_["budget"] = narrative.skipped("budget re-allocation", "weekly spend")
        if customers is not None and transactions is not None:
            self.scorecard_ = ChannelScorecard(
                retention_days=self.retention_days, horizon_months=self.horizon_months
            ).fit(customers, transactions, costs)
        else:
            self.skipped_["scorecard"] = narrative.skipped("channel scorecard", "customers and transactions")
        if funnel is not None:
            self.funnel_ = FunnelAnalysis(stages=self.funnel_stages, group_col=self.funnel_group).fit(funnel)
        else:
            self.skipped_["funnel"] = narrative.skipped("funnel", "lead events")
        return self

    def _fit_attribution(self, paths: pd.DataFrame) -> None:
        p = paths.reset_index(drop=True)
        nulls = p["nulls"].fillna(0) if "nulls" in p else None
        value = p["conversion_value"].fillna(0) if "conversion_value" in p else None
        args = (p["path"].astype(str).tolist(), p["conversions"].astype(float).to_numpy())
        heur = heuristic_credits(*args, value=value, sep=self.path_sep)
        self.markov_ = MarkovAttribution(order=self.markov_order, sep=self.path_sep).fit(
            *args, nulls=nulls, value=value
        )
        table = heur[list(HEURISTIC_MODELS)].copy()
        table["markov"] = self.markov_.credits_.reindex(table.index).fillna(0.0)
        try:
            self.shapley_ = ShapleyAttribution(sep=self.path_sep).fit(*args, nulls=nulls, value=value)
            table["shapley"] = self.shapley_.credits_.reindex(table.index).fillna(0.0)
        except ValueError as err:  # too many channels for exact Shapley values
            self.skipped_["shapley"] = f"No Shapley values: {err}"
        table.index.name = "channel"
        self.attribution_ = table.reset_index()
        self.attribution_values_ = heur
        self.paths_ = p

    def _fit_mix(self, spend, channel_cols, control_cols, date_col, target_col) -> None:
        chans = (
            list(channel_cols)
            if channel_cols
            else [c for c in spend.columns if c not in {date_col, target_col, *control_cols}]
        )
        self.channel_cols_ = chans
        self.mmm_ = MarketingMixModel(
            adstock=self.adstock, saturation=self.saturation, l_max=self.l_max, holdout_weeks=self.holdout_weeks,
            seasonality=self.seasonality, synergy=self.synergy, bootstrap=self.bootstrap, seed=self.seed,
        ).fit(spend, date_col, target_col, chans, list(control_cols))  # fmt: skip
        self.roas_ = _with_channel(self.mmm_.roas_)
        current = self.roas_.set_index("channel")["spend"].reindex(chans).astype(float)
        model = self.mmm_
        draws = [lambda x, i=i: model.expected_response(x, draw=i) for i in range(model.n_draws_)]
        self.budget_ = BudgetOptimizer(budget=self.budget, bounds=self.budget_bounds).fit(
            model.expected_response, current, draws=draws or None
        )

    # ------------------------------------------------------------------------------------
    def metrics(self) -> dict:
        """Key figures with the dotted names of ``metrics.json`` (declared in ``channels/domain.py``)."""
        out: dict = {}
        if self.attribution_ is not None:
            p = self.paths_
            out["attribution.journeys"] = (
                int(p["conversions"].sum() + p["nulls"].fillna(0).sum()) if "nulls" in p else None
            )
            out["attribution.conversions"] = round(float(p["conversions"].sum()))
            out["attribution.paths"] = len(p)
            out["attribution.markov_order"] = int(self.markov_order)
            for row in self.attribution_.itertuples(index=False):
                for model in ATTRIBUTION_MODELS:
                    if hasattr(row, model):
                        out[f"attribution.{model}.{channel_key(row.channel)}"] = float(getattr(row, model))
            for ch, re in self.markov_.removal_effects_.items():
                out[f"markov.removal_effect.{channel_key(ch)}"] = float(re)
            out["markov.conversion_probability"] = float(self.markov_.conversion_probability_)
        if self.mmm_ is not None:
            m = self.mmm_
            out["mmm.r2"] = float(m.r2_)
            out["mmm.holdout_mape"] = None if m.holdout_mape_ is None else float(m.holdout_mape_)
            out["mmm.weeks"] = int(m.n_obs_)
            for row in self.roas_.itertuples(index=False):
                k = channel_key(row.channel)
                out[f"mmm.roas.{k}"] = _num(row.roas)
                out[f"mmm.roas_low.{k}"] = _num(row.roas_low)
                out[f"mmm.roas_high.{k}"] = _num(row.roas_high)
                out[f"mmm.mroas.{k}"] = _num(row.mroas)
                out[f"mmm.contribution_share.{k}"] = _num(row.share_of_effect)
        if self.budget_ is not None:
            b = self.budget_
            a = b.allocation_
            out["budget.total"] = float(a["optimal_spend"].sum())
            for row in a.itertuples(index=False):
                out[f"budget.current_spend.{channel_key(row.channel)}"] = float(row.current_spend)
                out[f"budget.optimal_spend.{channel_key(row.channel)}"] = float(row.optimal_spend)
            out["budget.expected_response_gain"] = float(b.expected_gain_)
            if b.gain_interval_ is not None:
                out["budget.expected_response_gain_low"] = float(b.gain_interval_[0])
                out["budget.expected_response_gain_high"] = float(b.gain_interval_[1])
            base = float(b.current_response_)
            out["budget.expected_response_gain_pct"] = 100 * float(b.expected_gain_) / base if base else None
        if self.scorecard_ is not None:
            t = self.scorecard_.table_
            out["scorecard.customers"] = int(t["customers"].sum())
            for row in t.itertuples(index=False):
                k = channel_key(row.channel)
                out[f"scorecard.cac.{k}"] = _num(row.cac)
                out[f"scorecard.conversion_rate.{k}"] = _num(row.conversion_rate)
                out[f"scorecard.retention_365d.{k}"] = _num(getattr(row, "retention_365d", None))
                out[f"scorecard.clv_mean.{k}"] = _num(row.clv_mean)
                out[f"scorecard.roas.{k}"] = _num(row.roas)
        if self.funnel_ is not None:
            o = self.funnel_.overall_
            out["funnel.leads"] = int(o["leads"].iloc[0])
            out["funnel.conversion"] = _num(o["conversion_from_first"].iloc[-1])
            tests = self.funnel_.tests_
            out["funnel.significant_transitions"] = int(tests["significant"].sum()) if len(tests) else 0
        return {k: v for k, v in out.items() if v is not None}

    def findings(self, currency: str = "", kpi: str = "the KPI") -> dict[str, str]:
        """The report's sentences that compare or judge ("" when a section did not run); ``kpi``
        names what the marketing-mix model explains (e.g. the target column)."""
        f = dict.fromkeys(("budget", "attribution", "mmm_fit", "roas", "synergy", "scorecard", "funnel"), "")
        if self.attribution_ is not None:
            f["attribution"] = attribution_sentence(self.attribution_.set_index("channel"))
        if self.mmm_ is not None:
            m = self.mmm_
            f["mmm_fit"] = narrative.fit_sentence(m.r2_, m.holdout_mape_, self.holdout_weeks, m.n_obs_, kpi)
            f["roas"] = narrative.roas_sentence(self.roas_, currency)
            f["synergy"] = self.synergy_sentence()
        if self.budget_ is not None:
            f["budget"] = self.budget_.sentence(currency, kpi=f"expected {kpi}")
            tp = self.mmm_.transform_params_
            p_values = tp["p_value"] if "p_value" in tp else pd.Series(dtype=float)
            caveat = narrative.budget_caveat(self.budget_.allocation_, p_values)
            f["budget"] = f"{f['budget']} {caveat}".strip()
        if self.scorecard_ is not None:
            s = self.scorecard_.sentences(currency)
            f["scorecard"] = " ".join(v for v in (s.get("ranking"), s.get("cost_benefit")) if v)
            f["retention"] = s.get("retention", "")
            f["scorecard_tests"] = s.get("tests", "")
        if self.funnel_ is not None:
            s = self.funnel_.sentences()
            f["funnel"] = s.get("funnel", "")
            f["funnel_groups"] = s.get("groups", "")
        return f

    def synergy_sentence(self) -> str:
        if self.mmm_ is None or not self.synergy:
            return ""
        c = self.mmm_.coefficients_
        if "synergy" not in c.index:
            return ""
        row = c.loc["synergy"]
        if pd.notna(row.get("boot_low")) and pd.notna(row.get("boot_high")):  # bootstrap percentiles, 90 %
            return narrative.synergy_sentence(float(row["estimate"]), row["boot_low"], row["boot_high"], self.synergy)
        low, high = row.get("ci_low"), row.get("ci_high")  # without refits: the regression's 95 % interval
        return narrative.synergy_sentence(float(row["estimate"]), low, high, self.synergy, level=95)

    def summary_figures(self) -> dict[str, str]:
        """The report's summary cards: recorded metric key -> card label (the budget first)."""
        figs: dict[str, str] = {}
        if self.budget_ is not None:
            figs["budget.expected_response_gain"] = "Expected gain from re-allocating the budget"
            figs["budget.expected_response_gain_pct"] = "Gain in media-driven KPI"
        if self.mmm_ is not None:
            figs["mmm.r2"] = "Marketing-mix model R²"
            if self.mmm_.holdout_mape_ is not None:
                figs["mmm.holdout_mape"] = "Holdout error (MAPE)"
        if self.attribution_ is not None:
            figs["attribution.conversions"] = "Conversions attributed"
        if self.scorecard_ is not None:
            figs["scorecard.customers"] = "Customers acquired"
        if self.funnel_ is not None:
            figs["funnel.conversion"] = "Funnel conversion, first to last stage"
        return figs

    def summary_findings(self, currency: str = "", kpi: str = "the KPI") -> list[str]:
        """The findings the report opens with: the budget shift first, then what drives the KPI,
        which channels get credit, and which acquire the best customers."""
        f = self.findings(currency, kpi)
        return [s for s in (f["budget"], f["roas"], f["attribution"], f["scorecard"], f["funnel"]) if s][:4]

    # ------------------------------------------------------------------------------------
    def attribution_long(self) -> pd.DataFrame:
        """The attribution table with readable model names, for a grouped bar chart."""
        t = self.attribution_.copy()
        return t.rename(columns={m: MODEL_LABELS[m] for m in ATTRIBUTION_MODELS if m in t})

    def exports(self) -> dict[str, pd.DataFrame]:
        """The tables written beside the report: file name -> frame (only the sections that ran)."""
        out = {}
        if self.attribution_ is not None:
            out["attribution.csv"] = self.attribution_
        if self.mmm_ is not None:
            out["contributions.csv"] = self.mmm_.contributions_
            out["roas.csv"] = self.roas_
        if self.budget_ is not None:
            out["budget.csv"] = self.budget_.allocation_
        if self.scorecard_ is not None:
            out["scorecard.csv"] = self.scorecard_.table_
        if self.funnel_ is not None:
            out["funnel.csv"] = self.funnel_.by_group_
        return out

    def holdout_start(self):
        """The first holdout week (None without a holdout), to mark on the fit chart."""
        f = self.mmm_.fitted_
        if "holdout" not in f or not f["holdout"].any():
            return None
        return f.loc[f["holdout"].astype(bool), "date"].min()

    def contribution_parts(self) -> list[str]:
        """The media columns of the contributions table, to stack: each channel, and the synergy term."""
        cols = self.mmm_.contributions_.columns
        return [c for c in (*self.channel_cols_, "synergy") if c in cols]

    def contribution_sentence(self) -> str:
        """How much of the KPI the media drove over the period, and the biggest channel."""
        c = self.mmm_.contributions_
        total = float(c[[x for x in c.columns if x not in ("date", "residual")]].to_numpy().sum())
        media = c[[ch for ch in self.channel_cols_ if ch in c]].sum()
        if total <= 0 or media.empty:
            return ""
        top = media.idxmax()
        return (
            f"Media drove {100 * media.sum() / total:.1f} % of the KPI over the {len(c)} weeks; {top} the most "
            f"({100 * media[top] / total:.1f} %). The rest is baseline, trend, seasonality and controls."
        )

    def optimal_spend(self) -> pd.Series | None:
        """Recommended spend per channel over the period (None without a budget section)."""
        if self.budget_ is None:
            return None
        return self.budget_.allocation_.set_index("channel")["optimal_spend"]

    def markov_sentence(self) -> str:
        """The Markov chain's conversion probability and the channel whose removal costs most."""
        m = self.markov_
        re = m.removal_effects_.sort_values(ascending=False)
        return (
            f"The order-{self.markov_order} Markov chain has {m.n_states_:,} states and converts "
            f"{100 * m.conversion_probability_:.2f} % of journeys. Removing {re.index[0]} would lose "
            f"{100 * re.iloc[0]:.1f} % of conversions, removing {re.index[-1]} {100 * re.iloc[-1]:.1f} %; credits are "
            "the removal effects scaled to the conversions observed."
        )

    def response_curves(self, points: int = 41) -> pd.DataFrame:
        """Every channel's response curve (``channel`` column added), spend 0-2x today's."""
        frames = []
        for ch in self.channel_cols_:
            c = self.mmm_.response_curve(ch, np.linspace(0.0, 2.0, points))
            frames.append(c.assign(channel=ch))
        return pd.concat(frames, ignore_index=True)


def channel_key(name) -> str:
    """A channel's name as one part of a metric key, as the data spells it (``mmm.roas.tv_S``): only
    blanks and dots, which would break the dotted key, become ``_``."""
    out = re.sub(r"[\s.]+", "_", str(name).strip()).strip("_")
    return out or "x"


def _with_channel(frame: pd.DataFrame) -> pd.DataFrame:
    """A per-channel table with the channel as a column (first), whether it came as the index or not."""
    if "channel" in frame.columns:
        return frame.reset_index(drop=True)
    out = frame.rename_axis("channel").reset_index()
    out["channel"] = out["channel"].astype(str)
    return out


def _num(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
