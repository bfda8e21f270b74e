"""Estimation core of :class:`helpers.channels.mmm.MarketingMixModel`: variable projection.

The media columns m_c(t) = sat(adstock(spend_c / spend_scale_c)) depend on a few non-linear
parameters theta per channel (adstock: ``alpha`` | ``shape, scale``; saturation: ``lam`` |
``half, slope``). For a given theta the rest of the model is linear: free coefficients for the
fixed columns F (intercept, trend, Fourier terms, controls) and the synergy column, and media
coefficients beta >= 0. :class:`VarPro` solves that linear part in closed form (the free
columns are projected out, then non-negative least squares on the media columns) and hands the
residuals, with Kaufman's approximation of their Jacobian, to ``scipy.optimize.least_squares``
(trust region, box bounds), which minimises the residual sum of squares over theta.

theta is optimised on a transformed scale ``z``: alpha and the Weibull scale as they are, the
other (positive) parameters on the log scale; :data:`BOUNDS` holds the box in natural units.
:func:`estimate` runs the search from several starts, optionally with the weakly-informative
penalty of :data:`PRIOR`. Also here: the input checks (:func:`checked_frame`,
:func:`check_config`, :func:`synergy_groups`), the fixed design (:func:`design`) and the
refit without one channel behind the model's F test (:func:`drop_channel_rss`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, nnls

from .transforms import geometric_weights, weibull_weights

__all__ = [
    "ADSTOCK_PARAMS",
    "BOUNDS",
    "BOUND_HINT",
    "CENTRE",
    "PRIOR",
    "RESERVED",
    "SATURATION_PARAMS",
    "Media",
    "Solution",
    "VarPro",
    "check_config",
    "checked_frame",
    "design",
    "drop_channel_rss",
    "estimate",
    "fit_theta",
    "saturate",
    "starting_points",
    "synergy_groups",
]

ADSTOCK_PARAMS = {"geometric": ("alpha",), "weibull": ("shape", "scale")}
SATURATION_PARAMS = {"hill": ("half", "slope"), "logistic": ("lam",)}
#: (lower, upper, optimised on the log scale) in natural units; half and lam are in units of the
#: channel's largest weekly spend (adstocked, normalised), see the model's docstring.
BOUNDS = {
    "alpha": (0.0, 0.95, False),
    "shape": (0.2, 10.0, True),
    "scale": (0.01, 1.0, False),
    "half": (0.01, 5.0, True),
    "slope": (0.5, 5.0, True),
    "lam": (0.05, 100.0, True),
}
#: The first starting point of the search (natural units).
CENTRE = {"alpha": 0.4, "shape": 1.5, "scale": 0.3, "half": 0.4, "slope": 1.5, "lam": 2.5}
#: Weakly-informative priors of the penalised fit: (centre in natural units, standard deviation on
#: the optimised scale, i.e. of log(value) for the log-scale parameters). A typical channel: some
#: carry-over (alpha 0.3 +- 0.25) and, at its largest weekly spend, near 85 % of its maximum
#: effect (logistic lam 2.5; Hill half 0.4 with slope 1.5), within a factor e^0.5 = 1.65 per SD.
PRIOR = {
    "alpha": (0.3, 0.25),
    "shape": (1.5, 0.75),
    "scale": (0.3, 0.3),
    "half": (0.4, 0.5),
    "slope": (1.5, 0.5),
    "lam": (2.5, 0.5),
}
_H = 1e-6  # step of the central differences of the adstock weights (z units)


class Media:
    """The media columns and their derivatives for one adstock/saturation pair."""

    def __init__(self, adstock: str, saturation: str, l_max: int, normalize: bool):
        self.adstock, self.saturation, self.l_max, self.normalize = adstock, saturation, l_max, normalize
        self.names = ADSTOCK_PARAMS[adstock] + SATURATION_PARAMS[saturation]
        self.n_ad = len(ADSTOCK_PARAMS[adstock])
        self.p = len(self.names)
        self.log = np.array([BOUNDS[n][2] for n in self.names])
        lo = np.array([BOUNDS[n][0] for n in self.names])
        hi = np.array([BOUNDS[n][1] for n in self.names])
        self.lo = np.where(self.log, np.log(np.where(self.log, lo, 1.0)), lo)
        self.hi = np.where(self.log, np.log(np.where(self.log, hi, 1.0)), hi)
        centre = np.array([CENTRE[n] for n in self.names])
        self.centre = np.where(self.log, np.log(centre), centre)
        prior = np.array([PRIOR[n][0] for n in self.names])
        self.prior_centre = np.where(self.log, np.log(prior), prior)
        self.prior_sd = np.array([PRIOR[n][1] for n in self.names])

    def natural(self, z: np.ndarray) -> np.ndarray:
        """(K, p) natural parameters from the flat transformed vector."""
        z = np.asarray(z, dtype=float).reshape(-1, self.p)
        return np.where(self.log, np.exp(z), z)

    def to_z(self, natural: np.ndarray) -> np.ndarray:
        nat = np.asarray(natural, dtype=float).reshape(-1, self.p)
        return np.where(self.log, np.log(nat), nat).ravel()

    def weights(self, ad: np.ndarray) -> np.ndarray:
        if self.adstock == "geometric":
            return geometric_weights(ad[0], self.l_max, self.normalize)
        return weibull_weights(ad[0], ad[1], self.l_max, "pdf", self.normalize)

    def _weights_z(self, zad: np.ndarray) -> np.ndarray:
        return self.weights(np.where(self.log[: self.n_ad], np.exp(zad), zad))

    def columns(self, X: np.ndarray, z: np.ndarray, deriv: bool = False):
        """Media columns M (n, K) of the scaled spend X (n, K) at ``z``; with ``deriv`` also
        dM (n, K, p), the derivative of each column with respect to its own z."""
        n, K = X.shape
        Z = np.asarray(z, dtype=float).reshape(K, self.p)
        M = np.empty((n, K))
        dM = np.empty((n, K, self.p)) if deriv else None
        for c in range(K):
            zad, zsat = Z[c, : self.n_ad], Z[c, self.n_ad :]
            w = self._weights_z(zad)
            a = np.convolve(X[:, c], w)[:n]
            m, dm_da, dm_dsat = _saturate(self.saturation, a, np.where(self.log[self.n_ad :], np.exp(zsat), zsat))
            M[:, c] = m
            if deriv:
                for j in range(self.n_ad):
                    e = np.zeros(self.n_ad)
                    e[j] = _H
                    dw = (self._weights_z(zad + e) - self._weights_z(zad - e)) / (2 * _H)
                    dM[:, c, j] = dm_da * np.convolve(X[:, c], dw)[:n]
                for j, d in enumerate(dm_dsat):
                    dM[:, c, self.n_ad + j] = d
        return M, dM


def saturate(kind: str, a: np.ndarray, par) -> np.ndarray:
    """Saturated values of the adstocked spend ``a`` (``par``: the natural saturation parameters,
    each broadcasting against ``a``), as :func:`_saturate` without the derivatives."""
    if kind == "logistic":
        return np.tanh(par[0] / 2.0 * a)
    half, slope = par
    pos = a > 0
    with np.errstate(over="ignore"):  # a tiny adstocked spend: (half / a)^slope -> inf, m -> 0
        return np.where(pos, 1.0 / (1.0 + (half / np.where(pos, a, 1.0)) ** slope), 0.0)


def _saturate(kind: str, a: np.ndarray, par):
    """Saturated values, their derivative in a, and in each (log-scale) saturation parameter."""
    if kind == "logistic":
        lam = par[0]
        m = np.tanh(lam * a / 2.0)
        d = 1.0 - m * m
        return m, lam / 2.0 * d, [lam * a / 2.0 * d]
    half, slope = par
    pos = a > 0
    safe = np.where(pos, a, 1.0)
    with np.errstate(over="ignore"):  # a tiny adstocked spend: (half / a)^slope -> inf, m -> 0
        m = np.where(pos, 1.0 / (1.0 + (half / safe) ** slope), 0.0)
    g = slope * m * (1.0 - m)
    return m, np.where(pos, g / safe, 0.0), [-g, np.where(pos, g * np.log(safe / half), 0.0)]


@dataclass
class Solution:
    """One fit: transformed theta, media coefficients, free coefficients (F columns then the
    synergy column), residual sum of squares (y units), convergence and the search's message."""

    z: np.ndarray
    beta: np.ndarray
    free: np.ndarray
    rss: float
    converged: bool
    message: str
    nfev: int
    objective: float


class VarPro:
    """Residuals and Jacobian of the variable-projection problem on the rows ``rows`` of X, y, F.

    The media columns are computed on every row (so carry-over into later rows is right) and then
    restricted to ``rows``; ``synergy`` is None or two index arrays of channel groups. With
    ``deriv`` False the residuals skip the media columns' derivatives (only :meth:`jacobian` needs
    them; for evaluating many points without a search)."""

    def __init__(self, media: Media, X: np.ndarray, y: np.ndarray, F: np.ndarray, rows=None, synergy=None, sigma=None):
        self.media, self.X, self.deriv = media, X, True
        self.set_penalty(sigma)
        self.rows = np.ones(len(y), bool) if rows is None else np.asarray(rows, bool)
        self.F = F[self.rows]
        U, sv, _ = np.linalg.svd(self.F, full_matrices=False)  # a basis that survives all-zero columns
        self.Qf = U[:, sv > 1e-10 * sv.max()] if sv.size else U
        self.synergy = synergy
        self.set_y(y)

    def set_penalty(self, sigma: float | None) -> VarPro:
        """Add the penalty sum_k ((z_k - centre_k) / sd_k)^2 * sigma^2 to the residual sum of squares
        (sigma: the noise standard deviation in target units; None: plain least squares). That is
        the posterior mode under independent normal priors on the optimised scale."""
        K = self.X.shape[1]
        if sigma is None or not np.isfinite(sigma):
            self.prior = None
        else:
            self.prior = (np.tile(self.media.prior_centre, K), float(sigma) / np.tile(self.media.prior_sd, K))
        return self

    def set_y(self, y: np.ndarray) -> VarPro:
        """Use another target (the bootstrap's), keeping the design."""
        yr = np.asarray(y, float)[self.rows]
        self.ysd = float(yr.std()) or 1.0
        self.y = yr / self.ysd
        self._key = None
        return self

    def _solve(self, z: np.ndarray, deriv: bool = True):
        key = z.tobytes()
        if self._key == key and (self._cache.dM is not None or not deriv):
            return self._cache
        M_all, dM_all = self.media.columns(self.X, z, deriv=deriv)
        M, dM = M_all[self.rows], (dM_all[self.rows] if deriv else None)
        Q = self.Qf
        s = None
        if self.synergy is not None:
            S1, S2 = M[:, self.synergy[0]].sum(axis=1), M[:, self.synergy[1]].sum(axis=1)
            s = S1 * S2
            q = s - Q @ (Q.T @ s)
            nq = np.linalg.norm(q)
            if nq > 1e-10 * max(np.linalg.norm(s), 1e-300):
                Q = np.column_stack([Q, q / nq])
        yr = self.y - Q @ (Q.T @ self.y)
        Mr = M - Q @ (Q.T @ M)
        beta, _ = nnls(Mr, yr, maxiter=50 * M.shape[1] + 50)
        r = yr - Mr @ beta
        self._key, self._cache = key, SimpleNamespace(r=r, beta=beta, M=M, dM=dM, s=s, Q=Q, Mr=Mr)
        return self._cache

    def residuals(self, z: np.ndarray) -> np.ndarray:
        r = self._solve(z, self.deriv).r
        if self.prior is None:
            return r
        centre, w = self.prior
        return np.concatenate([r, w / self.ysd * (z - centre)])

    def free_coefficients(self, z: np.ndarray) -> np.ndarray:
        """Coefficients of F (and the synergy column last) given theta and the media betas."""
        st = self._solve(z, self.deriv)
        A = self.F if st.s is None else np.column_stack([self.F, st.s])
        return np.linalg.lstsq(A, self.y - st.M @ st.beta, rcond=None)[0]

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        st = self._solve(z)
        beta, M, dM, s, Q, Mr = st.beta, st.M, st.dM, st.s, st.Q, st.Mr
        n, K, p = dM.shape
        V = dM * beta[None, :, None]
        if s is not None:
            gamma = self.free_coefficients(z)[-1]
            g1, g2 = self.synergy
            S1, S2 = M[:, g1].sum(axis=1), M[:, g2].sum(axis=1)
            V[:, g1, :] += gamma * dM[:, g1, :] * S2[:, None, None]
            V[:, g2, :] += gamma * dM[:, g2, :] * S1[:, None, None]
        V = V.reshape(n, K * p)
        V = V - Q @ (Q.T @ V)
        active = beta > 0
        if active.any():
            Qa, _ = np.linalg.qr(Mr[:, active])
            V = V - Qa @ (Qa.T @ V)
        if self.prior is None:
            return -V
        return np.vstack([-V, np.diag(self.prior[1] / self.ysd)])

    def solution(self, z: np.ndarray, converged: bool = True, message: str = "", nfev: int = 0) -> Solution:
        st = self._solve(z, self.deriv)
        r, beta = st.r, st.beta
        full = self.residuals(z)
        return Solution(
            z=np.array(z, float),
            beta=beta * self.ysd,
            free=self.free_coefficients(z) * self.ysd,
            rss=float(r @ r) * self.ysd**2,
            converged=converged,
            message=message,
            nfev=nfev,
            objective=float(full @ full) * self.ysd**2,
        )


def fit_theta(problem: VarPro, starts: list[np.ndarray], max_nfev: int = 200) -> tuple[Solution, list[Solution]]:
    """Bounded least squares over theta from each start; the lowest objective (residual sum of
    squares plus the penalty, if any) wins, converged runs first. Returns the best and every run."""
    K = problem.X.shape[1]
    lo, hi = np.tile(problem.media.lo, K), np.tile(problem.media.hi, K)
    runs = []
    for z0 in starts:
        z0 = np.clip(np.asarray(z0, float), lo, hi)
        res = least_squares(
            problem.residuals, z0, jac=problem.jacobian, bounds=(lo, hi), method="trf", max_nfev=max_nfev
        )
        runs.append(problem.solution(res.x, res.status > 0, res.message, res.nfev))
    ok = [s for s in runs if s.converged] or runs
    best = min(ok, key=lambda s: s.objective)
    return best, runs


RESERVED = ("date", "baseline", "trend", "seasonality", "synergy", "residual")


def checked_frame(frame: pd.DataFrame, date_col: str, target_col: str, channel_cols, control_cols):
    """Dates (sorted), target, spend (n, K) and controls (n, J) as floats; ValueError naming the
    column, the rule broken and the offending values or rows."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    channels, controls = list(channel_cols), list(control_cols)
    if not channels:
        raise ValueError("channel_cols is empty: name at least one spend column")
    wanted = [date_col, target_col, *channels, *controls]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the frame; its columns are {list(frame.columns)}")
    dup = sorted({c for c in wanted if wanted.count(c) > 1})
    if dup:
        raise ValueError(f"column(s) {dup} named more than once among date, target, channels and controls")
    clash = [c for c in channels + controls if c in RESERVED]
    if clash:
        raise ValueError(f"channel/control column(s) {clash} use a reserved output name ({', '.join(RESERVED)})")
    dates = pd.to_datetime(frame[date_col], errors="coerce")
    if dates.isna().any():
        bad = frame.loc[dates.isna(), date_col].head(3).tolist()
        raise ValueError(f"date column {date_col!r} has {int(dates.isna().sum())} value(s) that are not dates: {bad}")
    if dates.duplicated().any():
        raise ValueError(f"date column {date_col!r} repeats dates: {dates[dates.duplicated()].head(3).tolist()}")
    order = np.argsort(dates.to_numpy(), kind="stable")
    values = {}
    for c in [target_col, *channels, *controls]:
        col = frame[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ValueError(f"column {c!r} must be numeric (got {col.dtype}, e.g. {col.head(3).tolist()})")
        v = col.to_numpy(dtype=float, na_value=np.nan)[order]
        if not np.isfinite(v).all():
            rows = frame.index[order][~np.isfinite(v)][:5].tolist()
            raise ValueError(
                f"column {c!r} has {int((~np.isfinite(v)).sum())} missing or infinite value(s), rows {rows}"
            )
        if c in channels and (v < 0).any():
            rows = frame.index[order][v < 0][:5].tolist()
            raise ValueError(
                f"spend column {c!r} has {int((v < 0).sum())} negative value(s) (rows {rows}): spend must be >= 0"
            )
        values[c] = v
    S = np.column_stack([values[c] for c in channels])
    C = np.column_stack([values[c] for c in controls]) if controls else np.zeros((len(frame), 0))
    return pd.DatetimeIndex(dates.to_numpy()[order]), values[target_col], S, C


def design(dates: pd.DatetimeIndex, trend: bool, seasonality: int, C: np.ndarray, controls) -> tuple:
    """The fixed columns: intercept, trend (weeks since the first date), yearly Fourier terms
    sin/cos(2 pi k u), u = days since the first date / 365.25, k = 1..seasonality, controls."""
    days = ((dates - dates[0]) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    cols, names = [np.ones(len(days))], ["intercept"]
    if trend:
        cols.append(days / 7.0)
        names.append("trend")
    for k in range(1, int(seasonality) + 1):
        cols += [np.sin(2 * np.pi * k * days / 365.25), np.cos(2 * np.pi * k * days / 365.25)]
        names += [f"sin{k}", f"cos{k}"]
    F = np.column_stack(cols)
    for j, c in enumerate(controls):
        nxt = np.column_stack([F, C[:, j]])
        if np.linalg.matrix_rank(nxt) < nxt.shape[1]:
            raise ValueError(
                f"control {c!r} is constant or a linear combination of the intercept, trend, seasonality "
                "and the controls before it: it cannot be estimated; drop it"
            )
        F = nxt
        names.append(c)
    return F, names


def drop_channel_rss(media: Media, X, y, F, synergy, z: np.ndarray, j: int) -> float:
    """Residual sum of squares with channel j (of X's columns) left out: the other channels'
    transforms refitted from ``z``; a synergy group left empty drops the synergy term."""
    keep = np.delete(np.arange(X.shape[1]), j)
    if not keep.size:
        a = np.linalg.lstsq(F, y, rcond=None)[0]
        return float(((y - F @ a) ** 2).sum())
    syn = None
    if synergy is not None:
        remap = {old: new for new, old in enumerate(keep)}
        groups = [np.array([remap[i] for i in g if i != j], dtype=int) for g in synergy]
        syn = tuple(groups) if all(g.size for g in groups) else None
    zk = np.asarray(z).reshape(-1, media.p)[keep].ravel()
    return fit_theta(VarPro(media, X[:, keep], y, F, synergy=syn), [zk])[0].rss


def starting_points(media: Media, k: int, n: int, seed: int) -> list[np.ndarray]:
    """The centre of the box, then n - 1 points drawn uniformly from its inner 80 % (seeded)."""
    rng = np.random.default_rng([int(seed), 1])
    lo, hi = np.tile(media.lo, k), np.tile(media.hi, k)
    inner = (lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo))
    return [np.tile(media.centre, k)] + [rng.uniform(*inner) for _ in range(n - 1)]


def estimate(problem: VarPro, starts: list[np.ndarray], n_params: int, penalty: float):
    """Least squares from every start; then, when ``penalty`` > 0, the penalised fit (see
    :meth:`VarPro.set_penalty`, noise SD estimated from the least-squares residuals, prior
    precision times ``penalty``) from the same starts and the least-squares optimum.
    Returns (estimate, least-squares optimum, every run of the final search)."""
    problem.set_penalty(None)
    ls, runs = fit_theta(problem, starts)
    if penalty <= 0:
        return ls, ls, runs
    dof = max(int(problem.rows.sum()) - n_params, 1)
    problem.set_penalty(np.sqrt(ls.rss / dof * penalty))
    best, runs = fit_theta(problem, [*starts, ls.z])
    return best, ls, runs


def check_config(model) -> None:
    """ValueError naming a configuration value of ``model`` that is out of range."""
    if model.adstock not in ("geometric", "weibull"):
        raise ValueError(f"adstock must be 'geometric' or 'weibull', got {model.adstock!r}")
    if model.saturation not in ("hill", "logistic"):
        raise ValueError(f"saturation must be 'hill' or 'logistic', got {model.saturation!r}")
    for name, low in (("l_max", 1), ("holdout_weeks", 0), ("seasonality", 0), ("bootstrap", 0)):
        v = getattr(model, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be a whole number >= {low}, got {v!r}")
    if not (isinstance(model.penalty, (int, float)) and np.isfinite(model.penalty) and model.penalty >= 0):
        raise ValueError(f"penalty must be a number >= 0 (0: plain least squares), got {model.penalty!r}")
    if model.point_estimate not in ("mean", "mode"):
        raise ValueError(f"point_estimate must be 'mean' or 'mode', got {model.point_estimate!r}")


def synergy_groups(synergy, channels: list[str], active: np.ndarray, notes: list[str]):
    """The synergy groups as index arrays into the channels with spend (None: no synergy term)."""
    if synergy is None:
        return None
    try:
        g1, g2 = ([str(c) for c in g] for g in synergy)
    except (TypeError, ValueError):
        raise ValueError(f"synergy must be None or a pair of channel lists, got {synergy!r}") from None
    unknown = [c for c in g1 + g2 if c not in channels]
    if unknown or not g1 or not g2 or set(g1) & set(g2):
        raise ValueError(
            f"synergy groups must be two non-empty, disjoint lists of channel_cols {channels}; got {g1} and {g2}"
            + (f" (unknown: {unknown})" if unknown else "")
        )
    pos = {channels[c]: j for j, c in enumerate(active)}
    idx = [np.array([pos[c] for c in g if c in pos], dtype=int) for g in (g1, g2)]
    if not idx[0].size or not idx[1].size:
        notes.append("A synergy group has no spend at all: the synergy term is left out.")
        return None
    return idx[0], idx[1]


#: Plain-words reason added to the note on a transform parameter at an end of its range.
BOUND_HINT = {
    ("alpha", "lower"): ": no carry-over is found, the effect stays in the week of the spend",
    ("alpha", "upper"): ": the carry-over may be longer than the l_max lags allow",
    ("shape", "lower"): ": the effect decays at once",
    ("scale", "upper"): ": the carry-over may be longer than the l_max lags allow",
    ("lam", "lower"): ": no saturation is visible, the response is close to linear in spend",
    ("half", "upper"): ": no saturation is visible, the response is close to linear in spend",
    ("lam", "upper"): ": the channel is saturated almost from the first unit of spend",
    ("half", "lower"): ": the channel is saturated almost from the first unit of spend",
}
