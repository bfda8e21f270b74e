"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma models, CLV and diagnostics.

Layout: :mod:`.data` (transaction log -> per-customer summaries, Ibis), :mod:`.models` (one module
per model), :mod:`.value` (CLV, value tiers), :mod:`.validation` (holdout, tracking, model
comparison), :mod:`.churn` (at-risk ranking, churn classifier), :mod:`.narrative` (the report's
sentences), :mod:`.workflow` (the notebook's entry point), :mod:`.simulate`, :mod:`.domain`.
See :mod:`helpers.clv.models` for the data conventions (frequency = repeat purchases, recency and
T measured from each customer's first purchase, in one time unit).

The names below are imported on first use, so ``import helpers.clv.domain`` stays light (no
scipy, pandas or scikit-learn).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BetaGeoModel": "helpers.clv.models",
    "GammaGammaModel": "helpers.clv.models",
    "ModelFitError": "helpers.clv.models",
    "ParetoNBDModel": "helpers.clv.models",
    "IndependenceCheck": "helpers.clv.value",
    "customer_lifetime_value": "helpers.clv.value",
    "gamma_gamma_independence": "helpers.clv.value",
}

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "IndependenceCheck",
    "ModelFitError",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "gamma_gamma_independence",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
