"""A simulated customer table (the ``customers`` kind), alone or matching simulated transactions,
and a customer base made of known behavioural groups (:func:`generate_segmented_base`).

Ids are ``C0000001``... (the scheme of :mod:`helpers.clv.simulate`), so a customer table and a
transaction log of the same seed and size join on ``customer_id``. The attributes come from
their own random stream of the seed, so they do not share random numbers with the
transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.clv.simulate import generate_transactions
from helpers.core import simulate as sim
from helpers.core.io import jsonable
from helpers.core.simulate import SyntheticData

__all__ = ["DEFAULT_GROUPS", "generate_customer_base", "generate_customers", "generate_segmented_base"]

AGE_BAND_SHARES = {"18-24": 0.12, "25-34": 0.22, "35-44": 0.21, "45-54": 0.18, "55-64": 0.15, "65+": 0.12}
ACQUISITION_SHARES = {
    "search": 0.30, "social": 0.20, "referral": 0.15, "email": 0.10, "direct": 0.20, "affiliate": 0.05
}  # fmt: skip
GENDER_SHARES = {"female": 0.51, "male": 0.47, "other": 0.02}


def generate_customers(
    rows: int | None = None,
    *,
    n_customers: int | None = None,
    seed: int | None = 0,
    start: str = "2024-01-01",
    acquisition_weeks: int = 52,
    first_purchase_dates: Sequence | np.ndarray | pd.Series | None = None,
    signup_lag_mean_days: float = 7.0,
    region_shares: Mapping[str, float] | None = None,
    age_band_shares: Mapping[str, float] | None = None,
    acquisition_shares: Mapping[str, float] | None = None,
    gender_shares: Mapping[str, float] | None = None,
) -> SyntheticData:
    """A customer table: ``customer_id``, ``signup_date``, ``region``, ``age_band``,
    ``acquisition_channel``, ``gender``.

    Ids are ``C0000001``... (the same scheme as transactions). Attributes are independent draws
    with the shares in ``truth`` (defaults: region North .35 / South .30 / East .20 / West .15,
    six age bands 18-24 ... 65+, six acquisition channels, gender); they do not influence
    purchasing. ``signup_date`` is uniform over the acquisition window, or, when
    ``first_purchase_dates`` is given (one per customer), that date minus a Geometric lag of
    mean ``signup_lag_mean_days`` days, never before ``start``. The attributes depend only on
    the seed and the number of customers, not on ``first_purchase_dates``.
    """
    if first_purchase_dates is not None:
        first = pd.to_datetime(pd.Series(first_purchase_dates)).to_numpy().astype("datetime64[D]")
        n_from_dates = first.size
        if n_customers is None and rows is None:
            n_customers = n_from_dates
    if (rows is None) == (n_customers is None):
        raise ValueError("give exactly one of rows or n_customers")
    n = sim.check_rows(rows if rows is not None else n_customers, "rows")
    shares = {
        "region": sim.shares(region_shares, list(region_shares or sim.REGION_SHARES), sim.REGION_SHARES),
        "age_band": sim.shares(age_band_shares, list(age_band_shares or AGE_BAND_SHARES), AGE_BAND_SHARES),
        "acquisition_channel": sim.shares(
            acquisition_shares, list(acquisition_shares or ACQUISITION_SHARES), ACQUISITION_SHARES
        ),
        "gender": sim.shares(gender_shares, list(gender_shares or GENDER_SHARES), GENDER_SHARES),
    }
    rng = sim.rng(seed, sim.STREAM_CUSTOMERS)
    codes = {col: sim.choice(rng, s, n) for col, s in shares.items()}
    start_d = sim.day(start)
    if first_purchase_dates is None:
        signup_day = rng.integers(0, 7 * int(acquisition_weeks), size=n)
    else:
        if n_from_dates != n:
            raise ValueError(f"first_purchase_dates has {n_from_dates} dates for {n} customers")
        first_day = (first - start_d).astype(np.int64)
        lag = rng.geometric(1.0 / (1.0 + signup_lag_mean_days), size=n) - 1
        signup_day = first_day - np.minimum(lag, np.maximum(first_day, 0))
    frame = pd.DataFrame(
        {
            "customer_id": sim.str_series(sim.sequential_bytes("C", n, 7)),
            "signup_date": sim.dates(start_d, signup_day),
            **{col: sim.labels(codes[col], list(shares[col])) for col in shares},
        }
    )
    truth = jsonable(
        dict(
            n_customers=n,
            start=str(start_d),
            acquisition_weeks=int(acquisition_weeks),
            signup="first purchase minus lag" if first_purchase_dates is not None else "uniform over window",
            signup_lag_mean_days=signup_lag_mean_days if first_purchase_dates is not None else None,
            shares=shares,
        )
    )
    return SyntheticData("customers", frame, truth, {})


def generate_customer_base(
    rows: int | None = None, *, n_customers: int | None = None, seed: int | None = 0, **options: Any
) -> tuple[SyntheticData, SyntheticData]:
    """Transactions and a matching customer table: ``(transactions, customers)``.

    The transactions are exactly ``generate_transactions(rows, n_customers=..., seed=seed, ...)``;
    the customers share their ids and have a signup date on or shortly before each customer's
    first purchase. Options are passed to :func:`generate_transactions` except the customer
    ones (``signup_lag_mean_days`` and the ``*_shares`` of :func:`generate_customers`).
    """
    cust_keys = {"signup_lag_mean_days", "region_shares", "age_band_shares", "acquisition_shares", "gender_shares"}
    cust_opts = {k: options.pop(k) for k in list(options) if k in cust_keys}
    tx = generate_transactions(rows, n_customers=n_customers, seed=seed, **options)
    first = tx.details["customers"]["first_purchase_date"]
    customers = generate_customers(
        n_customers=len(first),
        seed=seed,
        start=tx.truth["start"],
        acquisition_weeks=tx.truth["acquisition_weeks"],
        first_purchase_dates=first,
        **cust_opts,
    )
    return tx, customers


# --------------------------------------------------------------------------------------------
# A customer base of known behavioural groups: for testing segmentation and profiling

#: The default groups of :func:`generate_segmented_base`, laid out for a 730-day window (day
#: ranges are scaled to other window lengths). Per group: ``share`` of customers;
#: ``purchase_days`` (min, max) purchases, uniform; ``last_purchase_days_ago`` (min, max) days
#: before ``end`` of the last purchase (0 = on ``end``); ``span_days`` (min, max) days from the
#: first to the last purchase (capped at the window); ``order_value`` the mean order value;
#: ``acquisition_shares`` and ``age_band_shares`` the group's attribute shares.
DEFAULT_GROUPS: dict[str, dict[str, Any]] = {
    "loyal": dict(
        share=0.20, purchase_days=(12, 30), last_purchase_days_ago=(0, 19), span_days=(450, 700), order_value=150.0,
        acquisition_shares={
            "search": 0.15, "social": 0.05, "referral": 0.30, "email": 0.25, "direct": 0.20, "affiliate": 0.05
        },
        age_band_shares={"18-24": 0.04, "25-34": 0.12, "35-44": 0.20, "45-54": 0.26, "55-64": 0.22, "65+": 0.16},
    ),
    "lapsed": dict(
        share=0.30, purchase_days=(4, 8), last_purchase_days_ago=(400, 700), span_days=(30, 120), order_value=80.0,
        acquisition_shares={
            "search": 0.30, "social": 0.10, "referral": 0.10, "email": 0.15, "direct": 0.25, "affiliate": 0.10
        },
        age_band_shares={"18-24": 0.10, "25-34": 0.20, "35-44": 0.22, "45-54": 0.20, "55-64": 0.16, "65+": 0.12},
    ),
    "new": dict(
        share=0.25, purchase_days=(1, 1), last_purchase_days_ago=(0, 59), span_days=(0, 0), order_value=25.0,
        acquisition_shares={
            "search": 0.35, "social": 0.35, "referral": 0.05, "email": 0.05, "direct": 0.10, "affiliate": 0.10
        },
        age_band_shares={"18-24": 0.30, "25-34": 0.32, "35-44": 0.18, "45-54": 0.10, "55-64": 0.06, "65+": 0.04},
    ),
    "occasional": dict(
        share=0.25, purchase_days=(2, 4), last_purchase_days_ago=(60, 180), span_days=(30, 300), order_value=35.0,
        acquisition_shares={
            "search": 0.30, "social": 0.20, "referral": 0.10, "email": 0.10, "direct": 0.20, "affiliate": 0.10
        },
        age_band_shares=dict(AGE_BAND_SHARES),
    ),
}  # fmt: skip
_GROUP_KEYS = tuple(DEFAULT_GROUPS["loyal"])
_DAY_RANGES = ("last_purchase_days_ago", "span_days")
_DEFAULT_DAYS = 730


def _group_specs(groups: Mapping | None, days: int) -> dict[str, dict[str, Any]]:
    """Complete, validated group parameters (defaults scaled to ``days``; shares normalised)."""
    if groups is None:
        scale = days / _DEFAULT_DAYS
        specs = {
            g: {**p, **{k: tuple(min(round(v * scale), days - 1) for v in p[k]) for k in _DAY_RANGES}}
            for g, p in DEFAULT_GROUPS.items()
        }
    else:
        specs = {}
        for g, p in groups.items():
            spec = {**DEFAULT_GROUPS.get(g, {}), **p}
            missing = [k for k in _GROUP_KEYS if k not in spec]
            if missing:
                raise ValueError(f"group {g!r} misses {missing}")
            specs[str(g)] = spec
    if not specs:
        raise ValueError("at least one group is needed")
    total = sum(float(p["share"]) for p in specs.values())
    out = {}
    for g, p in specs.items():
        (k0, k1), (l0, l1), (s0, s1) = p["purchase_days"], p["last_purchase_days_ago"], p["span_days"]
        if not (1 <= k0 <= k1 and 0 <= l0 <= l1 < days and 0 <= s0 <= s1 and p["order_value"] > 0):
            raise ValueError(f"group {g!r}: need 1 <= purchase_days, 0 <= last_purchase_days_ago < days, span >= 0")
        if float(p["share"]) < 0 or total <= 0:
            raise ValueError("group shares must be >= 0 and not all zero")
        out[g] = {
            **p,
            "share": float(p["share"]) / total,
            "purchase_days": (int(k0), int(k1)),
            "last_purchase_days_ago": (int(l0), int(l1)),
            "span_days": (int(s0), int(s1)),
            "order_value": float(p["order_value"]),
        }
    return out


def _group_shares(specs: Mapping[str, Mapping], key: str, default: Mapping[str, float]) -> dict[str, dict]:
    """Each group's shares of one attribute over the union of values (default order first)."""
    names = list(dict.fromkeys([*default, *(v for p in specs.values() for v in p[key])]))
    return {g: sim.shares({v: p[key].get(v, 0.0) for v in names}, names, None) for g, p in specs.items()}


def generate_segmented_base(
    n_customers: int = 3000,
    *,
    seed: int | None = 0,
    end: str = "2025-12-31",
    days: int = 730,
    groups: Mapping | None = None,
    return_share: float = 0.02,
    same_day_share: float = 0.03,
) -> tuple[SyntheticData, SyntheticData]:
    """Transactions and customers of a base made of known behavioural groups:
    ``(transactions, customers)``.

    Each customer belongs to one group (drawn with the groups' shares; defaults
    :data:`DEFAULT_GROUPS`: ``loyal`` 20 %, 12-30 purchases spread over the window and one in
    the last 20 days, orders of about 150; ``lapsed`` 30 %, 4-8 purchases, all in the first
    half (the last 400-700 days before ``end``), about 80; ``new`` 25 %, one purchase in the last
    60 days, about 25; ``occasional`` 25 %, 2-4 purchases, the last 60-180 days ago, about 35).
    ``groups`` replaces them: name -> parameters (keys of :data:`DEFAULT_GROUPS`; a default
    group's name fills in the keys not given, unscaled). The window is the ``days`` days ending
    on ``end`` (inclusive); without ``groups``, the default day ranges are scaled to it.

    A customer buys on their last day, on their first day (last minus the span, not before the
    window) and on days uniform in between (two may fall on one day); each purchase is one
    order, and with probability ``same_day_share`` a second order follows the same day. Order
    values: a customer mean (group value x Gamma(8)/8) times Gamma(4)/4 per order, to cents.
    The groups differ clearly in recency, frequency (distinct purchase days) and monetary value
    (total spend): k-means on their log1p, standardised, recovers them (adjusted Rand index
    about 0.99 with the defaults).

    Transactions: ``customer_id``, ``date`` (midnight), ``amount``, ``order_id`` (``O`` + number,
    increasing with date); each order is partly returned with probability ``return_share``: a
    row with ``order_id`` ``R`` + the order's number, minus 10-100 % of its amount, dated on or
    a few days after it (never after ``end``).

    Customers: ``customer_id``, ``signup_date`` (on or up to a few weeks before the first
    purchase, not before the window), ``region``, ``age_band``, ``acquisition_channel``,
    ``gender``. Acquisition channel and age band depend on the group (loyal customers come more
    from referral and email and are older; new ones from social and search and younger);
    region and gender do not. ``truth`` lists which attributes depend on the group and every
    group's parameters and shares; ``details["groups"]``: ``customer_id, group``.
    """
    n = sim.check_rows(n_customers, "n_customers")
    days = sim.check_rows(days, "days")
    if not (0 <= return_share <= 1 and 0 <= same_day_share <= 1):
        raise ValueError("return_share and same_day_share must be in [0, 1]")
    specs = _group_specs(groups, days)
    names = list(specs)
    end_d = sim.day(end)
    start_d = end_d - np.timedelta64(days - 1, "D")
    rng = sim.rng(seed)

    # --- groups and each customer's purchase days (day numbers 0..days-1 from start) ------
    group = sim.choice(rng, {g: p["share"] for g, p in specs.items()}, n)
    param = {
        key: np.array([[p[key][0], p[key][1]] for p in specs.values()], dtype=np.int64)[group]
        for key in ("purchase_days", *_DAY_RANGES)
    }
    draw = {key: rng.integers(v[:, 0], v[:, 1] + 1) for key, v in param.items()}
    k = draw["purchase_days"]
    last_day = days - 1 - draw["last_purchase_days_ago"]
    first_day = np.maximum(last_day - draw["span_days"], 0)
    cust = np.repeat(np.arange(n), k)
    pos = np.arange(cust.size) - np.repeat(np.cumsum(k) - k, k)
    width = (last_day - first_day + 1)[cust]
    day = first_day[cust] + np.floor(rng.random(cust.size) * width).astype(np.int64)
    day[pos == 0] = first_day[cust[pos == 0]]
    day[pos == k[cust] - 1] = last_day[cust[pos == k[cust] - 1]]
    twice = rng.random(cust.size) < same_day_share
    cust = np.concatenate([cust, cust[twice]])
    day = np.concatenate([day, day[twice]])

    # --- order values, order ids by date ----------------------------------------------------
    value = np.array([p["order_value"] for p in specs.values()])[group]
    customer_mean = value * rng.gamma(8.0, 1.0 / 8.0, size=n)
    amount = np.maximum(np.round(customer_mean[cust] * rng.gamma(4.0, 1.0 / 4.0, size=cust.size), 2), 0.01)
    order = np.lexsort((cust, day))
    cust, day, amount = cust[order], day[order], amount[order]
    n_orders = cust.size
    order_no = np.arange(1, n_orders + 1, dtype=np.int64)

    # --- partial returns --------------------------------------------------------------------
    pick = np.flatnonzero(rng.random(n_orders) < return_share)
    lag = rng.geometric(1.0 / 8.0, size=pick.size) - 1
    refund = np.minimum(np.maximum(np.round(amount[pick] * rng.uniform(0.1, 1.0, pick.size), 2), 0.01), amount[pick])
    all_cust = np.concatenate([cust, cust[pick]])
    all_day = np.concatenate([day, np.minimum(day[pick] + lag, days - 1)])
    all_amount = np.concatenate([amount, -refund])
    ids = np.concatenate([sim.sequential_bytes("O", n_orders, 9), sim.digits_bytes("R", order_no[pick], 9)])
    rows = np.argsort(all_day, kind="stable")
    cust_bytes = sim.sequential_bytes("C", n, 7)
    transactions = pd.DataFrame(
        {
            "customer_id": sim.str_series(cust_bytes[all_cust[rows]]),
            "date": sim.dates(start_d, all_day[rows]),
            "amount": all_amount[rows],
            "order_id": sim.str_series(ids[rows]),
        }
    )

    # --- customer attributes (their own stream of the seed) ----------------------------------
    crng = sim.rng(seed, sim.STREAM_CUSTOMERS)
    channel = _group_shares(specs, "acquisition_shares", ACQUISITION_SHARES)
    age = _group_shares(specs, "age_band_shares", AGE_BAND_SHARES)
    population = {
        "region": sim.shares(None, list(sim.REGION_SHARES), sim.REGION_SHARES),
        "gender": sim.shares(None, list(GENDER_SHARES), GENDER_SHARES),
    }
    codes = {col: sim.choice(crng, s, n) for col, s in population.items()}
    for col, by_group in (("age_band", age), ("acquisition_channel", channel)):
        codes[col] = np.empty(n, dtype=np.int32)
        for g_code, g in enumerate(names):
            members = np.flatnonzero(group == g_code)
            codes[col][members] = sim.choice(crng, by_group[g], members.size)
    signup_lag = crng.geometric(1.0 / 8.0, size=n) - 1
    signup_day = np.maximum(first_day - signup_lag, 0)
    customers = pd.DataFrame(
        {
            "customer_id": sim.str_series(cust_bytes),
            "signup_date": sim.dates(start_d, signup_day),
            "region": sim.labels(codes["region"], list(population["region"])),
            "age_band": sim.labels(codes["age_band"], list(next(iter(age.values())))),
            "acquisition_channel": sim.labels(codes["acquisition_channel"], list(next(iter(channel.values())))),
            "gender": sim.labels(codes["gender"], list(population["gender"])),
        }
    )

    by_group = {"age_band": age, "acquisition_channel": channel}
    dependent = [col for col, s in by_group.items() if any(s[g] != s[names[0]] for g in names)]
    common = dict(
        n_customers=n,
        start=str(start_d),
        end=str(end_d),
        days=days,
        groups={g: {**p, "acquisition_shares": channel[g], "age_band_shares": age[g]} for g, p in specs.items()},
        group_counts={g: int(np.count_nonzero(group == i)) for i, g in enumerate(names)},
        dependent_attributes=dependent,
        independent_attributes=[*population, *(c for c in by_group if c not in dependent)],
        shares=population,
    )
    tx_truth = jsonable(
        dict(
            **common,
            same_day_share=same_day_share,
            return_share=return_share,
            n_rows=len(transactions),
            n_orders=n_orders,
            n_returns=int(pick.size),
        )
    )
    cu_truth = jsonable(common)
    details = {"groups": pd.DataFrame({"customer_id": sim.str_series(cust_bytes), "group": sim.labels(group, names)})}
    return (
        SyntheticData("transactions", transactions, tx_truth, details),
        SyntheticData("customers", customers, cu_truth, {"groups": details["groups"].copy()}),
    )


#: The defects :func:`write_segmented_base` plants at the end of the transactions file, one row each.
PLANTED_DEFECTS = (",2025-03-01,19.99,OX1\n", "C0000001,2025-02-30,19.99,OX2\n", "C0000002,2025-03-01,n/a,OX3\n")


def write_segmented_base(folder, n_customers: int = 3000, seed: int = 11, prefix: str = "segmentation") -> dict:
    """Write the bundled segmentation demo: ``{prefix}_transactions.csv`` (with the three
    :data:`PLANTED_DEFECTS` appended: a missing id, an impossible date, an amount that is not a
    number), ``{prefix}_customers.csv`` and ``{prefix}_groups.csv`` (the true group of each
    customer). Returns the paths by role."""
    from pathlib import Path

    from helpers.synth import write_frame

    folder = Path(folder)
    tx, customers = generate_segmented_base(n_customers, seed=seed)
    paths = {
        "transactions": folder / f"{prefix}_transactions.csv",
        "customers": folder / f"{prefix}_customers.csv",
        "groups": folder / f"{prefix}_groups.csv",
    }
    write_frame(tx.frame, paths["transactions"])
    with open(paths["transactions"], "a", encoding="utf-8") as fh:
        fh.writelines(PLANTED_DEFECTS)
    write_frame(customers.frame, paths["customers"])
    write_frame(tx.details["groups"], paths["groups"])
    return paths
