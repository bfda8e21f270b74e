"""Expectation (or importance) against perception, SERVQUAL style.

- :func:`expectation_gaps`: per item the mean expectation, the mean perception, the gap =
  perception - expectation with its paired interval and paired t-test, adjusted across items;
  per dimension (a group of items) the same for each respondent's mean gap;
- :func:`gap_pairs_by_suffix`: the item pairs of a file whose expectation columns are named
  ``"<item><suffix>"`` (``"Advising - Importance"`` beside ``"Advising"``);
- :func:`gap_sentence`: the largest significant shortfalls in plain words.

A negative gap is a shortfall (perception below expectation). Each item uses the respondents
who answered both of its questions; weights as in :mod:`helpers.survey.significance` (shares
and means weighted, the t-test and interval on Kish's effective base n_eff with n_eff - 1
degrees of freedom; unweighted this is ``scipy.stats.ttest_rel``). An item or dimension whose
effective base is below ``min_base`` is a small base: shown, flagged, not tested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reporting.text import esc
from helpers.survey.scores import adjust_pvalues, mean_ci
from helpers.survey.significance import row_weights

__all__ = ["DIMENSION_COLUMNS", "ITEM_COLUMNS", "expectation_gaps", "gap_pairs_by_suffix", "gap_sentence"]

#: Columns of the per-item table.
ITEM_COLUMNS = [
    "item",
    "expectation",
    "perception",
    "gap",
    "low",
    "high",
    "p_value",
    "p_adjusted",
    "n",
    "n_eff",
    "small_base",
    "significant",
]
#: Columns of the per-dimension table.
DIMENSION_COLUMNS = ["dimension", "items", *ITEM_COLUMNS[1:]]
#: Shortfalls named in a sentence.
ITEMS_IN_SENTENCE = 3


def expectation_gaps(
    frame: pd.DataFrame,
    pairs: Mapping[str, tuple[str, str]],
    *,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    weights=None,
    alpha: float = 0.05,
    correction: str = "holm",
    min_base: float = 30,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gaps between expectation and perception: ``(items, dimensions)``.

    ``pairs``: item -> (expectation column, perception column). Per item (:data:`ITEM_COLUMNS`),
    over the respondents with both answers (and weight > 0): ``expectation`` and ``perception``
    (weighted means), ``gap`` = perception - expectation, ``low``/``high`` the paired t-interval of
    the gap at 1 - ``alpha``, ``p_value`` the paired t-test of gap = 0, ``p_adjusted`` across the
    items (``correction``: ``"holm"``, ``"bh"`` or ``"none"``), ``n``, ``n_eff``, ``small_base``
    and ``significant`` (p_adjusted < ``alpha``); sorted by gap, largest shortfall first.

    ``dimensions``: name -> items (keys of ``pairs``). Each respondent's dimension gap is the mean
    of their gaps over the dimension's items they answered both ways (respondents with none are
    left out), and the table (:data:`DIMENSION_COLUMNS`, ``items`` = number of items) tests its
    mean like an item's, adjusted across the dimensions; empty without ``dimensions``.
    """
    if not pairs:
        raise ValueError("pairs is empty: give item -> (expectation column, perception column)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if correction not in ("holm", "bh", "fdr_bh", "none"):
        raise ValueError(f"correction must be 'holm', 'bh' (alias 'fdr_bh') or 'none', not {correction!r}")
    w = row_weights(frame, weights)
    diffs, exps, percs = {}, {}, {}
    for item, pair in pairs.items():
        if len(pair) != 2:
            raise ValueError(f"item {item!r}: give (expectation column, perception column), not {pair!r}")
        for col in pair:
            if col not in frame.columns:
                raise ValueError(f"item {item!r}: column {col!r} is not in the frame")
            if not pd.api.types.is_numeric_dtype(frame[col].dtype) or pd.api.types.is_bool_dtype(frame[col].dtype):
                raise ValueError(f"item {item!r}: column {col!r} must be numeric, not {frame[col].dtype}")
        exps[item] = frame[pair[0]].to_numpy(dtype=float, na_value=np.nan)
        percs[item] = frame[pair[1]].to_numpy(dtype=float, na_value=np.nan)
        diffs[item] = percs[item] - exps[item]

    rows = [{"item": item, **_paired(exps[item], percs[item], w, alpha, min_base)} for item in pairs]
    items = _finish(pd.DataFrame(rows), ITEM_COLUMNS, alpha, correction)

    dim_rows = []
    for name, members in (dimensions or {}).items():
        members = list(members)
        unknown = [m for m in members if m not in pairs]
        if unknown:
            raise ValueError(f"dimension {name!r}: {', '.join(map(repr, unknown))} not in pairs")
        if not members:
            raise ValueError(f"dimension {name!r} has no items")
        both = np.column_stack([~np.isnan(diffs[m]) for m in members])
        with np.errstate(invalid="ignore", divide="ignore"):
            person_e = _row_mean(np.column_stack([exps[m] for m in members]), both)
            person_p = _row_mean(np.column_stack([percs[m] for m in members]), both)
        dim_rows.append({"dimension": name, "items": len(members), **_paired(person_e, person_p, w, alpha, min_base)})
    dims = _finish(pd.DataFrame(dim_rows), DIMENSION_COLUMNS, alpha, correction)
    return items, dims


def _row_mean(values: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per row, the mean of ``values`` where ``use`` (NaN when none)."""
    count = use.sum(axis=1)
    total = np.where(use, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _paired(expect: np.ndarray, perceive: np.ndarray, w: np.ndarray, alpha: float, min_base: float) -> dict:
    """Means, gap, interval and paired t-test over the rows with both values and weight > 0."""
    keep = ~np.isnan(expect) & ~np.isnan(perceive) & (w > 0)
    n = int(keep.sum())
    if n == 0:
        nan = math.nan
        return dict(expectation=nan, perception=nan, gap=nan, low=nan, high=nan, p_value=nan, n=0, n_eff=0.0,
                    small_base=True)  # fmt: skip
    e, p, wk = expect[keep], perceive[keep], w[keep]
    est = mean_ci(p - e, weights=wk, confidence=1 - alpha)
    small = bool(est.n_eff < min_base)
    if small or math.isnan(est.se):
        pv = math.nan
    elif est.se == 0:
        pv = 1.0 if est.value == 0 else 0.0  # every respondent has the same gap
    else:
        pv = float(2 * stats.t.sf(abs(est.value / est.se), est.n_eff - 1))
    return {
        "expectation": float(np.average(e, weights=wk)),
        "perception": float(np.average(p, weights=wk)),
        "gap": est.value,
        "low": est.low,
        "high": est.high,
        "p_value": pv,
        "n": n,
        "n_eff": est.n_eff,
        "small_base": small,
    }


def _finish(table: pd.DataFrame, columns: list[str], alpha: float, correction: str) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=columns)
    table["p_adjusted"] = adjust_pvalues(table["p_value"].to_numpy(dtype=float), correction)
    table["significant"] = table["p_adjusted"] < alpha
    table = table.reindex(columns=columns)
    return table.sort_values("gap", kind="stable", na_position="last").reset_index(drop=True)


def gap_pairs_by_suffix(columns: Sequence[str], suffix: str = " - Importance") -> dict[str, tuple[str, str]]:
    """Item pairs from column names: ``"<item><suffix>"`` is the expectation (importance) column
    of the perception column ``"<item>"``. Returns item -> (expectation column, item), in the
    order of the item columns; an expectation column without its item column is ignored. Raises
    ValueError when ``suffix`` is empty or no pair is found."""
    if not suffix:
        raise ValueError("suffix must not be empty")
    names = [str(c) for c in columns]
    present = set(names)
    out = {}
    for col in names:
        if not col.endswith(suffix) and col + suffix in present:
            out[col] = (col + suffix, col)
    if not out:
        raise ValueError(f"no column {suffix!r} has a partner: expected pairs like 'Item{suffix}' and 'Item'")
    return out


def gap_sentence(items: pd.DataFrame, alpha: float = 0.05) -> str:
    """The largest significant shortfalls (perception below expectation, adjusted p < ``alpha``)
    in plain words, up to three, largest first; otherwise that no item falls significantly short
    (naming a significant surplus when there is one). ``items``: the first table of
    :func:`expectation_gaps`. Markdown, item names escaped."""
    if items.empty:
        raise ValueError("the gap table has no items")
    p = items["p_adjusted"] if "p_adjusted" in items.columns else items["p_value"]
    adjusted = "adjusted " if "p_adjusted" in items.columns else ""
    sig = items[p < alpha]
    short = sig[sig["gap"] < 0].sort_values("gap", kind="stable")
    over = sig[sig["gap"] > 0].sort_values("gap", ascending=False, kind="stable")
    level = f"{alpha * 100:g} %"

    def detail(row) -> str:
        return (
            f"{esc(row['item'])} ({row['perception']:.2f} against an expectation of {row['expectation']:.2f}, "
            f"gap {row['gap']:+.2f}, {adjusted}{_p_text(p[row.name])})"
        )

    if not short.empty:
        shown = [detail(row) for _, row in short.head(ITEMS_IN_SENTENCE).iterrows()]
        more = len(short) - len(shown)
        tail = (
            f"; {more:,} more item{'s' if more != 1 else ''} also fall{'s' if more == 1 else ''} short" if more else ""
        )
        if len(short) == 1:
            return f"The only significant shortfall at the {level} level is {shown[0]}."
        return f"The largest significant shortfalls at the {level} level: {'; '.join(shown)}{tail}."
    text = f"No item falls significantly short of expectations at the {level} level"
    if not over.empty:
        shown = [f"{esc(row['item'])} ({row['gap']:+.2f})" for _, row in over.head(ITEMS_IN_SENTENCE).iterrows()]
        names = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        text += f"; perception is significantly above expectation for {names}"
    return text + "."


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
