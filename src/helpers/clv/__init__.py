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

from helpers.core.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
