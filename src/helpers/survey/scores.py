"""Survey scores with their uncertainty: NPS, top-box shares, means, a satisfaction index, Likert
distributions, and differences between groups.

**Weights.** Every estimator takes ``weights=None``: an array-like aligned by position with the
values (or, in the functions that take a ``frame``, also the name of a weight column), every
weight finite and >= 0; None means every respondent counts once. The effective base is Kish's
``n_eff = (sum w)^2 / sum w^2`` over the answers used, and standard errors use ``n_eff`` where a
simple random sample would use ``n``; ``n`` (the unweighted count of answers used) is reported
beside it. Weights only matter relative to each other: multiplying them all by 2 changes
nothing.

**Missing answers** (NaN) are left out estimate by estimate; :class:`Estimate` reports how many
(``n_missing``).

**Units.** NPS is in points (-100..100); top-box shares are fractions (0..1); means are in the
answers' units; the satisfaction index is 0..100. Intervals are two-sided at ``confidence``
(0.95 by default); z and t quantiles come from scipy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Difference",
    "Estimate",
    "adjust_pvalues",
    "difference",
    "effective_n",
    "likert_distribution",
    "mean_ci",
    "nps",
    "nps_components",
    "pairwise_differences",
    "satisfaction_index",
    "scores_by_group",
    "top_box",
]

NPS_METHODS = ("wald", "adjusted_wald")
KINDS = ("nps", "top_box", "mean")
CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")
_CORRECTION_ALIASES = {"bh": "fdr_bh", "benjamini-hochberg": "fdr_bh", None: "none"}


# --- inputs ----------------------------------------------------------------------------------


def _floats(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float array, missing values (None, NaN, pd.NA) as NaN."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(float).ravel()  # already numbers: no detour through Python objects
    if isinstance(values, pd.Series) and (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        return values.to_numpy(dtype=float, na_value=np.nan)
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).ravel())
    try:
        s = pd.to_numeric(s, errors="raise")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers (NaN for a missing answer): {exc}") from None
    return s.to_numpy(dtype=float, na_value=np.nan)


def _weight_array(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Weights as a float array of length ``n`` (ones when None), checked finite and >= 0."""
    if weights is None:
        return np.ones(n)
    w = _floats(weights, name)
    if w.size != n:
        raise ValueError(f"{name} has {w.size} values for {n} answers: give one weight per answer, in the same order.")
    bad = ~np.isfinite(w)
    if bad.any():
        raise ValueError(
            f"{name}: {int(bad.sum())} weights are missing or infinite; every weight must be a number >= 0."
        )
    if (w < 0).any():
        raise ValueError(
            f"{name}: {int((w < 0).sum())} weights are negative (smallest {w.min():g}); weights must be >= 0."
        )
    return w


def _pairs(values: Any, weights: Any, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Values and weights of the answers present, and how many answers were missing."""
    x = _floats(values, name)
    w = _weight_array(weights, x.size)
    keep = ~np.isnan(x)
    x, w = x[keep], w[keep]
    if x.size == 0:
        raise ValueError(f"{name}: there is no answer to estimate from (every value is missing).")
    if w.sum() <= 0:
        raise ValueError(f"{name}: the weights of the {x.size} answers add up to 0, so there is nothing to estimate.")
    return x, w, int((~keep).sum())


def _frame_weights(frame: pd.DataFrame, weights: Any) -> Any:
    """A weight column name is looked up in ``frame``; anything else is passed on."""
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise ValueError(f"weights: the frame has no column {weights!r}.")
        return frame[weights]
    return weights


def _columns(frame: pd.DataFrame, items: Sequence[str] | str) -> list[str]:
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise ValueError("items: give at least one question column.")
    missing = [c for c in items if c not in frame.columns]
    if missing:
        raise ValueError(f"items: the frame has no column {', '.join(map(repr, missing))}.")
    return items


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}.")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def effective_n(weights: Any, *, n: int | None = None) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``: how many equally weighted answers
    would give the same precision. ``weights=None`` means unweighted: the result is ``n``."""
    if weights is None:
        if n is None:
            raise ValueError("effective_n(None) needs the number of answers: effective_n(None, n=...).")
        return float(n)
    w = _weight_array(weights, len(_floats(weights, "weights")))
    sq = float(np.sum(w**2))
    return float(np.sum(w)) ** 2 / sq if sq > 0 else 0.0


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A score with its standard error and interval.

    ``value``, ``se``, ``low``, ``high`` are in the score's units (NPS points, a 0..1 share, the
    answers' units); ``n`` is the number of answers used, ``n_eff`` their Kish effective size,
    ``n_missing`` the answers left out as missing; ``method`` names the interval (``wald``,
    ``adjusted_wald``, ``wilson``, ``t``)."""

    value: float
    se: float
    low: float
    high: float
    n: int
    n_eff: float
    method: str
    confidence: float = 0.95
    n_missing: int = 0

    @property
    def moe(self) -> float:
        """Margin of error: half the interval's width (``z * se`` for a Wald interval, before
        clipping to the score's range)."""
        if self.method == "wald":
            return _z(self.confidence) * self.se
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class Difference:
    """A test of ``a - b``: the difference, its standard error, z, the two-sided p-value and the
    interval, in the units of the two estimates."""

    estimate: float
    se: float
    z: float
    p_value: float
    low: float
    high: float


# --- NPS -------------------------------------------------------------------------------------


def _nps_shares(scores: Any, weights: Any) -> tuple[float, float, float, np.ndarray, np.ndarray, int]:
    x, w, missing = _pairs(scores, weights, "scores")
    bad = (x < 0) | (x > 10) | (x != np.round(x))
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in sorted(set(x[bad].tolist()))[:8])
        raise ValueError(
            f"scores: NPS answers are whole numbers from 0 to 10, but {int(bad.sum())} answers are not ({shown})."
        )
    total = w.sum()
    promoters, detractors = x >= 9, x <= 6
    p, d = w[promoters].sum() / total, w[detractors].sum() / total
    return float(p), float(1 - p - d), float(d), x, w, missing


def nps_components(scores: Any, weights: Any = None) -> dict:
    """Promoters (9-10), passives (7-8) and detractors (0-6).

    Returns ``promoters``, ``passives``, ``detractors`` (weighted shares, 0..1, adding up to 1),
    ``n_promoters``, ``n_passives``, ``n_detractors`` (unweighted counts), ``n`` (answers used),
    ``n_eff`` and ``n_missing``."""
    p, pa, d, x, w, missing = _nps_shares(scores, weights)
    return {
        "promoters": p,
        "passives": pa,
        "detractors": d,
        "n_promoters": int((x >= 9).sum()),
        "n_passives": int(((x > 6) & (x < 9)).sum()),
        "n_detractors": int((x <= 6).sum()),
        "n": int(x.size),
        "n_eff": effective_n(w),
        "n_missing": missing,
    }


def nps(scores: Any, weights: Any = None, method: str = "wald", confidence: float = 0.95) -> Estimate:
    """Net Promoter Score in points: 100 x (share of promoters, 9-10, minus share of detractors,
    0-6) of answers on 0..10 (anything else is refused).

    With P, D the (weighted) shares and the variance of one answer (+1 promoter, 0 passive, -1
    detractor) ``var = P + D - (P - D)^2``:

    * ``"wald"``: ``se = 100 sqrt(var / n_eff)``, interval ``value +- z se`` clipped to
      [-100, 100];
    * ``"adjusted_wald"`` (better coverage in small samples): three pseudo-answers are added,
      3/4 of one to promoters, 3/4 to detractors and 1.5 to passives:
      ``P' = (n_eff P + 0.75) / (n_eff + 3)``, ``D'`` likewise, ``n' = n_eff + 3``; ``se`` is
      ``100 sqrt(var' / n')`` with ``var'`` from P', D', and the interval is
      ``100 (P' - D') +- z se`` clipped to [-100, 100]. ``value`` stays the observed NPS.
    """
    if method not in NPS_METHODS:
        raise ValueError(f"method must be one of {', '.join(NPS_METHODS)}, got {method!r}.")
    z = _z(confidence)
    p, _pa, d, x, w, missing = _nps_shares(scores, weights)
    n_eff = effective_n(w)
    value = 100 * (p - d)
    if method == "adjusted_wald":
        p, d, base = (n_eff * p + 0.75) / (n_eff + 3), (n_eff * d + 0.75) / (n_eff + 3), n_eff + 3
    else:
        base = n_eff
    var = max(p + d - (p - d) ** 2, 0.0)
    se = 100 * math.sqrt(var / base)
    centre = 100 * (p - d)
    low, high = max(centre - z * se, -100.0), min(centre + z * se, 100.0)
    return Estimate(value, se, low, high, int(x.size), n_eff, method, confidence, missing)


# --- shares and means ------------------------------------------------------------------------


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def top_box(values: Any, scale_max: float, boxes: int = 2, weights: Any = None, confidence: float = 0.95) -> Estimate:
    """Share (0..1) of answers in the top ``boxes`` points of the scale, i.e. at least
    ``scale_max - boxes + 1`` (top-2 box on 1-5: 4 or 5). Answers above ``scale_max`` are refused.

    ``se = sqrt(p (1 - p) / n_eff)``; the interval is Wilson's score interval with ``n_eff`` in
    place of n (method ``"wilson"``)."""
    if int(boxes) != boxes or boxes < 1:
        raise ValueError(f"boxes must be a whole number >= 1 (2 = top-2 box), got {boxes}.")
    x, w, missing = _pairs(values, weights, "values")
    above = x > scale_max
    if above.any():
        raise ValueError(
            f"values: {int(above.sum())} answers lie above scale_max = {scale_max:g} "
            f"(largest {x.max():g}); check the scale."
        )
    z = _z(confidence)
    n_eff = effective_n(w)
    p = float(w[x >= scale_max - boxes + 1].sum() / w.sum())
    low, high = _wilson(p, n_eff, z)
    return Estimate(p, math.sqrt(p * (1 - p) / n_eff), low, high, int(x.size), n_eff, "wilson", confidence, missing)


def mean_ci(values: Any, weights: Any = None, confidence: float = 0.95) -> Estimate:
    """Weighted mean with a t interval (``n_eff - 1`` degrees of freedom, method ``"t"``).

    The weighted standard deviation is ``sqrt(sum w (x - mean)^2 / sum w * n_eff / (n_eff - 1))``
    (the usual sample SD when unweighted) and ``se = sd / sqrt(n_eff)``. With ``n_eff <= 1`` there
    is no spread to measure: se and the interval are NaN."""
    x, w, missing = _pairs(values, weights, "values")
    _z(confidence)
    n_eff = effective_n(w)
    mean = float(np.sum(w * x) / w.sum())
    if n_eff <= 1 + 1e-12:
        return Estimate(mean, math.nan, math.nan, math.nan, int(x.size), n_eff, "t", confidence, missing)
    var = float(np.sum(w * (x - mean) ** 2) / w.sum()) * n_eff / (n_eff - 1)
    se = math.sqrt(var / n_eff)
    half = float(stats.t.ppf(0.5 + confidence / 2, n_eff - 1)) * se
    return Estimate(mean, se, mean - half, mean + half, int(x.size), n_eff, "t", confidence, missing)


def _check_scale(frame: pd.DataFrame, items: list[str], lo: float, hi: float, integers: bool = False) -> None:
    for c in items:
        x = _floats(frame[c], c)
        x = x[~np.isnan(x)]
        bad = (x < lo) | (x > hi) | ((x != np.round(x)) if integers else False)
        if bad.any():
            shown = ", ".join(f"{v:g}" for v in sorted(set(x[bad].tolist()))[:8])
            rule = f"whole numbers from {lo:g} to {hi:g}" if integers else f"between {lo:g} and {hi:g}"
            raise ValueError(f"{c}: answers on this scale are {rule}, but {int(bad.sum())} are not ({shown}).")


def _scale(scale: Sequence[float]) -> tuple[float, float]:
    if len(scale) != 2 or not scale[1] > scale[0]:
        raise ValueError(f"scale must be (min, max) with max > min, e.g. (1, 5); got {scale!r}.")
    return float(scale[0]), float(scale[1])


def satisfaction_index(
    frame: pd.DataFrame,
    items: Sequence[str],
    scale: tuple[float, float],
    weights: Any = None,
    confidence: float = 0.95,
) -> Estimate:
    """A 0..100 index of a block of rating questions.

    Each respondent's mean over the ``items`` they answered is rescaled as
    ``(mean - min) / (max - min) * 100`` (``scale = (min, max)``), respondents with no answer in
    the block are left out (counted in ``n_missing``), and the index is :func:`mean_ci` of the
    rescaled scores."""
    items = _columns(frame, items)
    lo, hi = _scale(scale)
    _check_scale(frame, items, lo, hi)
    answers = np.column_stack([_floats(frame[c], c) for c in items])
    answered = (~np.isnan(answers)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        person = np.where(answered > 0, np.nansum(answers, axis=1) / np.maximum(answered, 1), np.nan)
    w = _weight_array(_frame_weights(frame, weights), len(frame))
    return mean_ci((person - lo) / (hi - lo) * 100, weights=w, confidence=confidence)


def likert_distribution(
    frame: pd.DataFrame, items: Sequence[str], scale: tuple[int, int], weights: Any = None
) -> pd.DataFrame:
    """Answers per scale point, in percent of each item's answers.

    Rows: the ``items`` in the given order (index name ``item``); columns: the scale points
    ``lo..hi`` as ints (each row adds up to 100; weighted when ``weights`` are given) and ``n``,
    the item's unweighted number of answers. An item nobody answered has NaN percentages and
    ``n = 0``. Answers must be whole numbers on the scale."""
    items = _columns(frame, items)
    lo, hi = _scale(scale)
    if lo != int(lo) or hi != int(hi):
        raise ValueError(f"scale must be whole numbers (min, max), got {scale!r}.")
    lo, hi = int(lo), int(hi)
    _check_scale(frame, items, lo, hi, integers=True)
    w = _weight_array(_frame_weights(frame, weights), len(frame))
    points = list(range(lo, hi + 1))
    rows = []
    for c in items:
        x = _floats(frame[c], c)
        keep = ~np.isnan(x)
        sums = np.bincount((x[keep] - lo).astype(int), weights=w[keep], minlength=len(points))
        total = sums.sum()
        pct = 100 * sums / total if total > 0 else np.full(len(points), np.nan)
        rows.append([*pct, int(keep.sum())])
    table = pd.DataFrame(rows, index=pd.Index(items, name="item"), columns=[*points, "n"])
    table["n"] = table["n"].astype(np.int64)
    return table


# --- differences -----------------------------------------------------------------------------


def difference(a: Estimate, b: Estimate, confidence: float = 0.95) -> Difference:
    """Test ``a - b`` for two independent samples: ``se = sqrt(se_a^2 + se_b^2)``, ``z = (a - b) /
    se``, a two-sided normal p-value and the interval ``(a - b) +- z_crit se``."""
    z_crit = _z(confidence)
    est = a.value - b.value
    se = math.hypot(a.se, b.se)
    if math.isnan(se):
        return Difference(est, se, math.nan, math.nan, math.nan, math.nan)
    if se == 0:
        z = 0.0 if est == 0 else math.copysign(math.inf, est)
    else:
        z = est / se
    p = float(2 * stats.norm.sf(abs(z)))
    return Difference(est, se, z, p, est - z_crit * se, est + z_crit * se)


def adjust_pvalues(p: Any, method: str = "holm") -> np.ndarray:
    """p-values adjusted for multiple comparisons (capped at 1), in the input order.

    ``"holm"``: Holm's step-down (family-wise error); ``"fdr_bh"`` (alias ``"bh"``):
    Benjamini-Hochberg (false discovery rate); ``"bonferroni"``; ``"none"``. NaN p-values stay NaN
    and do not count as tests."""
    method = _CORRECTION_ALIASES.get(method, method)
    if method not in CORRECTIONS:
        raise ValueError(f"method must be one of {', '.join(CORRECTIONS)} (or 'bh'), got {method!r}.")
    p = _floats(p, "p")
    out = np.full(p.size, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if ((q < 0) | (q > 1)).any():
        raise ValueError("p: p-values must lie between 0 and 1.")
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(q * m, 1.0)
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    i = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum((m - i + 1) * ranked, 1.0))
    else:
        adj = np.minimum.accumulate(np.minimum(m / i * ranked, 1.0)[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = adj
    out[ok] = adjusted
    return out


def _estimator(kind: str, kw: Mapping[str, Any]):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    if kind == "top_box" and "scale_max" not in kw:
        raise ValueError("kind='top_box' needs scale_max (e.g. scale_max=5).")
    fn = {"nps": nps, "top_box": top_box, "mean": mean_ci}[kind]
    return lambda values, weights: fn(values, weights=weights, **kw)


def _groups(frame: pd.DataFrame, value_col: str, group_col: str, weights: Any):
    """Values and weights of the rows with an answer and a group, and (group, row mask) per
    group, groups sorted."""
    for c in (value_col, group_col):
        if c not in frame.columns:
            raise ValueError(f"the frame has no column {c!r}.")
    w = _weight_array(_frame_weights(frame, weights), len(frame))
    x = _floats(frame[value_col], value_col)
    keep = ~np.isnan(x) & frame[group_col].notna().to_numpy()
    g = frame[group_col][keep]
    if g.empty:
        raise ValueError(f"no row has both a {value_col!r} answer and a {group_col!r} group.")
    labels = g.to_numpy()
    groups = [(name, labels == name) for name in g.drop_duplicates().sort_values()]
    return groups, x[keep], w[keep]


def scores_by_group(
    frame: pd.DataFrame, value_col: str, group_col: str, kind: str, weights: Any = None, **kw: Any
) -> pd.DataFrame:
    """One score per group (groups sorted; rows without an answer or a group left out).

    ``kind``: ``"nps"`` (:func:`nps`), ``"top_box"`` (:func:`top_box`, needs ``scale_max``) or
    ``"mean"`` (:func:`mean_ci`); ``kw`` goes to that function (``method``, ``boxes``,
    ``confidence`` ...). Columns: ``group_col``, ``value``, ``low``, ``high``, ``se``, ``n``,
    ``n_eff`` and ``vs_rest_p``, the two-sided p-value of the group against everyone else
    (:func:`difference`; NaN with one group)."""
    estimate = _estimator(kind, kw)
    confidence = kw.get("confidence", 0.95)
    groups, x, w = _groups(frame, value_col, group_col, weights)
    rows = []
    for name, mask in groups:
        e = estimate(x[mask], w[mask])
        p = difference(e, estimate(x[~mask], w[~mask]), confidence).p_value if len(groups) > 1 else math.nan
        rows.append({group_col: name, "value": e.value, "low": e.low, "high": e.high, "se": e.se, "n": e.n,
                     "n_eff": e.n_eff, "vs_rest_p": p})  # fmt: skip
    return pd.DataFrame(rows)


def pairwise_differences(
    frame: pd.DataFrame,
    value_col: str,
    group_col: str,
    kind: str,
    weights: Any = None,
    correction: str = "holm",
    **kw: Any,
) -> pd.DataFrame:
    """Every pair of groups compared (``group_a`` before ``group_b`` in sorted order).

    Columns: ``group_a``, ``group_b``, ``difference`` (a - b, in the score's units), ``se``,
    ``z``, ``p_value``, ``low``, ``high``, ``p_adjusted`` (:func:`adjust_pvalues` with
    ``correction``: ``"holm"`` or ``"fdr_bh"``) and ``significant`` (``p_adjusted < 1 -
    confidence``). ``kind`` and ``kw`` as in :func:`scores_by_group`."""
    estimate = _estimator(kind, kw)
    confidence = kw.get("confidence", 0.95)
    groups, x, w = _groups(frame, value_col, group_col, weights)
    estimates = [(name, estimate(x[mask], w[mask])) for name, mask in groups]
    rows = []
    for (a, ea), (b, eb) in itertools.combinations(estimates, 2):
        d = difference(ea, eb, confidence)
        rows.append({"group_a": a, "group_b": b, "difference": d.estimate, "se": d.se, "z": d.z,
                     "p_value": d.p_value, "low": d.low, "high": d.high})  # fmt: skip
    columns = ["group_a", "group_b", "difference", "se", "z", "p_value", "low", "high"]
    table = pd.DataFrame(rows, columns=columns)
    table["p_adjusted"] = adjust_pvalues(table["p_value"].to_numpy(dtype=float), correction)
    table["significant"] = table["p_adjusted"] < 1 - confidence
    return table
