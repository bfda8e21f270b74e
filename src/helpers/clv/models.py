"""Probabilistic customer-base models for customer lifetime value (CLV).

Implemented from the published formulas (no code taken from other projects):

* :class:`BetaGeoModel` -- BG/NBD: Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy
  Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284.
* :class:`ParetoNBDModel` -- Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting Your
  Customers: Who Are They and What Will They Do Next?", *Management Science* 33(1), 1-24; the
  likelihood in the form of Fader, Hardie & Lee (2005), "A Note on Deriving the Pareto/NBD Model
  and Related Expressions".
* :class:`GammaGammaModel` -- spend per transaction: Fader, Hardie & Lee (2005), "RFM and CLV:
  Using Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research* 42(4), and
  Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".

Data conventions (the usual "RFM summary" of a transaction log)
----------------------------------------------------------------
``frequency`` (x)
    Number of *repeat* purchase periods (purchases after the first one; several purchases in one
    period count once). A whole number >= 0.
``recency`` (t_x)
    Time of the last repeat purchase, measured from the customer's *first* purchase; 0 when
    ``frequency`` is 0. Must satisfy ``0 < recency <= T`` when ``frequency > 0``.
``T``
    Age of the customer at the end of the calibration period: time from the first purchase to the
    end of the observation window.
``monetary``
    Average value of the *repeat* transactions (used by the Gamma-Gamma model).

``recency`` and ``T`` must be in the same time unit (weeks or days, say); the fitted scale
parameters (``alpha``, ``beta``) and every horizon ``t`` passed to the prediction methods are then
in that unit too. The CDNOW benchmark data are in weeks.

Fitting maximises the log-likelihood over log-parameters (L-BFGS-B, then Newton steps) with
analytic gradients, after collapsing customers with identical summaries into weighted rows and
evaluating every parameter-dependent term once per distinct value of x, t_x and T. Fits on more
than 200,000 customers start from the optimum on a random 50,000-customer subsample. Standard
errors come from the inverse Hessian of the negative log-likelihood at the optimum (central
differences of the analytic gradient in log-parameter space, mapped back with the delta method).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "IndependenceCheck",
    "ModelFitError",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "gamma_gamma_independence",
]

try:  # installed with scikit-learn (a project dependency)
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover
    _threadpool_limits = None


def _single_threaded_blas() -> contextlib.AbstractContextManager:
    """Fits do only tiny matrix work; a multithreaded BLAS spends more time waking threads than
    computing (badly so on a loaded machine), so fits run with one BLAS thread."""
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")


#: Bounds on every log-parameter during optimisation: parameters live in [1e-8, 1e8].
_LOG_LOWER, _LOG_UPPER = math.log(1e-8), math.log(1e8)

_FIT_ADVICE = (
    "Things to try: use more data (in particular more customers with repeat purchases), pass a "
    "small penalizer (e.g. penalizer=0.001), pass different initial_params, and check that "
    "recency <= T and that frequency, recency and T are measured in the same time unit."
)

#: Fits on more customers than this start from the optimum on a random subsample of this size.
_WARM_START_MIN_CUSTOMERS = 200_000
_WARM_START_SIZE = 50_000

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}
_UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def days_per_unit(time_unit: str, allowed: Sequence[str] = tuple(DAYS_PER_UNIT)) -> float:
    """Days in one ``time_unit`` (D, W, M = 365.25/12 days, Y = 365.25 days); ``allowed`` narrows the choice."""
    unit = str(time_unit).upper()
    if unit not in allowed:
        names = " or ".join(f"'{u}' ({_UNIT_NAMES[u]})" for u in allowed)
        raise ValueError(f"time_unit must be {names}, not {time_unit!r}")
    return DAYS_PER_UNIT[unit]


_Z95 = 1.959963984540054


class ModelFitError(RuntimeError):
    """A model could not be fitted: the optimiser failed, the likelihood was not finite, or the
    data do not identify the parameters. The message says what happened and what to try."""


# ----------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two 1-D arrays without BLAS: a multithreaded BLAS dot spins threads that
    cost more than they save for these sizes (and far more on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


def _to_float_array(name: str, values: Any) -> np.ndarray:
    try:
        if isinstance(values, (pd.Series, pd.Index)):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (could not convert it to numbers: {exc})") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {arr.shape})")
    return arr


def _first_index(*values: Any) -> pd.Index | None:
    for v in values:
        if isinstance(v, pd.Series):
            return v.index
    return None


def _all_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _check_finite(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} contains NaN or infinite values ({int(bad.sum())} of {arr.size}, first at "
            f"position {i}); drop or fill those customers first"
        )


def _check_whole_nonnegative(name: str, arr: np.ndarray) -> None:
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0 (smallest value {arr.min():g})")
    frac = arr != np.round(arr)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise ValueError(
            f"{name} must be whole numbers (the number of repeat purchases); found {arr[i]:g} at position {i}"
        )


def _check_lengths(**arrays: np.ndarray) -> int:
    sizes = {k: v.size for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k}={n}" for k, n in sizes.items())
        raise ValueError(f"inputs must have the same length (got {desc})")
    n = next(iter(sizes.values()))
    if n == 0:
        raise ValueError("no customers given (inputs are empty)")
    return n


def _validate_rfm(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _to_float_array("frequency", frequency)
    tx = _to_float_array("recency", recency)
    TT = _to_float_array("T", T)
    _check_lengths(frequency=x, recency=tx, T=TT)
    for name, arr in (("frequency", x), ("recency", tx), ("T", TT)):
        _check_finite(name, arr)
    _check_whole_nonnegative("frequency", x)
    if (tx < 0).any():
        raise ValueError(f"recency must be >= 0 (smallest value {tx.min():g})")
    if (TT < 0).any():
        raise ValueError(f"T must be >= 0 (smallest value {TT.min():g})")
    over = tx > TT * (1.0 + 1e-12) + 1e-12
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"recency must be <= T for every customer: {int(over.sum())} customers have recency > T "
            f"(first at position {i}: recency={tx[i]:g}, T={TT[i]:g}). Both are measured from each "
            "customer's first purchase, in the same time unit."
        )
    tx = np.minimum(tx, TT)  # remove round-off excess (never modify the caller's array)
    zero_rec = (x > 0) & (tx == 0)
    if zero_rec.any():
        i = int(np.flatnonzero(zero_rec)[0])
        raise ValueError(
            f"{int(zero_rec.sum())} customers have frequency > 0 but recency 0 (first at position "
            f"{i}): recency is the time of the last repeat purchase after the first one, so it must be "
            "> 0 whenever frequency > 0. Check the units and how the summary was built."
        )
    bad_zero = (x == 0) & (tx > 0)
    if bad_zero.any():
        i = int(np.flatnonzero(bad_zero)[0])
        raise ValueError(
            f"{int(bad_zero.sum())} customers have frequency 0 but recency > 0 (first at position "
            f"{i}): with no repeat purchase recency must be 0."
        )
    return x, tx, TT


def _validate_weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _to_float_array("weights", weights)
    if w.size != n:
        raise ValueError(f"weights must have one value per customer (got {w.size} for {n} customers)")
    _check_finite("weights", w)
    if (w < 0).any():
        raise ValueError("weights must be >= 0")
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: nothing to fit")
    return w


def _wrap(values: np.ndarray, index: pd.Index | None, scalar: bool, name: str) -> Any:
    if scalar:
        return float(values[0])
    if index is not None:
        return pd.Series(values, index=index, name=name)
    return values


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and, for each element, the index of its value (hash based: O(n))."""
    codes, uniq = pd.factorize(np.asarray(values).reshape(-1), sort=True)
    return np.asarray(uniq), codes.astype(np.int64, copy=False)


def _unique_rows(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns: per-column values of each distinct row, and for each
    input element the index of its distinct row."""
    first, key = _factorize(cols[0])
    values = [first]
    for c in cols[1:]:
        u, k = _factorize(c)
        ku, key = _factorize(key * u.size + k)
        values = [v[ku // u.size] for v in values] + [u[ku % u.size]]
    return values, key


class _Summary:
    """Customers collapsed to unique (x, t_x, T) rows with summed weights.

    Every distinct value of x, t_x and T is stored once (``xu``, ``txu``, ``Tu``) and rows refer to
    them by index, so parameter-dependent work is done once per distinct value.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.xu, ix = _factorize(x)
        self.txu, itx = _factorize(tx)
        self.Tu, iT = _factorize(T)
        ntx, nT = self.txu.size, self.Tu.size
        if self.xu.size * ntx * nT < 2**62:
            keyu, inv = _factorize((ix * ntx + itx) * nT + iT)
            self.iT = keyu % nT
            self.itx = (keyu // nT) % ntx
            self.ix = keyu // (nT * ntx)
        else:  # very many distinct values: combine in two steps to avoid overflow
            k1u, k1 = _factorize(ix * ntx + itx)
            keyu, inv = _factorize(k1 * nT + iT)
            k1_rows = keyu // nT
            self.iT = keyu % nT
            self.ix = k1u[k1_rows] // ntx
            self.itx = k1u[k1_rows] % ntx
        self.row_of_customer = inv
        w_rows = np.bincount(inv, weights=w, minlength=keyu.size)
        self.w = w_rows
        self.x = self.xu[self.ix]
        self.N = float(w.sum())
        self.Wx = np.bincount(self.ix, weights=w_rows, minlength=self.xu.size)
        self.WT = np.bincount(self.iT, weights=w_rows, minlength=self.Tu.size)
        self.WXT = np.bincount(self.iT, weights=w_rows * self.x, minlength=self.Tu.size)
        self.n_rows = keyu.size
        self.total_x = _dot(w, x)


# ----------------------------------------------------------------------------------------------
# shared fitting machinery
# ----------------------------------------------------------------------------------------------


def _hessian_fd(grad: Callable[[np.ndarray], np.ndarray], phi: np.ndarray, h: float = 1e-4) -> np.ndarray:
    k = phi.size
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (grad(phi + e) - grad(phi - e)) / (2.0 * h)
    return 0.5 * (H + H.T)


@dataclass
class _PolishResult:
    phi: np.ndarray
    f: float
    g: np.ndarray
    H: np.ndarray
    iterations: int
    ok: bool


def _newton_polish(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    grad: Callable[[np.ndarray], np.ndarray],
    phi: np.ndarray,
    f: float,
    g: np.ndarray,
    N: float,
) -> _PolishResult:
    """Newton steps with a backtracking line search, using a finite-difference Hessian of the
    analytic gradient (recomputed only when the parameters move noticeably, and at the end).
    ``ok`` means: finite, Hessian positive definite, and the predicted remaining gain in total
    log-likelihood (half the Newton decrement times N) below 1e-4."""
    H = _hessian_fd(grad, phi)
    phi_h = phi.copy()
    steps = 0
    for _ in range(30):
        if f >= 1e99:
            break
        try:
            np.linalg.cholesky(H)
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        if float(-g @ step) * N < 1e-12:
            break
        lam, accepted = 1.0, False
        while lam > 1e-6:
            cand = np.clip(phi + lam * step, _LOG_LOWER, _LOG_UPPER)
            fc, gc = fun(cand)
            if fc <= f + 1e-14 * max(1.0, abs(f)) and fc < 1e99:
                phi, f, g, accepted = cand, fc, gc, True
                break
            lam *= 0.5
        if not accepted:
            break
        steps += 1
        if np.abs(phi - phi_h).max() > 0.05:  # far from where H was taken: refresh it
            H = _hessian_fd(grad, phi)
            phi_h = phi.copy()
    if np.abs(phi - phi_h).max() > 1e-6:
        H = _hessian_fd(grad, phi)
    ok = False
    if f < 1e99:
        try:
            np.linalg.cholesky(H)
            ok = 0.5 * float(g @ np.linalg.solve(H, g)) * N < 1e-4
        except np.linalg.LinAlgError:
            ok = False
    return _PolishResult(phi, f, g, H, steps, ok)


class _BaseModel:
    """Shared optimisation, standard errors and reporting for the three models."""

    _param_names: tuple[str, ...] = ()
    _model_name = ""

    def __init__(
        self,
        penalizer: float = 0.0,
        tol: float = 1e-8,
        maxiter: int = 2000,
        initial_params: Mapping[str, float] | Sequence[float] | None = None,
    ):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter
        self.initial_params = initial_params

    # -- to be provided by subclasses ---------------------------------------------------------
    def _default_start(self, data: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _nll_grad(self, theta: np.ndarray, data: Any) -> tuple[float, np.ndarray]:  # pragma: no cover
        """Total negative log-likelihood (weighted) and its gradient in natural parameters."""
        raise NotImplementedError

    # -----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner}, log_likelihood={self.log_likelihood_:.2f})"
        return f"{type(self).__name__}(penalizer={self.penalizer}, unfitted)"

    def _check_config(self) -> None:
        if not (np.isfinite(self.penalizer) and self.penalizer >= 0):
            raise ValueError(f"penalizer must be a finite number >= 0 (got {self.penalizer!r})")
        if not (self.tol > 0):
            raise ValueError(f"tol must be > 0 (got {self.tol!r})")
        if int(self.maxiter) < 1:
            raise ValueError(f"maxiter must be >= 1 (got {self.maxiter!r})")

    def _start(self, data: Any) -> np.ndarray:
        names = self._param_names
        if self.initial_params is None:
            return self._default_start(data)
        ip = self.initial_params
        if isinstance(ip, Mapping):
            missing = [n for n in names if n not in ip]
            if missing:
                raise ValueError(f"initial_params is missing {missing}; expected keys {list(names)}")
            theta = np.array([float(ip[n]) for n in names])
        else:
            theta = np.asarray(ip, dtype=float).reshape(-1)
            if theta.size != len(names):
                raise ValueError(f"initial_params needs {len(names)} values in the order {list(names)}")
        if not (np.all(np.isfinite(theta)) and np.all(theta > 0)):
            raise ValueError(f"initial_params must all be finite and > 0 (got {theta.tolist()})")
        return theta

    def _objective(self, phi: np.ndarray, data: Any, N: float) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            nll, g = self._nll_grad(theta, data)
        f = nll / N + self.penalizer * float(theta @ theta)
        g_theta = g / N + 2.0 * self.penalizer * theta
        return f, g_theta * theta

    def _warm_start(self, sub: Any) -> np.ndarray | None:
        with _single_threaded_blas():
            return self._warm_start_impl(sub)

    def _warm_start_impl(self, sub: Any) -> np.ndarray | None:
        """Optimum of the (per-customer mean) objective on a random subsample of customers, used as
        the starting point for a large fit: the full-data optimiser then needs few iterations."""
        phi0 = np.clip(np.log(self._default_start(sub)), _LOG_LOWER + 1.0, _LOG_UPPER - 1.0)

        def fun(phi: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self._objective(phi, sub, sub.N)
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                return 1e100, np.zeros_like(phi)
            return f, g

        try:
            res = optimize.minimize(
                fun,
                phi0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(_LOG_LOWER, _LOG_UPPER)] * phi0.size,
                options={"maxiter": 500, "gtol": 1e-7, "ftol": 1e-13},
            )
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # pragma: no cover
            return None
        phi = np.asarray(res.x, dtype=float)
        edge = (phi <= _LOG_LOWER + 0.5) | (phi >= _LOG_UPPER - 0.5)
        if not np.isfinite(res.fun) or res.fun >= 1e99 or edge.any():
            return None
        return np.exp(phi)

    def _subsample(self, n: int) -> np.ndarray | None:
        """Indices of a seeded random subsample for the warm start (None when n is small or the
        user gave initial_params)."""
        if self.initial_params is not None or n <= _WARM_START_MIN_CUSTOMERS:
            return None
        rng = np.random.default_rng(12345)
        return np.sort(rng.choice(n, size=_WARM_START_SIZE, replace=False))

    def _fit_core(self, data: Any, N: float, start: np.ndarray | None = None) -> None:
        with _single_threaded_blas():
            self._fit_core_impl(data, N, start)

    def _fit_core_impl(self, data: Any, N: float, start: np.ndarray | None) -> None:
        self._check_config()
        names = self._param_names
        name = self._model_name
        phi0 = np.log(self._start(data) if start is None else start)
        phi0 = np.clip(phi0, _LOG_LOWER + 1.0, _LOG_UPPER - 1.0)

        def fun(phi: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self._objective(phi, data, N)
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                # Tell the line search to back off; checked again at the end.
                return 1e100, np.zeros_like(phi)
            return f, g

        f0, g0 = self._objective(phi0, data, N)
        if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
            raise ModelFitError(
                f"{name}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(names, np.exp(phi0).round(6).tolist()))}. " + _FIT_ADVICE
            )

        def grad_only(p: np.ndarray) -> np.ndarray:
            return fun(p)[1]

        result = None
        if start is not None:
            # Warm start (optimum on a subsample): Newton steps with a finite-difference Hessian
            # converge in a few iterations; fall back to L-BFGS-B if they do not.
            result = _newton_polish(fun, grad_only, phi0, f0, g0, N)
            if not result.ok:
                result = None
            else:
                message = "Newton iterations from the optimum on a random subsample"
        if result is None:
            res = optimize.minimize(
                fun,
                phi0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(_LOG_LOWER, _LOG_UPPER)] * len(names),
                options={"maxiter": int(self.maxiter), "ftol": 1e-15, "gtol": float(self.tol), "maxcor": 20},
            )
            phi = np.asarray(res.x, dtype=float)
            f, g = fun(phi)
            result = _newton_polish(fun, grad_only, phi, f, g, N)
            result.iterations += int(res.nit)
            message = str(res.message)
        phi, f, g, H, n_iter = result.phi, result.f, result.g, result.H, result.iterations

        theta = np.exp(phi)
        if f >= 1e99 or not np.all(np.isfinite(theta)):
            raise ModelFitError(
                f"{name}: the optimiser ended where the log-likelihood is not finite ({message}). " + _FIT_ADVICE
            )
        at_edge = (phi <= _LOG_LOWER + 1e-3) | (phi >= _LOG_UPPER - 1e-3)
        if at_edge.any():
            which = ", ".join(f"{names[i]}={theta[i]:.3g}" for i in np.flatnonzero(at_edge))
            raise ModelFitError(
                f"{name}: parameter(s) {which} ran to the edge of the allowed range [1e-8, 1e8]: the "
                "data do not pin them down (the likelihood keeps improving towards an extreme). " + _FIT_ADVICE
            )
        extreme = (theta < 1e-5) | (theta > 1e5)
        note = ""
        if extreme.any():
            which = ", ".join(f"{names[i]}={theta[i]:.3g}" for i in np.flatnonzero(extreme))
            note = (
                f" Parameter(s) {which} are heading to an extreme value: the data hardly constrain "
                "them (for instance almost no visible drop-out, or a drop-out rate that is the same "
                "for everybody)."
            )
        try:
            np.linalg.cholesky(H)
            cov_phi_mean = np.linalg.inv(H)
        except np.linalg.LinAlgError:
            raise ModelFitError(
                f"{name}: the Hessian of the negative log-likelihood is not positive definite at the "
                f"end point {dict(zip(names, [float(f'{v:.6g}') for v in theta]))}, so this is not a "
                f"proper maximum and the parameters are not identified.{note} " + _FIT_ADVICE
            ) from None
        predicted_gain = 0.5 * float(g @ cov_phi_mean @ g) * N
        converged = bool(predicted_gain < 1e-4)
        if not converged:
            raise ModelFitError(
                f"{name}: the optimiser did not converge ({message}; {n_iter} iterations, "
                f"max |gradient| {np.abs(g).max():.2e}, predicted remaining log-likelihood gain "
                f"{predicted_gain:.2e}).{note} " + _FIT_ADVICE
            )
        cov_phi = cov_phi_mean / N
        se_phi = np.sqrt(np.diag(cov_phi))
        nll, _ = self._nll_grad(theta, data)
        ll = -float(nll)
        k = len(names)
        self.params_ = {n: float(v) for n, v in zip(names, theta)}
        self.standard_errors_ = {n: float(v) for n, v in zip(names, theta * se_phi)}
        self.covariance_ = pd.DataFrame(cov_phi * np.outer(theta, theta), index=list(names), columns=list(names))
        self._se_log = se_phi
        self.log_likelihood_ = ll
        self.n_customers_ = round(N) if abs(N - round(N)) < 1e-9 else N
        self.aic_ = 2.0 * k - 2.0 * ll
        self.bic_ = k * math.log(N) - 2.0 * ll
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.optimizer_message_ = message

    # -- reporting ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call .fit(...) first")

    def _theta(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[n] for n in self._param_names])

    def fit_statistics(self) -> dict[str, Any]:
        """Log-likelihood, AIC, BIC, number of customers and parameters, convergence info."""
        self._check_fitted()
        return {
            "model": self._model_name,
            "log_likelihood": self.log_likelihood_,
            "aic": self.aic_,
            "bic": self.bic_,
            "n_customers": self.n_customers_,
            "n_parameters": len(self._param_names),
            "penalizer": self.penalizer,
            "converged": self.converged_,
            "n_iterations": self.n_iter_,
        }

    def summary(self) -> pd.DataFrame:
        """Parameter table: estimate, std_error and a 95% interval per parameter.

        Standard errors are delta-method errors from the inverse Hessian of the negative
        log-likelihood. The 95% interval is computed on the log scale,
        ``exp(log(estimate) +/- 1.96 * se_log)``, so it stays positive and is asymmetric (better
        coverage for positive scale/shape parameters than estimate +/- 1.96 * std_error). The fit
        statistics (log-likelihood, AIC, BIC, n) are in ``.attrs["fit_statistics"]`` and
        :meth:`fit_statistics`.
        """
        theta = self._theta()
        se = np.array([self.standard_errors_[n] for n in self._param_names])
        df = pd.DataFrame(
            {
                "estimate": theta,
                "std_error": se,
                "lower_95": np.exp(np.log(theta) - _Z95 * self._se_log),
                "upper_95": np.exp(np.log(theta) + _Z95 * self._se_log),
            },
            index=pd.Index(list(self._param_names), name="parameter"),
        )
        df.attrs["fit_statistics"] = self.fit_statistics()
        return df


class _TransactionModel(_BaseModel):
    """Fitting entry point shared by the BG/NBD and Pareto/NBD models."""

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> _TransactionModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : array-like of whole numbers >= 0
            Number of repeat purchases x.
        recency : array-like
            Time of the last repeat purchase t_x since the first purchase (0 if x = 0).
        T : array-like
            Time from the first purchase to the end of the calibration period, same unit as
            ``recency`` (weeks or days); ``alpha``/``beta`` are then in that unit.
        weights : array-like, optional
            Frequency weights: how many customers each row stands for. Rows with identical
            (x, t_x, T) are merged internally anyway.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Invalid input (negative or non-integer frequency, recency > T, NaN, ...).
        ModelFitError
            The fit failed; the message explains why and what to try.
        """
        x, tx, TT = _validate_rfm(frequency, recency, T)
        w = _validate_weights(weights, x.size)
        if _dot(w, x) <= 0:
            raise ModelFitError(
                f"{self._model_name}: no customer has a repeat purchase (all frequencies are 0), so "
                "the purchase rate cannot be separated from drop-out and the likelihood has no finite "
                "maximum. The model needs customers with repeat purchases: use a longer calibration "
                "period or more customers."
            )
        start = None
        sub = self._subsample(x.size)
        if sub is not None and _dot(w[sub], x[sub]) > 0 and w[sub].sum() > 0:
            start = self._warm_start(self._prepare(x[sub], tx[sub], TT[sub], w[sub]))
        data = self._prepare(x, tx, TT, w)
        self._fit_core(data, data.N, start)
        return self

    def _prepare(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
        return _Summary(x, tx, T, w)

    def log_likelihood(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any = None,
        params: Mapping[str, float] | None = None,
    ) -> float:
        """Total log-likelihood of the given customers at the fitted parameters (or at ``params``,
        a dict with all parameter names), e.g. to score a holdout sample or compare estimates."""
        x, tx, TT = _validate_rfm(frequency, recency, T)
        w = _validate_weights(weights, x.size)
        if params is None:
            theta = self._theta()
        else:
            theta = np.array([float(params[n]) for n in self._param_names])
            if not (np.all(np.isfinite(theta)) and np.all(theta > 0)):
                raise ValueError("params must all be finite and > 0")
        with np.errstate(all="ignore"):
            nll, _ = self._nll_grad(theta, self._prepare(x, tx, TT, w))
        return -float(nll)

    def _predict_inputs(
        self, frequency: Any, recency: Any, T: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index | None, bool]:
        self._check_fitted()
        x, tx, TT = _validate_rfm(frequency, recency, T)
        return x, tx, TT, _first_index(frequency, recency, T), _all_scalar(frequency, recency, T)

    @staticmethod
    def _horizon(t: Any, n: int) -> np.ndarray:
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("the horizon t must be >= 0")
        if tt.size == 1:
            return np.full(n, tt[0])
        if tt.size != n:
            raise ValueError(f"t must be a scalar or have one value per customer (got {tt.size} for {n})")
        return tt


# ----------------------------------------------------------------------------------------------
# BG/NBD
# ----------------------------------------------------------------------------------------------


def _jacobi_beta_nodes(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes/weights for expectations under p ~ Beta(a, b) (Gauss-Jacobi on [0, 1])."""
    y, wts = special.roots_jacobi(n, b - 1.0, a - 1.0)  # weight (1-y)^(b-1) (1+y)^(a-1)
    p = 0.5 * (1.0 + y)
    wts = wts / wts.sum()
    return p, wts


def _beta_expect_g(a: float, bprime: np.ndarray, k: np.ndarray, c: np.ndarray) -> np.ndarray:
    """E[(1 - (1 + p c)^(-k)) / p] for p ~ Beta(a, bprime), elementwise, by Gauss-Jacobi.

    The integrand is bounded (it tends to k c as p -> 0), so this is finite for every a > 0,
    including a <= 1 where E[1/p] is infinite; it is evaluated without cancellation via expm1.
    """
    out = np.empty(k.size)
    bu, ib = _factorize(bprime)
    for j, bv in enumerate(bu):
        rows = np.flatnonzero(ib == j)
        cmax = float(c[rows].max()) if rows.size else 0.0
        n = int(min(3000, max(48, math.ceil(14.0 * math.sqrt(cmax) + 40))))
        p, wts = _jacobi_beta_nodes(a, float(bv), n)
        for s in range(0, rows.size, 8192):
            rr = rows[s : s + 8192]
            pc = np.log1p(np.outer(c[rr], p))
            vals = -np.expm1(-k[rr, None] * pc) / p[None, :]
            out[rr] = np.einsum("ij,j->i", vals, wts)
    return out


class BetaGeoModel(_TransactionModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    While alive a customer buys at Poisson rate lambda, lambda ~ Gamma(shape r, rate alpha); after
    every repeat purchase the customer drops out with probability p, p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty: ``penalizer * sum(theta**2)`` is added to the mean negative log-likelihood per
        customer (theta = (r, alpha, a, b)). Shrinks extreme estimates on sparse data.
    tol : float, default 1e-8
        Gradient tolerance for L-BFGS-B (on the mean objective in log-parameters); the result is
        then polished with Newton steps.
    maxiter : int, default 2000
        Maximum L-BFGS-B iterations.
    initial_params : dict or sequence, optional
        Starting values for (r, alpha, a, b).

    Attributes (after ``fit``)
    --------------------------
    params_ : dict  -- r, alpha, a, b (alpha in the time unit of recency/T)
    standard_errors_ : dict, covariance_ : DataFrame
    log_likelihood_, aic_, bic_ : float
    n_customers_ : int, converged_ : bool, n_iter_ : int
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"

    def _default_start(self, data: _Summary) -> np.ndarray:
        mean_T = _dot(data.WT, data.Tu) / data.N
        rate = max(data.total_x / data.N, 1e-3) / max(mean_T, 1e-9)
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])

    def _nll_grad(self, theta: np.ndarray, D: _Summary) -> tuple[float, np.ndarray]:
        r, alpha, a, b = theta
        xs = D.xu
        psi = special.digamma
        lg = special.gammaln(r + xs) - special.gammaln(r)
        B1 = special.betaln(a, b + xs) - special.betaln(a, b)
        logaT = np.log(alpha + D.Tu)
        invaT = 1.0 / (alpha + D.Tu)
        coefT = r * D.WT + D.WXT
        ll = _dot(D.Wx, (lg + B1)) + D.N * r * math.log(alpha) - _dot(coefT, logaT)
        g = np.array(
            [
                _dot(D.Wx, psi(r + xs) - psi(r)) + D.N * math.log(alpha) - _dot(D.WT, logaT),
                D.N * r / alpha - _dot(coefT, invaT),
                _dot(D.Wx, psi(a + b) - psi(a + b + xs)),
                _dot(D.Wx, psi(b + xs) - psi(a + b + xs) - psi(b) + psi(a + b)),
            ]
        )
        # second branch (drop-out right after the last purchase) exists only for x > 0
        pos = D.x > 0
        if pos.any():
            ix, itx, iT, w, x = D.ix[pos], D.itx[pos], D.iT[pos], D.w[pos], D.x[pos]
            xpos = np.where(xs > 0, xs, 1.0)
            logc = math.log(a) - np.log(b + xpos - 1.0)  # log(a / (b + x - 1))
            logatx = np.log(alpha + D.txu)
            invatx = 1.0 / (alpha + D.txu)
            dlog = logatx[itx] - logaT[iT]  # <= 0
            rx = r + x
            d = logc[ix] - rx * dlog
            # softplus(d) and sigmoid(d) from one exponential
            e = np.exp(-np.abs(d))
            ll += _dot(w, np.maximum(d, 0.0) + np.log1p(e))
            sig = e / (1.0 + e)
            np.subtract(1.0, sig, out=sig, where=d >= 0)
            wp = w * sig
            g[0] -= _dot(wp, dlog)
            wp_rx = wp * rx
            g[1] -= _dot(np.bincount(itx, weights=wp_rx, minlength=invatx.size), invatx) - _dot(
                np.bincount(iT, weights=wp_rx, minlength=invaT.size), invaT
            )
            g[2] += float(wp.sum()) / a
            g[3] -= _dot(np.bincount(ix, weights=wp, minlength=xs.size), (1.0 / (b + xpos - 1.0)))
        return -ll, -g

    # -- predictions --------------------------------------------------------------------------
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._theta()
        out = np.full(x.size, -np.inf)
        pos = x > 0
        xp = x[pos]
        out[pos] = math.log(a) - np.log(b + xp - 1.0) + (r + xp) * (np.log(alpha + T[pos]) - np.log(alpha + tx[pos]))
        return out

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(customer still alive at T | x, t_x, T). Equals 1 when frequency is 0 (BG/NBD
        customers can only drop out right after a repeat purchase)."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        return _wrap(special.expit(-self._log_odds_dead(x, tx, TT)), index, scalar, "p_alive")

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Conditional expected number of purchases in (T, T + t] (FHL 2005, eq. 10).

        ``t`` is in the time unit of recency/T (scalar, or one value per customer). Computed as
        P(alive) * E[(1 - (1 + p t / (alpha + T))^-(r + x)) / p] with p ~ Beta(a, b + x), the
        expectation by Gauss-Jacobi quadrature (equal to eq. 10, but without its cancellation).
        """
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        tt = self._horizon(t, x.size)
        r, alpha, a, b = self._theta()
        pa = special.expit(-self._log_odds_dead(x, tx, TT))
        # the expectation depends on (x, T, t) only: evaluate each distinct combination once
        (ux, uT, ut), inv = _unique_rows(x, TT, tt)
        G = _beta_expect_g(a, b + ux, r + ux, ut / (alpha + uT))
        return _wrap(pa * G[inv], index, scalar, "expected_purchases")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Unconditional E[X(t)]: expected repeat purchases in (0, t] for a new customer (FHL 2005
        eq. 9), t in the time unit of the fit. Scalar in, float out; array in, array out."""
        r, alpha, a, b = self._theta()
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("t must be >= 0")
        G = _beta_expect_g(a, np.full(tt.size, b), np.full(tt.size, r), tt / alpha)
        if np.ndim(t) == 0:
            return float(G[0])
        return _wrap(G, _first_index(t), False, "expected_purchases")


# ----------------------------------------------------------------------------------------------
# Pareto/NBD: the special function
# ----------------------------------------------------------------------------------------------
#
# The Pareto/NBD likelihood needs I(t) = int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du. With
# big = max(alpha, beta) + t, small = min(...) + t, P the exponent attached to `big`, Q the one
# attached to `small` and z = 1 - small/big in [0, 1):
#
#     log I = -P log(big) + (1 - Q) log(small) - log(P + Q - 1) + log F(z),
#     F(z) = 2F1(1, P; P + Q; z) = sum_n (P)_n / (P + Q)_n z^n
#
# (Euler's transformation of the 2F1 in FHL's note; it removes the (1 - z)^(-Q) growth that
# overflows for large x). Library 2F1 routines return NaN or wrong values here for large x with
# z near 1, so F and its derivatives in P, Q, z are computed three ways by range:
#   * z <= _ZCUT: the positive power series (ratio of terms <= z);
#   * otherwise Gauss's continued fraction (all coefficients positive: stable; about
#     16/sqrt(1 - z) steps when Q is small, a few steps when Q is large);
#   * where that would be slow (1 - z < _RHO_QUAD with Q < 8, or no convergence within
#     _CF_MAX_TERMS steps): F = (P + Q - 1) K with
#         K = int_0^inf (1 + rho v)^-P (1 + v)^-Q dv,  rho = 1 - z,
#     integrated in w = log v, where the integrand is log-concave: the mode and the points where
#     it has fallen by e^-42 are found by bisection, and composite Gauss-Legendre panels graded
#     towards the mode and the two kinks (w = 0, w = -log rho) do the rest.
# The three agree to ~1e-11 where they overlap and match high-precision values to ~5e-12.

_ZCUT = 0.5
_RHO_QUAD = 1e-3
_CF_MAX_TERMS = 3000


def _hyp_series(P: np.ndarray, Q: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    n = P.size
    F = np.ones(n)
    FP = np.zeros(n)
    FQ = np.zeros(n)
    Fz = np.zeros(n)
    idx = np.arange(n)
    Pa, Qa, za = P.copy(), Q.copy(), z.copy()
    PQ = Pa + Qa
    v = Pa / PQ  # v_k = c_k z^(k-1), c_k = (P)_k / (P+Q)_k
    sP = Qa / (Pa * PQ)  # d log c_k / dP
    sQ = -1.0 / PQ  # d log c_k / dQ
    fa, fpa, fqa, fza = F.copy(), FP.copy(), FQ.copy(), Fz.copy()
    k = 1
    bound = (1.0 - za) ** 2
    while idx.size and k < 100000:
        for _ in range(8):
            t = za * v
            fa += t
            fpa += t * sP
            fqa += t * sQ
            fza += k * v
            pk, pqk = Pa + k, PQ + k
            v = v * za * (pk / pqk)
            sP = sP + Qa / (pk * pqk)
            sQ = sQ - 1.0 / pqk
            k += 1
        done = (k + 1) * v <= 1e-17 * fa * bound
        if done.any():
            di = idx[done]
            F[di], FP[di], FQ[di], Fz[di] = fa[done], fpa[done], fqa[done], fza[done]
            keep = ~done
            idx = idx[keep]
            Pa, Qa, za, PQ, v, sP, sQ = Pa[keep], Qa[keep], za[keep], PQ[keep], v[keep], sP[keep], sQ[keep]
            fa, fpa, fqa, fza, bound = fa[keep], fpa[keep], fqa[keep], fza[keep], bound[keep]
    if idx.size:  # pragma: no cover - z <= _ZCUT converges in a few hundred terms
        F[idx], FP[idx], FQ[idx], Fz[idx] = fa, fpa, fqa, fza
    return np.log(F), FP / F, FQ / F, Fz / F


def _hyp_cf(P: np.ndarray, Q: np.ndarray, z: np.ndarray, max_terms: int = 200000) -> tuple[np.ndarray, ...]:
    """log F and its derivatives from Gauss's continued fraction
    F = 1 / (1 - k1 z / (1 - k2 z / (1 - ...))), k1 = P/(P+Q),
    k_2m = m (Q-1+m) / ((P+Q+2m-2)(P+Q+2m-1)), k_2m+1 = (P+m)(P+Q-1+m) / ((P+Q-1+2m)(P+Q+2m)),
    evaluated with the modified Lentz method, derivatives carried along (forward mode). All
    k_n > 0, so the fraction is a Stieltjes fraction: stable, converging in about 16/sqrt(1 - z)
    steps."""
    n_el = P.size
    out = [np.zeros(n_el) for _ in range(4)]  # -log G, and its P, Q, z derivatives
    idx = np.arange(n_el)
    Pa, Qa, za = P.copy(), Q.copy(), z.copy()
    S = Pa + Qa
    C = np.ones(n_el)
    D = np.zeros(n_el)
    dC = np.zeros((3, n_el))
    dD = np.zeros((3, n_el))
    acc = np.zeros((4, n_el))  # log G and derivatives
    n = 1
    while idx.size and n < max_terms:
        for _ in range(8):
            if n == 1:
                k = Pa / S
                lp, lq = 1.0 / Pa - 1.0 / S, -1.0 / S
            elif n % 2 == 0:
                m = n // 2
                d1, d2 = S + (2 * m - 2), S + (2 * m - 1)
                k = m * (Qa - 1.0 + m) / (d1 * d2)
                lp = -1.0 / d1 - 1.0 / d2
                lq = 1.0 / (Qa - 1.0 + m) + lp
            else:
                m = (n - 1) // 2
                e1, e2, e3 = S - 1.0 + m, S - 1.0 + 2 * m, S + 2 * m
                k = (Pa + m) * e1 / (e2 * e3)
                lq = 1.0 / e1 - 1.0 / e2 - 1.0 / e3
                lp = 1.0 / (Pa + m) + lq
            a = -k * za
            da = np.stack([a * lp, a * lq, -k])
            Dp = 1.0 + a * D
            dDp = da * D + a * dD
            D = 1.0 / Dp
            dD = -dDp * D * D
            Cn = 1.0 + a / C
            dC = da / C - a * dC / (C * C)
            C = Cn
            delta = C * D
            acc[0] += np.log(delta)
            acc[1:] += dC / C + dD / D
            n += 1
        done = np.abs(delta - 1.0) < 1e-16
        if done.any():
            di = idx[done]
            for j in range(4):
                out[j][di] = acc[j][done]
            keep = ~done
            idx = idx[keep]
            Pa, Qa, za, S, C, D = Pa[keep], Qa[keep], za[keep], S[keep], C[keep], D[keep]
            dC, dD, acc = dC[:, keep], dD[:, keep], acc[:, keep]
    ok = np.ones(n_el, dtype=bool)
    ok[idx] = False  # not converged within max_terms
    return -out[0], -out[1], -out[2], -out[3], ok


def _graded_unit_nodes(levels: int = 12, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    inner = 2.0 ** -np.arange(levels, 0, -1)
    edges = np.unique(np.concatenate([[0.0], inner, 1.0 - inner, [1.0]]))
    gx, gw = np.polynomial.legendre.leggauss(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    u = lo + (hi - lo) * (gx[None, :] + 1.0) / 2.0
    wu = (hi - lo) / 2.0 * gw[None, :]
    return u.ravel(), wu.ravel()


_UNIT_U, _UNIT_W = _graded_unit_nodes()


def _softplus(y: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, y)


def _hyp_quad(P: np.ndarray, Q: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, ...]:
    """log F and its derivatives (P, Q, z) for small rho = 1 - z, by quadrature (see above)."""
    out = [np.empty(P.size) for _ in range(4)]
    for s in range(0, P.size, 1024):
        sl = slice(s, s + 1024)
        res = _hyp_quad_chunk(P[sl], Q[sl], rho[sl])
        for o, r_ in zip(out, res):
            o[sl] = r_
    return tuple(out)


def _hyp_quad_chunk(P: np.ndarray, Q: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, ...]:
    lr = np.log(rho)
    A = P + Q - 1.0

    def g(w: np.ndarray) -> np.ndarray:
        return w - P * _softplus(w + lr) - Q * _softplus(w)

    def gprime(w: np.ndarray) -> np.ndarray:
        return 1.0 - P * special.expit(w + lr) - Q * special.expit(w)

    # mode: g' decreases from 1 to 1 - P - Q < 0
    lo = -np.log(P * rho + Q) - 1.0
    hi = -lr + np.log((A + 2.0) / A)
    lo = np.minimum(lo, hi - 1.0)
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        up = gprime(mid) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    wm = 0.5 * (lo + hi)
    gm = g(wm)
    depth = 42.0
    # left end: g(w) <= w, so w0 = min(wm, gm - depth) - 1 is below the threshold
    lo = np.minimum(wm, gm - depth) - 1.0
    hi = wm.copy()
    for _ in range(32):
        mid = 0.5 * (lo + hi)
        above = g(mid) > gm - depth
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    wl = lo
    # right end: g(w) <= -A w - P log(rho)
    lo = wm.copy()
    hi = np.maximum(wm, (depth - gm - P * lr) / A) + 1.0
    for _ in range(32):
        mid = 0.5 * (lo + hi)
        above = g(mid) > gm - depth
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    wr = hi
    bps = np.sort(np.stack([wl, wm, np.clip(0.0, wl, wr), np.clip(-lr, wl, wr), wr], axis=1), axis=1)
    seg_lo, seg_len = bps[:, :-1], np.diff(bps, axis=1)  # (m, 4)
    w = (seg_lo[:, :, None] + seg_len[:, :, None] * _UNIT_U[None, None, :]).reshape(P.size, -1)
    wt = (seg_len[:, :, None] * _UNIT_W[None, None, :]).reshape(P.size, -1)
    Pc, Qc = P[:, None], Q[:, None]
    y1 = w + lr[:, None]
    e1 = np.exp(-np.abs(y1))
    sp1 = np.maximum(y1, 0.0) + np.log1p(e1)  # softplus(w + log rho)
    sig1 = np.where(y1 >= 0, 1.0, e1) / (1.0 + e1)  # expit(w + log rho)
    sp0 = np.maximum(w, 0.0) + np.log1p(np.exp(-np.abs(w)))  # softplus(w)
    h = np.exp(w - Pc * sp1 - Qc * sp0 - gm[:, None]) * wt
    S0 = h.sum(axis=1)
    SP = np.einsum("ij,ij->i", h, sp1)
    SQ = np.einsum("ij,ij->i", h, sp0)
    Sz = np.einsum("ij,ij->i", h, sig1)
    logF = np.log(A) + gm + np.log(S0)
    dP = 1.0 / A - SP / S0
    dQ = 1.0 / A - SQ / S0
    dz = P / rho * Sz / S0
    return logF, dP, dQ, dz


def _log_hyp_1pq(P: np.ndarray, Q: np.ndarray, z: np.ndarray, zcut: float = _ZCUT) -> tuple[np.ndarray, ...]:
    """log 2F1(1, P; P + Q; z) and its partial derivatives in P, Q and z, for z in [0, 1):
    power series for z <= zcut, else the continued fraction (which converges fast unless both
    1 - z and Q are small), else quadrature."""
    P, Q, z = np.broadcast_arrays(np.asarray(P, float), np.asarray(Q, float), np.asarray(z, float))
    out = [np.empty(P.shape) for _ in range(4)]

    def put(mask: np.ndarray, res: Sequence[np.ndarray]) -> None:
        for o, r_ in zip(out, res):
            o[mask] = r_

    ser = z <= zcut
    if ser.any():
        put(ser, _hyp_series(P[ser], Q[ser], z[ser]))
    rest = np.flatnonzero(~ser)
    if rest.size:
        quad = np.zeros(P.shape, dtype=bool)
        # slow continued fraction: go straight to quadrature
        slow = (1.0 - z[rest] < _RHO_QUAD) & (Q[rest] < 8.0)
        quad[rest[slow]] = True
        cf = rest[~slow]
        if cf.size:
            *res, ok = _hyp_cf(P[cf], Q[cf], z[cf], max_terms=_CF_MAX_TERMS)
            sel = np.zeros(P.shape, dtype=bool)
            sel[cf[ok]] = True
            put(sel, [r_[ok] for r_ in res])
            quad[cf[~ok]] = True
        if quad.any():
            put(quad, _hyp_quad(P[quad], Q[quad], 1.0 - z[quad]))
    return tuple(out)


def _pareto_log_I(
    x: np.ndarray, t: np.ndarray, r: float, alpha: float, s: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """log I(t) = log int_t^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du and its gradient (n, 4)
    with respect to (r, alpha, s, beta)."""
    if alpha >= beta:
        big, small = alpha + t, beta + t
        P, Q = r + x, np.full(x.size, s + 1.0)
        z = (alpha - beta) / big
    else:
        big, small = beta + t, alpha + t
        P, Q = np.full(x.size, s + 1.0), r + x
        z = (beta - alpha) / big
    A = r + s + x
    logF, dP, dQ, dz = _log_hyp_1pq(P, Q, z)
    lbig, lsmall = np.log(big), np.log(small)
    logI = -P * lbig + (1.0 - Q) * lsmall - np.log(A) + logF
    dPt = -lbig - 1.0 / A + dP
    dQt = -lsmall - 1.0 / A + dQ
    dbig = -P / big + dz * small / big**2
    dsmall = (1.0 - Q) / small - dz / big
    grad = np.empty((x.size, 4))
    if alpha >= beta:
        grad[:, 0], grad[:, 1], grad[:, 2], grad[:, 3] = dPt, dbig, dQt, dsmall
    else:
        grad[:, 0], grad[:, 1], grad[:, 2], grad[:, 3] = dQt, dsmall, dPt, dbig
    return logI, grad


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0 (-inf at d = 0)."""
    with np.errstate(divide="ignore"):
        return np.where(d > -math.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


class _ParetoSummary(_Summary):
    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        super().__init__(x, tx, T, w)
        k1u, p1 = _factorize(self.ix * self.txu.size + self.itx)
        k2u, p2 = _factorize(self.ix * self.Tu.size + self.iT)
        self.pair_x = np.concatenate([self.xu[k1u // self.txu.size], self.xu[k2u // self.Tu.size]])
        self.pair_t = np.concatenate([self.txu[k1u % self.txu.size], self.Tu[k2u % self.Tu.size]])
        self.p1 = p1
        self.p2 = p2 + k1u.size
        self.n_pairs = self.pair_x.size


def _pareto_row_terms(theta: np.ndarray, D: _ParetoSummary) -> dict[str, np.ndarray]:
    r, alpha, s, beta = theta
    logaT = np.log(alpha + D.Tu)
    logbT = np.log(beta + D.Tu)
    T0 = -(r + D.x) * logaT[D.iT] - s * logbT[D.iT]
    logI, dI = _pareto_log_I(D.pair_x, D.pair_t, r, alpha, s, beta)
    ls = math.log(s)
    T1 = ls + logI[D.p1]
    T2 = ls + logI[D.p2]
    # Z = e^T0 - e^T2 + e^T1 with e^T2 <= e^T0 and e^T2 <= e^T1: no catastrophic cancellation
    A0 = T0 + _log1mexp(np.minimum(T2 - T0, 0.0))
    logZ = np.logaddexp(A0, T1)
    return {"T0": T0, "T1": T1, "T2": T2, "logZ": logZ, "dI": dI, "logaT": logaT, "logbT": logbT}


class ParetoNBDModel(_TransactionModel):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    While alive a customer buys at Poisson rate lambda, lambda ~ Gamma(shape r, rate alpha); the
    unobserved lifetime is exponential with rate mu, mu ~ Gamma(shape s, rate beta).

    Same configuration and fitted attributes as :class:`BetaGeoModel`, with
    ``params_ = {r, alpha, s, beta}`` (alpha and beta in the time unit of recency/T). The
    likelihood's Gauss hypergeometric function is evaluated stably in both the alpha >= beta and
    alpha < beta branches, including large x and alpha/beta far apart.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_name = "Pareto/NBD"

    def _prepare(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> _ParetoSummary:
        return _ParetoSummary(x, tx, T, w)

    def _default_start(self, data: _ParetoSummary) -> np.ndarray:
        mean_T = _dot(data.WT, data.Tu) / data.N
        rate = max(data.total_x / data.N, 1e-3) / max(mean_T, 1e-9)
        return np.array([1.0, 1.0 / rate, 1.0, max(mean_T, 1e-3)])

    def _nll_grad(self, theta: np.ndarray, D: _ParetoSummary) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = theta
        xs = D.xu
        R = _pareto_row_terms(theta, D)
        logZ = R["logZ"]
        lg = special.gammaln(r + xs) - special.gammaln(r)
        ll = _dot(D.Wx, lg) + D.N * (r * math.log(alpha) + s * math.log(beta)) + _dot(D.w, logZ)
        w0 = D.w * np.exp(R["T0"] - logZ)
        w1 = D.w * np.exp(R["T1"] - logZ)
        w2 = D.w * np.exp(R["T2"] - logZ)
        Tr = D.Tu[D.iT]
        g = np.array(
            [
                _dot(D.Wx, special.digamma(r + xs) - special.digamma(r))
                + D.N * math.log(alpha)
                - _dot(w0, R["logaT"][D.iT]),
                D.N * r / alpha - _dot((w0 * (r + D.x)), (1.0 / (alpha + Tr))),
                D.N * math.log(beta) - _dot(w0, R["logbT"][D.iT]) + float((w1 - w2).sum()) / s,
                D.N * s / beta - s * _dot(w0, (1.0 / (beta + Tr))),
            ]
        )
        c = np.bincount(D.p1, weights=w1, minlength=D.n_pairs) - np.bincount(D.p2, weights=w2, minlength=D.n_pairs)
        g += np.einsum("i,ij->j", c, R["dI"])
        return -ll, -g

    def _rows(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[_ParetoSummary, dict[str, np.ndarray]]:
        D = _ParetoSummary(x, tx, T, np.ones(x.size))
        return D, _pareto_row_terms(self._theta(), D)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(customer still alive at T | x, t_x, T). Below 1 even for x = 0 (a Pareto/NBD customer
        can die at any time), and decreasing in T for fixed x, t_x."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        D, R = self._rows(x, tx, TT)
        pa = np.exp(R["T0"] - R["logZ"])[D.row_of_customer]
        return _wrap(np.clip(pa, 0.0, 1.0), index, scalar, "p_alive")

    @staticmethod
    def _lifetime_factor(s: float, scale: np.ndarray, t: np.ndarray) -> np.ndarray:
        """E[(1 - exp(-mu t)) / mu] for mu ~ Gamma(s, rate=scale), stable for s near 1."""
        L = np.log1p(t / scale)
        u = s - 1.0
        if abs(u) < 1e-8:
            return scale * L * (1.0 - 0.5 * u * L)
        return scale * (-np.expm1(-u * L)) / u

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Conditional expected number of purchases in (T, T + t] (Schmittlein et al. 1987; FHL
        note eq. 22): P(alive) * (r + x)(beta + T) / ((alpha + T)(s - 1)) *
        [1 - ((beta + T)/(beta + T + t))^(s - 1)], t in the time unit of recency/T."""
        x, tx, TT, index, scalar = self._predict_inputs(frequency, recency, T)
        tt = self._horizon(t, x.size)
        r, alpha, s, beta = self._theta()
        D, R = self._rows(x, tx, TT)
        pa = np.exp(R["T0"] - R["logZ"])[D.row_of_customer]
        out = pa * (r + x) / (alpha + TT) * self._lifetime_factor(s, beta + TT, tt)
        return _wrap(out, index, scalar, "expected_purchases")

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Unconditional E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)]."""
        r, alpha, s, beta = self._theta()
        tt = _to_float_array("t", t)
        _check_finite("t", tt)
        if (tt < 0).any():
            raise ValueError("t must be >= 0")
        out = r / alpha * self._lifetime_factor(s, np.full(tt.size, beta), tt)
        if np.ndim(t) == 0:
            return float(out[0])
        return _wrap(out, _first_index(t), False, "expected_purchases")


# ----------------------------------------------------------------------------------------------
# Gamma-Gamma spend model
# ----------------------------------------------------------------------------------------------


class _SpendData:
    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.xu, ix = _factorize(x)
        mu, im = _factorize(m)
        keyu, inv = _factorize(ix * mu.size + im)
        self.w = np.bincount(inv, weights=w, minlength=keyu.size)
        self.ix = keyu // mu.size
        self.x = self.xu[self.ix]
        self.m = mu[keyu % mu.size]
        self.logm = np.log(self.m)
        self.logx = np.log(self.x)
        self.Wx = np.bincount(self.ix, weights=self.w, minlength=self.xu.size)
        self.N = float(w.sum())


class GammaGammaModel(_BaseModel):
    """Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005).

    Each transaction value is Gamma(shape p, rate nu) around the customer's mean p/nu;
    nu ~ Gamma(shape q, rate v) across customers. Assumes spend is independent of purchase
    frequency (check with :func:`gamma_gamma_independence`).

    ``fit(frequency, monetary, weights=None)``: ``monetary`` is the mean value of the customer's
    repeat transactions (currency units). Customers with ``frequency == 0`` carry no spend
    information and are left out of the fit (``n_customers_`` counts the repeat buyers used).
    Configuration as in :class:`BetaGeoModel`; ``params_ = {p, q, v}`` (v in currency units).
    """

    _param_names = ("p", "q", "v")
    _model_name = "Gamma-Gamma"

    def _default_start(self, data: _SpendData) -> np.ndarray:
        mean_m = _dot(data.w, data.m) / data.N
        return np.array([1.0, 2.0, max(mean_m, 1e-6)])

    def fit(self, frequency: Any, monetary: Any, weights: Any = None) -> GammaGammaModel:
        """Fit on repeat buyers; ``frequency`` = number of repeat transactions, ``monetary`` = their
        mean value (> 0 for every customer with frequency > 0). Returns self."""
        x = _to_float_array("frequency", frequency)
        m = _to_float_array("monetary", monetary)
        _check_lengths(frequency=x, monetary=m)
        _check_finite("frequency", x)
        _check_finite("monetary", m)
        _check_whole_nonnegative("frequency", x)
        w = _validate_weights(weights, x.size)
        rep = (x > 0) & (w > 0)
        if (m[rep] <= 0).any():
            raise ValueError(
                "monetary must be > 0 for every customer with frequency > 0 (the Gamma-Gamma model "
                "describes positive spend); drop or fix zero/negative values"
            )
        self.n_excluded_ = int((x == 0).sum())
        if rep.sum() < 2:
            raise ModelFitError(
                "Gamma-Gamma: fewer than 2 customers with repeat purchases, so spend heterogeneity "
                "cannot be estimated. The model needs repeat buyers (frequency > 0) with their mean "
                "repeat spend."
            )
        x, m, w = x[rep], m[rep], w[rep]
        start = None
        sub = self._subsample(x.size)
        if sub is not None:
            start = self._warm_start(_SpendData(x[sub], m[sub], w[sub]))
        data = _SpendData(x, m, w)
        self._fit_core(data, data.N, start)
        return self

    def _nll_grad(self, theta: np.ndarray, D: _SpendData) -> tuple[float, np.ndarray]:
        p, q, v = theta
        xs = D.xu
        psi = special.digamma
        px = p * xs
        lgx = special.gammaln(px + q) - special.gammaln(px)
        lvxm = np.log(v + D.x * D.m)
        pxr = p * D.x
        ll = (
            _dot(D.Wx, lgx)
            + D.N * (q * math.log(v) - special.gammaln(q))
            + _dot(D.w, (pxr - 1.0) * D.logm + pxr * D.logx - (pxr + q) * lvxm)
        )
        dpx = psi(px + q) - psi(px)
        g = np.array(
            [
                _dot(D.Wx, (xs * dpx)) + _dot(D.w, (D.x * (D.logm + D.logx - lvxm))),
                _dot(D.Wx, psi(px + q)) - D.N * psi(q) + D.N * math.log(v) - _dot(D.w, lvxm),
                D.N * q / v - _dot(D.w, (pxr + q) / (v + D.x * D.m)),
            ]
        )
        return -ll, -g

    def expected_spend(self, frequency: Any, monetary: Any) -> Any:
        """Conditional expected average transaction value E[M | x, m] = p (v + x m) / (p x + q - 1);
        for frequency 0 this is the population mean p v / (q - 1). Infinite if q <= 1."""
        self._check_fitted()
        x = _to_float_array("frequency", frequency)
        m = _to_float_array("monetary", monetary)
        _check_lengths(frequency=x, monetary=m)
        _check_finite("frequency", x)
        _check_whole_nonnegative("frequency", x)
        m = np.where(x == 0, 0.0, m)
        _check_finite("monetary", m)
        if (m < 0).any():
            raise ValueError("monetary must be >= 0")
        p, q, v = self._theta()
        denom = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(denom > 0, p * (v + x * m) / denom, np.inf)
        if q <= 1:
            warnings.warn(
                f"Gamma-Gamma q = {q:.3g} <= 1: the population mean spend is infinite, so expected "
                "spend for customers without repeat purchases is inf",
                RuntimeWarning,
                stacklevel=2,
            )
        return _wrap(out, _first_index(frequency, monetary), _all_scalar(frequency, monetary), "expected_spend")


# ----------------------------------------------------------------------------------------------
# CLV and diagnostics
# ----------------------------------------------------------------------------------------------


def customer_lifetime_value(
    transaction_model: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    horizon_months: int = 12,
    discount_rate: float = 0.10,
    margin: float = 1.0,
    time_unit: str = "W",
) -> Any:
    """Discounted expected margin per customer over the next ``horizon_months`` months.

    CLV = sum_{m=1..H} [E[Y(t_m)] - E[Y(t_{m-1})]] * E[spend] * margin / (1 + discount_rate)^(m/12)

    * E[Y(t)] is the transaction model's conditional expected number of purchases in the next t
      time units; t_m is the end of month m, with 1 month = 365.25/12 days (4.348 weeks), converted
      to ``time_unit``.
    * E[spend] is the Gamma-Gamma conditional expected average transaction value.
    * ``margin`` is the fraction of spend kept as profit; the default 1.0 means the result is
      discounted expected *revenue* (100% of spend). Pass e.g. 0.3 for a 30% margin.
    * ``discount_rate`` is annual; cash flows are counted at the end of each month and discounted
      monthly at (1 + discount_rate)^(m/12).

    ``time_unit`` is the unit of recency/T used to fit the transaction model: 'W' (weeks), 'D'
    (days), 'M' (months of 365.25/12 days) or 'Y' (years of 365.25 days). Returns an array (or a
    Series aligned with the inputs if any input is a Series), in the currency of ``monetary``.
    """
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise ValueError("horizon_months must be a whole number >= 1")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError("discount_rate must be a finite number > -1 (annual rate, e.g. 0.10)")
    if not np.isfinite(margin):
        raise ValueError("margin must be finite")
    month = days_per_unit("M") / days_per_unit(time_unit)
    x, tx, TT = _validate_rfm(frequency, recency, T)
    spend = np.asarray(spend_model.expected_spend(x, _to_float_array("monetary", monetary)), dtype=float)
    total = np.zeros(x.size)
    prev = np.zeros(x.size)
    for m in range(1, int(horizon_months) + 1):
        cum = np.asarray(transaction_model.expected_purchases(m * month, x, tx, TT), dtype=float)
        total += (cum - prev) / (1.0 + discount_rate) ** (m / 12.0)
        prev = cum
    clv = total * spend * margin
    return _wrap(
        clv, _first_index(frequency, recency, T, monetary), _all_scalar(frequency, recency, T, monetary), "clv"
    )


@dataclass(frozen=True)
class IndependenceCheck:
    """Result of :func:`gamma_gamma_independence`."""

    correlation: float
    n_repeat_buyers: int
    threshold: float
    independent: bool
    message: str

    def __bool__(self) -> bool:
        return self.independent


def gamma_gamma_independence(
    frequency: Any, monetary: Any, threshold: float = 0.3, warn: bool = True
) -> IndependenceCheck:
    """Check the Gamma-Gamma assumption that spend does not depend on purchase frequency.

    Computes the Pearson correlation of frequency and monetary among repeat buyers (frequency
    > 0). The assumption is flagged as doubtful when |correlation| > ``threshold`` (default 0.3,
    a common rule of thumb for a weak correlation); then a ``UserWarning`` is issued (if ``warn``)
    and ``independent`` is False. The message explains the result in plain words.
    """
    x = _to_float_array("frequency", frequency)
    m = _to_float_array("monetary", monetary)
    _check_lengths(frequency=x, monetary=m)
    ok = np.isfinite(x) & np.isfinite(m) & (x > 0)
    n = int(ok.sum())
    xs, ms = x[ok], m[ok]
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ms) == 0:
        return IndependenceCheck(
            float("nan"),
            n,
            threshold,
            True,
            f"Cannot assess frequency-spend correlation: {n} repeat buyers, or no variation in frequency or spend.",
        )
    corr = float(np.corrcoef(xs, ms)[0, 1])
    independent = abs(corr) <= threshold
    if independent:
        msg = (
            f"Correlation of frequency and average spend among {n} repeat buyers is {corr:.3f} "
            f"(|r| <= {threshold}): consistent with the Gamma-Gamma independence assumption."
        )
    else:
        msg = (
            f"Correlation of frequency and average spend among {n} repeat buyers is {corr:.3f} "
            f"(|r| > {threshold}): spend depends on purchase frequency, which the Gamma-Gamma "
            "model assumes away; its spend predictions (and CLV) may be biased. Consider "
            "segmenting customers or a model that links spend and frequency."
        )
        if warn:
            warnings.warn(msg, UserWarning, stacklevel=2)
    return IndependenceCheck(corr, n, threshold, independent, msg)
