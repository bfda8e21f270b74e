"""0-100 index scores (ACSI/ECSI convention), their means by group or wave, construct-level IPMA.

*Index* of construct ``c`` for a respondent (Fornell et al. 1996, the ACSI):

    index = Σ_j  w̃_j · (x_j - lo) / (hi - lo) · 100

over the items ``j`` of the block, with ``x_j`` the answer on the item's own scale (after mean
replacement when ``missing="mean"``), ``(lo, hi)`` the scale's bottom and top, and ``w̃`` the outer
weights moved to the items' own scale and normalised to sum to 1: ``w_j / sd_j`` for a model fitted
with ``scaled=True`` (``sd_j`` the item's population sd), ``w_j`` as they are with ``scaled=False``;
then ``w̃ = w / Σ w``. So the index is a weighted mean of the answers, stretched to 0-100: 0 when
every answer is ``lo``, 100 when every answer is ``hi``; a one-item block gives exactly
``(x - lo)/(hi - lo)·100``; it is a linear function of the construct score. With negative weights
(possible in formative blocks) it can leave 0-100.

``scale``: None uses the lowest and highest answer observed among the block's items; a pair
``(lo, hi)`` applies to every construct (e.g. ``(1, 10)`` for the ECSI items, ``(0, 10)``); a
mapping construct -> pair sets some constructs (the rest observed).

*Means* (:func:`index_means`): per construct (and group), the mean index with a t interval
``mean ± t(level; n - 1) · sd / sqrt(n)`` (``sd`` divisor n - 1; NaN below 2 respondents).
Respondents without a group label are left out.

*Importance-performance* (:func:`importance_performance`): for a target construct, every construct
with a chain of paths to it: ``importance`` its standardised total effect on the target,
``importance_points`` the same total effect on the index scale (from the path model refitted by OLS
on the index scores: target index points gained per index point gained by the construct) and
``performance`` its mean index; quadrants as in the key-driver map (above or below the mean
importance and performance of the constructs shown).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..drivers import QUADRANTS
from .estimate import structural, total_effects

__all__ = ["importance_performance", "index_means", "index_scores", "index_weights"]


def _scales(model, scale) -> dict[str, tuple[float, float]]:
    spec, raw = model.spec_, model._raw
    given: Mapping = {}
    if scale is not None:
        if isinstance(scale, Mapping):
            unknown = [c for c in scale if c not in spec.constructs]
            if unknown:
                raise ValueError(f"scale names {', '.join(map(repr, unknown))}, which is not a construct.")
            given = scale
        else:
            given = dict.fromkeys(spec.constructs, scale)
    out = {}
    for j, c in enumerate(spec.constructs):
        if c in given:
            pair = given[c]
            if isinstance(pair, str) or len(pair) != 2:
                raise ValueError(f"The scale of construct {c!r} must be a pair (lo, hi), got {pair!r}.")
            lo, hi = float(pair[0]), float(pair[1])
        else:
            block = raw[:, spec.positions[j]]
            lo, hi = float(block.min()), float(block.max())
        if not hi > lo:
            raise ValueError(f"The scale of construct {c!r} must have hi > lo (got ({lo:g}, {hi:g})).")
        out[c] = (lo, hi)
    return out


def index_weights(model) -> pd.Series:
    """The normalised item weights ``w̃`` on the items' own scale (sum 1 per construct), by item."""
    model._check_fitted()
    spec = model.spec_
    items = np.arange(len(spec.items))
    w = model._core.W[items, spec.block_of]
    if model.scaled:
        w = w / model.item_sds_.to_numpy()
    out = np.empty_like(w)
    for j, c in enumerate(spec.constructs):
        b = spec.positions[j]
        total = w[b].sum()
        if abs(total) <= 1e-9 * np.abs(w[b]).sum():
            raise ValueError(f"The weights of construct {c!r} sum to 0 on the items' scale, so no index can be formed.")
        out[b] = w[b] / total
    return pd.Series(out, index=list(spec.items), name="index_weight")


def index_scores(model, scale=None) -> pd.DataFrame:
    """0-100 index per respondent (rows used in the fit, the frame's labels) and construct. The
    scales used are in ``.attrs["scale"]`` and the weights in ``.attrs["weights"]``."""
    model._check_fitted()
    spec = model.spec_
    scales = _scales(model, scale)
    w = index_weights(model).to_numpy()
    out = np.empty((model.n_, len(spec.constructs)))
    for j, c in enumerate(spec.constructs):
        b = spec.positions[j]
        lo, hi = scales[c]
        out[:, j] = (model._raw[:, b] - lo) / (hi - lo) * 100.0 @ w[b]
    frame = pd.DataFrame(out, index=model.scores_.index, columns=list(spec.constructs))
    frame.attrs["scale"] = scales
    frame.attrs["weights"] = dict(zip(spec.items, w))
    return frame


def _group_labels(model, groups) -> pd.DataFrame:
    """Group labels of the respondents used, from a Series/array/DataFrame with one entry per row of
    the frame given to fit (positional)."""
    rows = model._positions
    if isinstance(groups, pd.DataFrame):
        g = groups
    elif isinstance(groups, pd.Series):
        g = groups.to_frame(groups.name if groups.name is not None else "group")
    else:
        g = pd.DataFrame({"group": np.asarray(groups)})
    if len(g) != model.n_in_:
        raise ValueError(
            f"groups has {len(g):,} entries; give one per row of the frame the model was fitted on ({model.n_in_:,})."
        )
    return g.iloc[rows].reset_index(drop=True)


def index_means(model, groups=None, scale=None, level: float = 0.95) -> pd.DataFrame:
    """Mean index with a t interval per construct, or per group and construct: columns (the group
    columns), ``construct, n, mean, sd, se, ci_low, ci_high``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (got {level!r}).")
    idx = index_scores(model, scale=scale).reset_index(drop=True)
    if groups is None:
        keys: list[str] = []
        long = idx.melt(var_name="construct", value_name="index")
    else:
        labels = _group_labels(model, groups)
        keys = list(labels.columns)
        long = pd.concat([labels, idx], axis=1).melt(id_vars=keys, var_name="construct", value_name="index")
    agg = long.groupby([*keys, "construct"], sort=False, dropna=True, observed=True)["index"].agg(
        ["count", "mean", "std"]
    )
    agg = agg.reset_index().rename(columns={"count": "n", "std": "sd"})
    n = agg["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = agg["sd"].to_numpy() / np.sqrt(n)
        half = stats.t.ppf((1 + level) / 2, n - 1) * se
    agg["se"] = se
    agg["ci_low"], agg["ci_high"] = agg["mean"] - half, agg["mean"] + half
    order = {c: i for i, c in enumerate(model.spec_.constructs)}
    agg = agg.sort_values(
        [*keys, "construct"], key=lambda s: s.map(order) if s.name == "construct" else s, kind="stable"
    )
    return agg.reset_index(drop=True)


def importance_performance(model, target: str, scale=None) -> pd.DataFrame:
    """Construct-level importance-performance map for ``target``: ``construct, importance,
    importance_points, performance, quadrant``, by importance (see the module docstring). The
    target's own mean index is in ``.attrs["target_performance"]``."""
    model._check_fitted()
    spec = model.spec_
    if target not in spec.constructs:
        raise ValueError(f"target {target!r} is not a construct (constructs: {', '.join(spec.constructs)}).")
    t = spec.constructs.index(target)
    reach = total_effects(spec.adjacency.astype(float))[:, t] > 0
    if not reach.any():
        raise ValueError(f"No construct has a path leading to {target!r}, so it has no drivers to map.")
    idx = index_scores(model, scale=scale)
    C = np.cov(idx.to_numpy(), rowvar=False, ddof=0)
    B_points, _ = structural(C, spec)
    points = total_effects(B_points)[:, t]
    total = model.total_effects_.to_numpy()[:, t]
    perf = idx.mean().to_numpy()
    rows = np.flatnonzero(reach)
    out = pd.DataFrame(
        {
            "construct": [spec.constructs[i] for i in rows],
            "importance": total[rows],
            "importance_points": points[rows],
            "performance": perf[rows],
        }
    )
    hi_imp = out["importance"] > out["importance"].mean()
    hi_perf = out["performance"] > out["performance"].mean()
    out["quadrant"] = [QUADRANTS[(a, b)] for a, b in zip(hi_imp, hi_perf)]
    out = out.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs.update(target=target, target_performance=float(perf[t]))
    return out
