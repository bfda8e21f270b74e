"""Marketing-mix model: ``MarketingMixModel(...).fit(frame, date_col, target_col, channel_cols)``.

Model, one row per period (weeks; the trend and seasonality are computed from the dates):

    y_t = b0 + b1 * t + sum_k [s_k sin(2 pi k u_t) + c_k cos(2 pi k u_t)] + sum_j g_j control_j,t
          + sum_c beta_c * m_c(t) + gamma * (sum_{c in G1} m_c(t)) * (sum_{c in G2} m_c(t)) + e_t

with t = weeks since the first date, u_t = days since the first date / 365.25, k = 1..seasonality,
m_c(t) = sat(adstock(x_c / spend_scale_c)) in [0, 1), beta_c >= 0 and the synergy term only with
``synergy=(G1, G2)``. Units: ``spend_scale`` is the channel's largest weekly spend in the data
(as PyMC-Marketing scales channels), so the adstocked spend (normalised weights by default) is a
fraction of the largest week; the Hill ``half`` is the fraction at which half the maximum effect
is reached (``half * spend_scale`` in currency per week) and the logistic ``lam`` is per that unit
(``lam / spend_scale`` per currency unit). ``beta_c`` (``coefficient``) is the most a channel can
add per week (target units), as the saturated media tend to 1. Adstock: geometric (``alpha``) or
Weibull pdf (``shape, scale``, Robyn's convention, :func:`helpers.channels.transforms.weibull_weights`),
``l_max`` lags.

Estimation (variable projection, :mod:`.mmm_fit`): for given transform parameters the linear
part is solved in closed form (media coefficients >= 0 by non-negative least squares); the
residual sum of squares is minimised over the transform parameters within :data:`.mmm_fit.BOUNDS`
by ``scipy.optimize.least_squares`` from :data:`N_STARTS` seeded starting points (the centre of
the box and random points), keeping the best. With ``penalty`` > 0 (default 1) the sum of squares
is then penalised by weakly-informative normal priors on the transform parameters
(:data:`.mmm_fit.PRIOR`, their precision times ``penalty``, the noise variance estimated from the
least-squares fit) and the posterior mode is reported: with a few years of weekly data the
saturation and carry-over of the smaller channels are barely identified, and plain least squares
(``penalty=0``, the maximum likelihood under normal errors) then often lands on extreme curves
(an almost flat saturated channel trades with the intercept) and far-off ROAS. The coefficient
table is statsmodels OLS at the optimum (channels held at 0 left out); its standard errors treat
the transforms as known. Each channel's
``p_value`` is an F test of "no effect": the model refitted without the channel against the full
one (its coefficient and transform parameters together; approximate, as the transforms are not
identified under that hypothesis). Intervals (90 %, percentile) come from a moving-block residual
bootstrap (:mod:`.mmm_bootstrap`) refitting everything from the posterior mode. The holdout MAPE
is from a separate fit (same estimator) on all but the last ``holdout_weeks`` (same spend scales),
predicting them.

Point estimate (``point_estimate="mean"``, the default): the posterior mean under the priors
above, flat priors on the linear coefficients and the noise variance fixed at its least-squares
estimate, computed by importance sampling of the transform parameters
(:func:`.mmm_bootstrap.posterior_draws`, :data:`N_POSTERIOR` draws), as Bayesian MMMs report
posterior means. It is what ``roas_``, ``contributions_``, ``fitted_`` (and ``r2_``, ``loglik_``,
``aic_``, computed from those fitted values), :meth:`~MarketingMixModel.channel_response`,
:meth:`~MarketingMixModel.expected_response` and the ``response`` of
:meth:`~MarketingMixModel.response_curve` report, so they agree with each other (the contributions
sum to the target with the residual). ``transform_params_`` and ``coefficients_`` (and the p-values
and notes) describe the posterior mode; the bootstrap intervals stay those of the mode's refits
(the mean fell inside them for all 240 channels of the seeds below). Evidence, mean absolute
relative ROAS error over 4 channels of ``generate_spend(156)`` (default noise): posterior mode 0.195
-> mean 0.181 on seeds 100-129, 0.205 -> 0.188 on seeds 130-159 (paired difference over both
-0.016, SE 0.003). Averaging the bootstrap refits instead (bagging) gained less (mean -0.005,
median -0.009, SE 0.006, seeds 100-129); more starting points changed no optimum (seeds 100-159).
``point_estimate="mode"`` reports the mode everywhere (with ``penalty=0`` the least-squares fit).

ROAS (``roas_``) = a channel's fitted contribution over the period / its spend; mROAS = the extra
contribution per extra unit of spend when the channel's whole weekly pattern is raised by 1 %.
Both leave the synergy term out (it is reported on its own in ``contributions_``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS  # not statsmodels.api, which imports every model

from .mmm_bootstrap import Mixture, Responses, block_bootstrap, posterior_draws
from .mmm_fit import (
    BOUND_HINT,
    Media,
    VarPro,
    check_config,
    checked_frame,
    design,
    drop_channel_rss,
    estimate,
    starting_points,
    synergy_groups,
)

__all__ = ["DEFAULT_MULTIPLIERS", "N_POSTERIOR", "N_STARTS", "MarketingMixModel"]

N_STARTS = 6  # starting points of the transform search (the box centre + random points)
N_POSTERIOR = 1000  # importance-sampling draws of the posterior mean
MIN_WEEKS = 26
DEFAULT_MULTIPLIERS = np.linspace(0.0, 2.0, 41)
_BAND = (5.0, 95.0)  # percentiles of the 90 % bootstrap intervals


class MarketingMixModel:
    """Adstock + saturation media model with a linear baseline, fitted by variable projection.

    Parameters: ``adstock`` ("geometric" | "weibull"), ``saturation`` ("hill" | "logistic"),
    ``l_max`` (adstock lags, weeks), ``holdout_weeks`` (last weeks predicted by a fit without them;
    0 skips), ``seasonality`` (yearly Fourier order, 0 = none), ``trend`` (linear in weeks),
    ``synergy`` (None or two channel groups), ``bootstrap`` (resamples; 0 skips the intervals),
    ``seed``, ``normalize_adstock`` (adstock weights sum to 1), ``penalty`` (0: least squares; > 0:
    weight of the priors on the transform parameters), ``point_estimate`` ("mean": posterior mean,
    "mode": posterior mode). See the module docstring.

    After :meth:`fit`: ``transform_params_``, ``coefficients_``, ``r2_``, ``holdout_mape_``,
    ``fitted_``, ``contributions_``, ``roas_``, ``notes_``, ``loglik_``, ``aic_``, ``n_obs_``,
    ``n_draws_``, ``channels_``, ``spend_scale_``, ``posterior_ess_`` (effective number of the
    posterior-mean draws; 1 for the mode).
    """

    def __init__(
        self,
        adstock: str = "geometric",
        saturation: str = "hill",
        l_max: int = 8,
        holdout_weeks: int = 12,
        seasonality: int = 2,
        trend: bool = True,
        synergy: tuple[Sequence[str], Sequence[str]] | None = None,
        bootstrap: int = 200,
        seed: int = 0,
        normalize_adstock: bool = True,
        penalty: float = 1.0,
        point_estimate: str = "mean",
    ):
        self.adstock = adstock
        self.saturation = saturation
        self.l_max = l_max
        self.holdout_weeks = holdout_weeks
        self.seasonality = seasonality
        self.trend = trend
        self.synergy = synergy
        self.bootstrap = bootstrap
        self.seed = seed
        self.normalize_adstock = normalize_adstock
        self.penalty = penalty
        self.point_estimate = point_estimate

    # ------------------------------------------------------------------------------------
    def fit(
        self, frame: pd.DataFrame, date_col: str, target_col: str, channel_cols: Sequence[str], control_cols=()
    ) -> MarketingMixModel:
        """Fit on ``frame``: one row per week, ``date_col`` (dates, any order, no repeats),
        ``target_col`` (the KPI, e.g. revenue), ``channel_cols`` (spend per week, >= 0, currency)
        and ``control_cols`` (numeric regressors, e.g. event dummies). Returns self."""
        check_config(self)
        channels, controls = [str(c) for c in channel_cols], [str(c) for c in control_cols]
        dates, y, S, C = checked_frame(frame, date_col, target_col, channels, controls)
        notes: list[str] = []
        F, terms = design(dates, self.trend, self.seasonality, C, controls)
        gaps = np.unique(np.diff(dates.to_numpy()).astype("timedelta64[D]").astype(int))
        if len(gaps) > 1:
            notes.append(
                f"The periods are not evenly spaced (gaps of {gaps.tolist()} days); adstock treats rows as consecutive."
            )
        n = len(y)
        hist = S.sum(axis=0)
        active = np.flatnonzero(hist > 0)
        for c in np.flatnonzero(hist == 0):
            notes.append(
                f"{channels[c]} has no spend in any of the {n} weeks: it cannot be estimated and is kept at zero "
                "effect (coefficient 0, no transform parameters)."
            )
        if not active.size:
            raise ValueError(f"every channel in channel_cols {channels} has zero spend in every week: nothing to model")
        syn = synergy_groups(self.synergy, channels, active, notes)
        media = Media(self.adstock, self.saturation, int(self.l_max), bool(self.normalize_adstock))
        n_params = F.shape[1] + (syn is not None) + active.size * (media.p + 1)
        need = max(MIN_WEEKS, 2 * n_params)
        h = int(self.holdout_weeks)
        if n - h < need:
            raise ValueError(
                f"too few weeks: {n} rows minus holdout_weeks={h} leaves {n - h}, but the model has {n_params} "
                f"parameters and needs at least {need} weeks to fit (lower holdout_weeks, seasonality or channels)"
            )
        scale = np.where(hist > 0, S.max(axis=0), np.nan)
        X = S[:, active] / scale[active]
        starts = starting_points(media, active.size, N_STARTS, self.seed)

        problem = VarPro(media, X, y, F, synergy=syn)
        sol, ls, runs = estimate(problem, starts, n_params, float(self.penalty))
        if not sol.converged:
            notes.append(
                f"The search for the transform parameters did not converge from any of the {len(runs)} starting "
                f"points ({runs[0].message}); the best point reached (lowest sum of squares) is used."
            )
        resp = Responses(media, X, syn)
        M = resp.columns(sol.z)
        n_free = F.shape[1]
        gamma = float(sol.free[n_free]) if syn is not None else 0.0
        s_col = M[:, syn[0]].sum(axis=1) * M[:, syn[1]].sum(axis=1) if syn is not None else None
        fitted = F @ sol.free[:n_free] + M @ sol.beta + (gamma * s_col if syn is not None else 0.0)
        resid = y - fitted
        mix, ess = self._mixture(problem, sol, ls, n_params, media, X, n_free, syn)

        # statsmodels OLS at the optimum: free columns, synergy, channels with a positive coefficient
        cols = dict(zip(terms, F.T))
        if syn is not None:
            cols["synergy"] = s_col
        for j, c in enumerate(active):
            if sol.beta[j] > 0:
                cols[channels[c]] = M[:, j]
        ols = OLS(y, pd.DataFrame(cols)).fit()

        draws = block_bootstrap(problem, sol, fitted, resid, int(self.bootstrap), self.seed) if self.bootstrap else []
        failed = sum(not d.converged for d in draws)
        if failed:
            notes.append(
                f"{failed} of {len(draws)} bootstrap refits stopped at the evaluation limit; their last point is used."
            )

        # learned attributes
        self.channels_, self.controls_, self.terms_ = channels, controls, terms
        self.spend_scale_ = pd.Series(scale, index=pd.Index(channels, name="channel"), name="spend_scale")
        self._media, self._resp, self._active, self._syn = media, resp, active, syn
        pvals = self._channel_tests(notes, channels, active, sol, ls.rss, M, F, s_col, y, X, n_params)
        self._spend, self._hist, self._sol, self._draws, self._mix = S, hist, sol, draws, mix
        self._boot_mix = None
        self.n_draws_ = len(draws)
        self.n_obs_ = n
        self.posterior_ess_ = ess
        if self.posterior_ess_ < 20 and self.point_estimate == "mean":
            notes.append(
                f"The posterior mean rests on few effective draws ({self.posterior_ess_:.0f} of {N_POSTERIOR}): "
                "the posterior is far from normal around its mode; the mode (point_estimate='mode') may be steadier."
            )
        media_mean, syn_mean = mix.weekly()
        fitted = F @ mix.free_mean()[:n_free] + media_mean.sum(axis=1) + (syn_mean if syn is not None else 0.0)
        resid = y - fitted
        rss = float(resid @ resid)
        self.r2_ = float(1.0 - rss / float(((y - y.mean()) ** 2).sum()))
        self.loglik_ = float(-n / 2.0 * (np.log(2 * np.pi * rss / n) + 1.0))
        self.aic_ = float(-2.0 * self.loglik_ + 2.0 * n_params)
        self.coefficients_ = self._coefficient_table(ols, terms, channels, active, syn, draws)
        self.transform_params_ = self._transform_table(channels, active, scale, notes, pvals)
        self._holdout(media, X, y, F, syn, starts, n_params, dates, fitted, notes)
        self.contributions_ = self._contributions(dates, F, terms, controls, media_mean, syn_mean, y)
        self.roas_ = self._roas_table()
        self.notes_ = notes
        return self

    def _mixture(self, problem, sol, ls, n_params, media, X, n_free, syn) -> tuple[Mixture, float]:
        """The point estimate's parameter sets (posterior draws and weights, or the mode alone) and
        the effective number of draws."""
        draws, w, ess = [sol], np.ones(1), 1.0
        if self.point_estimate == "mean":
            sigma2 = ls.rss / max(int(problem.rows.sum()) - n_params, 1)
            draws, w, ess = posterior_draws(problem, sol, sigma2, N_POSTERIOR, self.seed)
        return Mixture(media, X, draws, w, n_free, syn), ess

    # ------------------------------------------------------------------------------------
    def _channel_tests(self, notes, channels, active, sol, rss, M, F, s_col, y, X, n_params) -> np.ndarray:
        """p-value per active channel of the F test "no effect" (its coefficient and transforms
        together: the model refitted without it), and notes for clipped or insignificant ones."""
        free = np.column_stack([F] + ([s_col] if s_col is not None else []))
        unconstrained = np.linalg.lstsq(np.column_stack([free, M]), y, rcond=None)[0][free.shape[1] :]
        df1, df2 = 1 + self._media.p, len(y) - n_params
        pvals = np.ones(active.size)
        for j, c in enumerate(active):
            name = channels[c]
            if sol.beta[j] <= 0:
                notes.append(
                    f"{name}'s coefficient is held at 0, its lower bound (unconstrained least squares gives "
                    f"{unconstrained[j]:,.4g}): no positive effect is found, so its transform parameters are not "
                    "identified."
                )
                continue
            rss0 = drop_channel_rss(self._media, X, y, F, self._syn, sol.z, j)
            f_stat = max(rss0 - rss, 0.0) / df1 / (rss / df2)
            pvals[j] = float(stats.f.sf(f_stat, df1, df2))
            if pvals[j] > 0.05:
                notes.append(
                    f"{name}'s effect is not distinguishable from zero: leaving it out raises the residual sum of "
                    f"squares by {(rss0 / rss - 1) * 100:.1f} % (F test of its coefficient and transforms, "
                    f"p = {pvals[j]:.2f}); its contribution ({sol.beta[j] * M[:, j].sum():,.0f}) is not reliable."
                )
        return pvals

    def _coefficient_table(self, ols, terms, channels, active, syn, draws) -> pd.DataFrame:
        ci = ols.conf_int(0.05)
        names = terms + (["synergy"] if syn is not None else []) + [channels[c] for c in active]
        boot = self._draw_linear(draws, len(terms), syn) if draws else None
        rows = []
        for i, name in enumerate(names):
            fitted = name in ols.params.index
            row = {
                "term": name,
                "estimate": float(ols.params[name]) if fitted else 0.0,
                "std_err": float(ols.bse[name]) if fitted else np.nan,
                "t": float(ols.tvalues[name]) if fitted else np.nan,
                "p_value": float(ols.pvalues[name]) if fitted else np.nan,
                "ci_low": float(ci.loc[name, 0]) if fitted else np.nan,
                "ci_high": float(ci.loc[name, 1]) if fitted else np.nan,
            }
            lo, hi = np.percentile(boot[:, i], _BAND) if boot is not None else (np.nan, np.nan)
            rows.append({**row, "boot_low": float(lo), "boot_high": float(hi)})
        return pd.DataFrame(rows).set_index("term")

    @staticmethod
    def _draw_linear(draws, n_free, syn) -> np.ndarray:
        k = n_free + (syn is not None)
        return np.array([np.concatenate([d.free[:k], d.beta]) for d in draws])

    def _transform_table(self, channels, active, scale, notes, pvals) -> pd.DataFrame:
        media, sol = self._media, self._sol
        nat = media.natural(sol.z)
        boot = np.array([media.natural(d.z) for d in self._draws]) if self._draws else None
        bboot = np.array([d.beta for d in self._draws]) if self._draws else None
        z = sol.z.reshape(-1, media.p)
        span = media.hi - media.lo
        rows = []
        for c, name in enumerate(channels):
            row: dict = {"channel": name}
            j = int(np.flatnonzero(active == c)[0]) if c in active else None
            for k, par in enumerate(media.names):
                row[par] = nat[j, k] if j is not None else np.nan
                band = np.percentile(boot[:, j, k], _BAND) if boot is not None and j is not None else (np.nan,) * 2
                row[f"{par}_low"], row[f"{par}_high"] = band
            row["coefficient"] = sol.beta[j] if j is not None else 0.0
            band = np.percentile(bboot[:, j], _BAND) if bboot is not None and j is not None else (np.nan,) * 2
            row["coefficient_low"], row["coefficient_high"] = band
            row["spend_scale"] = scale[c]
            row["p_value"] = pvals[j] if j is not None else np.nan
            at_bound = j is not None and sol.beta[j] <= 0
            if j is not None and sol.beta[j] > 0:
                for k, par in enumerate(media.names):
                    side = "lower" if z[j, k] <= media.lo[k] + 1e-4 * span[k] else None
                    side = "upper" if z[j, k] >= media.hi[k] - 1e-4 * span[k] else side
                    at_bound = at_bound or side is not None
                    if side and pvals[j] <= 0.05:  # an insignificant channel has its own note
                        notes.append(
                            f"{name}'s {par} is at the {side} end of its search range ({_bound_value(nat[j, k])})"
                            f"{BOUND_HINT.get((par, side), '')}; its interval is cut there."
                        )
            row["at_bound"] = bool(at_bound)
            rows.append(row)
        return pd.DataFrame(rows).set_index("channel")

    def _holdout(self, media, X, y, F, syn, starts, n_params, dates, fitted, notes) -> None:
        n, h = len(y), int(self.holdout_weeks)
        hold = np.zeros(n, bool)
        pred = np.full(n, np.nan)
        self.holdout_mape_ = None
        if h > 0:
            hold[n - h :] = True
            hp = VarPro(media, X, y, F, rows=~hold, synergy=syn)
            hs, hls, _ = estimate(hp, starts, n_params, float(self.penalty))
            mix, _ = self._mixture(hp, hs, hls, n_params, media, X, F.shape[1], syn)
            media_mean, syn_mean = mix.weekly()
            pred = F @ mix.free_mean()[: F.shape[1]] + media_mean.sum(axis=1)
            if syn is not None:
                pred = pred + syn_mean
            pred = np.where(hold, pred, np.nan)
            ok = hold & (y != 0)
            if not hs.converged:
                notes.append("The holdout fit did not converge; its lowest residual sum of squares point is used.")
            if ok.sum() < h:
                notes.append(f"{h - int(ok.sum())} holdout week(s) have a target of 0 and are left out of the MAPE.")
            if ok.any():
                self.holdout_mape_ = float(np.mean(np.abs((y[ok] - pred[ok]) / y[ok])) * 100.0)
        self.fitted_ = pd.DataFrame(
            {"date": dates, "actual": y, "fitted": fitted, "holdout": hold, "holdout_prediction": pred}
        )

    def _contributions(self, dates, F, terms, controls, media_mean, syn_mean, y) -> pd.DataFrame:
        free = self._mix.free_mean()
        coef = dict(zip(terms, free[: len(terms)]))
        out = {"date": dates, "baseline": np.full(len(y), coef["intercept"])}
        col = dict(zip(terms, F.T))
        out["trend"] = coef["trend"] * col["trend"] if "trend" in coef else np.zeros(len(y))
        season = [coef[t] * col[t] for t in terms if t[:3] in ("sin", "cos") and t[3:].isdigit()]
        out["seasonality"] = np.sum(season, axis=0) if season else np.zeros(len(y))
        for c in controls:
            out[c] = coef[c] * col[c]
        for c, name in enumerate(self.channels_):
            hit = np.flatnonzero(self._active == c)
            out[name] = media_mean[:, hit[0]] if hit.size else np.zeros(len(y))
        if syn_mean is not None:
            out["synergy"] = syn_mean
        frame = pd.DataFrame(out)
        frame["residual"] = y - frame.drop(columns="date").sum(axis=1).to_numpy()
        return frame

    def _roas_table(self) -> pd.DataFrame:
        ones = np.ones(self._active.size)
        contrib = np.array([self._mix_totals(ones)] + [self._channel_totals(s) for s in self._draws])
        up = np.array([self._mix_totals(1.01 * ones)] + [self._channel_totals(s, 1.01) for s in self._draws])
        spend = self._hist
        with np.errstate(divide="ignore", invalid="ignore"):
            roas = np.where(spend > 0, contrib / spend, np.nan)
            mroas = np.where(spend > 0, (up - contrib) / (0.01 * spend), np.nan)
        table = pd.DataFrame(index=pd.Index(self.channels_, name="channel"))
        table["spend"] = spend
        table["contribution"] = contrib[0]
        for key, arr in (("roas", roas), ("mroas", mroas)):
            table[key] = arr[0]
            band = np.full((2, len(spend)), np.nan)
            if self._draws:
                band[:, self._active] = np.percentile(arr[1:, self._active], _BAND, axis=0)
            table[f"{key}_low"], table[f"{key}_high"] = band
        table = table[["spend", "contribution", "roas", "roas_low", "roas_high", "mroas", "mroas_low", "mroas_high"]]
        table["share_of_spend"] = spend / spend.sum()
        total = contrib[0].sum()
        table["share_of_effect"] = contrib[0] / total if total > 0 else np.nan
        return table

    # ------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "_sol"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call .fit(...) first")

    def _params(self, draw):
        if draw is None:
            return self._sol
        if not (isinstance(draw, (int, np.integer)) and 0 <= draw < self.n_draws_):
            raise ValueError(
                f"draw must be None or a whole number from 0 to n_draws_ - 1 = {self.n_draws_ - 1}, got {draw!r}"
            )
        return self._draws[int(draw)]

    def _factors(self, spend_totals) -> np.ndarray:
        tot = np.asarray(spend_totals, dtype=float).ravel()
        if tot.shape != (len(self.channels_),):
            raise ValueError(
                f"spend_totals needs one total per channel ({len(self.channels_)}: {self.channels_}), got {tot.size}"
            )
        if not np.isfinite(tot).all() or (tot < 0).any():
            raise ValueError(f"spend_totals must be finite and >= 0, got {tot.tolist()}")
        return tot

    def _channel_totals(self, sol, factor=1.0) -> np.ndarray:
        out = np.zeros(len(self.channels_))
        f = np.full(self._active.size, float(factor))
        out[self._active] = self._resp.channel_totals(sol.z, sol.beta, f)
        return out

    def _mix_totals(self, factors) -> np.ndarray:
        out = np.zeros(len(self.channels_))
        out[self._active] = self._mix.channel_totals(factors)
        return out

    def channel_response(self, spend_totals, draw: int | None = None) -> np.ndarray:
        """Expected contribution of each channel (target units, ``channels_`` order) over the modelled
        weeks when each channel's historical weekly spend pattern is scaled to total
        ``spend_totals[i]``; ``draw`` None: point estimate (posterior mean), i: the i-th bootstrap
        refit. A channel without historical spend has no pattern to scale and gives 0. Synergy is
        not included."""
        self._check_fitted()
        tot, sol = self._factors(spend_totals), self._params(draw)
        f = tot[self._active] / self._hist[self._active]
        if draw is None:
            return self._mix_totals(f)
        out = np.zeros(len(self.channels_))
        out[self._active] = self._resp.channel_totals(sol.z, sol.beta, f)
        return out

    def expected_response(self, spend_totals, draw: int | None = None) -> float:
        """Sum of :meth:`channel_response` plus the synergy term at those spends (target units)."""
        out = float(self.channel_response(spend_totals, draw).sum())
        if self._syn is None:
            return out
        sol = self._params(draw)
        f = self._factors(spend_totals)[self._active] / self._hist[self._active]
        if draw is None:
            return out + self._mix.synergy_total(f)
        return out + self._resp.synergy_total(sol.z, float(sol.free[len(self.terms_)]), f)

    def response_curve(self, channel: str, multipliers=DEFAULT_MULTIPLIERS) -> pd.DataFrame:
        """Channel's total contribution when its historical spend pattern is multiplied by each of
        ``multipliers`` (other channels unchanged, synergy left out): ``spend`` (total over the
        period), ``response``, ``response_low``/``response_high`` (90 % bootstrap band; NaN without
        a bootstrap), ``is_current`` (multiplier 1)."""
        self._check_fitted()
        if channel not in self.channels_:
            raise ValueError(f"channel {channel!r} is not one of the fitted channels {self.channels_}")
        mult = np.asarray(multipliers, dtype=float).ravel()
        if not np.isfinite(mult).all() or (mult < 0).any():
            raise ValueError(f"multipliers must be finite and >= 0, got {mult.tolist()}")
        c = self.channels_.index(channel)
        hit = np.flatnonzero(self._active == c)
        curves = np.zeros((1 + self.n_draws_, mult.size))
        if hit.size:
            curves[0] = self._mix.curve(int(hit[0]), mult)
            if self._draws:  # every refit at once
                curves[1:] = self._draw_mixture().draw_curves(int(hit[0]), mult)
        band = np.percentile(curves[1:], _BAND, axis=0) if self._draws else np.full((2, mult.size), np.nan)
        return pd.DataFrame(
            {
                "multiplier": mult,
                "spend": mult * self._hist[c],
                "response": curves[0],
                "response_low": band[0],
                "response_high": band[1],
                "is_current": np.isclose(mult, 1.0),
            }
        )

    def _draw_mixture(self) -> Mixture:
        """The bootstrap refits as one equally weighted :class:`Mixture` (built on first use)."""
        if getattr(self, "_boot_mix", None) is None:
            n_free = len(self.terms_)
            self._boot_mix = Mixture(
                self._media, self._resp.X, self._draws, np.ones(len(self._draws)), n_free, self._syn
            )
        return self._boot_mix

    def summary(self) -> pd.DataFrame:
        """One table: transform parameters and channel coefficients (bootstrap 90 % intervals), the
        linear coefficients (OLS standard errors, p-values, 95 % intervals given the transforms)
        and the fit statistics (R², holdout MAPE %, log-likelihood, AIC, weeks)."""
        self._check_fitted()
        rows = []
        for ch, r in self.transform_params_.iterrows():
            for par in self._media.names:
                rows.append({"section": "transform", "term": f"{ch}: {par}", "estimate": r[par],
                             "boot_low": r[f"{par}_low"], "boot_high": r[f"{par}_high"]})  # fmt: skip
        for term, r in self.coefficients_.iterrows():
            rows.append({"section": "coefficient", "term": term, **r.to_dict()})
        stats = {"R²": self.r2_, "holdout MAPE %": self.holdout_mape_, "log-likelihood": self.loglik_,
                 "AIC": self.aic_, "weeks": self.n_obs_, "bootstrap draws": self.n_draws_}  # fmt: skip
        for k, v in stats.items():
            rows.append({"section": "fit", "term": k, "estimate": np.nan if v is None else float(v)})
        cols = ["section", "term", "estimate", "std_err", "t", "p_value", "ci_low", "ci_high", "boot_low", "boot_high"]
        return pd.DataFrame(rows).reindex(columns=cols)


def _bound_value(v: float) -> str:
    return f"{v:.4g}" if abs(v) > 1e-8 else "0"
