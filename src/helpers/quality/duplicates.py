"""Exact duplicate rows: counted wherever they change a result, dropped only when asked.

A row repeated in every column is usually an export that ran twice or a join that fanned out,
not a second purchase or a second answer; left in, it doubles what it touches (a customer's
spend, a segment's size, a score's weight). :func:`exact_duplicates` takes a loaded Ibis table
and returns how many rows repeat an earlier row exactly and the table with those repeats
removed, so an analysis (CLV, RFM, survey responses) can report the count and, when its
``drop_duplicates`` option is set, go on with the de-duplicated table. Ibis expressions only
(portable to Spark).
"""

from __future__ import annotations

from typing import NamedTuple

import ibis
import pandas as pd

from helpers.core.engine import portable

_EXAMPLE = {"customer_id": "string", "date": "date", "amount": "float64", "quantity": "int64"}


class Duplicates(NamedTuple):
    """``count``: rows identical in every column to an earlier row; ``rows``: rows in the input;
    ``table``: the input with each distinct row once (the input itself when nothing repeats)."""

    count: int
    rows: int
    table: ibis.Table


@portable(_EXAMPLE)
def duplicate_rows_expr(table: ibis.Table) -> ibis.Table:
    """One row: ``duplicates`` (rows identical in every column to an earlier row) and ``rows``."""
    groups = table.group_by(table.columns).aggregate(n=table.count())
    return groups.aggregate(duplicates=(groups.n - 1).sum(), rows=groups.n.sum())


def _counts(table: ibis.Table) -> tuple[int, int]:
    row = duplicate_rows_expr(table).execute().iloc[0]
    return tuple(0 if pd.isna(row[k]) else int(row[k]) for k in ("duplicates", "rows"))


def duplicate_rows(table: ibis.Table) -> int:
    """How many rows repeat an earlier row in every column (0 for an empty table)."""
    return _counts(table)[0]


def exact_duplicates(table: ibis.Table) -> Duplicates:
    """The count of exact duplicate rows in ``table``, its row count, and ``table`` without them."""
    count, rows = _counts(table)
    return Duplicates(count, rows, table.distinct() if count else table)
