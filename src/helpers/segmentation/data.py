"""From a transaction log to one RFM row per customer (Ibis, portable across engines).

Conventions, shared with the CLV summary (:mod:`helpers.clv.data`):
- A *purchase* is a customer-day with at least one order of amount >= 0: several orders on one
  day are one purchase, their amounts summed (:func:`helpers.clv.data.purchase_days_expr`).
- Rows with a negative amount (returns, refunds) are not purchases: they are left out of
  recency, frequency and monetary, and counted.
- The snapshot date ``as_of`` is the day the segments are drawn up: purchases made *before* it
  count; rows dated on or after it are later than the snapshot and are left out (counted).
  The default ``as_of`` is the day after the last row, so every row counts.
- ``recency_days``: days from the customer's last purchase to ``as_of`` (at least 1).
- ``frequency``: purchase days before ``as_of`` (at least 1: the first purchase counts).
- ``monetary``: total spend of those purchases, in the data's currency (zero-value orders
  count as purchases with no spend).
- ``tenure_days``: days from the first purchase to ``as_of``.
Customers whose only rows before ``as_of`` are returns have no purchase and no RFM row; they are
counted (``customers_without_purchase``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.clv.data import MONEY_DECIMALS, TX_SCHEMA, purchase_days_expr
from helpers.core.engine import portable

RFM_DTYPES = {
    "customer_id": "string",
    "recency_days": "int64",
    "frequency": "int64",
    "monetary": "float64",
    "tenure_days": "int64",
    "first_purchase": "datetime64[ns]",
    "last_purchase": "datetime64[ns]",
}


def _as_of_date(table: ibis.Table, as_of, date_col: str):
    if as_of is not None:
        return ibis.date(pd.Timestamp(as_of).date().isoformat())
    return (table[date_col].cast("date").max() + ibis.interval(days=1)).as_scalar()


@portable(TX_SCHEMA)
def rfm_expr(
    table: ibis.Table,
    as_of: str | date | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> ibis.Table:
    """Per customer ``recency_days, frequency, monetary, tenure_days, first_purchase,
    last_purchase`` at ``as_of`` (see the module doc); ``as_of`` defaults to the day after the
    last row of the log."""
    cut = _as_of_date(table, as_of, date_col)
    before = table.filter(table[date_col].cast("date") < cut)
    days = purchase_days_expr(before, customer_col, date_col, amount_col)
    per = days.group_by("customer_id").aggregate(
        first_purchase=days.date.min(),
        last_purchase=days.date.max(),
        frequency=days.count(),
        monetary=days.amount.sum(),
    )
    return per.select(
        customer_id=per.customer_id,
        recency_days=cut.delta(per.last_purchase, unit="day").cast("int64"),
        frequency=per.frequency.cast("int64"),
        monetary=per.monetary.cast("float64"),
        tenure_days=cut.delta(per.first_purchase, unit="day").cast("int64"),
        first_purchase=per.first_purchase,
        last_purchase=per.last_purchase,
    )


@portable(TX_SCHEMA)
def rfm_checks_expr(
    table: ibis.Table,
    as_of: str | date | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> ibis.Table:
    """One row of counts about the snapshot: rows, rows on or after ``as_of``, returns before it
    (rows and total), the dates of the log and the snapshot date (one scan, no distinct count)."""
    d = table[date_col].cast("date")
    amount = table[amount_col]
    if as_of is None:  # the day after the last row: every row is before it
        cut = d.max() + ibis.interval(days=1)
        before = d.notnull() | d.isnull()
    else:
        cut = _as_of_date(table, as_of, date_col)
        before = d < cut
    return table.aggregate(
        rows=table.count(),
        rows_after_as_of=(~before).cast("int64").sum(),
        negative_rows=((amount < 0) & before).cast("int64").sum(),
        negative_amount=amount.sum(where=(amount < 0) & before),
        zero_rows=((amount == 0) & before).cast("int64").sum(),
        first_date=d.min(),
        last_date=d.max(),
        as_of=cut,
    )


@dataclass
class RFMResult:
    """The RFM table at one snapshot and what was left out on the way."""

    rfm: pd.DataFrame
    as_of: pd.Timestamp
    rows: int
    rows_after_as_of: int
    negative_rows: int
    negative_amount: float
    zero_rows: int
    customers_in_log: int  # customers with a row before the snapshot
    first_date: pd.Timestamp
    last_date: pd.Timestamp

    @property
    def customers_without_purchase(self) -> int:
        """Customers with rows before ``as_of`` but no purchase (only returns)."""
        return self.customers_in_log - len(self.rfm)

    def describe_exclusions(self) -> str:
        """The stated rules for returns, zero-value orders and later rows, with the counts."""
        parts = []
        if self.negative_rows:
            parts.append(
                f"{self.negative_rows:,} rows with a negative amount (returns totalling "
                f"{-self.negative_amount:,.2f}) are not purchases and are left out of recency, frequency and spend."
            )
        if self.customers_without_purchase:
            parts.append(
                f"{self.customers_without_purchase:,} customers have only returns before the snapshot and are not segmented."
            )
        if self.zero_rows:
            parts.append(f"{self.zero_rows:,} zero-value orders count as purchases with no spend.")
        if self.rows_after_as_of:
            parts.append(
                f"{self.rows_after_as_of:,} rows dated on or after the snapshot date ({self.as_of.date()}) are later "
                "than the snapshot and are left out."
            )
        return " ".join(parts) or "No returns, zero-value orders or rows after the snapshot date were found."


def rfm_table(
    table: ibis.Table,
    as_of=None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> RFMResult:
    """Run the RFM expressions on the table's engine; returns a small pandas table, one row per
    customer sorted by ``customer_id``, with money rounded to 1e-9 so that engines agree."""
    cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    checks = rfm_checks_expr(table, as_of, **cols).execute().iloc[0]
    if pd.isna(checks["as_of"]):
        raise ValueError("The transaction log has no dated rows: there is nothing to segment.")
    cut = pd.Timestamp(checks["as_of"])
    arrow = rfm_expr(table, cut, **cols).to_pyarrow()
    # customers whose only rows before the snapshot are returns: the returning customers without an
    # RFM row (a hash lookup in Arrow: pandas' isin on a million strings takes seconds)
    before = table.filter((table[date_col].cast("date") < ibis.date(cut.date().isoformat())) & (table[amount_col] < 0))
    returners = before.select(customer_id=before[customer_col].cast("string")).distinct().to_pyarrow()
    ids = arrow.column("customer_id").cast(pa.string())
    found = pc.sum(pc.is_in(returners.column("customer_id").cast(pa.string()), value_set=ids)).as_py()
    only_returns = len(returners) - int(found or 0)
    rfm = arrow.to_pandas().astype(RFM_DTYPES).sort_values("customer_id", ignore_index=True)
    rfm["monetary"] = rfm["monetary"].round(MONEY_DECIMALS)
    return RFMResult(
        rfm=rfm,
        as_of=cut,
        rows=int(checks["rows"]),
        rows_after_as_of=int(checks["rows_after_as_of"] or 0),
        negative_rows=int(checks["negative_rows"] or 0),
        negative_amount=float(checks["negative_amount"] or 0.0),
        zero_rows=int(checks["zero_rows"] or 0),
        customers_in_log=len(rfm) + only_returns,
        first_date=pd.Timestamp(checks["first_date"]),
        last_date=pd.Timestamp(checks["last_date"]),
    )
