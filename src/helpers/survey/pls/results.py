"""The summary of a fitted PLS path model: a dict of tables with a readable text form.

``model.summary()`` returns a :class:`PLSSummary`, a ``dict`` name -> DataFrame:

* ``overview``: one row per fact (``what``, ``value``): respondents used, dropped and imputed cells,
  scheme, scaling, iterations, convergence, GoF and the note;
* ``weights`` and ``loadings``: ``construct, item, mode`` and the value (``weight``; ``loading``
  and ``communality`` = loading²);
* ``cross_loadings``: items x constructs (correlations);
* ``paths``: ``from, to, coefficient``;
* ``r2``: ``construct, r2, adjusted_r2, predictors`` (adjusted: ``1 - (1 - R²)(n - 1)/(n - p - 1)``);
* ``effects``: ``from, to, direct, indirect, total`` for every pair linked by a chain of paths;
* ``reliability``, ``htmt``, ``fornell_larcker``: see :mod:`.quality`.

After ``model.bootstrap(...)`` the ``weights``, ``loadings``, ``paths`` and ``effects`` tables also
carry ``se``, ``t``, ``ci_low`` and ``ci_high`` (of the total effect in ``effects``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PLSSummary", "summarise"]

_BOOT = ["se", "t", "ci_low", "ci_high"]


class PLSSummary(dict):
    """Tables of a fitted model by name (see the module docstring); ``str()`` renders them all."""

    def __str__(self) -> str:
        parts = []
        for name, table in self.items():
            title = name.replace("_", " ").capitalize()
            if name == "overview":
                body = "\n".join(f"  {w}: {v}" for w, v in zip(table["what"], table["value"]))
            else:
                body = table.to_string(float_format=lambda x: f"{x:.4f}", index=name in _MATRICES)
            parts.append(f"{title}\n{'-' * len(title)}\n{body}")
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        html = []
        for name, table in self.items():
            html.append(f"<h4>{name.replace('_', ' ').capitalize()}</h4>")
            html.append(table.to_html(float_format=lambda x: f"{x:.4f}", index=name in _MATRICES))
        return "\n".join(html)


_MATRICES = ("cross_loadings", "htmt", "fornell_larcker")


def _with_boot(table: pd.DataFrame, boot: pd.DataFrame | None, on: list[str]) -> pd.DataFrame:
    if boot is None:
        return table
    return table.merge(boot[[*on, *_BOOT]], on=on, how="left")


def summarise(model) -> PLSSummary:
    """Build the :class:`PLSSummary` of a fitted model."""
    spec = model.spec_
    boot = getattr(model, "bootstrap_", None)
    owner = [spec.constructs[j] for j in spec.block_of]
    modes = [spec.modes[c] for c in owner]
    items = list(spec.items)
    overview = pd.DataFrame(
        {
            "what": [
                "respondents used",
                "respondents dropped (missing answer)",
                "answers replaced by the item mean",
                "inner weighting scheme",
                "item scaling",
                "iterations",
                "converged",
                "GoF",
                "note",
            ],
            "value": [
                model.n_,
                model.n_dropped_,
                model.n_imputed_,
                model.scheme,
                "standardised (population sd)" if model.scaled else "centred only",
                model.iterations_,
                model.converged_,
                round(model.gof_, 6),
                model.note_,
            ],
        }
    )
    if boot is not None:
        extra = pd.DataFrame(
            {
                "what": ["bootstrap resamples (failed)", "bootstrap seed"],
                "value": [f"{boot.n_resamples} ({boot.n_failed})", boot.seed],
            }
        )
        overview = pd.concat([overview, extra], ignore_index=True)
    weights = pd.DataFrame(
        {"construct": owner, "item": items, "mode": modes, "weight": model.outer_weights_.to_numpy()}
    )
    loads = model.loadings_.to_numpy()
    loadings = pd.DataFrame(
        {"construct": owner, "item": items, "mode": modes, "loading": loads, "communality": loads**2}
    )
    cons = list(spec.constructs)
    paths = pd.DataFrame(
        {
            "from": [a for a, _ in spec.paths],
            "to": [b for _, b in spec.paths],
            "coefficient": [model.path_coefficients_.loc[a, b] for a, b in spec.paths],
        }
    )
    preds = [int(spec.adjacency[:, cons.index(c)].sum()) for c in model.r2_.index]
    n = model.n_
    r2 = model.r2_.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        adj = 1 - (1 - r2) * (n - 1) / (n - np.array(preds) - 1)
    r2_table = pd.DataFrame({"construct": list(model.r2_.index), "r2": r2, "adjusted_r2": adj, "predictors": preds})
    effects = model.effects()
    if boot is not None:
        tot = boot.total_effects[["from", "to", *_BOOT]]
        effects = effects.merge(tot, on=["from", "to"], how="left")
    return PLSSummary(
        overview=overview,
        weights=_with_boot(weights, boot.weights if boot is not None else None, ["construct", "item"]),
        loadings=_with_boot(loadings, boot.loadings if boot is not None else None, ["construct", "item"]),
        cross_loadings=model.cross_loadings_,
        paths=_with_boot(paths, boot.paths if boot is not None else None, ["from", "to"]),
        r2=r2_table,
        effects=effects,
        reliability=model.reliability_.reset_index(drop=True),
        htmt=model.htmt_,
        fornell_larcker=model.fornell_larcker_,
    )
