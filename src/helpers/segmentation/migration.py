"""How customers move between segments from one snapshot to the next.

- :func:`transition_matrix`: counts and row shares, segment before x segment after, with the
  customers who arrived (a row) and left (a column) in between;
- :func:`movements`: one row per customer with the kind of move (vocabulary :data:`MOVEMENTS`);
- :func:`migration_summary` and :func:`migration_sentence`: the moves counted and told in
  plain words.

Inputs are Series of segment labels indexed by ``customer_id``, one per snapshot; a customer
absent from a snapshot (or with a missing segment there) was not a customer then. Sentences are
Markdown with segment names escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.reporting.text import esc
from helpers.segmentation.data import arrow_array, labels_at, positions, strictly_increasing

__all__ = [
    "GONE_LABEL",
    "MOVEMENTS",
    "NEW_LABEL",
    "compare",
    "migration_sentence",
    "migration_summary",
    "movements",
    "transition_matrix",
]

NEW_LABEL = "New since then"
GONE_LABEL = "No longer a customer"

#: The kinds of move, in the order they are counted and sorted:
#: ``upgraded`` to a better-ranked segment, ``unchanged`` (same segment), ``sideways`` to a
#: different segment of the same rank, ``slipped`` to a worse-ranked segment, ``new`` (only in
#: the second snapshot), ``gone`` (only in the first).
MOVEMENTS = ("upgraded", "unchanged", "sideways", "slipped", "new", "gone")


def _snapshot(segments: pd.Series, name: str) -> pd.Series:
    """The customers with a segment (a mask of positions, not pandas' dropna, whose alignment on
    the ids hashed millions of text ids for a second); ValueError when a customer repeats."""
    s = pd.Series(segments)
    if s.hasnans:
        s = s[s.notna().to_numpy()]
    if not strictly_increasing(s.index) and not s.index.is_unique:
        dup = s.index[s.index.duplicated()][:3].tolist()
        raise ValueError(f"{name}: a customer appears more than once (e.g. {dup})")
    return s


@dataclass
class _Paired:
    """Every customer of either snapshot (``ids``, an Index) with a code per snapshot into
    ``labels_before`` / ``labels_after`` (the segments seen, then ``new_label`` / ``gone_label`` for
    a customer missing from that snapshot): counts and moves are computed on the codes, a bincount
    over millions of customers where a crosstab of Python objects takes seconds."""

    ids: pd.Index
    before: np.ndarray
    after: np.ndarray
    labels_before: list
    labels_after: list


def _same_ids(a: pd.Index, b: pd.Index) -> bool:
    if len(a) != len(b):
        return False
    try:  # compared in Arrow (pandas compares text ids as Python objects)
        return bool(pc.all(pc.equal(arrow_array(a), arrow_array(b))).as_py())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return bool(a.equals(b))


def _pair(before: pd.Series, after: pd.Series, new_label: str, gone_label: str) -> _Paired:
    """The customers of either snapshot and their segments as codes (see :class:`_Paired`): the
    customers of ``after``, then those only in ``before``; matched by Arrow hash lookups of the ids
    (an outer join of two million-row text indexes in pandas takes seconds)."""
    b, a = _snapshot(before, "before"), _snapshot(after, "after")
    codes_b, uniques_b = pd.factorize(b.array)
    codes_a, uniques_a = pd.factorize(a.array)
    labels_b, labels_a = [*uniques_b, new_label], [*uniques_a, gone_label]
    new, gone = len(labels_b) - 1, len(labels_a) - 1
    if _same_ids(b.index, a.index):
        return _Paired(a.index, codes_b, codes_a, labels_b, labels_a)
    at = positions(a.index, b.index)  # each customer of the later snapshot in the earlier one, -1: new
    left = positions(b.index, a.index) < 0  # customers of the earlier snapshot only
    ids = a.index.append(b.index[left])
    earlier = np.full(len(at), new, dtype=np.int64)
    earlier[at >= 0] = codes_b[at[at >= 0]]
    before_codes = np.concatenate([earlier, codes_b[left]])
    after_codes = np.concatenate([codes_a, np.full(int(left.sum()), gone)])
    return _Paired(ids, before_codes, after_codes, labels_b, labels_a)


def _used(codes: np.ndarray, labels: list) -> list:
    """The labels some customer has."""
    return [lab for lab, n in zip(labels, np.bincount(codes, minlength=len(labels))) if n]


def transition_matrix(
    before: pd.Series,
    after: pd.Series,
    *,
    order: Sequence[str],
    new_label: str = NEW_LABEL,
    gone_label: str = GONE_LABEL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers by segment before (rows) and after (columns): ``(counts, row_shares_pct)``.

    Rows and columns are the segments of ``order`` (each shown, with zeros when empty), then a
    row ``new_label`` for customers only in ``after`` and a column ``gone_label`` for customers
    only in ``before``, each only when there is any. Every customer of either snapshot is
    counted once, so the counts add up to the number of customers in the union. Row shares are
    in % of the row (they add to 100; NaN for an empty row). A segment not in ``order`` is an
    error.
    """
    return _transitions(_pair(before, after, new_label, gone_label), order, new_label, gone_label)


def _transitions(
    p: _Paired, order: Sequence[str], new_label: str, gone_label: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = list(order)
    used_b, used_a = _used(p.before, p.labels_before), _used(p.after, p.labels_after)
    unknown = sorted({str(v) for v in used_b + used_a} - {str(v) for v in order} - {new_label, gone_label})
    if unknown:
        raise ValueError(f"segments not in order: {unknown}")
    rows = order + ([new_label] if new_label in used_b else [])
    cols = order + ([gone_label] if gone_label in used_a else [])
    row_at = {r: i for i, r in enumerate(rows)}
    col_at = {c: j for j, c in enumerate(cols)}
    row_of = np.array([row_at.get(lab, -1) for lab in p.labels_before])[p.before]
    col_of = np.array([col_at.get(lab, -1) for lab in p.labels_after])[p.after]
    kept = (row_of >= 0) & (col_of >= 0)  # a segment counted as new or gone elsewhere: as the crosstab, left out
    table = np.bincount(row_of[kept] * len(cols) + col_of[kept], minlength=len(rows) * len(cols))
    counts = pd.DataFrame(
        table.reshape(len(rows), len(cols)).astype(np.int64),
        index=pd.Index(rows, name="segment_before"),
        columns=pd.Index(cols, name="segment_after"),
    )
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0) * 100
    return counts, shares


def movements(
    before: pd.Series,
    after: pd.Series,
    *,
    rank: Mapping[str, float],
    new_label: str = NEW_LABEL,
    gone_label: str = GONE_LABEL,
) -> pd.DataFrame:
    """One row per customer of either snapshot: ``customer_id, segment_before, segment_after,
    movement`` (:data:`MOVEMENTS`).

    ``rank``: a number per segment, higher = better. ``upgraded``: rank after > rank before;
    ``slipped``: lower; ``sideways``: a different segment of equal rank; ``unchanged``: the same
    segment. Customers only in ``after`` have ``segment_before`` = ``new_label`` and move
    ``new``; customers only in ``before`` have ``segment_after`` = ``gone_label`` and move
    ``gone`` (so a crosstab of the two columns is :func:`transition_matrix`'s counts). Sorted by
    movement (in the order of :data:`MOVEMENTS`), then customer id.
    """
    return _moves(_pair(before, after, new_label, gone_label), rank, new_label, gone_label, text=True)


def compare(
    before: pd.Series,
    after: pd.Series,
    *,
    order: Sequence[str],
    rank: Mapping[str, float],
    new_label: str = NEW_LABEL,
    gone_label: str = GONE_LABEL,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`transition_matrix` (counts, shares) and :func:`movements` of the same two snapshots,
    pairing the customers once. The movements' segment and movement columns are categorical here
    (a code per customer: a few MB for millions of customers, where text takes hundreds); the
    movement categories are :data:`MOVEMENTS`, in order."""
    p = _pair(before, after, new_label, gone_label)
    return (*_transitions(p, order, new_label, gone_label), _moves(p, rank, new_label, gone_label, text=False))


def _moves(p: _Paired, rank: Mapping[str, float], new_label: str, gone_label: str, text: bool) -> pd.DataFrame:
    segs = set(_used(p.before, p.labels_before)) | set(_used(p.after, p.labels_after))
    missing = sorted(str(s) for s in segs - set(rank) - {new_label, gone_label})
    if missing:
        raise ValueError(f"no rank for segments {missing}")
    ranks = {**{k: float(v) for k, v in rank.items()}, new_label: np.nan, gone_label: np.nan}
    rb = np.array([ranks.get(lab, np.nan) for lab in p.labels_before])[p.before]
    ra = np.array([ranks.get(lab, np.nan) for lab in p.labels_after])[p.after]
    new = np.array([lab == new_label for lab in p.labels_before])[p.before]
    gone = np.array([lab == gone_label for lab in p.labels_after])[p.after]
    after_code = {lab: j for j, lab in enumerate(p.labels_after)}
    same = np.array([after_code.get(lab, -1) for lab in p.labels_before])[p.before] == p.after
    move = np.select(
        [new, gone, same, ra > rb, ra < rb],
        [MOVEMENTS.index(m) for m in ("new", "gone", "unchanged", "upgraded", "slipped")],
        default=MOVEMENTS.index("sideways"),
    )
    order = _by_move_then_id(move, p.ids)
    ids = p.ids[order]
    if text:
        columns = [
            labels_at(c[order], labels) for c, labels in ((p.before, p.labels_before), (p.after, p.labels_after))
        ]
        columns.append(labels_at(move[order], MOVEMENTS))
    else:
        columns = [
            _categories(p.before[order], p.labels_before),
            _categories(p.after[order], p.labels_after),
            pd.Categorical.from_codes(move[order], categories=list(MOVEMENTS), ordered=True),
        ]
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy() if ids.dtype == object else _as_text(ids.array),
            "segment_before": columns[0],
            "segment_after": columns[1],
            "movement": columns[2],
        }
    )


def _categories(codes: np.ndarray, labels: list) -> pd.Categorical:
    """``labels[codes]`` as a categorical (labels repeated by value, e.g. a segment that is also the
    new-customer label, share one category)."""
    unique = list(dict.fromkeys(labels))
    at = np.array([unique.index(lab) for lab in labels], dtype=np.int64)
    return pd.Categorical.from_codes(at[codes], categories=unique)


def _as_text(values):
    """Arrow-backed text of either kind as pandas' default text type (the same Arrow data); other
    arrays as they are."""
    return values.astype("str") if pd.api.types.is_string_dtype(values.dtype) else values


def _by_move_then_id(move: np.ndarray, ids: pd.Index) -> np.ndarray:
    """Positions in the order of the movement code, then the customer id."""
    try:  # ids sorted in Arrow (unless they already are), then a stable sort by movement keeps that order
        a = arrow_array(ids)
        if len(a) < 2 or pc.all(pc.greater(a[1:], a[:-1])).as_py():
            by_id = np.arange(len(a))
        else:
            by_id = pc.sort_indices(a).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        by_id = np.argsort(ids.to_numpy(), kind="stable")
    return by_id[np.argsort(move[by_id], kind="stable")]


def migration_summary(moves: pd.DataFrame) -> pd.Series:
    """Customers per movement, in the order of :data:`MOVEMENTS` (zeros included)."""
    counts = moves["movement"].value_counts().reindex(list(MOVEMENTS), fill_value=0).astype(np.int64)
    counts.index.name = "movement"
    return counts.rename("customers")


def migration_sentence(
    summary: pd.Series,
    counts: pd.DataFrame,
    before_date,
    after_date,
    *,
    new_label: str = NEW_LABEL,
    gone_label: str = GONE_LABEL,
) -> str:
    """The movement between two snapshots in plain words (Markdown, segment names escaped):
    how many of the customers of the first snapshot moved up, slipped, moved sideways, left or
    stayed (shares of the customers of the first snapshot), the largest flow between two
    different segments (or out of the base), and how many customers were new.

    ``summary`` from :func:`migration_summary`, ``counts`` from :func:`transition_matrix`;
    ``before_date`` and ``after_date`` are the snapshots' dates (anything pandas reads).
    """
    s = summary.reindex(list(MOVEMENTS), fill_value=0).astype(int)
    d0, d1 = _date(before_date), _date(after_date)
    base = int(s.drop("new").sum())
    if base == 0:
        return f"No customer was buying on {d0}; all {int(s['new']):,} customers on {d1} are new since then."

    def part(k: int) -> str:
        return f"{k:,} ({100 * k / base:.1f} %)"

    clauses = [f"{part(int(s['upgraded']))} moved to a better segment by {d1}", f"{part(int(s['slipped']))} slipped"]
    if s["sideways"]:
        clauses.append(f"{part(int(s['sideways']))} moved to another segment of the same rank")
    if s["gone"]:
        gone = int(s["gone"])
        clauses.append(f"{part(gone)} {'were no longer customers' if gone != 1 else 'was no longer a customer'}")
    text = f"Of the {base:,} customers already buying on {d0}, " + _join(clauses)
    text += f"; {part(int(s['unchanged']))} stayed in the same segment."
    flows = counts.drop(index=[new_label], errors="ignore")
    best, best_from, best_to = 0, None, None
    for seg_from in flows.index:
        for seg_to in flows.columns:
            k = int(flows.loc[seg_from, seg_to])
            if seg_from != seg_to and k > best:
                best, best_from, best_to = k, seg_from, seg_to
    if best_from is not None:
        target = "out of the customer base" if best_to == gone_label else f"to {esc(best_to)}"
        text += f" The largest flow was {best:,} from {esc(best_from)} {target}."
    if s["new"]:
        text += f" {int(s['new']):,} customer{'s were' if s['new'] != 1 else ' was'} new since {d0}."
    return text


def _join(clauses: list[str]) -> str:
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]


def _date(value) -> str:
    try:
        return pd.Timestamp(value).date().isoformat()
    except (TypeError, ValueError):
        return esc(value)
