"""A numeric answer compared across groups, with the test the data call for.

:func:`compare_groups` chooses Welch's t-test, one-way or Welch's ANOVA, or Kruskal-Wallis by the
rule in its docstring, adds pairwise tests with a correction for testing several pairs, and says
the result in plain words. Weights, effective bases and small bases follow the conventions of
:mod:`helpers.survey.significance`, whose shared checks and wording it uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reporting.text import esc
from helpers.survey.scores import effective_n, mean_ci
from helpers.survey.significance import (
    _CORRECTION_WORDS,
    PAIRS_IN_SENTENCE,
    _adjust,
    _category_labels,
    _check_columns,
    _check_common,
    _join,
    _label,
    _ordered,
    _p_text,
    row_weights,
)

__all__ = ["GroupComparison", "compare_groups"]

#: Distinct values at or below which a numeric answer is a short ordinal scale (rank test).
SHORT_SCALE = 5
#: Group skewness (in absolute value) above which the groups count as strongly skewed (rank test).
STRONG_SKEW = 2.0
_METHODS = ("auto", "welch", "anova", "kruskal")


# --------------------------------------------------------------------------------------------
# A numeric answer compared across groups


@dataclass
class GroupComparison:
    """``variable`` compared across the groups of ``group_var``.

    - ``test``: ``"Welch t-test"``, ``"one-way ANOVA"``, ``"Welch ANOVA"``, ``"Kruskal-Wallis"``
      or ``"not tested"`` (fewer than two groups with a large enough base, or every answer the
      same); ``reason``: why, in words; ``statistic``: t (first group minus second), F or H;
      ``df``: degrees of freedom ((df1, df2) for F, k - 1 for H); ``p_value``;
    - ``effect_size`` and ``effect_label`` (negligible / small / medium / large): Cohen's d with
      the mean of the two variances for the t-test (|d| 0.2, 0.5, 0.8); eta² = between-group sum
      of squares / total for the ANOVAs; epsilon² = H / (n - 1) for Kruskal-Wallis (both 0.01,
      0.06, 0.14);
    - ``groups``: ``group, n, n_eff, mean, sd, low, high, small_base``; the interval is the mean's
      t-interval at 1 - ``alpha`` (df n_eff - 1); sd is the weighted sd with the n_eff / (n_eff -
      1) correction (the usual sample sd when unweighted);
    - ``pairwise``: ``group_a, group_b, difference`` (mean a - mean b), ``p_value, p_adjusted,
      significant`` for every pair of tested groups: Welch's t-test on the effective bases
      (Mann-Whitney U when the overall test is Kruskal-Wallis), p adjusted across the pairs by
      ``correction``; significant = p_adjusted < ``alpha``.
    """

    variable: str
    group_var: str
    test: str
    statistic: float
    df: float | tuple[float, float]
    p_value: float
    effect_size: float
    effect_label: str
    groups: pd.DataFrame
    pairwise: pd.DataFrame
    correction: str
    reason: str
    alpha: float
    min_base: float

    def sentence(self, alpha: float = 0.05) -> str:
        """The result in plain words (Markdown, names escaped): whether ``variable`` differs by
        ``group_var`` at ``alpha``, with the test, its statistics and the effect size, the pairs of
        groups that differ after the correction (higher group first), and which groups were too
        small to test."""
        var, grp = esc(_label(self.variable)), esc(_label(self.group_var))
        small = self.groups[self.groups["small_base"]]["group"].tolist()
        small_text = (
            f" {_join([esc(g) for g in small])} (effective base below {self.min_base:g}) "
            f"{'are' if len(small) != 1 else 'is'} shown but not tested."
            if small
            else ""
        )
        if self.test == "not tested":
            return f"{var} is not compared by {grp}: {self.reason}"
        stat = {"Kruskal-Wallis": "H", "Welch t-test": "t"}.get(self.test, "F")
        effect = {"Kruskal-Wallis": "epsilon²", "Welch t-test": "Cohen's d"}.get(self.test, "eta²")
        stats_text = (
            f"{self.test}, {stat} = {self.statistic:.2f}, {_p_text(self.p_value)}; "
            f"{effect} {self.effect_size:.2f}, {self.effect_label}"
        )
        if not self.p_value < alpha:
            return (
                f"{var} does not differ clearly by {grp} ({stats_text}): at the {alpha * 100:g} % level the "
                f"differences between the groups are within what chance alone would produce.{small_text}"
            )
        means = self.groups.set_index("group")["mean"]
        pairs = self.pairwise[self.pairwise["p_adjusted"] < alpha]
        pairs = pairs.reindex(pairs["difference"].abs().sort_values(ascending=False).index)
        parts = []
        for row in pairs.head(PAIRS_IN_SENTENCE).itertuples():
            hi, lo = (row.group_a, row.group_b) if row.difference > 0 else (row.group_b, row.group_a)
            parts.append(f"{esc(hi)} ({means[hi]:.2f}) is higher than {esc(lo)} ({means[lo]:.2f})")
        if parts:
            more = len(pairs) - len(parts)
            detail = "; ".join(parts) + (f"; {more:,} more pair{'s' if more != 1 else ''} differ" if more > 0 else "")
        else:
            detail = (
                f"no single pair of groups differs clearly once the {len(self.pairwise):,} comparisons are allowed for"
            )
        return f"{var} differs by {grp} ({stats_text}): {detail}.{small_text}"


def compare_groups(
    frame: pd.DataFrame,
    value_col: str,
    group_col: str,
    *,
    weights=None,
    method: str = "auto",
    alpha: float = 0.05,
    correction: str = "holm",
    min_base: float = 30,
) -> GroupComparison:
    """Compare the numeric ``frame[value_col]`` across the groups of ``frame[group_col]`` (sorted).

    Rows missing the value or the group (or with weight 0) are left out. Groups whose effective
    base is below ``min_base`` are listed with ``small_base=True`` and left out of every test.

    ``method="auto"`` chooses the test (``reason`` says which rule applied):

    - without weights: Kruskal-Wallis when the answer has at most 5 distinct values (a short
      ordinal scale, whose means are a rough summary) or any tested group is strongly skewed
      (|skewness| > 2); otherwise Welch's t-test for 2 groups (it never assumes equal variances);
      for 3+ groups Welch's ANOVA when the variances differ (Levene's test, median-centred, p <
      0.05), else one-way ANOVA;
    - with weights: the Welch tests on weighted means and variances and the effective bases
      (Welch's t-test for 2 groups, Welch's ANOVA for 3+); the rank test is not available with
      weights. Weights that are all equal count as no weights.

    ``method`` may also be ``"welch"`` (Welch t / Welch ANOVA), ``"anova"`` (one-way ANOVA; with
    weights on weighted means, variances and effective bases) or ``"kruskal"`` (not with unequal
    weights). Pairwise tests and the correction: see :class:`GroupComparison`.
    """
    _check_columns(frame, [value_col, group_col])
    if value_col == group_col:
        raise ValueError(f"value_col and group_col are both {value_col!r}")
    _check_common(alpha, correction, min_base)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, not {method!r}")
    values = frame[value_col]
    if not (pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)):
        raise ValueError(f"column {value_col!r} must be numeric to compare means, not {values.dtype}")
    w_all = row_weights(frame, weights)
    keep = (values.notna() & frame[group_col].notna()).to_numpy() & (w_all > 0)
    if not keep.any():
        raise ValueError(f"no respondent has both {value_col!r} and {group_col!r}")
    x, w = values.to_numpy(dtype=float, na_value=np.nan)[keep], w_all[keep]
    g_raw = frame[group_col].to_numpy()[keep]
    g = _category_labels(g_raw)
    order = _ordered(g_raw, g)
    weighted = weights is not None and not np.allclose(w, w[0], rtol=1e-12, atol=0)
    if method == "kruskal" and weighted:
        raise ValueError("method 'kruskal' is a rank test and is not available with weights")

    data = {k: (x[g == k], w[g == k]) for k in order}
    rows = []
    for k in order:
        est = mean_ci(data[k][0], weights=data[k][1], confidence=1 - alpha)
        rows.append(
            {
                "group": k,
                "n": est.n,
                "n_eff": est.n_eff,
                "mean": est.value,
                "sd": est.se * math.sqrt(est.n_eff),
                "low": est.low,
                "high": est.high,
                "small_base": bool(est.n_eff < min_base),
            }
        )
    groups = pd.DataFrame(rows, columns=["group", "n", "n_eff", "mean", "sd", "low", "high", "small_base"])
    tested = groups.loc[~groups["small_base"], "group"].tolist()
    small = [k for k in order if k not in tested]
    small_text = (
        f" {_join([esc(k) for k in small])} (effective base below {min_base:g}) "
        f"{'are' if len(small) != 1 else 'is'} left out of the tests."
        if small
        else ""
    )
    empty_pairs = pd.DataFrame(columns=["group_a", "group_b", "difference", "p_value", "p_adjusted", "significant"])
    common = {"variable": value_col, "group_var": group_col, "groups": groups, "correction": correction}
    common.update(alpha=alpha, min_base=min_base)
    untested = ""
    if len(tested) < 2:
        untested = f"fewer than two groups have an effective base of at least {min_base:g}.{small_text}"
    elif len(np.unique(np.concatenate([data[k][0] for k in tested]))) < 2:
        untested = f"every tested respondent gave the same answer, so there is nothing to compare.{small_text}"
    if untested:
        nan = float("nan")
        return GroupComparison(
            test="not tested",
            statistic=nan,
            df=nan,
            p_value=nan,
            effect_size=nan,
            effect_label="",
            pairwise=empty_pairs,
            reason=untested,
            **common,
        )
    test, reason = _choose(method, [data[k] for k in tested], weighted, weights is not None)
    moments = [_moments(*data[k]) for k in tested]
    if test == "Kruskal-Wallis":
        h, p = stats.kruskal(*[data[k][0] for k in tested])
        n_total = sum(len(data[k][0]) for k in tested)
        statistic, df, effect = float(h), float(len(tested) - 1), float(h) / (n_total - 1)
        effect_label = _effect_label(effect, (0.01, 0.06, 0.14))
    elif test == "Welch t-test":
        statistic, df, p = _welch_t(moments[0], moments[1])
        pooled_sd = math.sqrt((moments[0][3] + moments[1][3]) / 2)
        effect = (moments[0][2] - moments[1][2]) / pooled_sd if pooled_sd > 0 else float("nan")
        effect_label = _effect_label(abs(effect), (0.2, 0.5, 0.8))
    else:
        statistic, df, p = _welch_anova(moments) if test == "Welch ANOVA" else _anova(moments)
        effect = _eta_squared(moments)
        effect_label = _effect_label(effect, (0.01, 0.06, 0.14))

    pairs = []
    for a, b in combinations(tested, 2):
        ma, mb = _moments(*data[a]), _moments(*data[b])
        if test == "Kruskal-Wallis":
            pp = float(stats.mannwhitneyu(data[a][0], data[b][0], alternative="two-sided").pvalue)
        else:
            pp = _welch_t(ma, mb)[2]
        pairs.append({"group_a": a, "group_b": b, "difference": ma[2] - mb[2], "p_value": pp})
    pairwise = pd.DataFrame(pairs)
    pairwise["p_adjusted"] = _adjust(pairwise["p_value"].to_numpy(), correction)
    pairwise["significant"] = pairwise["p_adjusted"] < alpha
    pair_test = "Mann-Whitney U tests" if test == "Kruskal-Wallis" else "Welch t-tests"
    reason += (
        f" Pairs: {pair_test} with {_CORRECTION_WORDS[correction]} correction across the "
        f"{len(pairwise):,} pair{'s' if len(pairwise) != 1 else ''}.{small_text}"
    )
    return GroupComparison(
        test=test,
        statistic=float(statistic),
        df=df,
        p_value=float(p),
        effect_size=float(effect),
        effect_label=effect_label,
        pairwise=pairwise,
        reason=reason,
        **common,
    )


def _choose(method: str, data: list[tuple[np.ndarray, np.ndarray]], weighted: bool, has_weights: bool):
    """The test and the reason, in words."""
    k = len(data)
    if method == "welch":
        return ("Welch t-test" if k == 2 else "Welch ANOVA"), "Welch's test was requested."
    if method == "anova":
        return "one-way ANOVA", "One-way ANOVA was requested."
    if method == "kruskal":
        return "Kruskal-Wallis", "Kruskal-Wallis was requested."
    distinct = len(np.unique(np.concatenate([x for x, _ in data])))
    skews = [abs(float(stats.skew(x))) if len(x) > 2 and np.ptp(x) > 0 else 0.0 for x, _ in data]
    short, skewed = distinct <= SHORT_SCALE, max(skews) > STRONG_SKEW
    why_rank = (
        f"the answer has only {distinct} distinct values (a short ordinal scale)"
        if short
        else f"a group is strongly skewed (|skewness| {max(skews):.1f} > {STRONG_SKEW:g})"
    )
    if weighted:
        test = "Welch t-test" if k == 2 else "Welch ANOVA"
        reason = (
            f"With weights the {'Welch t-test' if k == 2 else 'Welch ANOVA'} is used on weighted means and "
            "variances and the effective bases"
        )
        if short or skewed:
            reason += f"; {why_rank}, but the rank test (Kruskal-Wallis) is not available with weights"
        return test, reason + "."
    prefix = "The weights are all equal, so they change nothing. " if has_weights else ""
    if short or skewed:
        return "Kruskal-Wallis", f"{prefix}Kruskal-Wallis (a rank test): {why_rank}."
    if k == 2:
        return "Welch t-test", f"{prefix}Two groups: Welch's t-test, which does not assume equal variances."
    levene = float(stats.levene(*[x for x, _ in data], center="median").pvalue)
    if levene < 0.05:
        return "Welch ANOVA", (
            f"{prefix}{k} groups whose variances differ (Levene's test p = {levene:.3f} < 0.05): Welch's ANOVA."
        )
    return "one-way ANOVA", (
        f"{prefix}{k} groups with similar variances (Levene's test p = {levene:.3f}): one-way ANOVA."
    )


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[int, float, float, float]:
    """n, n_eff, weighted mean, weighted variance x n_eff / (n_eff - 1) (NaN when n_eff <= 1)."""
    sw = w.sum()
    mean = float((w * x).sum() / sw)
    n_eff = float(effective_n(w))
    var = float((w * (x - mean) ** 2).sum() / sw * n_eff / (n_eff - 1)) if n_eff > 1 else float("nan")
    return len(x), n_eff, mean, var


def _welch_t(a, b) -> tuple[float, float, float]:
    """Welch's t (a - b), its Welch-Satterthwaite df and the two-sided p on effective bases."""
    va, vb = a[3] / a[1], b[3] / b[1]
    se = math.sqrt(va + vb)
    if se == 0:
        return float("nan"), float("nan"), (1.0 if a[2] == b[2] else 0.0)
    t = (a[2] - b[2]) / se
    df = (va + vb) ** 2 / (va**2 / (a[1] - 1) + vb**2 / (b[1] - 1))
    return float(t), float(df), float(2 * stats.t.sf(abs(t), df))


def _anova(moments) -> tuple[float, tuple[float, float], float]:
    """One-way ANOVA F on (n, n_eff, mean, var) per group, effective bases in place of n."""
    ne = np.array([m[1] for m in moments])
    mean = np.array([m[2] for m in moments])
    var = np.array([m[3] for m in moments])
    k, total = len(moments), ne.sum()
    grand = (ne * mean).sum() / total
    ssb = float((ne * (mean - grand) ** 2).sum())
    ssw = float(((ne - 1) * var).sum())
    df1, df2 = k - 1, total - k
    f = (ssb / df1) / (ssw / df2)
    return float(f), (float(df1), float(df2)), float(stats.f.sf(f, df1, df2))


def _welch_anova(moments) -> tuple[float, tuple[float, float], float]:
    """Welch's (1951) ANOVA: with w_i = n_i / s_i² and m the w-weighted grand mean,
    F = [Σ w_i (mean_i - m)² / (k - 1)] / [1 + 2 (k - 2) / (k² - 1) Λ],
    Λ = Σ (1 - w_i / Σw)² / (n_i - 1), df = (k - 1, (k² - 1) / (3 Λ)); n_i the effective bases."""
    ne = np.array([m[1] for m in moments])
    mean = np.array([m[2] for m in moments])
    var = np.array([m[3] for m in moments])
    k = len(moments)
    wi = ne / var
    grand = (wi * mean).sum() / wi.sum()
    lam = float(((1 - wi / wi.sum()) ** 2 / (ne - 1)).sum())
    f = float((wi * (mean - grand) ** 2).sum() / (k - 1) / (1 + 2 * (k - 2) / (k**2 - 1) * lam))
    df1, df2 = k - 1, (k**2 - 1) / (3 * lam)
    return f, (float(df1), float(df2)), float(stats.f.sf(f, df1, df2))


def _eta_squared(moments) -> float:
    ne = np.array([m[1] for m in moments])
    mean = np.array([m[2] for m in moments])
    var = np.array([m[3] for m in moments])
    grand = (ne * mean).sum() / ne.sum()
    ssb = float((ne * (mean - grand) ** 2).sum())
    ssw = float(((ne - 1) * var).sum())
    return ssb / (ssb + ssw) if ssb + ssw > 0 else float("nan")


def _effect_label(value: float, cuts: tuple[float, float, float]) -> str:
    if value != value:
        return ""
    for cut, word in zip(cuts, ("negligible", "small", "medium"), strict=True):
        if value < cut:
            return word
    return "large"
