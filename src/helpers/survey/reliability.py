"""Internal consistency of multi-item scales: Cronbach's alpha, raw and standardised.

``cronbach(frame, items)`` returns a :class:`Reliability`; ``reliability_table(frame, groups)``
does it for several blocks of items at once.

Two alphas are reported because packages disagree on which one "alpha" is:

* *raw* alpha, on the scores as answered: ``k/(k-1) * (1 - sum(var_i) / var(total))`` with ``k``
  items and ``total`` their sum. This is what SPSS (RELIABILITY) and pingouin report.
* *standardised* alpha, on items scaled to variance 1: ``k*rbar / (1 + (k-1)*rbar)`` with ``rbar``
  the mean of the ``k(k-1)/2`` inter-item correlations. This is what R plspm reports (its
  ``C.alpha``). plspm floors a negative value at 0; here the unfloored value is reported (a
  negative alpha is information: usually a reverse-coded item) and :meth:`Reliability.sentence`
  says what plspm would show.

The verdict uses raw alpha: >= 0.9 "excellent", >= 0.8 "good", >= 0.7 "acceptable", >= 0.6
"questionable", else "poor".

*Weights* (the survey package's convention): ``weights`` (array-like, >= 0, one per row of
``frame``) are normalised to sum to 1 and used for every mean, variance and correlation; item
standard deviations use Kish's effective base ``n_eff = (sum w)^2 / sum w^2`` for the ``n - 1``
correction (equal weights give the ordinary sample values). *Missing values*: rows with a missing
value in any of the block's items are dropped listwise and counted (``n_dropped``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["VERDICTS", "Reliability", "cronbach", "reliability_table", "verdict"]

#: Raw-alpha cut-offs and their words (below the last: "poor").
VERDICTS = ((0.9, "excellent"), (0.8, "good"), (0.7, "acceptable"), (0.6, "questionable"))
#: An item is named in the sentence when deleting it raises raw alpha by more than this.
RAISE_NOTED = 0.01


def verdict(alpha: float) -> str:
    """The word for a raw alpha (see :data:`VERDICTS`); "poor" below 0.6 and for NaN."""
    for cut, word in VERDICTS:
        if alpha >= cut:
            return word
    return "poor"


@dataclass
class Reliability:
    """Cronbach's alpha of one block of items (see the module docstring for the formulas).

    ``n``: rows used (after listwise deletion); ``n_dropped``: rows dropped for a missing item.
    ``alpha_if_deleted``: one row per item with ``item``, ``alpha_raw_if_deleted``,
    ``alpha_standardized_if_deleted`` (NaN for a 2-item block: one item has no alpha),
    ``item_total_correlation`` (corrected: the item against the sum of the *other* items),
    ``item_mean`` and ``item_sd`` (weighted when weights are given).
    """

    block: str
    items: list[str]
    n: int
    n_dropped: int
    alpha_raw: float
    alpha_standardized: float
    alpha_if_deleted: pd.DataFrame = field(repr=False)

    @property
    def verdict(self) -> str:
        """The word for :attr:`alpha_raw` (see :data:`VERDICTS`)."""
        return verdict(self.alpha_raw)

    def sentence(self) -> str:
        """Both alphas in plain words with the verdict, and the item whose deletion would raise raw
        alpha most when it raises it by more than 0.01."""
        name = self.block or "The scale"
        text = (
            f"{name} ({len(self.items)} items, n = {self.n:,}): raw alpha (as SPSS reports it) "
            f"{self.alpha_raw:.2f}; standardised alpha (as R plspm reports it) {self.alpha_standardized:.2f}"
        )
        if self.alpha_standardized < 0:
            text += " (plspm shows 0: it floors negative values at 0)"
        text += f". Internal consistency is {self.verdict} (judged on raw alpha)."
        if self.alpha_raw < 0:
            text += " A negative alpha usually means an item is scored in reverse."
        deleted = self.alpha_if_deleted["alpha_raw_if_deleted"].to_numpy(dtype=float)
        if np.isfinite(deleted).any():
            best = int(np.nanargmax(deleted))
            gain = deleted[best] - self.alpha_raw
            if gain > RAISE_NOTED:
                item = self.alpha_if_deleted["item"].iloc[best]
                text += f" Dropping {item} would raise raw alpha by {gain:.2f} to {deleted[best]:.2f}."
        if self.n_dropped:
            text += f" {self.n_dropped:,} respondents with a missing answer were left out."
        return text


def cronbach(frame: pd.DataFrame, items: Sequence[str], block: str = "", weights=None) -> Reliability:
    """Cronbach's alpha (raw and standardised) of ``items`` in ``frame``, with item statistics."""
    items = list(items)
    label = f"block {block!r}" if block else "the block"
    if len(items) < 2:
        raise ValueError(f"Cronbach's alpha needs at least 2 items; {label} has {len(items)}: {items}.")
    if len(set(items)) < len(items):
        dup = sorted({c for c in items if items.count(c) > 1})
        raise ValueError(f"Items of {label} are listed more than once: {', '.join(dup)}.")
    X, w, n_dropped = complete_rows(frame, items, weights, f"Cronbach's alpha of {label}")
    mean, C = weighted_cov(X, w)
    sd = np.sqrt(np.diag(C))
    check_not_constant(items, mean, sd, f"Cronbach's alpha of {label}")
    alpha_raw, alpha_std = _alphas(C)
    k = len(items)
    rows = []
    n_eff = w.sum() ** 2 / (w**2).sum()
    correction = n_eff / (n_eff - 1) if n_eff > 1 else np.nan
    for j, item in enumerate(items):
        keep = [i for i in range(k) if i != j]
        raw_j, std_j = _alphas(C[np.ix_(keep, keep)]) if k > 2 else (np.nan, np.nan)
        cov_rest = C[j].sum() - C[j, j]
        var_rest = C.sum() - 2 * C[j].sum() + C[j, j]
        rows.append(
            {
                "item": item,
                "alpha_raw_if_deleted": raw_j,
                "alpha_standardized_if_deleted": std_j,
                "item_total_correlation": cov_rest / np.sqrt(C[j, j] * var_rest),
                "item_mean": mean[j],
                "item_sd": sd[j] * np.sqrt(correction),
            }
        )
    return Reliability(
        block=block,
        items=items,
        n=len(X),
        n_dropped=n_dropped,
        alpha_raw=alpha_raw,
        alpha_standardized=alpha_std,
        alpha_if_deleted=pd.DataFrame(rows),
    )


def reliability_table(
    frame: pd.DataFrame, item_groups: Mapping[str, Sequence[str]], weights=None
) -> tuple[pd.DataFrame, dict[str, Reliability]]:
    """:func:`cronbach` for every block of ``item_groups`` (block name -> items); each block drops
    its own incomplete rows. Returns an overview (``block``, ``items`` (the number of items),
    ``n``, ``alpha_raw``, ``alpha_standardized``, ``verdict``) and the results by block."""
    if not item_groups:
        raise ValueError("item_groups is empty: give at least one block name -> items.")
    results = {b: cronbach(frame, cols, block=b, weights=weights) for b, cols in item_groups.items()}
    overview = pd.DataFrame(
        [
            {
                "block": b,
                "items": len(r.items),
                "n": r.n,
                "alpha_raw": r.alpha_raw,
                "alpha_standardized": r.alpha_standardized,
                "verdict": r.verdict,
            }
            for b, r in results.items()
        ]
    )
    return overview, results


# ----------------------------------------------------------------------------------------------
# Shared by the survey estimators: complete rows, checked weights, weighted moments.


def complete_rows(
    frame: pd.DataFrame, columns: Sequence[str], weights, what: str, min_rows: int = 2, rule: str = ""
) -> tuple[np.ndarray, np.ndarray, int]:
    """The ``columns`` of ``frame`` as a float matrix without rows that miss a value, the weights of
    those rows (ones when ``weights`` is None) and the number of rows dropped. At least ``min_rows``
    complete rows with a positive weight are required (``rule`` says why, e.g. "5 drivers + 2");
    ``what`` names the analysis in error messages."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} needs a pandas DataFrame (got {type(frame).__name__}).")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: column(s) {', '.join(map(repr, missing))} not in the data; columns found: "
            f"{', '.join(map(str, frame.columns))}."
        )
    for c in columns:
        if not (pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])):
            raise ValueError(f"{what}: column {c!r} must hold numbers (its type is {frame[c].dtype}).")
    X = frame[list(columns)].to_numpy(dtype=float, na_value=np.nan)
    if weights is None:
        w = np.ones(len(frame))
    else:
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape[0] != len(frame):
            raise ValueError(f"{what}: weights has {w.shape[0]:,} values but the data have {len(frame):,} rows.")
        if not np.isfinite(w).all():
            raise ValueError(f"{what}: weights must be finite numbers (found a missing or infinite weight).")
        if (w < 0).any():
            raise ValueError(f"{what}: weights must be >= 0 (smallest is {w.min():g}).")
    keep = ~np.isnan(X).any(axis=1)
    X, w = X[keep], w[keep]
    used = int((w > 0).sum())
    if used < min_rows:
        why = f" ({rule})" if rule else ""
        raise ValueError(
            f"{what} needs at least {min_rows} complete rows with a positive weight{why}; got {used:,} "
            f"({int((~keep).sum()):,} rows dropped for a missing value in {', '.join(columns)})."
        )
    if not np.isfinite(X).all():
        bad = [c for c, ok in zip(columns, np.isfinite(X).all(axis=0)) if not ok]
        raise ValueError(f"{what}: column(s) {', '.join(map(repr, bad))} hold infinite values.")
    return X, w, int((~keep).sum())


def weighted_cov(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means and covariance matrix of the columns of ``X``, weights normalised to sum to 1
    (divisor 1, not n - 1: the ratios built from it do not depend on the divisor)."""
    p = w / w.sum()
    mean = p @ X
    D = X - mean
    return mean, (D * p[:, None]).T @ D


def check_not_constant(columns: Sequence[str], mean: np.ndarray, sd: np.ndarray, what: str) -> None:
    """A column with (weighted) standard deviation 0 cannot be correlated: say which."""
    flat = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    if flat.any():
        j = int(np.argmax(flat))
        raise ValueError(
            f"{what}: column {columns[j]!r} has the same value ({mean[j]:g}) in every row used, so it has no "
            "correlation with anything; drop it."
        )


def _alphas(C: np.ndarray) -> tuple[float, float]:
    """(raw, standardised) alpha from a covariance matrix of k >= 2 items."""
    k = C.shape[0]
    raw = k / (k - 1) * (1.0 - np.trace(C) / C.sum())
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    rbar = (R.sum() - k) / (k * (k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        std = k * rbar / (1.0 + (k - 1) * rbar)
    return float(raw), float(std)
