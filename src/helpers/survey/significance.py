"""Group differences as market-research tables show them.

- :func:`crosstab`: a banner table (categories of one question down, groups across) with column
  percentages, significance letters from column-proportion z-tests, bases and effective bases,
  and a Pearson chi-square test of the whole table;
- a numeric answer compared across groups is :func:`helpers.survey.group_tests.compare_groups`,
  which uses this module's shared checks and wording.

Conventions: ``weights`` is None, the name of a column of ``frame`` or a sequence aligned with
its rows by position (non-negative, no missing values); respondents with weight 0, or missing
either answer a table needs, are left out. Shares and means are weighted; standard errors and
tests use Kish's effective base n_eff = (Σw)² / Σw² instead of n. A group (or banner column)
whose effective base is below ``min_base`` is a *small base*: shown, flagged, and left out of
the tests. Sentences are Markdown with the data's text escaped.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reporting.text import esc
from helpers.survey.scores import adjust_pvalues, effective_n

__all__ = [
    "TOTAL",
    "Crosstab",
    "crosstab",
    "row_weights",
]

#: The banner column holding every respondent.
TOTAL = "Total"
#: Cochran's rule: at most this share of cells may expect fewer than 5 respondents, none fewer than 1.
MAX_SMALL_SHARE = 0.20
#: Pairs of groups named in a sentence.
PAIRS_IN_SENTENCE = 3

_CORRECTIONS = ("holm", "bh", "fdr_bh", "none")  # "fdr_bh": scores.adjust_pvalues' name for "bh"
_CORRECTION_WORDS = {"holm": "Holm", "bh": "Benjamini-Hochberg", "fdr_bh": "Benjamini-Hochberg", "none": "no"}


def row_weights(frame: pd.DataFrame, weights=None) -> np.ndarray:
    """The weight of each row of ``frame`` as floats: ones when ``weights`` is None, the column
    ``frame[weights]`` when it is a column name, else ``weights`` itself (aligned with the rows by
    position). Raises ValueError for a missing column, a wrong length, missing, infinite or
    negative weights, or weights that are all 0."""
    if weights is None:
        return np.ones(len(frame))
    if isinstance(weights, str):
        if weights not in frame.columns:
            raise ValueError(f"weights column {weights!r} is not in the frame")
        label, values = f"weights column {weights!r}", frame[weights]
    else:
        label, values = "weights", weights
    try:
        w = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be numbers") from None
    if len(w) != len(frame):
        raise ValueError(f"{label} has {len(w):,} values for {len(frame):,} rows")
    if not np.isfinite(w).all():
        raise ValueError(f"{label} has missing or infinite values")
    if (w < 0).any():
        raise ValueError(f"{label} has negative values")
    if len(w) and not (w > 0).any():
        raise ValueError(f"{label} are all 0")
    return w


# --------------------------------------------------------------------------------------------
# Crosstab with column-proportion letters


@dataclass
class Crosstab:
    """A crosstab of ``row_var`` (categories down) by ``col_var`` (banner columns across).

    - ``counts``: weighted counts, one row per category of ``row_var`` and one column per
      category of ``col_var`` (sorted) plus ``"Total"``; ``column_pct``: % within each column
      (columns add to 100);
    - ``bases``: respondents per column (unweighted n); ``effective_bases``: Kish n_eff per column;
    - ``column_letters``: column -> letter (A, B, C ... in column order; Total has none);
    - ``letters``: per cell of the lettered columns, the letters of the columns this cell's
      share is significantly *higher* than (alphabetical, ``""`` when none); a column whose
      effective base is below ``min_base`` is ``"*"`` in every cell: neither tested nor tested
      against;
    - ``pairwise``: every test behind the letters: ``category, column_a, column_b, pct_a, pct_b,
      z, p_value, p_adjusted, significant``. Each is a pooled two-proportion z-test on the
      effective bases, z = (p_a - p_b) / sqrt(p (1 - p) (1 / n_a + 1 / n_b)) with p the pooled
      share; ``correction`` (``"holm"``, ``"bh"`` or ``"none"``) adjusts the p-values within each
      category (row) across its column pairs; significant = p_adjusted < ``alpha``;
    - ``chi2``, ``dof`` = (rows - 1)(columns - 1), ``p_value``, ``cramers_v``: Pearson's test of
      independence (no continuity correction) on the columns with a large enough base, the
      weighted table rescaled to their effective base (counts x n_eff / Σw, a first-order
      design-effect correction; unweighted it is the plain test); ``valid``: Cochran's rule on
      that table's expected counts (at most 20 % below 5, none below 1) and something to compare;
      ``note``: what was left out and why a test is not valid;
    - ``alpha`` (of the letters), ``min_base``, ``weighted``: the settings used.
    """

    row_var: str
    col_var: str
    counts: pd.DataFrame
    column_pct: pd.DataFrame
    bases: pd.Series
    effective_bases: pd.Series
    letters: pd.DataFrame
    column_letters: dict[str, str]
    pairwise: pd.DataFrame
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    valid: bool
    note: str
    correction: str
    alpha: float
    min_base: float
    weighted: bool

    def display_table(self) -> pd.DataFrame:
        """The table as shown in a report: ``"54 % B"`` strings (column %, rounded, then the
        letters of the columns it is significantly higher than; ``*`` marks a small base), column
        headers ``"<column> (<letter>)"`` and ``"Total"``, and a ``"Base"`` row of respondents (plus
        ``"Effective base"`` when weighted)."""
        headers = {c: f"{c} ({letter})" for c, letter in self.column_letters.items()}
        out = pd.DataFrame(index=self.column_pct.index, dtype=object)
        for col in self.column_pct.columns:
            pct = self.column_pct[col].map(lambda v: "-" if pd.isna(v) else f"{v:.0f} %")
            if col in self.column_letters:
                mark = self.letters[col]
                pct = pct.where(mark == "", pct + " " + mark)
            out[headers.get(col, col)] = pct
        out.loc["Base"] = [f"{int(n):,}" for n in self.bases]
        if self.weighted:
            out.loc["Effective base"] = [f"{n:,.0f}" for n in self.effective_bases]
        out.index.name = self.row_var
        return out

    def sentence(self, alpha: float = 0.05) -> str:
        """The result in plain words (Markdown, names escaped): the chi-square test (or why it is
        not reported), then the clearest column differences, i.e. cells significantly higher than
        other columns at ``alpha`` after the correction, largest difference first."""
        row, col = esc(_label(self.row_var)), esc(_label(self.col_var))
        if not self.valid:
            head = f"{row} by {col}: {self.note}"
        else:
            stats_text = (
                f"chi-square {self.chi2:,.1f}, {self.dof:,} degree{'s' if self.dof != 1 else ''} of freedom, "
                f"{_p_text(self.p_value)}, Cramér's V {self.cramers_v:.2f}"
            )
            verb = "differs clearly" if self.p_value < alpha else "does not differ clearly"
            head = f"{row} {verb} by {col} ({stats_text})."
            if self.note:
                head += f" {self.note}"
        pairs = self.pairwise[self.pairwise["p_adjusted"] < alpha]
        if pairs.empty:
            tested = int(self.effective_bases.drop(TOTAL).ge(self.min_base).sum())
            if tested < 2:
                return head
            return f"{head} No column's share is significantly higher than another's at the {alpha * 100:g} % level."
        higher = np.where(pairs["pct_a"] > pairs["pct_b"], pairs["column_a"], pairs["column_b"])
        lower = np.where(pairs["pct_a"] > pairs["pct_b"], pairs["column_b"], pairs["column_a"])
        gap = (pairs["pct_a"] - pairs["pct_b"]).abs().to_numpy()
        found = pd.DataFrame({"category": pairs["category"].to_numpy(), "higher": higher, "lower": lower, "gap": gap})
        best = found.groupby(["category", "higher"], sort=False)["gap"].max().sort_values(ascending=False)
        parts = []
        for category, high in best.index[:PAIRS_IN_SENTENCE]:
            lows = found[(found["category"] == category) & (found["higher"] == high)]["lower"]
            shares = _join([f"{esc(c)} ({self.column_pct.loc[category, c]:.0f} %)" for c in lows])
            parts.append(
                f"{esc(category)} is more common in {esc(high)} ({self.column_pct.loc[category, high]:.0f} %) "
                f"than in {shares}"
            )
        more = len(best) - len(parts)
        tail = f"; {more:,} more such difference{'s' if more != 1 else ''}" if more > 0 else ""
        corr = _CORRECTION_WORDS[self.correction]
        return (
            f"{head} Significant column differences ({alpha * 100:g} % level, {corr} correction within each "
            f"row): {'; '.join(parts)}{tail}."
        )


def crosstab(
    frame: pd.DataFrame,
    row_var: str,
    col_var: str,
    *,
    weights=None,
    alpha: float = 0.05,
    correction: str = "holm",
    min_base: float = 30,
    row_order: Sequence | None = None,
    col_order: Sequence | None = None,
) -> Crosstab:
    """Crosstab of ``frame[row_var]`` (down) by ``frame[col_var]`` (across) with significance letters.

    Respondents missing either answer (or with weight 0) are left out and the note says how many.
    Categories follow ``row_order`` / ``col_order`` (those present), then the others sorted
    (numbers as numbers; ``2.0`` shows as ``"2"``). Letters come from
    column-proportion z-tests between every pair of columns with an effective base of at least
    ``min_base``, for each row category, adjusted within the row (see :class:`Crosstab`).
    At most 26 columns (letters A-Z).
    """
    _check_columns(frame, [row_var, col_var])
    if row_var == col_var:
        raise ValueError(f"row_var and col_var are both {row_var!r}")
    _check_common(alpha, correction, min_base)
    w_all = row_weights(frame, weights)
    keep = (frame[row_var].notna() & frame[col_var].notna()).to_numpy() & (w_all > 0)
    if not keep.any():
        raise ValueError(f"no respondent answered both {row_var!r} and {col_var!r}")
    rows_raw, cols_raw, w = frame[row_var].to_numpy()[keep], frame[col_var].to_numpy()[keep], w_all[keep]
    rows = _category_labels(rows_raw)
    cols = _category_labels(cols_raw)
    row_cats, col_cats = _ordered(rows_raw, rows, row_order), _ordered(cols_raw, cols, col_order)
    if TOTAL in col_cats:
        raise ValueError(f"column {col_var!r} has a category called {TOTAL!r}, the name of the total column")
    if len(col_cats) > len(string.ascii_uppercase):
        raise ValueError(f"column {col_var!r} has {len(col_cats)} categories: at most 26 can be lettered")

    long = pd.DataFrame({"row": rows, "col": cols, "w": w})
    counts = long.pivot_table(index="row", columns="col", values="w", aggfunc="sum", fill_value=0.0)
    counts = counts.reindex(index=row_cats, columns=col_cats, fill_value=0.0).astype(float)
    counts[TOTAL] = counts.sum(axis=1)
    counts.index.name, counts.columns.name = row_var, col_var
    column_pct = counts / counts.sum(axis=0) * 100
    bases = long.groupby("col").size().reindex(col_cats, fill_value=0)
    bases[TOTAL] = len(long)
    eff = long.groupby("col")["w"].apply(lambda s: effective_n(s.to_numpy())).reindex(col_cats, fill_value=0.0)
    eff[TOTAL] = effective_n(w)
    bases, eff = bases.astype(np.int64).rename("base"), eff.astype(float).rename("effective_base")

    column_letters = dict(zip(col_cats, string.ascii_uppercase, strict=False))
    tested = [c for c in col_cats if eff[c] >= min_base]
    letters, pairwise = _letters(column_pct, eff, col_cats, tested, column_letters, alpha, correction)

    notes = []
    left_out = int(len(frame) - keep.sum())
    if left_out:
        notes.append(
            f"{left_out:,} respondent{'s' if left_out != 1 else ''} without both answers"
            f"{' or with weight 0' if weights is not None else ''} left out."
        )
    small = [c for c in col_cats if c not in tested]
    if small:
        notes.append(
            f"Column{'s' if len(small) != 1 else ''} with an effective base below {min_base:g} "
            f"(marked *) {'are' if len(small) != 1 else 'is'} left out of the tests: {', '.join(esc(c) for c in small)}."
        )
    chi2, dof, p, v, reasons = _chi_square(counts[tested].to_numpy(), effective_n(w[np.isin(cols, tested)]))
    if reasons:
        notes.append("The chi-square test is not reported: " + "; ".join(reasons) + ".")
    return Crosstab(
        row_var=row_var,
        col_var=col_var,
        counts=counts,
        column_pct=column_pct,
        bases=bases,
        effective_bases=eff,
        letters=letters,
        column_letters=column_letters,
        pairwise=pairwise,
        chi2=chi2,
        dof=dof,
        p_value=p,
        cramers_v=v,
        valid=not reasons,
        note=" ".join(notes),
        correction=correction,
        alpha=alpha,
        min_base=min_base,
        weighted=weights is not None,
    )


def _letters(column_pct, eff, col_cats, tested, column_letters, alpha, correction):
    """Letters per cell and the pairwise z-tests behind them."""
    letters = pd.DataFrame("", index=column_pct.index, columns=col_cats, dtype=object)
    for c in col_cats:
        if c not in tested:
            letters[c] = "*"
    records = []
    for category in column_pct.index:
        found = []
        for a, b in combinations(tested, 2):
            pa, pb = column_pct.loc[category, a] / 100, column_pct.loc[category, b] / 100
            z, p = _two_proportion_z(pa, pb, eff[a], eff[b])
            found.append({"category": category, "column_a": a, "column_b": b, "pct_a": pa * 100, "pct_b": pb * 100})
            found[-1].update(z=z, p_value=p)
        if not found:
            continue
        adjusted = _adjust([f["p_value"] for f in found], correction)
        for f, q in zip(found, adjusted, strict=True):
            f["p_adjusted"] = q
            f["significant"] = bool(q < alpha)
            if f["significant"]:
                high, low = (
                    (f["column_a"], f["column_b"]) if f["pct_a"] > f["pct_b"] else (f["column_b"], f["column_a"])
                )
                letters.loc[category, high] += column_letters[low]
        records += found
    for c in tested:
        letters[c] = letters[c].map(lambda s: "".join(sorted(s)))
    columns = ["category", "column_a", "column_b", "pct_a", "pct_b", "z", "p_value", "p_adjusted", "significant"]
    return letters, pd.DataFrame(records, columns=columns)


def _two_proportion_z(pa: float, pb: float, na: float, nb: float) -> tuple[float, float]:
    """Pooled two-proportion z-test (two-sided) on shares ``pa``, ``pb`` of bases ``na``, ``nb``;
    z 0 and p 1 when the pooled share is 0 or 1 (nothing varies)."""
    pooled = (pa * na + pb * nb) / (na + nb)
    se = math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / na + 1 / nb))
    if se == 0:
        return 0.0, 1.0
    z = (pa - pb) / se
    return float(z), float(2 * stats.norm.sf(abs(z)))


def _chi_square(obs_weighted: np.ndarray, n_eff: float):
    """Pearson chi-square on the table of the tested columns (rows nobody in them chose dropped)
    rescaled to total ``n_eff``; returns chi2, dof, p, V and the reasons it is not valid (empty
    when valid)."""
    if obs_weighted.shape[1] < 2:
        return 0.0, 0, float("nan"), float("nan"), ["fewer than two columns have a large enough base to compare"]
    obs_weighted = obs_weighted[obs_weighted.sum(axis=1) > 0]
    if obs_weighted.shape[0] < 2:
        return (
            0.0,
            0,
            float("nan"),
            float("nan"),
            ["every respondent gave the same answer, so there is nothing to compare"],
        )
    obs = obs_weighted * (n_eff / obs_weighted.sum())
    n = obs.sum()
    r, c = obs.sum(axis=1), obs.sum(axis=0)
    exp = np.outer(r, c) / n
    dof = (obs.shape[0] - 1) * (obs.shape[1] - 1)
    reasons = []
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    p = float(stats.chi2.sf(chi2, dof))
    v = math.sqrt(chi2 / (n * (min(obs.shape) - 1)))
    small = int(np.count_nonzero(exp < 5))
    if small / exp.size > MAX_SMALL_SHARE:
        reasons.append(
            f"cells too small: {small:,} of {exp.size:,} cells expect fewer than 5 respondents "
            f"(more than {MAX_SMALL_SHARE * 100:.0f} %)"
        )
    if exp.min() < 1:
        reasons.append(f"the smallest expected count is {exp.min():.2f}, below 1")
    return chi2, int(dof), p, v, reasons


# --------------------------------------------------------------------------------------------
# shared


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    for c in columns:
        if c not in frame.columns:
            raise ValueError(f"column {c!r} is not in the frame")


def _check_common(alpha: float, correction: str, min_base: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if correction not in _CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(map(repr, _CORRECTIONS))}, not {correction!r}")
    if not min_base >= 0:
        raise ValueError(f"min_base must be 0 or more, not {min_base!r}")


def _adjust(p, correction: str) -> np.ndarray:
    """``p`` adjusted for testing several hypotheses (``"none"``: unchanged)."""
    return adjust_pvalues(np.asarray(p, dtype=float), correction)


def _category_labels(values: np.ndarray) -> np.ndarray:
    """Category values as text: ``2.0`` -> ``"2"``, anything else ``str``. Each distinct value is
    labelled once (a survey has 100,000 answers but a handful of categories); Python objects
    other than text are labelled one by one, as ``True`` and ``1`` are equal but read differently."""
    arr = np.asarray(values)
    codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=object)
    if arr.dtype == object and not all(isinstance(u, str) for u in uniques):
        return np.array([_value_label(v) for v in arr], dtype=object)
    return np.array([_value_label(u) for u in uniques], dtype=object)[codes]


def _value_label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _ordered(raw: np.ndarray, labels: np.ndarray, first: Sequence | None = None) -> list[str]:
    """Distinct labels: those of ``first`` that occur, in its order, then the others in the order
    of their sorted values (numbers as numbers)."""
    present = dict(zip(labels, raw, strict=True))
    head = [lab for lab in dict.fromkeys(_value_label(v) for v in (first or [])) if lab in present]
    rest = {lab: v for lab, v in present.items() if lab not in set(head)}
    try:
        tail = [lab for lab, _ in sorted(rest.items(), key=lambda kv: kv[1])]
    except TypeError:
        tail = sorted(rest)
    return head + tail


def _label(name: str) -> str:
    """``region_name`` -> ``Region name`` (a name with spaces is kept as it is)."""
    text = str(name).replace("_", " ").strip() if " " not in str(name) else str(name)
    return text[:1].upper() + text[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
