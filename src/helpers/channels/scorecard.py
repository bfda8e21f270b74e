"""The acquisition-channel scorecard: what each channel's customers cost, buy, keep buying and are worth.

One row per acquisition channel of the customer table (``ChannelScorecard(...).fit(customers,
transactions, costs)``), ranked best first by **net value per acquired customer**
(``value_per_customer - cac``); channels without costs come after those with costs, ranked by
value per customer; ties and unknown values last, then by name.

Conventions (purchases as in :mod:`helpers.clv.data`):
- A customer row is a *lead*. ``as_of`` is the snapshot day: only rows dated before it count;
  default the day after the last transaction. Leads signed up on or after ``as_of`` without a
  purchase before it are left out (counted in ``unattributed_["leads_after_as_of"]``).
- A *purchase* is a customer-day with orders of amount >= 0 (same-day orders are one purchase).
  Negative amounts are returns: not purchases, not revenue; they are counted.
- ``customers``: leads with at least one purchase before ``as_of``; ``conversion_rate`` =
  customers / leads; ``orders`` = purchase days; ``aov`` = revenue / orders; ``repeat_rate`` =
  share of customers with >= 2 purchase days; ``revenue`` = spend of the purchases (currency).
- ``retention_<N>d``: among customers whose first purchase is at least N days before ``as_of``
  (the eligible ones), the share with a purchase N days or more after their first purchase;
  missing when no customer is eligible. Per customer ``retained_<N>d`` is NA when not eligible.
- ``cost``: the channel's marketing cost in the sign-up window (see below); missing when the
  channel has no cost row. ``cac`` = cost / customers; ``roas`` = revenue / cost and ``roi`` =
  (revenue - cost) / cost (past revenue only, missing when the cost is 0).
- ``clv_mean``: mean predicted CLV of the channel's customers over the next ``horizon_months``
  (:func:`helpers.segmentation.value.predicted_clv`); ``value_per_customer`` = revenue per
  customer + ``clv_mean`` (past plus predicted); when the CLV models cannot be fitted,
  ``clv_mean`` is missing, value per customer is past revenue only, and a note says so. One model
  is fitted to all customers: each customer is predicted from their own purchases, but the
  population parameters are shared, which pulls channels of short-lived customers toward the
  average (their predicted value is optimistic).
- Channels are matched between the tables ignoring case and surrounding spaces; a channel is
  shown with its most frequent spelling in the customer table.
- **Cost window**: with ``cost_window="signups"`` (default) a cost row counts when its period
  start is before ``as_of`` and not before the start of the period holding the first sign-up
  (the last cost date, of any channel, on or before it; a cost period runs until the next cost
  date). The first sign-up is the earliest ``signup_date`` (the first purchase where the
  sign-up date is missing). Rows outside are
  left out and reported (``unattributed_["cost_outside_window"]``). ``cost_window="all"`` counts
  every cost row. Cost rows of channels no lead came through are reported, not attributed.
Nothing is dropped silently: ``unattributed_`` holds every count that is not in a channel row, so
leads, revenue and costs add up to the inputs' totals. The order of the rows of the inputs does not
matter, to the last digit: leads and their purchases are joined and summed in customer-id order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import chi2_contingency

from helpers.channels import narrative
from helpers.clv.data import MONEY_DECIMALS, purchase_days_expr
from helpers.reporting.text import esc
from helpers.segmentation.value import predicted_clv

__all__ = ["ALPHA", "COST_WINDOWS", "RETENTION_DAYS", "ChannelScorecard", "chi_square_test"]

RETENTION_DAYS = (90, 180, 365)
COST_WINDOWS = ("signups", "all")
ALPHA = 0.05  # significance level of the chi-square tests
SIGNUP_COL = "signup_date"
_COSTS = ("channel", "date", "cost")


def _missing(frame_cols, needed, what: str) -> None:
    missing = [c for c in needed if c not in frame_cols]
    if missing:
        raise ValueError(f"{what} has no column {', '.join(map(repr, missing))} (columns: {list(frame_cols)})")


def _table(transactions):
    import ibis

    return ibis.memtable(transactions) if isinstance(transactions, pd.DataFrame) else transactions


def _arrow(values: pd.Series) -> pa.Array:
    """A text column as one Arrow string array (no copy for pandas' Arrow-backed strings)."""
    arr = pa.array(values.astype("string"), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Where each of ``values`` is in ``keys`` (unique): its row number, -1 when absent (an Arrow
    hash look-up; ``Series.map`` over millions of strings takes seconds)."""
    pos = pc.index_in(_arrow(values), value_set=_arrow(keys))
    return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _key(labels: pd.Series) -> pd.Series:
    """Channel labels compared ignoring case and spaces around them; blank is missing."""
    s = labels.astype("string").str.strip()
    return s.where(s != "").str.casefold()


def chi_square_test(table: pd.DataFrame | np.ndarray, metric: str, alpha: float = ALPHA) -> dict:
    """Chi-square test of independence on a channels x (yes, no) count table
    (``scipy.stats.chi2_contingency``, Yates' correction when dof = 1); rows or columns with no
    count are dropped first; NaN results when fewer than 2 rows and 2 columns remain."""
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0] if t.size else t
    if t.ndim != 2 or min(t.shape) < 2:
        return dict(metric=metric, chi2=np.nan, dof=np.nan, p_value=np.nan, significant=False)
    res = chi2_contingency(t)
    p = float(res.pvalue)
    return dict(metric=metric, chi2=float(res.statistic), dof=int(res.dof), p_value=p, significant=bool(p < alpha))


def _n(count: int, word: str) -> str:
    """``1 lead``, ``2 leads``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class ChannelScorecard:
    """Per acquisition channel: leads, conversion, CAC, orders, AOV, repeat and retention rates,
    revenue, ROAS/ROI, predicted CLV and net value per customer (see the module doc).

    Parameters: ``as_of`` (snapshot day; default the day after the last transaction),
    ``retention_days`` (windows in days), ``horizon_months`` (predicted CLV), ``channel_col`` (of
    the customer table), ``min_customers`` (channels with fewer customers are flagged and left
    out of the sentences' comparisons), ``cost_window`` (``"signups"`` or ``"all"``).

    Learned: ``as_of_``, ``table_``, ``totals_``, ``customers_``, ``unattributed_``, ``tests_``,
    ``notes_``, ``clv_model_``."""

    def __init__(
        self,
        as_of=None,
        retention_days=RETENTION_DAYS,
        horizon_months=12,
        channel_col="acquisition_channel",
        min_customers=30,
        cost_window="signups",
    ):
        self.as_of = as_of
        self.retention_days = retention_days
        self.horizon_months = horizon_months
        self.channel_col = channel_col
        self.min_customers = min_customers
        self.cost_window = cost_window

    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> tuple[int, ...]:
        days = tuple(self.retention_days)
        bad = [d for d in days if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1]
        if bad or not days:
            raise ValueError(f"retention_days must be positive whole days, got {bad or days}")
        if not (isinstance(self.horizon_months, (int, np.integer)) and self.horizon_months >= 1):
            raise ValueError(f"horizon_months must be a whole number >= 1, got {self.horizon_months!r}")
        if not (isinstance(self.min_customers, (int, np.integer)) and self.min_customers >= 0):
            raise ValueError(f"min_customers must be a whole number >= 0, got {self.min_customers!r}")
        if self.cost_window not in COST_WINDOWS:
            raise ValueError(f"cost_window must be one of {COST_WINDOWS}, got {self.cost_window!r}")
        return tuple(sorted({int(d) for d in days}))

    def fit(
        self,
        customers: pd.DataFrame,
        transactions,
        costs: pd.DataFrame | None = None,
        customer_col="customer_id",
        date_col="date",
        amount_col="amount",
    ) -> ChannelScorecard:
        """``customers``: one row per lead (pandas); ``transactions``: the log (an Ibis table, or
        pandas); ``costs``: ``channel, date, cost`` rows (pandas) or None."""
        self._days = self._check_params()
        self.notes_: list[str] = []
        leads = self._leads(customers, customer_col)
        table = _table(transactions)
        _missing(table.columns, (customer_col, date_col, amount_col), "The transactions table")
        cols = dict(customer_col=customer_col, date_col=date_col, amount_col=amount_col)
        per, log = self._activity(table, **cols)
        c = self._customers(leads, per, log)
        self._clv(table, c, cols)
        cost = self._costs(costs, c)
        self._table(c, cost)
        self._tests(c[c["channel"].notna()])
        return self

    # --- inputs --------------------------------------------------------------------------------
    def _leads(self, customers: pd.DataFrame, customer_col: str) -> pd.DataFrame:
        """One row per lead, in customer-id order: ``customer_id``, ``kcode`` (position of its channel
        key in ``_labels``; -1: none) and ``signup``. Channel spellings are resolved once per distinct
        value, not per lead."""
        _missing(customers.columns, (customer_col, self.channel_col), "The customer table")
        ids = customers[customer_col]
        if ids.isna().any():
            rows = np.flatnonzero(ids.isna().to_numpy())[:5].tolist()
            raise ValueError(f"The customer table's {customer_col!r} is missing in rows {rows}")
        ids = ids.astype("string")
        arr = _arrow(ids)
        order = pc.sort_indices(arr).to_numpy()
        in_order = arr.take(order)
        if len(ids) > 1 and pc.any(pc.equal(in_order[1:], in_order[:-1])).as_py():
            dup = ids[ids.duplicated()].unique()
            raise ValueError(f"The customer table's {customer_col!r} repeats ids, e.g. {dup[:5].tolist()}")
        codes, uniques = pd.factorize(customers[self.channel_col].astype("string"))
        spelt = pd.Series(uniques, dtype="string")
        key_u = _key(spelt)
        if key_u.isna().all():
            raise ValueError(f"No customer row has a value in {self.channel_col!r}: there is no channel to score")
        # the most frequent spelling of each key; ties: the spelling seen first (as value_counts)
        spellings = pd.DataFrame(
            {
                "key": key_u.to_numpy(),
                "label": spelt.str.strip().to_numpy(),
                "n": np.bincount(codes[codes >= 0], minlength=len(spelt)),
                "first": np.arange(len(spelt)),
            }
        ).dropna(subset=["key"])
        per_label = spellings.groupby(["key", "label"], sort=False).agg(n=("n", "sum"), first=("first", "min"))
        best = per_label.reset_index().sort_values(["key", "n", "first"], ascending=[True, False, True], kind="stable")
        self._labels = best.drop_duplicates("key").set_index("key")["label"]
        self._spelling = pd.array(self._labels.to_numpy(), dtype="string")  # by key code
        kcode_u = self._labels.index.get_indexer(key_u.to_numpy())
        kcode = np.where(codes >= 0, kcode_u[np.maximum(codes, 0)], -1)
        if SIGNUP_COL in customers.columns:
            signup = pd.to_datetime(customers[SIGNUP_COL], errors="coerce")
        else:
            signup = pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
            self.notes_.append(f"The customer table has no {SIGNUP_COL!r}: every lead counts, dated or not.")
        leads = pd.DataFrame(
            {"customer_id": ids.to_numpy(), "kcode": kcode.astype(np.int64), "signup": signup.to_numpy()}
        )
        return leads.astype({"customer_id": "string", "signup": "datetime64[ns]"}).take(order).reset_index(drop=True)

    def _activity(self, table, customer_col, date_col, amount_col) -> tuple[pd.DataFrame, dict]:
        """Per-customer purchases and rows before ``as_of`` (two aggregations on the engine)."""
        import ibis

        d = table[date_col].cast("date")
        given = None if self.as_of is None else pd.Timestamp(self.as_of).normalize()
        extra = {} if given is None else {"rows_after": (d >= ibis.date(given.date().isoformat())).cast("int64").sum()}
        head = table.aggregate(rows=table.count(), last_date=d.max(), **extra).execute().iloc[0]
        if pd.isna(head["last_date"]):
            raise ValueError(f"The transactions table has no dated rows in {date_col!r}: there is nothing to score")
        self.as_of_ = given if given is not None else pd.Timestamp(head["last_date"]) + pd.Timedelta(days=1)
        cut = ibis.date(self.as_of_.date().isoformat())
        before = table.filter(d < cut)
        days = purchase_days_expr(before, customer_col, date_col, amount_col)
        bought = days.group_by("customer_id").aggregate(
            first_purchase=days.date.min(),
            last_purchase=days.date.max(),
            purchase_days=days.count(),
            revenue=days.amount.sum(),
        )
        b = before[amount_col]
        rows = before.group_by(customer_id=before[customer_col].cast("string")).aggregate(
            rows=before.count(), return_rows=(b < 0).cast("int64").sum(), returns=b.sum(where=b < 0)
        )
        per = rows.to_pyarrow().to_pandas().merge(bought.to_pyarrow().to_pandas(), on="customer_id", how="left")
        per["customer_id"] = per["customer_id"].astype("string")
        # in customer-id order: the engine's rows come in any order, and the sums below must not depend on it
        per = per.take(pc.sort_indices(_arrow(per["customer_id"])).to_numpy()).reset_index(drop=True)
        per["purchase_days"] = per["purchase_days"].fillna(0).astype("int64")
        for col in ("revenue", "returns"):
            per[col] = per[col].fillna(0.0).astype(float).round(MONEY_DECIMALS)
        for col in ("first_purchase", "last_purchase"):
            per[col] = pd.to_datetime(per[col]).astype("datetime64[ns]")
        log = {
            "rows_after_as_of": int(head.get("rows_after", 0) or 0),
            "return_rows": int(per["return_rows"].sum()),
            "returns": float(-per["returns"].sum()),
            "purchases": float(per["revenue"].sum()),
        }
        return per, log

    def _customers(self, leads: pd.DataFrame, per: pd.DataFrame, log: dict) -> pd.DataFrame:
        """Leads (in customer-id order) joined with their purchases (``per``, one row per customer, in
        customer-id order) by an Arrow hash look-up; purchases of ids that are not leads are counted,
        not kept."""
        c = leads.copy()
        pos = _positions(c["customer_id"], per["customer_id"])  # each lead's row in per, -1: no row
        bought = pos >= 0
        lead_rows = np.zeros(len(per), dtype=bool)
        lead_rows[pos[bought]] = True
        unknown = per[~lead_rows]
        src = pos[bought]
        c["purchase_days"] = np.zeros(len(c), dtype=np.int64)
        c.loc[bought, "purchase_days"] = per["purchase_days"].to_numpy()[src]
        c["revenue"] = np.zeros(len(c))
        c.loc[bought, "revenue"] = per["revenue"].to_numpy(dtype=float)[src]
        for col in ("first_purchase", "last_purchase"):
            when = np.full(len(c), np.datetime64("NaT"), dtype="datetime64[ns]")
            when[bought] = per[col].to_numpy(dtype="datetime64[ns]")[src]
            c[col] = when
        late = (c["signup"] >= self.as_of_) & (c["purchase_days"] == 0)
        c = c[~late].reset_index(drop=True)
        kcode = c["kcode"].to_numpy()
        self._labels = self._labels.iloc[np.unique(kcode[kcode >= 0])]
        if self._labels.empty:
            raise ValueError(
                f"No lead with a {self.channel_col!r} signed up or bought before as_of ({self.as_of_.date()}): "
                "there is no channel to score"
            )
        c["channel"] = self._spelling.take(kcode, allow_fill=True)
        out = pd.DataFrame(
            {
                "customer_id": c["customer_id"],
                "channel": c["channel"],
                "signup": c["signup"],
                "first_purchase": c["first_purchase"],
                "purchase_days": c["purchase_days"],
                "revenue": c["revenue"],
            }
        )
        age = (self.as_of_ - out["first_purchase"]).dt.days
        span = (c["last_purchase"] - c["first_purchase"]).dt.days
        for n in self._days:
            flag = pd.array(span >= n, dtype="boolean")
            flag[~(age >= n).to_numpy()] = pd.NA
            out[f"retained_{n}d"] = flag
        no_channel = out["channel"].isna()
        self.unattributed_ = {
            "leads_without_channel": int(no_channel.sum()),
            "customers_without_channel": int((no_channel & (out["purchase_days"] > 0)).sum()),
            "revenue_without_channel": float(out.loc[no_channel, "revenue"].sum()),
            "leads_after_as_of": int(late.sum()),
            "unknown_customers": len(unknown),
            "unknown_customer_rows": int(unknown["rows"].sum()),
            "unknown_customer_revenue": float(unknown["revenue"].sum()),
            **log,
        }
        u = self.unattributed_
        if u["leads_without_channel"]:
            self.notes_.append(
                f"Without {self.channel_col}: {_n(u['leads_without_channel'], 'lead')} "
                f"({_n(u['customers_without_channel'], 'customer')}, revenue {u['revenue_without_channel']:,.2f}), "
                "in no channel row."
            )
        if u["unknown_customers"]:
            self.notes_.append(
                f"Not in the customer table: {_n(u['unknown_customers'], 'customer')} with "
                f"{_n(u['unknown_customer_rows'], 'transaction')} (purchases {u['unknown_customer_revenue']:,.2f}), "
                "in no channel row."
            )
        if u["leads_after_as_of"]:
            self.notes_.append(
                f"Signed up on or after {self.as_of_.date()}: {_n(u['leads_after_as_of'], 'lead')}, left out."
            )
        if u["return_rows"]:
            self.notes_.append(
                f"Returns: {_n(u['return_rows'], 'row')} totalling {u['returns']:,.2f}, not purchases and not revenue."
            )
        if u["rows_after_as_of"]:
            self.notes_.append(
                f"Dated on or after {self.as_of_.date()}: {_n(u['rows_after_as_of'], 'transaction')}, left out."
            )
        return out

    def _clv(self, table, c: pd.DataFrame, cols: dict) -> None:
        try:
            res = predicted_clv(table, self.as_of_, int(self.horizon_months), **cols)
            reason = res.reason.split(": ", 1)[-1].rstrip(" .\\")
        except (ArithmeticError, RuntimeError, np.linalg.LinAlgError) as exc:  # a fit that breaks down
            res, reason = None, esc(exc)
        self.clv_model_ = res.model if res is not None and res.available else ""
        if res is None or not res.available:
            c["clv"] = np.nan
            self.notes_.append(f"Predicted CLV is not available ({reason}); value per customer is past revenue only.")
            return
        pos = _positions(c["customer_id"], res.clv["customer_id"].astype("string"))
        values = res.clv["predicted_clv"].to_numpy(dtype=float)
        c["clv"] = np.where(pos >= 0, values[np.maximum(pos, 0)] if len(values) else np.nan, np.nan)
        if res.reason:
            self.notes_.append(f"Predicted CLV: {res.reason}")

    def _costs(self, costs: pd.DataFrame | None, c: pd.DataFrame) -> pd.Series:
        """Cost per channel in the window (NaN: no cost row); fills the cost counts of
        ``unattributed_``."""
        u = self.unattributed_
        u.update(cost_total=0.0, cost_rows_without_customers=0, cost_without_customers=0.0)
        u.update(channels_without_customers=[], cost_rows_outside_window=0, cost_outside_window=0.0)
        if costs is None:
            self.notes_.append("No costs were given: CAC, ROAS, ROI and net value are unknown.")
            return pd.Series(dtype=float)
        _missing(costs.columns, _COSTS, "The costs table")
        amount = pd.to_numeric(costs["cost"], errors="coerce")
        bad = costs.index[amount.isna() | (amount < 0)]
        if len(bad):
            raise ValueError(f"The costs table's 'cost' must be a number >= 0; rows {bad[:5].tolist()} are not")
        when = pd.to_datetime(costs["date"], errors="coerce")
        if when.isna().any():
            raise ValueError(
                f"The costs table's 'date' is missing or not a date in rows {costs.index[when.isna()][:5].tolist()}"
            )
        key = _key(costs["channel"])
        matched = key.isin(self._labels.index)
        u["cost_total"] = float(amount.sum())
        u["cost_rows_without_customers"] = int((~matched).sum())
        u["cost_without_customers"] = float(amount[~matched].sum())
        u["channels_without_customers"] = sorted(
            costs.loc[~matched, "channel"].astype("string").fillna("(missing)").unique()
        )
        inside = pd.Series(True, index=costs.index)
        if self.cost_window == "signups":
            start = c["signup"].fillna(c["first_purchase"]).min()
            inside = when < self.as_of_
            if pd.notna(start) and (when <= start).any():
                inside &= when >= when[when <= start].max()
        out = matched & ~inside
        u["cost_rows_outside_window"] = int(out.sum())
        u["cost_outside_window"] = float(amount[out].sum())
        if u["cost_rows_without_customers"]:
            self.notes_.append(
                "Costs of channels no lead came through "
                f"({', '.join(esc(x) for x in u['channels_without_customers'])}): "
                f"{_n(u['cost_rows_without_customers'], 'row')}, {u['cost_without_customers']:,.2f}, not attributed."
            )
        if u["cost_rows_outside_window"]:
            self.notes_.append(
                "Costs outside the sign-up window (before the period of the first sign-up, or on or after "
                f"{self.as_of_.date()}): {_n(u['cost_rows_outside_window'], 'row')}, "
                f"{u['cost_outside_window']:,.2f}, left out."
            )
        keep = matched & inside
        by_key = amount[keep].groupby(key[keep]).sum()
        has_rows = key[matched].unique()
        return pd.Series({self._labels[k]: float(by_key.get(k, 0.0)) for k in has_rows}, dtype=float)

    # --- the table -------------------------------------------------------------------------------
    def _row(self, c: pd.DataFrame, cost: float) -> dict:
        buyers = c[c["purchase_days"] > 0]
        n, leads = len(buyers), len(c)
        orders, revenue = int(buyers["purchase_days"].sum()), float(buyers["revenue"].sum())
        rpc = revenue / n if n else np.nan
        clv_mean = float(buyers["clv"].mean()) if n and buyers["clv"].notna().any() else np.nan
        value = rpc + (clv_mean if not np.isnan(clv_mean) else 0.0) if n else np.nan
        cac = cost / n if n and not np.isnan(cost) else np.nan
        paid = cost > 0 if not np.isnan(cost) else False
        row = dict(
            leads=leads,
            customers=n,
            conversion_rate=n / leads if leads else np.nan,
            cost=cost,
            cac=cac,
            orders=orders,
            aov=revenue / orders if orders else np.nan,
            repeat_rate=float((buyers["purchase_days"] >= 2).mean()) if n else np.nan,
        )
        for d in self._days:
            flags = buyers[f"retained_{d}d"].dropna()
            row[f"retention_{d}d"] = float(flags.astype(bool).mean()) if len(flags) else np.nan
        row.update(
            revenue=revenue,
            revenue_per_customer=rpc,
            roas=revenue / cost if paid else np.nan,
            roi=(revenue - cost) / cost if paid else np.nan,
            clv_mean=clv_mean,
            value_per_customer=value,
            net_value_per_customer=value - cac,
        )
        return row

    def _table(self, c: pd.DataFrame, cost: pd.Series) -> None:
        self.customers_ = c
        att = c[c["channel"].notna()]
        rows = [
            {"channel": ch, **self._row(g, float(cost.get(ch, np.nan)))} for ch, g in att.groupby("channel", sort=True)
        ]
        t = pd.DataFrame(rows)
        costed = t["cac"].notna()
        score = t["net_value_per_customer"].where(costed, t["value_per_customer"])
        t = t.assign(_g=(~costed).astype(int), _s=-score.fillna(-np.inf))
        t = t.sort_values(["_g", "_s", "channel"], ignore_index=True).drop(columns=["_g", "_s"])
        t["channel"] = t["channel"].astype("string")
        self.table_ = t
        with_cost = t.loc[t["cost"].notna(), "channel"]
        total_cost = float(cost.sum()) if len(with_cost) else np.nan
        totals = self._row(att, total_cost)
        if len(with_cost) and len(with_cost) < len(t):  # cost ratios over the channels with costs only
            sub = self._row(att[att["channel"].isin(with_cost)], total_cost)
            totals.update({k: sub[k] for k in ("cac", "roas", "roi")})
            totals["net_value_per_customer"] = totals["value_per_customer"] - sub["cac"]
            self.notes_.append(
                f"Total CAC, ROAS and ROI cover only the channels with costs ({', '.join(esc(x) for x in with_cost)})."
            )
        self.totals_ = {"channel": "all channels", **totals}
        no_cost = t.loc[t["cost"].isna(), "channel"].tolist()
        if no_cost and len(with_cost):
            self.notes_.append(
                f"No cost rows for {', '.join(esc(x) for x in no_cost)}: CAC and net value are unknown; "
                "they are ranked after the channels with costs, by value per customer."
            )
        zero = t.loc[t["customers"] == 0, "channel"].tolist()
        if zero:
            self.notes_.append(f"{', '.join(esc(x) for x in zero)} acquired no customer: CAC is undefined.")
        small = t.loc[(t["customers"] < self.min_customers) & (t["customers"] > 0), "channel"].tolist()
        if small:
            self.notes_.append(
                f"{', '.join(esc(x) for x in small)} {'has' if len(small) == 1 else 'have'} fewer than "
                f"{self.min_customers} customers: {'its' if len(small) == 1 else 'their'} rates are uncertain."
            )

    def _tests(self, att: pd.DataFrame) -> None:
        t = self.table_
        conv = np.column_stack([t["customers"], t["leads"] - t["customers"]])
        buyers = att[att["purchase_days"] > 0]
        rep = buyers.groupby("channel")["purchase_days"].agg(lambda s: int((s >= 2).sum())).reindex(t["channel"])
        repeat = np.column_stack([rep.fillna(0), t["customers"] - rep.fillna(0).to_numpy()])
        self.tests_ = pd.DataFrame(
            [chi_square_test(conv, "conversion_rate"), chi_square_test(repeat, "repeat_rate")],
            columns=["metric", "chi2", "dof", "p_value", "significant"],
        )
        if self.tests_["p_value"].isna().any():
            self.notes_.append("A chi-square test needs two channels and both outcomes; where missing it is not run.")

    # --- outputs ---------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "table_"):
            raise ValueError("The scorecard is not fitted: call fit(customers, transactions, costs) first.")

    def summary(self) -> pd.DataFrame:
        """``table_`` for a report: money to cents, rates and ratios to 4 decimals, ranked from 1."""
        self._check_fitted()
        t = self.table_.copy()
        money = ["cost", "cac", "aov", "revenue", "revenue_per_customer", "clv_mean", "value_per_customer"]
        money.append("net_value_per_customer")
        rest = [c for c in t.columns if c not in money and t[c].dtype.kind == "f"]
        t[money] = t[money].round(2)
        t[rest] = t[rest].round(4)
        t.index = pd.RangeIndex(1, len(t) + 1, name="rank")
        return t

    def cost_benefit(self) -> pd.DataFrame:
        """``channel, cac, value_per_customer, customers``: cost against value per acquired customer
        (a bubble chart, bubbles sized by customers), in ranking order."""
        self._check_fitted()
        return self.table_[["channel", "cac", "value_per_customer", "customers"]].copy()

    def _compared(self) -> tuple[pd.DataFrame, str]:
        """The channels the sentences compare: those with ``min_customers`` customers, or all
        with customers when none has that many."""
        t = self.table_[self.table_["customers"] > 0]
        big = t[t["customers"] >= self.min_customers]
        if len(big) and len(big) < len(t):
            return big, f" (channels with fewer than {self.min_customers} customers are not compared)"
        return t, ""

    def sentences(self, currency: str = "$") -> dict[str, str]:
        """Plain sentences computed from the numbers: ``ranking``, ``cost_benefit``, ``retention``
        and ``tests`` (the chi-square tests); see :mod:`helpers.channels.narrative`."""
        self._check_fitted()
        t, aside = self._compared()
        costed = t[t["cac"].notna()]
        return {
            "ranking": narrative.scorecard_ranking(t, costed, aside, currency),
            "cost_benefit": narrative.scorecard_cost_benefit(costed, aside, currency),
            "retention": narrative.scorecard_retention(t, self._days, self.as_of_, aside),
            "tests": narrative.scorecard_tests(self.tests_),
        }
