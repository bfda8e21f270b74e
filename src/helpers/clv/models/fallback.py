"""Fit a transaction model, moving on to the other model or a small penalty when the data do not
pin the first one down, and keep the record of what was tried and why.

A young customer base (everyone still buying, nobody visibly gone) drives the drop-out
parameters to the edge of their range: BG/NBD's ``a`` towards 0, Pareto/NBD's ``s`` towards 0.
That is a finding about the data, not a failure of the analysis: the order tried is the
requested model, the other model, then each with ``log_penalizer`` (a weak prior on the
log-parameters that keeps them off the edges), and the first that fits is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers.core.mle import ModelFitError, NotIdentifiedError

from .base import NoRepeatPurchasesError, TransactionModel
from .bgnbd import BetaGeoModel
from .pareto_nbd import ParetoNBDModel

TRANSACTION_MODELS: dict[str, type[TransactionModel]] = {"bgnbd": BetaGeoModel, "pareto_nbd": ParetoNBDModel}
MODEL_LABELS = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
#: The parameters of each model that describe drop-out.
DROPOUT_PARAMETERS = {"bgnbd": ("a", "b"), "pareto_nbd": ("s", "beta")}
#: The penalty used when no model fits without one (per customer, on sum(log(theta)**2)).
FALLBACK_LOG_PENALIZER = 1e-4


@dataclass(frozen=True)
class Attempt:
    """One fit tried: the model key, its log_penalizer and, if it failed, why."""

    model: str
    log_penalizer: float
    error: str | None = None
    extreme: tuple[str, ...] = ()  # parameters that ran to an extreme (NotIdentifiedError)
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def dropout_at_edge(self) -> bool:
        """The failure was drop-out parameters running to an extreme (no visible drop-out)."""
        return bool(self.extreme) and set(self.extreme) <= set(DROPOUT_PARAMETERS[self.model])


@dataclass
class TransactionFit:
    """The model used, what was asked for, and every attempt on the way."""

    requested: str
    used: str
    model: TransactionModel
    log_penalizer: float
    attempts: list[Attempt]

    @property
    def fell_back(self) -> bool:
        return self.used != self.requested or self.log_penalizer > 0

    @property
    def failures(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.ok]


def _other(key: str) -> str:
    return next(k for k in TRANSACTION_MODELS if k != key)


def _attempt(key: str, log_penalizer: float, frequency: Any, recency: Any, T: Any, weights: Any):
    try:
        model = TRANSACTION_MODELS[key](log_penalizer=log_penalizer).fit(frequency, recency, T, weights=weights)
    except NoRepeatPurchasesError:
        raise
    except NotIdentifiedError as exc:
        return None, Attempt(key, log_penalizer, str(exc), exc.extreme, exc.parameters)
    except ModelFitError as exc:
        return None, Attempt(key, log_penalizer, str(exc))
    return model, Attempt(key, log_penalizer)


def fit_transaction_model(
    frequency: Any,
    recency: Any,
    T: Any,
    model: str = "bgnbd",
    *,
    switch: bool = True,
    log_penalizer: float = FALLBACK_LOG_PENALIZER,
    weights: Any = None,
) -> TransactionFit:
    """Fit ``model`` (``"bgnbd"`` or ``"pareto_nbd"``); if it fails, try the other model
    (``switch=True``), then each with ``log_penalizer``. Returns the first fit that works with the
    record of the attempts; raises the first error if none works, and at once when no customer
    has a repeat purchase (:class:`NoRepeatPurchasesError`) or the input is invalid."""
    if model not in TRANSACTION_MODELS:
        raise ValueError(f"transaction_model must be one of {', '.join(TRANSACTION_MODELS)}, not {model!r}")
    keys = [model, _other(model)] if switch else [model]
    plan = [(k, 0.0) for k in keys] + [(k, float(log_penalizer)) for k in keys if log_penalizer > 0]
    attempts: list[Attempt] = []
    for key, lp in plan:
        fitted, attempt = _attempt(key, lp, frequency, recency, T, weights)
        attempts.append(attempt)
        if fitted is not None:
            return TransactionFit(model, key, fitted, lp, attempts)
    tried = "; ".join(f"{MODEL_LABELS[a.model]} (log_penalizer {a.log_penalizer:g})" for a in attempts)
    raise ModelFitError(f"{attempts[0].error} Also tried, without success: {tried}.")


def choose(fits: dict[str, TransactionFit], requested: str) -> TransactionFit:
    """Of models fitted separately (``fit_transaction_model(..., switch=False)`` per key), the one
    to use: the requested model unpenalised, else the other unpenalised, else the requested
    penalised, else the other penalised. The attempts of every model are kept."""
    if not fits:
        raise ModelFitError("no transaction model could be fitted")

    def rank(key: str) -> tuple[bool, bool]:
        return fits[key].log_penalizer > 0, key != requested

    used = min(fits, key=rank)
    attempts = [a for key in sorted(fits, key=lambda k: k != requested) for a in fits[key].attempts]
    f = fits[used]
    return TransactionFit(requested, used, f.model, f.log_penalizer, attempts)
