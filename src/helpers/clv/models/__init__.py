"""Probabilistic customer-base models for customer lifetime value (CLV), one module per model.

Implemented from the published formulas (no code taken from other projects):

* :class:`BetaGeoModel` (:mod:`.bgnbd`) -- BG/NBD: Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy
  Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284.
* :class:`ParetoNBDModel` (:mod:`.pareto_nbd`, with :mod:`.hyp2f1`) -- Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting Your
  Customers: Who Are They and What Will They Do Next?", *Management Science* 33(1), 1-24; the
  likelihood in the form of Fader, Hardie & Lee (2005), "A Note on Deriving the Pareto/NBD Model
  and Related Expressions".
* :class:`GammaGammaModel` (:mod:`.gamma_gamma`) -- spend per transaction: Fader, Hardie & Lee (2005), "RFM and CLV:
  Using Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research* 42(4), and
  Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".

Data conventions (the usual "RFM summary" of a transaction log)
----------------------------------------------------------------
``frequency`` (x)
    Number of *repeat* purchase periods (purchases after the first one; several purchases in one
    period count once). A whole number >= 0.
``recency`` (t_x)
    Time of the last repeat purchase, measured from the customer's *first* purchase; 0 when
    ``frequency`` is 0. ``0 <= recency <= T``; recency 0 with ``frequency > 0`` is valid (every
    repeat purchase fell in the period of the first one, e.g. on a weekly grid).
``T``
    Age of the customer at the end of the calibration period: time from the first purchase to the
    end of the observation window.
``monetary``
    Average value of the *repeat* transactions (used by the Gamma-Gamma model).

``recency`` and ``T`` must be in the same time unit (weeks or days, say); the fitted scale
parameters (``alpha``, ``beta``) and every horizon ``t`` passed to the prediction methods are then
in that unit too. The CDNOW benchmark data are in weeks.

Fitting (:mod:`helpers.core.mle`) maximises the log-likelihood over log-parameters (L-BFGS-B,
then Newton steps) with analytic gradients, after collapsing customers with identical summaries into weighted rows and
evaluating every parameter-dependent term once per distinct value of x, t_x and T. Fits on more
than 200,000 customers start from the optimum on a random 50,000-customer subsample. Standard
errors come from the inverse Hessian of the negative log-likelihood at the optimum (central
differences of the analytic gradient in log-parameter space, mapped back with the delta method).

:func:`fit_transaction_model` tries models and penalties in turn and says in plain words why it
had to move on (e.g. a drop-out parameter at the edge of its range: no customer has visibly
dropped out yet).
"""

from helpers.core.mle import ModelFitError, NotIdentifiedError

from .bgnbd import BetaGeoModel
from .fallback import (
    DROPOUT_PARAMETERS,
    FALLBACK_LOG_PENALIZER,
    MODEL_LABELS,
    TRANSACTION_MODELS,
    Attempt,
    TransactionFit,
    choose,
    fit_transaction_model,
)
from .gamma_gamma import GammaGammaModel
from .pareto_nbd import ParetoNBDModel

__all__ = [
    "DROPOUT_PARAMETERS",
    "FALLBACK_LOG_PENALIZER",
    "MODEL_LABELS",
    "TRANSACTION_MODELS",
    "Attempt",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModelFitError",
    "NotIdentifiedError",
    "ParetoNBDModel",
    "TransactionFit",
    "choose",
    "fit_transaction_model",
]
