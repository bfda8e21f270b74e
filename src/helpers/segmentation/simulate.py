"""A simulated customer table (the ``customers`` kind), alone or matching simulated transactions.

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

__all__ = ["generate_customer_base", "generate_customers"]

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
