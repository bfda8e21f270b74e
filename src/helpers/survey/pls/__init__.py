"""PLS path modelling (PLS-PM) of customer-satisfaction models, ECSI/ACSI style.

``PLSPathModel(blocks, paths, modes=None, scheme="path", scaled=True, missing="mean").fit(frame)``
estimates a structural model between constructs measured by blocks of survey items (Wold's PLS
algorithm as in R plspm and seminr); ``.summary()`` gives every table, ``.bootstrap(n, seed)``
standard errors and percentile intervals, ``.index_scores()`` / ``.index_means(groups)`` 0-100
ACSI-style indices and ``.importance_performance(target)`` a construct-level importance-performance
map. :func:`simulate_index_survey` simulates a survey from a known model.

Modules: :mod:`.spec` (model specification and its checks), :mod:`.estimate` (the algorithm),
:mod:`.model` (the estimator), :mod:`.quality` (reliability, AVE, HTMT, Fornell-Larcker, GoF),
:mod:`.bootstrap` and :mod:`.resample` (its worker), :mod:`.index`, :mod:`.results` (summary),
:mod:`.simulate`.

The names below are imported on first use, so the bootstrap's worker processes, which import
:mod:`.resample`, load numpy only (no pandas or scipy).
"""

from __future__ import annotations

from helpers.core.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PATHS": "helpers.survey.pls.simulate",
    "ModelSpec": "helpers.survey.pls.spec",
    "PLSBootstrap": "helpers.survey.pls.bootstrap",
    "PLSPathModel": "helpers.survey.pls.model",
    "PLSSummary": "helpers.survey.pls.results",
    "build_spec": "helpers.survey.pls.spec",
    "importance_performance": "helpers.survey.pls.index",
    "index_means": "helpers.survey.pls.index",
    "index_scores": "helpers.survey.pls.index",
    "index_weights": "helpers.survey.pls.index",
    "run_bootstrap": "helpers.survey.pls.bootstrap",
    "simulate_index_survey": "helpers.survey.pls.simulate",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
