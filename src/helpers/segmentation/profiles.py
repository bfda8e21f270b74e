"""Who is in each segment: segment x attribute crosstabs with Pearson chi-square tests.

- :func:`crosstab_test`: one attribute against the segments: counts, row shares, expected
  counts under independence, adjusted standardised residuals, chi-square, Cramér's V, whether
  the chi-square approximation can be trusted, and the result in plain words;
- :func:`profile_attributes`: the same for several attributes, with an overview table sorted
  by strength;
- :func:`candidate_attributes`: which columns of a customer table can be profiled.

Conventions: rows are customers (one segment and one attribute value each); a missing
attribute value is the category ``"(missing)"``; the chi-square test has no continuity
correction (``scipy.stats.chi2_contingency(..., correction=False)`` gives the same numbers).
Sentences are Markdown with the data's text (segment, attribute and value names) escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.reporting.text import esc

__all__ = [
    "MISSING",
    "OTHER",
    "OTHER_SEGMENTS",
    "CrosstabTest",
    "candidate_attributes",
    "crosstab_test",
    "profile_attributes",
]

#: The category of a missing attribute value.
MISSING = "(missing)"
#: The row segments too small to test on their own are merged into.
OTHER_SEGMENTS = "Other segments"
#: The category rare attribute values are merged into.
OTHER = "other"
#: Cochran's rule: at most this share of cells may expect fewer than ``min_expected`` customers.
MAX_SMALL_SHARE = 0.20
#: Cells shown in a sentence.
CELLS_IN_SENTENCE = 3

_CELL_COLUMNS = ["segment", "value", "observed", "expected", "residual", "direction"]


@dataclass
class CrosstabTest:
    """A segment x attribute crosstab and its Pearson chi-square test of independence.

    Tables have one row per segment (in the requested order) and one column per attribute
    value (sorted, then ``"other"`` for merged rare values, then ``"(missing)"``):

    - ``counts``: customers; ``row_shares``: each row's split in % (rows add to 100);
    - ``expected``: counts expected if the attribute did not depend on the segment,
      row total x column total / n;
    - ``residuals``: adjusted standardised (Haberman) residuals
      (O - E) / sqrt(E (1 - row total / n) (1 - column total / n)), about standard normal
      under independence;
    - ``chi2``, ``dof`` = (rows - 1)(columns - 1), ``p_value``, ``cramers_v`` =
      sqrt(chi2 / (n (min(rows, columns) - 1))), ``n`` customers;
    - ``small_expected_share``: share of cells expecting fewer than ``min_expected`` (default 5)
      customers; ``min_expected``: the smallest expected count;
    - ``valid``: False when the chi-square approximation is not trustworthy (Cochran: more than
      20 % of cells expect fewer than 5, or any cell expects fewer than 1) or there is nothing to
      compare (dof 0); ``note`` says why, and which values were merged.
    """

    attribute: str
    counts: pd.DataFrame
    row_shares: pd.DataFrame
    expected: pd.DataFrame
    residuals: pd.DataFrame
    chi2: float
    dof: int
    p_value: float
    cramers_v: float
    n: int
    small_expected_share: float
    min_expected: float
    valid: bool
    note: str

    def significant_cells(self, alpha: float = 0.05) -> pd.DataFrame:
        """Cells with more or fewer customers than independence explains: ``segment, value,
        observed, expected, residual, direction`` (``"more"`` or ``"fewer"``), strongest first.

        A cell counts when |adjusted residual| > z, the two-sided normal quantile at
        ``alpha / cells`` (Bonferroni over all cells of the table, so that the chance of flagging
        any cell of an independent table stays below ``alpha``). Empty when the test is not valid.
        """
        if not self.valid:
            return pd.DataFrame(columns=_CELL_COLUMNS)
        cells = self.counts.size
        z = float(stats.norm.isf(alpha / (2 * cells)))
        long = pd.DataFrame(
            {
                "segment": np.repeat(self.counts.index.to_numpy(dtype=object), self.counts.shape[1]),
                "value": np.tile(self.counts.columns.to_numpy(dtype=object), self.counts.shape[0]),
                "observed": self.counts.to_numpy().ravel(),
                "expected": self.expected.to_numpy().ravel(),
                "residual": self.residuals.to_numpy().ravel(),
            }
        )
        long = long[long["residual"].abs() > z]
        long = long.assign(direction=np.where(long["residual"] > 0, "more", "fewer"))
        order = long["residual"].abs().sort_values(ascending=False, kind="stable").index
        return long.loc[order].reset_index(drop=True)

    def sentence(self, alpha: float = 0.05, groups: str = "segments") -> str:
        """What the test says, in plain words from this result's numbers (Markdown, names escaped):
        the statistics and the strongest over- and under-represented cells when significant at
        ``alpha``; that no clear difference was found otherwise; why it is not reported when not
        valid. ``groups``: what the rows are called ("segments", "clusters")."""
        label = esc(_label(self.attribute))
        if not self.valid:
            return f"{label}: {self.note}"
        stats_text = (
            f"chi-square {self.chi2:,.1f}, {self.dof:,} degree{'s' if self.dof != 1 else ''} of freedom, "
            f"{_p_text(self.p_value)}, Cramér's V {self.cramers_v:.2f}"
        )
        merged = f" {self.note}" if self.note else ""
        if not self.p_value < alpha:
            return (
                f"{label} does not differ clearly between {groups} ({stats_text}): at the {alpha * 100:g} % level "
                f"the differences between the {groups}' shares are within what chance alone would produce.{merged}"
            )
        cells = self.significant_cells(alpha)
        overall = self.counts.sum(axis=0) / self.n * 100
        parts = []
        for _, cell in cells.head(CELLS_IN_SENTENCE).iterrows():
            in_segment = self.row_shares.loc[cell["segment"], cell["value"]]
            word = "more" if cell["direction"] == "more" else "less"
            parts.append(
                f"{esc(cell['value'])} is {word} common among {esc(cell['segment'])} "
                f"({in_segment:.0f} % against {overall[cell['value']]:.0f} % overall)"
            )
        if not parts:
            detail = (
                f"no single {groups[:-1]} and value stands out on its own once the number of cells compared "
                f"({self.counts.size:,}) is allowed for"
            )
        else:
            detail = "; ".join(parts)
            if len(cells) > CELLS_IN_SENTENCE:
                rest = len(cells) - CELLS_IN_SENTENCE
                detail += f"; {rest:,} more {groups[:-1]}-value combination{'s' if rest != 1 else ''} differ clearly"
        return f"{label} differs between {groups} ({stats_text}): {detail}.{merged}"


def crosstab_test(
    segments: pd.Series,
    attribute: pd.Series,
    *,
    name: str | None = None,
    segment_order: Sequence | None = None,
    min_expected: float = 5.0,
    merge_rare: bool = True,
) -> CrosstabTest:
    """Crosstab of ``segments`` (rows) by ``attribute`` (columns) and its chi-square test.

    The two Series are matched on their index when the indexes differ (customers in both),
    by position otherwise. Customers without a segment are left out (the note says how many);
    a missing attribute value is the category ``"(missing)"``. Rows follow ``segment_order``
    (segments not in it come after, sorted; segments without customers are left out).

    With ``merge_rare``, segments so small that they expect fewer than ``min_expected`` customers
    in more than half of the attribute's values are first merged into ``"Other segments"`` (placed
    last; not when every segment is that small); when even that row is too small, it is left out
    of the test and the note says how many customers and which segments. Then (with more than two values) values so rare that they expect fewer than
    ``min_expected`` customers in more than half of the segments are merged into ``"other"``
    (when there are two or more of them; when every value is that rare, the largest stays on its
    own), and the note says which. The table is then judged by Cochran's rule (see
    :class:`CrosstabTest`); when it is still too sparse the test is not reported.
    """
    seg = pd.Series(segments)
    att = pd.Series(attribute)
    name = str(name if name is not None else (att.name if att.name is not None else "attribute"))
    if len(seg) == len(att) and seg.index.equals(att.index):
        seg_values, att_values = seg.array, att.array
    else:
        frame = pd.concat([seg.rename("segment"), att.rename("value")], axis=1, join="inner")
        frame = frame.astype(object).reset_index(drop=True)
        seg_values, att_values = frame["segment"].array, frame["value"].array
    counts, no_segment = _count(seg_values, att_values, segment_order)

    notes = []
    if no_segment:
        notes.append(f"{no_segment:,} customer{'s' if no_segment != 1 else ''} without a segment left out.")
    if merge_rare and counts.shape[0] > 2:
        counts, small = _merge_small_segments(counts, min_expected)
        if small:
            shown = ", ".join(esc(v) for v in small)
            merged_row = counts.loc[OTHER_SEGMENTS]
            if _merge_small_segments(counts, min_expected)[1] == [OTHER_SEGMENTS]:  # still too small together
                counts = counts.drop(index=OTHER_SEGMENTS)
                left = int(merged_row.sum())
                notes.append(
                    f"{left:,} customer{'s' if left != 1 else ''} in segments too small to test, even together, "
                    f"are left out of the test: {shown}."
                )
            else:
                notes.append(
                    f"Segments too small to test on their own were merged into \u201c{OTHER_SEGMENTS}\u201d: {shown}."
                )
    if merge_rare and counts.shape[1] > 2:
        counts, merged = _merge_rare(counts, min_expected)
        if merged:
            shown = ", ".join(esc(v) for v in merged)
            notes.append(f"Values too rare to test on their own were merged into \u201c{OTHER}\u201d: {shown}.")
    counts.index.name, counts.columns.name = "segment", name
    return _test(counts, name, min_expected, notes)


def profile_attributes(
    frame: pd.DataFrame,
    segment_col: str,
    attributes: Sequence[str],
    *,
    segment_order: Sequence | None = None,
    alpha: float = 0.05,
    min_expected: float = 5.0,
    merge_rare: bool = True,
) -> tuple[pd.DataFrame, dict[str, CrosstabTest]]:
    """:func:`crosstab_test` of each attribute against ``frame[segment_col]``.

    Returns an overview (``attribute, categories, chi2, dof, p_value, cramers_v, valid,
    significant, note``; ``categories`` = columns tested, after merging; ``significant`` = valid
    and p < ``alpha``, each attribute tested on its own, without a correction for testing
    several) with the valid tests first, strongest (largest Cramér's V) first, and the tests by
    attribute.
    """
    if segment_col in attributes:
        raise ValueError(f"{segment_col!r} is the segment column, not an attribute")
    tests = {
        a: crosstab_test(
            frame[segment_col],
            frame[a],
            name=a,
            segment_order=segment_order,
            min_expected=min_expected,
            merge_rare=merge_rare,
        )
        for a in attributes
    }
    overview = pd.DataFrame(
        [
            {
                "attribute": a,
                "categories": t.counts.shape[1],
                "chi2": t.chi2,
                "dof": t.dof,
                "p_value": t.p_value,
                "cramers_v": t.cramers_v,
                "valid": t.valid,
                "significant": bool(t.valid and t.p_value < alpha),
                "note": t.note,
            }
            for a, t in tests.items()
        ],
        columns=["attribute", "categories", "chi2", "dof", "p_value", "cramers_v", "valid", "significant", "note"],
    )
    strength = overview["cramers_v"].where(overview["valid"], -1.0).fillna(-1.0)
    overview = overview.loc[strength.sort_values(ascending=False, kind="stable").index].reset_index(drop=True)
    return overview, tests


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}")


def candidate_attributes(
    frame: pd.DataFrame, exclude: Sequence[str] = ("customer_id",), max_categories: int = 30
) -> list[str]:
    """Columns worth profiling, in the frame's order: text, categorical and boolean columns with
    2 to ``max_categories`` distinct values, and numeric columns with 2 to 12 distinct values
    (taken as categories). Left out: ``exclude``, dates (date columns and text that looks like
    ISO dates) and ids (a name ``id`` or ending in ``_id``, or text with a distinct value in
    every row)."""
    out = []
    for col in frame.columns:
        s = frame[col]
        lower = str(col).lower()
        if col in exclude or lower == "id" or lower.endswith("_id"):
            continue
        if pd.api.types.is_datetime64_any_dtype(s.dtype) or isinstance(s.dtype, pd.PeriodDtype):
            continue
        distinct = s.dropna().unique()
        k = len(distinct)
        if k < 2:
            continue
        if pd.api.types.is_bool_dtype(s.dtype):
            out.append(col)
        elif pd.api.types.is_numeric_dtype(s.dtype):
            if k <= 12:
                out.append(col)
        elif k <= max_categories:
            if k == s.notna().sum() and k > 2:  # a distinct value per row: an identifier
                continue
            if all(isinstance(v, str) and _DATE_TEXT.match(v) for v in distinct):
                continue
            out.append(col)
    return out


# --------------------------------------------------------------------------------------------


def _count(segments, values, segment_order: Sequence | None) -> tuple[pd.DataFrame, int]:
    """Customers per segment (rows) and attribute value (columns), and the customers without a
    segment (left out). Each column is counted once, from codes (a bincount over millions of
    customers, where a crosstab of Python objects takes seconds): rows are the segments present,
    those of ``segment_order`` first, in its order, then the others sorted; columns the values
    present, sorted, as text (``2.0`` -> ``"2"``; values with the same text share a column), then
    ``"(missing)"`` when a customer has no value."""
    seg_codes, seg_uniques = pd.factorize(segments)
    att_codes, att_uniques = pd.factorize(values)
    keep = seg_codes >= 0
    no_segment = int((~keep).sum())
    if not keep.any():
        raise ValueError("no customer has a segment")
    seg_codes, att_codes = seg_codes[keep], att_codes[keep]
    seg_uniques, att_uniques = list(seg_uniques), list(att_uniques)
    in_use = np.bincount(seg_codes, minlength=len(seg_uniques)) > 0
    present = {s for s, used in zip(seg_uniques, in_use) if used}
    rows = [s for s in (segment_order or []) if s in present]
    rows += _sorted([s for s in present if s not in set(rows)])
    seen = np.bincount(att_codes[att_codes >= 0], minlength=len(att_uniques)) > 0
    labels = {i: _value_label(v) for i, (v, used) in enumerate(zip(att_uniques, seen)) if used}
    columns = list(dict.fromkeys(labels[i] for i in _sorted_codes(att_uniques, labels)))
    missing = bool((att_codes < 0).any())
    if missing:
        columns.append(MISSING)
    row_at = {s: i for i, s in enumerate(rows)}
    col_at = {c: j for j, c in enumerate(columns)}
    row_of = np.array([row_at.get(s, -1) for s in seg_uniques], dtype=np.int64)
    col_of = np.array([col_at[labels[i]] if i in labels else -1 for i in range(len(att_uniques))] + [len(columns) - 1])
    cell = row_of[seg_codes] * len(columns) + col_of[att_codes]  # code -1 (missing) takes the last entry
    table = np.bincount(cell, minlength=len(rows) * len(columns)).reshape(len(rows), len(columns))
    return pd.DataFrame(table.astype(np.int64), index=pd.Index(rows), columns=pd.Index(columns)), no_segment


def _sorted_codes(uniques: list, labels: dict) -> list[int]:
    """The codes in ``labels`` in the order of their values (numbers as numbers, else as text)."""
    codes = list(labels)
    try:
        return sorted(codes, key=lambda i: uniques[i])
    except TypeError:
        return sorted(codes, key=lambda i: str(uniques[i]))


def _test(counts: pd.DataFrame, name: str, min_expected: float, notes: list[str]) -> CrosstabTest:
    obs = counts.to_numpy(dtype=float)
    n = obs.sum()
    r, c = obs.sum(axis=1), obs.sum(axis=0)
    exp = np.outer(r, c) / n
    n_rows, n_cols = obs.shape
    dof = (n_rows - 1) * (n_cols - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = (obs - exp) / np.sqrt(exp * np.outer(1 - r / n, 1 - c / n))
    small = int(np.count_nonzero(exp < min_expected))
    small_share = small / exp.size
    e_min = float(exp.min())
    frame = lambda values: pd.DataFrame(values, index=counts.index, columns=counts.columns)  # noqa: E731
    if dof > 0:
        chi2 = float(((obs - exp) ** 2 / exp).sum())
        p = float(stats.chi2.sf(chi2, dof))
        v = math.sqrt(chi2 / (n * (min(n_rows, n_cols) - 1)))
    else:
        chi2, p, v = 0.0, float("nan"), float("nan")
    reasons = []
    if dof == 0:
        reasons.append(
            "only one segment has customers"
            if n_rows < 2
            else "every customer has the same value, so there is nothing to compare"
        )
    else:
        if small_share > MAX_SMALL_SHARE:
            reasons.append(
                f"cells too small for the test: {small:,} of {exp.size:,} cells expect fewer than "
                f"{min_expected:g} customers (more than {MAX_SMALL_SHARE * 100:.0f} %); merging values "
                "or comparing fewer segments would help"
            )
        if e_min < 1:
            reasons.append(f"the smallest expected count is {e_min:.2f}, below 1")
    valid = not reasons
    if reasons:
        notes.append("The chi-square test is not reported: " + "; ".join(reasons) + ".")
    return CrosstabTest(
        attribute=name,
        counts=counts.astype(np.int64),
        row_shares=frame(obs / r[:, None] * 100),
        expected=frame(exp),
        residuals=frame(resid),
        chi2=chi2,
        dof=int(dof),
        p_value=p,
        cramers_v=v,
        n=int(n),
        small_expected_share=float(small_share),
        min_expected=e_min,
        valid=valid,
        note=" ".join(notes),
    )


def _merge_small_segments(counts: pd.DataFrame, min_expected: float) -> tuple[pd.DataFrame, list[str]]:
    """Merge the segments (rows) expecting fewer than ``min_expected`` customers in more than half
    the columns into ``OTHER_SEGMENTS`` (placed last), unless every segment is that small.
    Returns the new counts and the merged segments."""
    cols = counts.sum(axis=0).to_numpy(dtype=float)
    n = cols.sum()
    totals = counts.sum(axis=1)
    small = [s for s in counts.index if np.mean(totals[s] * cols / n < min_expected) > 0.5]
    if not small or len(small) == len(counts.index):
        return counts, []
    out = counts.drop(index=small)
    out.loc[OTHER_SEGMENTS] = counts.loc[small].sum(axis=0)
    return out, small


def _merge_rare(counts: pd.DataFrame, min_expected: float) -> tuple[pd.DataFrame, list[str]]:
    """Merge the values expecting fewer than ``min_expected`` customers in more than half the
    rows into ``OTHER``: only when there are two or more (one keeps its name), and the largest
    stays on its own when all are rare. Returns the new counts and the merged values."""
    rows = counts.sum(axis=1).to_numpy(dtype=float)
    n = rows.sum()
    totals = counts.sum(axis=0)
    rare = [v for v in counts.columns if np.mean(rows * totals[v] / n < min_expected) > 0.5]
    if len(rare) == counts.shape[1]:
        rare.remove(max(rare, key=lambda v: totals[v]))
    if OTHER in counts.columns and rare and OTHER not in rare:
        rare.append(OTHER)  # a real "other" value takes in the merged ones
    if len(rare) < 2:
        return counts, []
    keep = [v for v in counts.columns if v not in rare and v != MISSING]
    out = counts[keep].copy()
    out[OTHER] = counts[rare].sum(axis=1)
    if MISSING in counts.columns and MISSING not in rare:
        out[MISSING] = counts[MISSING]
    return out, [v for v in counts.columns if v in rare and v != OTHER]


def _sorted(values) -> list:
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _value_label(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _label(name: str) -> str:
    """``acquisition_channel`` -> ``Acquisition channel`` (a name with spaces is kept as it is)."""
    text = name.replace("_", " ") if " " not in name else name
    return text[:1].upper() + text[1:]


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
