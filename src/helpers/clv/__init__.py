"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma models, CLV and diagnostics.

See :mod:`helpers.clv.models` for the data conventions (frequency = repeat purchases, recency and
T measured from each customer's first purchase, in one time unit).
"""

from . import models
from .models import (
    BetaGeoModel,
    GammaGammaModel,
    IndependenceCheck,
    ModelFitError,
    ParetoNBDModel,
    customer_lifetime_value,
    gamma_gamma_independence,
)

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "IndependenceCheck",
    "ModelFitError",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "gamma_gamma_independence",
    "models",
]
