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

import numpy as np
import pandas as pd

from helpers.reporting.text import esc

__all__ = [
    "GONE_LABEL",
    "MOVEMENTS",
    "NEW_LABEL",
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
    s = pd.Series(segments).dropna()
    if not s.index.is_unique:
        dup = s.index[s.index.duplicated()][:3].tolist()
        raise ValueError(f"{name}: a customer appears more than once (e.g. {dup})")
    return s


def _pair(before: pd.Series, after: pd.Series, new_label: str, gone_label: str) -> pd.DataFrame:
    """``segment_before`` and ``segment_after`` of every customer in either snapshot (the labels
    mark customers missing from one of them), indexed by customer id."""
    b, a = _snapshot(before, "before"), _snapshot(after, "after")
    both = pd.concat([b.rename("segment_before"), a.rename("segment_after")], axis=1, join="outer")
    both = both.astype(object)
    both["segment_before"] = both["segment_before"].where(both["segment_before"].notna(), new_label)
    both["segment_after"] = both["segment_after"].where(both["segment_after"].notna(), gone_label)
    return both


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
    both = _pair(before, after, new_label, gone_label)
    order = list(order)
    unknown = sorted(
        {str(v) for v in pd.unique(both[["segment_before", "segment_after"]].to_numpy().ravel())}
        - {str(v) for v in order}
        - {new_label, gone_label}
    )
    if unknown:
        raise ValueError(f"segments not in order: {unknown}")
    rows = order + ([new_label] if (both["segment_before"] == new_label).any() else [])
    cols = order + ([gone_label] if (both["segment_after"] == gone_label).any() else [])
    counts = (
        pd.crosstab(both["segment_before"], both["segment_after"])
        .reindex(index=rows, columns=cols, fill_value=0)
        .astype(np.int64)
    )
    counts.index.name, counts.columns.name = "segment_before", "segment_after"
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
    both = _pair(before, after, new_label, gone_label)
    segs = set(pd.unique(both["segment_before"])) | set(pd.unique(both["segment_after"]))
    missing = sorted(str(s) for s in segs - set(rank) - {new_label, gone_label})
    if missing:
        raise ValueError(f"no rank for segments {missing}")
    ranks = {**{k: float(v) for k, v in rank.items()}, new_label: np.nan, gone_label: np.nan}
    rb = both["segment_before"].map(ranks).astype(float)
    ra = both["segment_after"].map(ranks).astype(float)
    new = (both["segment_before"] == new_label).to_numpy()
    gone = (both["segment_after"] == gone_label).to_numpy()
    same = (both["segment_before"] == both["segment_after"]).to_numpy()
    move = np.select(
        [new, gone, same, (ra > rb).to_numpy(), (ra < rb).to_numpy()],
        ["new", "gone", "unchanged", "upgraded", "slipped"],
        default="sideways",
    )
    out = pd.DataFrame(
        {
            "customer_id": both.index.to_numpy(),
            "segment_before": both["segment_before"].to_numpy(),
            "segment_after": both["segment_after"].to_numpy(),
            "movement": pd.Categorical(move, categories=list(MOVEMENTS), ordered=True),
        }
    )
    out = out.sort_values(["movement", "customer_id"], kind="stable").reset_index(drop=True)
    out["movement"] = out["movement"].astype(str)
    return out


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
