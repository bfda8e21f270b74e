"""Maximum likelihood for models with positive parameters: the engine every estimator shares.

A model supplies its total negative log-likelihood and gradient in the natural parameters
(``_nll_grad(theta, data) -> (nll, grad)``) and a starting point; :class:`LikelihoodModel` does
the rest:

* optimisation over log-parameters (so every parameter stays positive) with L-BFGS-B inside
  ``[1e-8, 1e8]``, then Newton steps with a finite-difference Hessian of the analytic gradient;
* an optional warm start from the optimum on a random subsample (large data sets);
* optional penalties on the mean negative log-likelihood: ``penalizer * sum(theta**2)`` (shrinks
  parameters towards 0) and ``log_penalizer * sum(log(theta)**2)`` (a weak prior that keeps every
  parameter off the edges of the allowed range, where the data leave it unidentified);
* standard errors from the inverse Hessian (delta method back from the log scale), confidence
  intervals on the log scale, log-likelihood, AIC and BIC, and a ``summary()`` table.

A fit that ends where the data do not pin the parameters down raises :class:`NotIdentifiedError`
(a :class:`ModelFitError`) naming the parameters and the values they ran to, so a caller can turn
it into a finding instead of a crash. Nothing here knows about a particular domain.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

try:  # installed with scikit-learn (a project dependency)
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover
    _threadpool_limits = None

__all__ = [
    "LOG_LOWER",
    "LOG_UPPER",
    "LikelihoodModel",
    "MLEResult",
    "ModelFitError",
    "NotIdentifiedError",
    "dot",
    "hessian_fd",
    "newton_polish",
    "single_threaded_blas",
]

#: Bounds on every log-parameter during optimisation: parameters live in [1e-8, 1e8].
LOG_LOWER, LOG_UPPER = math.log(1e-8), math.log(1e8)

#: Fits on more observations than this start from the optimum on a random subsample of this size.
WARM_START_MIN_OBS = 200_000
WARM_START_SIZE = 50_000

_GENERIC_ADVICE = "Things to try: more data, a small penalizer or log_penalizer, or different initial_params."


class ModelFitError(RuntimeError):
    """A model could not be fitted: the optimiser failed, the likelihood was not finite, or the
    data do not identify the parameters. The message says what happened and what to try."""


class NotIdentifiedError(ModelFitError):
    """The fit ended where the data do not pin some parameters down: they ran to the edge of the
    allowed range, or the likelihood is flat there (Hessian not positive definite).

    ``parameters`` holds the end point; ``extreme`` the names of the parameters at or heading to
    an extreme value (below 1e-5 or above 1e5)."""

    def __init__(self, message: str, model: str, parameters: Mapping[str, float], extreme: Sequence[str]):
        super().__init__(message)
        self.model = model
        self.parameters = dict(parameters)
        self.extreme = tuple(extreme)


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """Fits do only tiny matrix work; a multithreaded BLAS spends more time waking threads than
    computing (badly so on a loaded machine), so fits run with one BLAS thread."""
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two 1-D arrays without BLAS: a multithreaded BLAS dot spins threads that
    cost more than they save for these sizes (and far more on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


def hessian_fd(grad: Callable[[np.ndarray], np.ndarray], phi: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Symmetrised central-difference Hessian of an analytic gradient."""
    k = phi.size
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (grad(phi + e) - grad(phi - e)) / (2.0 * h)
    return 0.5 * (H + H.T)


@dataclass(frozen=True)
class WarmStart:
    """Parameters (``theta``) to start a fit from, and the Hessian of the mean objective in
    log-parameters there (or None), e.g. both from a random subsample."""

    theta: np.ndarray
    hessian: np.ndarray | None


@dataclass
class PolishResult:
    phi: np.ndarray
    f: float
    g: np.ndarray
    H: np.ndarray
    iterations: int
    ok: bool


def newton_polish(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    grad: Callable[[np.ndarray], np.ndarray],
    phi: np.ndarray,
    f: float,
    g: np.ndarray,
    N: float,
    H_start: np.ndarray | None = None,
) -> PolishResult:
    """Newton steps with a backtracking line search, using a finite-difference Hessian of the
    analytic gradient (recomputed only when the parameters move noticeably, and at the end).
    ``H_start``: a Hessian to take the first steps with instead (e.g. the mean objective's on a
    random subsample, at the subsample's optimum); the returned Hessian is then always computed
    afresh. ``ok`` means: finite, Hessian positive definite, and the predicted remaining gain in
    total log-likelihood (half the Newton decrement times N) below 1e-4."""
    H = hessian_fd(grad, phi) if H_start is None else H_start
    phi_h = phi.copy()
    exact = H_start is None
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
            cand = np.clip(phi + lam * step, LOG_LOWER, LOG_UPPER)
            fc, gc = fun(cand)
            if fc <= f + 1e-14 * max(1.0, abs(f)) and fc < 1e99:
                phi, f, g, accepted = cand, fc, gc, True
                break
            lam *= 0.5
        if not accepted:
            break
        steps += 1
        if np.abs(phi - phi_h).max() > 0.05:  # far from where H was taken: refresh it
            H = hessian_fd(grad, phi)
            phi_h, exact = phi.copy(), True
    if not exact or np.abs(phi - phi_h).max() > 1e-6:
        H = hessian_fd(grad, phi)
    ok = False
    if f < 1e99:
        try:
            np.linalg.cholesky(H)
            ok = 0.5 * float(g @ np.linalg.solve(H, g)) * N < 1e-4
        except np.linalg.LinAlgError:
            ok = False
    return PolishResult(phi, f, g, H, steps, ok)


@dataclass(frozen=True)
class MLEResult:
    """Estimates and their uncertainty. ``cov_log`` is the covariance of the log-parameters."""

    names: tuple[str, ...]
    estimates: np.ndarray
    cov_log: np.ndarray
    log_likelihood: float
    n_obs: float
    penalizer: float = 0.0
    log_penalizer: float = 0.0
    converged: bool = True
    n_iter: int = 0
    message: str = ""
    model: str = ""

    @property
    def params(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.estimates)}

    @property
    def se_log(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov_log))

    @property
    def standard_errors(self) -> dict[str, float]:
        """Delta-method standard errors of the natural parameters."""
        return {n: float(v) for n, v in zip(self.names, self.estimates * self.se_log)}

    @property
    def covariance(self) -> pd.DataFrame:
        th = self.estimates
        return pd.DataFrame(self.cov_log * np.outer(th, th), index=list(self.names), columns=list(self.names))

    @property
    def aic(self) -> float:
        return 2.0 * len(self.names) - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        return len(self.names) * math.log(self.n_obs) - 2.0 * self.log_likelihood

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``(1 - alpha)`` intervals computed on the log scale, ``exp(log(estimate) +/- z se_log)``:
        positive and asymmetric, with better coverage for scale and shape parameters than
        ``estimate +/- z std_error``."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1 (got {alpha!r})")
        z = float(special.ndtri(1.0 - alpha / 2.0))
        log_est = np.log(self.estimates)
        return pd.DataFrame(
            {"lower": np.exp(log_est - z * self.se_log), "upper": np.exp(log_est + z * self.se_log)},
            index=pd.Index(list(self.names), name="parameter"),
        )

    def fit_statistics(self, n_name: str = "n_obs") -> dict[str, Any]:
        n = round(self.n_obs) if abs(self.n_obs - round(self.n_obs)) < 1e-9 else self.n_obs
        return {
            "model": self.model,
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "bic": self.bic,
            n_name: n,
            "n_parameters": len(self.names),
            "penalizer": self.penalizer,
            "log_penalizer": self.log_penalizer,
            "converged": self.converged,
            "n_iterations": self.n_iter,
        }

    def summary(self, alpha: float = 0.05, n_name: str = "n_obs") -> pd.DataFrame:
        """Estimate, std_error and the ``(1 - alpha)`` interval per parameter (columns
        ``lower_95``/``upper_95`` for the default alpha); fit statistics in ``.attrs``."""
        ci = self.conf_int(alpha)
        level = f"{100 * (1 - alpha):g}"
        df = pd.DataFrame(
            {
                "estimate": self.estimates,
                "std_error": self.estimates * self.se_log,
                f"lower_{level}": ci["lower"].to_numpy(),
                f"upper_{level}": ci["upper"].to_numpy(),
            },
            index=ci.index,
        )
        df.attrs["fit_statistics"] = self.fit_statistics(n_name)
        return df


class LikelihoodModel:
    """Base estimator: configuration in ``__init__``, ``_fit_core`` fits, results in ``result_``
    and the conventional attributes (``params_``, ``standard_errors_``, ``covariance_``,
    ``log_likelihood_``, ``aic_``, ``bic_``, ``converged_``, ``n_iter_``, ``<n_name>_``).

    Subclasses set ``_param_names``, ``_model_name`` and implement ``_default_start(data)`` and
    ``_nll_grad(theta, data)`` (total weighted negative log-likelihood and its gradient in the
    natural parameters). ``_fit_advice`` is appended to failure messages; ``_n_name`` names the
    observation count (``n_obs``, ``n_customers`` ...).
    """

    _param_names: tuple[str, ...] = ()
    _model_name = ""
    _fit_advice = _GENERIC_ADVICE
    _n_name = "n_obs"

    def __init__(
        self,
        penalizer: float = 0.0,
        tol: float = 1e-8,
        maxiter: int = 2000,
        initial_params: Mapping[str, float] | Sequence[float] | None = None,
        log_penalizer: float = 0.0,
    ):
        self.penalizer = penalizer
        self.tol = tol
        self.maxiter = maxiter
        self.initial_params = initial_params
        self.log_penalizer = log_penalizer

    # -- to be provided by subclasses ---------------------------------------------------------
    def _default_start(self, data: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _nll_grad(self, theta: np.ndarray, data: Any) -> tuple[float, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    # -----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner}, log_likelihood={self.log_likelihood_:.2f})"
        return f"{type(self).__name__}(penalizer={self.penalizer}, unfitted)"

    def _check_config(self) -> None:
        for name in ("penalizer", "log_penalizer"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0 (got {value!r})")
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
        """Penalised mean negative log-likelihood and its gradient in log-parameters."""
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            nll, g = self._nll_grad(theta, data)
        f = nll / N + self.penalizer * float(theta @ theta) + self.log_penalizer * float(phi @ phi)
        g_theta = g / N + 2.0 * self.penalizer * theta
        return f, g_theta * theta + 2.0 * self.log_penalizer * phi

    def _safe(self, data: Any, N: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        def fun(phi: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self._objective(phi, data, N)
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                return 1e100, np.zeros_like(phi)  # tell the line search to back off
            return f, g

        return fun

    def _warm_start(self, sub: Any, N: float) -> WarmStart | None:
        """Optimum of the mean objective on a random subsample (``sub``, ``N`` observations),
        used as the start of a large fit: the full-data optimiser then needs few iterations.
        With it, the subsample's Hessian there, which the first Newton steps on all the data
        use (a finite-difference Hessian on all the data costs twice the parameters' number of
        gradients: on 3.3 million customers, a second each)."""
        with single_threaded_blas():
            phi0 = np.clip(np.log(self._default_start(sub)), LOG_LOWER + 1.0, LOG_UPPER - 1.0)
            try:
                res = optimize.minimize(
                    self._safe(sub, N),
                    phi0,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=[(LOG_LOWER, LOG_UPPER)] * phi0.size,
                    options={"maxiter": 500, "gtol": 1e-7, "ftol": 1e-13},
                )
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # pragma: no cover
                return None
        phi = np.asarray(res.x, dtype=float)
        edge = (phi <= LOG_LOWER + 0.5) | (phi >= LOG_UPPER - 0.5)
        if not np.isfinite(res.fun) or res.fun >= 1e99 or edge.any():
            return None
        fun = self._safe(sub, N)
        with single_threaded_blas():
            H = hessian_fd(lambda p: fun(p)[1], phi)
        return WarmStart(np.exp(phi), H if np.all(np.isfinite(H)) else None)

    def _subsample(self, n: int) -> np.ndarray | None:
        """Indices of a seeded random subsample for the warm start (None when n is small or the
        user gave initial_params)."""
        if self.initial_params is not None or n <= WARM_START_MIN_OBS:
            return None
        rng = np.random.default_rng(12345)
        return np.sort(rng.choice(n, size=WARM_START_SIZE, replace=False))

    def _fit_core(self, data: Any, N: float, start: WarmStart | np.ndarray | None = None) -> None:
        with single_threaded_blas():
            result = self._maximise(data, N, start)
        self._set_result(result)

    def _maximise(self, data: Any, N: float, start: WarmStart | np.ndarray | None) -> MLEResult:
        self._check_config()
        names = self._param_names
        name = self._model_name
        advice = self._fit_advice
        H_start = start.hessian if isinstance(start, WarmStart) else None
        if isinstance(start, WarmStart):
            start = start.theta
        phi0 = np.log(self._start(data) if start is None else start)
        phi0 = np.clip(phi0, LOG_LOWER + 1.0, LOG_UPPER - 1.0)
        fun = self._safe(data, N)

        f0, g0 = self._objective(phi0, data, N)
        if not (np.isfinite(f0) and np.all(np.isfinite(g0))):
            raise ModelFitError(
                f"{name}: the log-likelihood is not finite at the starting values "
                f"{dict(zip(names, np.exp(phi0).round(6).tolist()))}. " + advice
            )

        def grad_only(p: np.ndarray) -> np.ndarray:
            return fun(p)[1]

        result = None
        if start is not None:
            # Warm start (optimum on a subsample): Newton steps with a finite-difference Hessian
            # converge in a few iterations; fall back to L-BFGS-B if they do not.
            result = newton_polish(fun, grad_only, phi0, f0, g0, N, H_start)
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
                bounds=[(LOG_LOWER, LOG_UPPER)] * len(names),
                options={"maxiter": int(self.maxiter), "ftol": 1e-15, "gtol": float(self.tol), "maxcor": 20},
            )
            phi = np.asarray(res.x, dtype=float)
            f, g = fun(phi)
            result = newton_polish(fun, grad_only, phi, f, g, N)
            result.iterations += int(res.nit)
            message = str(res.message)
        phi, f, g, H, n_iter = result.phi, result.f, result.g, result.H, result.iterations

        theta = np.exp(phi)
        if f >= 1e99 or not np.all(np.isfinite(theta)):
            raise ModelFitError(
                f"{name}: the optimiser ended where the log-likelihood is not finite ({message}). " + advice
            )
        end_point = {n: float(f"{v:.6g}") for n, v in zip(names, theta)}
        at_edge = (phi <= LOG_LOWER + 1e-3) | (phi >= LOG_UPPER - 1e-3)
        if at_edge.any():
            which = ", ".join(f"{names[i]}={theta[i]:.3g}" for i in np.flatnonzero(at_edge))
            raise NotIdentifiedError(
                f"{name}: parameter(s) {which} ran to the edge of the allowed range [1e-8, 1e8]: the "
                "data do not pin them down (the likelihood keeps improving towards an extreme). " + advice,
                name,
                end_point,
                [names[i] for i in np.flatnonzero(at_edge)],
            )
        extreme = (theta < 1e-5) | (theta > 1e5)
        note = ""
        if extreme.any():
            which = ", ".join(f"{names[i]}={theta[i]:.3g}" for i in np.flatnonzero(extreme))
            note = f" Parameter(s) {which} are heading to an extreme value: the data hardly constrain them."
        try:
            np.linalg.cholesky(H)
            cov_phi_mean = np.linalg.inv(H)
        except np.linalg.LinAlgError:
            raise NotIdentifiedError(
                f"{name}: the Hessian of the negative log-likelihood is not positive definite at the "
                f"end point {end_point}, so this is not a proper maximum and the parameters are not "
                f"identified.{note} " + advice,
                name,
                end_point,
                [names[i] for i in np.flatnonzero(extreme)],
            ) from None
        predicted_gain = 0.5 * float(g @ cov_phi_mean @ g) * N
        if not predicted_gain < 1e-4:
            raise ModelFitError(
                f"{name}: the optimiser did not converge ({message}; {n_iter} iterations, "
                f"max |gradient| {np.abs(g).max():.2e}, predicted remaining log-likelihood gain "
                f"{predicted_gain:.2e}).{note} " + advice
            )
        nll, _ = self._nll_grad(theta, data)
        return MLEResult(
            names=tuple(names),
            estimates=theta,
            cov_log=cov_phi_mean / N,
            log_likelihood=-float(nll),
            n_obs=float(N),
            penalizer=float(self.penalizer),
            log_penalizer=float(self.log_penalizer),
            converged=True,
            n_iter=n_iter,
            message=message,
            model=name,
        )

    def _set_result(self, result: MLEResult) -> None:
        self.result_ = result
        self.params_ = result.params
        self.standard_errors_ = result.standard_errors
        self.covariance_ = result.covariance
        self._se_log = result.se_log
        self.log_likelihood_ = result.log_likelihood
        n = result.fit_statistics(self._n_name)[self._n_name]
        setattr(self, f"{self._n_name}_", n)
        self.aic_ = result.aic
        self.bic_ = result.bic
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.optimizer_message_ = result.message

    # -- reporting ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call .fit(...) first")

    def _theta(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[n] for n in self._param_names])

    def fit_statistics(self) -> dict[str, Any]:
        """Log-likelihood, AIC, BIC, number of observations and parameters, penalties, convergence."""
        self._check_fitted()
        return self.result_.fit_statistics(self._n_name)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``(1 - alpha)`` confidence intervals per parameter (log scale; see :class:`MLEResult`)."""
        self._check_fitted()
        return self.result_.conf_int(alpha)

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Parameter table: estimate, std_error and a ``(1 - alpha)`` interval per parameter.

        Standard errors are delta-method errors from the inverse Hessian of the negative
        log-likelihood. The interval is computed on the log scale,
        ``exp(log(estimate) +/- z * se_log)``, so it stays positive and is asymmetric. The fit
        statistics are in ``.attrs["fit_statistics"]`` and :meth:`fit_statistics`.
        """
        self._check_fitted()
        return self.result_.summary(alpha, self._n_name)
