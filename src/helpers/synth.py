"""Seeded simulators with known truth, one per data-contract kind.

Every generator draws from ``np.random.default_rng(seed)`` (the ``customers`` kind uses an
independent stream derived from the same seed, so that it can be joined to ``transactions``
without sharing random numbers with it), is vectorised (no Python loop per row or customer)
and returns a :class:`SyntheticData`:

- ``frame``: a pandas DataFrame in the contract's column names;
- ``truth``: a JSON-friendly dict of the parameters and effects used (plain Python numbers,
  strings, lists and dicts);
- ``details``: extra truth tables (per-customer latent values, individual journeys, true
  media contributions, ...).

Entry points: ``generate(kind, rows, seed=0, **options)`` and ``write_frame(frame, path)``
(``.csv``, ``.csv.gz``, ``.parquet``/``.pq`` or ``.xlsx`` by extension). What ``rows`` means:

==============  ===============================================================================
kind            rows
==============  ===============================================================================
transactions    expected number of transaction rows. The number of customers is
                ``round(rows / expected_rows_per_customer)`` from the closed-form BG/NBD mean,
                so the realised count is ``rows`` up to sampling error (relative SD about
                ``1.5 / sqrt(n_customers)`` with the defaults, about 3 rows per customer:
                2 % at 20,000 rows, 0.3 % at 1M, 0.1 % at 10M); ``truth["n_rows"]`` is the
                exact count.
customers       number of customers (exact).
responses       number of respondents (exact).
journeys        number of individual journeys simulated (exact). The frame aggregates them to
                one row per distinct path, so it has fewer rows; the individual journeys are
                in ``details["journeys"]``.
spend           number of weeks (exact).
==============  ===============================================================================

Dates are ``datetime64[ns]`` at midnight (no time part). Text columns use pandas' string dtype.
Identifiers: customers ``C0000001`` (7 digits, wider only beyond 9,999,999 customers), so
``transactions`` and ``customers`` generated with the same seed and size join on
``customer_id``; :func:`generate_customer_base` returns both tables with signup dates that are
consistent with the first purchases. Orders ``O000000001``, respondents ``R000001``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "KINDS",
    "SyntheticData",
    "bgnbd_expected_repeats",
    "expected_rows_per_customer",
    "generate",
    "generate_customer_base",
    "generate_customers",
    "generate_journeys",
    "generate_responses",
    "generate_spend",
    "generate_transactions",
    "geometric_adstock",
    "logistic_saturation",
    "write_frame",
]

KINDS = ("transactions", "customers", "responses", "journeys", "spend")

# Independent random streams per purpose, derived from the user's seed.
_STREAM_CUSTOMERS = 1


@dataclass
class SyntheticData:
    """A simulated table, the truth that generated it and extra truth tables."""

    kind: str
    frame: pd.DataFrame
    truth: dict[str, Any]
    details: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:  # the default repr would print whole frames
        extra = ", ".join(f"{k}: {len(v)} rows" for k, v in self.details.items())
        return f"SyntheticData(kind={self.kind!r}, rows={len(self.frame)}, details={{{extra}}})"


# --------------------------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------------------------


def _rng(seed: int | None, stream: int = 0) -> np.random.Generator:
    """``default_rng(seed)`` for stream 0; an independent child stream of the same seed otherwise."""
    if stream == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def _py(value: Any) -> Any:
    """Numpy scalars/arrays and tuples -> plain Python, recursively (JSON-friendly truth)."""
    if isinstance(value, Mapping):
        return {str(k): _py(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_py(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    return value


def _digits_bytes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width ASCII ids ``prefix + zero-padded number`` as a numpy ``S`` array (vectorised)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    width = max(width, len(str(int(numbers.max()))) if numbers.size else width)
    p = prefix.encode("ascii")
    length = len(p) + width
    out = np.empty((numbers.size, length), dtype=np.uint8)
    if p:
        out[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    rest = numbers.copy()
    for col in range(length - 1, len(p) - 1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, col] = digit + 48
    return out.view(f"S{length}").ravel()


def _sequential_bytes(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + 1..n zero-padded, as a numpy ``S`` array; faster than divisions for ranges."""
    width = max(width, len(str(n)))
    p = prefix.encode("ascii")
    length = len(p) + width
    out = np.empty((n, length), dtype=np.uint8)
    if p:
        out[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    ascii_digits = np.arange(48, 58, dtype=np.uint8)
    for k in range(width):
        col = length - 1 - k
        step = 10**k
        if step > n:
            out[:, col] = 48
            continue
        # digit k of the numbers 0..n: runs of `step` equal digits cycling 0..9
        runs = np.repeat(ascii_digits[np.arange(n // step + 1) % 10], step)
        out[:, col] = runs[1 : n + 1]
    return out.view(f"S{length}").ravel()


def _str_series(values: np.ndarray) -> pd.Series:
    """A numpy ``S`` (ASCII) array as a pandas string Series without a Python-level loop."""
    values = np.ascontiguousarray(values)
    n = values.size
    itemsize = values.dtype.itemsize
    small = n * itemsize < 2**31 - 1
    offsets = np.arange(0, (n + 1) * itemsize, itemsize, dtype=np.int32 if small else np.int64)
    cls = pa.StringArray if small else pa.LargeStringArray
    arr = cls.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(values.view(np.uint8)))
    return pd.Series(arr, dtype="str")


def _labels(codes: np.ndarray, labels: Sequence[str]) -> pd.Series:
    """Small-vocabulary codes -> string Series (via an Arrow dictionary, fast for millions)."""
    dictionary = pa.array(list(labels), type=pa.string())
    idx = pa.array(np.asarray(codes, dtype=np.int32))
    return pd.Series(pa.DictionaryArray.from_arrays(idx, dictionary).cast(pa.string()), dtype="str")


def _shares(shares: Mapping[str, float] | Sequence[float] | None, names: Sequence[str], default) -> dict:
    """Validate category shares (normalised to sum 1) keyed by name."""
    if shares is None:
        shares = default
    if isinstance(shares, Mapping):
        missing = [n for n in names if n not in shares]
        if missing:
            raise ValueError(f"shares missing for {missing}")
        vals = np.array([float(shares[n]) for n in names])
    else:
        vals = np.asarray(shares, dtype=float)
        if vals.size != len(names):
            raise ValueError(f"{len(names)} shares needed, got {vals.size}")
    if (vals < 0).any() or vals.sum() <= 0:
        raise ValueError("shares must be >= 0 and not all zero")
    vals = vals / vals.sum()
    return dict(zip(names, vals.tolist()))


def _choice(rng: np.random.Generator, shares: Mapping[str, float], size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.fromiter(shares.values(), float)).astype(np.int32)


def _dates(start: np.datetime64, days: np.ndarray) -> np.ndarray:
    return (start + np.asarray(days).astype("timedelta64[D]")).astype("datetime64[ns]")


def _check_rows(rows: Any, name: str = "rows") -> int:
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(f"{name} must be a positive integer, got {rows!r}")
    return int(rows)


# --------------------------------------------------------------------------------------------
# transactions: BG/NBD purchases, Gamma-Gamma spend
# --------------------------------------------------------------------------------------------

TRANSACTION_DEFAULTS = dict(
    r=0.25, alpha=4.0, a=0.8, b=2.5, p=6.0, q=3.8, v=15.0,
    start="2024-01-01", acquisition_weeks=52, observation_weeks=104,
)  # fmt: skip
_CHANNEL_SHARES = {"web": 0.50, "app": 0.30, "store": 0.15, "phone": 0.05}


def bgnbd_expected_repeats(t, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """E[X(t)], the expected repeat purchases in (0, t] of a new customer (Fader-Hardie-Lee 2005, eq. 9)."""
    from scipy.special import hyp2f1

    t = np.asarray(t, dtype=float)
    if abs(a - 1.0) < 1e-9:  # removable singularity at a = 1
        a = 1.0 + 1e-9
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def expected_rows_per_customer(
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    acquisition_weeks: int = 52,
    observation_weeks: int = 104,
    returns_rate: float = 0.0,
    zero_value_rate: float = 0.0,
) -> float:
    """Expected transaction rows per customer: (1 + mean E[X(T)]) * (1 + returns + zero-value rates).

    T is a customer's time from first purchase to the end, averaged over the first-purchase days
    (uniform over the acquisition window), exactly as :func:`generate_transactions` draws them.
    """
    days = np.arange(7 * int(acquisition_weeks))
    T = (7 * int(observation_weeks) - days) / 7.0
    purchases = 1.0 + float(np.mean(bgnbd_expected_repeats(T, r, alpha, a, b)))
    return purchases * (1.0 + returns_rate + zero_value_rate)


def generate_transactions(
    rows: int | None = None,
    *,
    n_customers: int | None = None,
    seed: int | None = 0,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.0,
    q: float = 3.8,
    v: float = 15.0,
    start: str = "2024-01-01",
    acquisition_weeks: int = 52,
    observation_weeks: int = 104,
    channel_shares: Mapping[str, float] | None = None,
    quantity_extra_mean: float = 0.5,
    returns_rate: float = 0.0,
    return_lag_mean_days: float = 14.0,
    zero_value_rate: float = 0.0,
) -> SyntheticData:
    """Transactions from a BG/NBD purchase process with Gamma-Gamma spend (time unit: weeks).

    Process (all parameters are returned in ``truth``):

    - customer i makes a first purchase on a day drawn uniformly from the first
      ``acquisition_weeks`` weeks after ``start``; observation ends ``observation_weeks`` weeks
      after ``start`` (last possible date ``start + 7*observation_weeks - 1`` days), so the
      customer's observation length is T_i = (end - first purchase) in weeks;
    - purchase rate lambda_i ~ Gamma(shape r, rate alpha) per week; drop-out probability
      p_i ~ Beta(a, b); after each repeat purchase the customer drops out with probability p_i
      (never right after the first purchase, as in BG/NBD); X_i = repeat purchases in (0, T_i];
    - spend: nu_i ~ Gamma(shape q, rate v); every purchase (first and repeat) has value
      ~ Gamma(shape p, rate nu_i), so E[value | nu] = p/nu and the population mean of the
      customers' means is p*v/(q-1); amounts are rounded to cents (at least 0.01);
    - ``quantity`` = 1 + Poisson(quantity_extra_mean), independent of the amount (the amount is
      the order total); ``channel`` drawn per row from ``channel_shares``
      (default web 0.50, app 0.30, store 0.15, phone 0.05);
    - purchases happen in continuous time; dates are the day of the purchase, so several
      purchases of one customer can fall on the same day (each is its own row);
    - optional dirt, off by default: each purchase gets a return row with probability
      ``returns_rate`` (negative amount, same quantity and channel, ``order_id`` ``R`` + the
      original order number, dated a Geometric lag of mean ``return_lag_mean_days`` later,
      capped at the last date) and, independently, a zero-value row with probability
      ``zero_value_rate`` (amount 0.0, ``order_id`` ``Z`` + the original number, same lag rule).
      Dropping rows with amount <= 0 restores the simulated purchase process exactly.

    Give either ``rows`` (the expected number of rows; the number of customers is chosen from the
    closed-form BG/NBD mean, see the module docstring for how close) or ``n_customers``.
    The frame is sorted by date, then customer; order ids increase with date.
    ``details["customers"]``: per customer the latent and realised values (first purchase, T,
    lambda, p, nu, mean spend p/nu, drop-out count, x, t_x, alive at the end, E[X(T)]).
    """
    if (rows is None) == (n_customers is None):
        raise ValueError("give exactly one of rows or n_customers")
    for name, val in dict(r=r, alpha=alpha, a=a, b=b, p=p, q=q, v=v).items():
        if not val > 0:
            raise ValueError(f"{name} must be > 0, got {val}")
    if not (0 < acquisition_weeks <= observation_weeks):
        raise ValueError("need 0 < acquisition_weeks <= observation_weeks")
    if not (0 <= returns_rate <= 1 and 0 <= zero_value_rate <= 1):
        raise ValueError("returns_rate and zero_value_rate must be in [0, 1]")
    shares = _shares(channel_shares, list((channel_shares or _CHANNEL_SHARES).keys()), _CHANNEL_SHARES)
    per_customer = expected_rows_per_customer(
        r, alpha, a, b, acquisition_weeks, observation_weeks, returns_rate, zero_value_rate
    )
    if n_customers is None:
        n = max(1, round(_check_rows(rows) / per_customer))
    else:
        n = _check_rows(n_customers, "n_customers")

    rng = _rng(seed)
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
    n_days = 7 * int(observation_weeks)

    # --- per-customer latent values -----------------------------------------------------
    first_day = rng.integers(0, 7 * int(acquisition_weeks), size=n)
    T = (n_days - first_day) / 7.0
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    pdrop = np.clip(rng.beta(a, b, size=n), 1e-12, 1.0)
    n_until_dropout = rng.geometric(pdrop)  # dies right after this repeat purchase (1, 2, ...)
    n_poisson = rng.poisson(lam * T)  # purchases in (0, T] if the customer never dropped out
    x = np.minimum(n_until_dropout, n_poisson)
    alive = n_poisson < n_until_dropout
    nu = rng.gamma(q, 1.0 / v, size=n)

    # --- repeat purchase times: the first x of n_poisson uniform order statistics on (0, T]
    # (U_(j) = T * S_j / S_(N+1) with S the cumulative sums of unit exponentials; S_(N+1) is
    # S_x plus a Gamma(N + 1 - x) remainder, so only x + 1 draws per customer are needed).
    total_rep = int(x.sum())
    gaps = rng.standard_exponential(total_rep)
    csum = np.cumsum(gaps)
    ends = np.cumsum(x)
    starts = ends - x
    base = np.concatenate(([0.0], csum))[starts]
    s_within = csum - np.repeat(base, x)
    s_x = np.concatenate(([0.0], csum))[ends] - base
    remainder = rng.gamma(n_poisson - x + 1.0)
    denom = s_x + remainder
    rep_weeks = np.repeat(T / denom, x) * s_within
    t_x = np.zeros(n)
    has = x > 0
    t_x[has] = T[has] * s_x[has] / denom[has]
    rep_day = np.minimum(np.floor(np.repeat(first_day, x) + 7.0 * rep_weeks), n_days - 1).astype(np.int64)

    # --- assemble purchases (customer-major: first purchase, then repeats in time order) ----
    counts = x + 1
    n_rows = int(counts.sum())
    cust = np.repeat(np.arange(n), counts)
    is_first = np.zeros(n_rows, dtype=bool)
    is_first[np.cumsum(counts) - counts] = True
    day = np.empty(n_rows, dtype=np.int64)
    day[is_first] = first_day
    day[~is_first] = rep_day
    amount = rng.gamma(p, 1.0 / nu[cust])
    amount = np.maximum(np.round(amount, 2), 0.01)
    quantity = 1 + rng.poisson(quantity_extra_mean, size=n_rows)
    channel = _choice(rng, shares, n_rows)

    # sort by date (stable radix sort on small ints keeps customer-major order within a day)
    order = np.argsort(day.astype(np.int16 if n_days < 32767 else np.int32), kind="stable")
    day, cust, amount, quantity, channel = day[order], cust[order], amount[order], quantity[order], channel[order]
    order_no = np.arange(1, n_rows + 1, dtype=np.int64)
    order_bytes = _sequential_bytes("O", n_rows, 9)

    # --- optional returns and zero-value rows ------------------------------------------------
    extra = {}
    for label, rate, sign in (("R", returns_rate, -1.0), ("Z", zero_value_rate, 0.0)):
        if rate <= 0:
            continue
        pick = np.flatnonzero(rng.random(n_rows) < rate)
        lag = rng.geometric(1.0 / (1.0 + return_lag_mean_days), size=pick.size) - 1
        extra[label] = dict(
            day=np.minimum(day[pick] + lag, n_days - 1),
            cust=cust[pick],
            amount=amount[pick] * sign if sign else np.zeros(pick.size),
            quantity=quantity[pick],
            channel=channel[pick],
            order_bytes=_digits_bytes(label, order_no[pick], 9),
        )
    if extra:
        parts = [dict(day=day, cust=cust, amount=amount, quantity=quantity, channel=channel, order_bytes=order_bytes)]
        parts += list(extra.values())
        cols = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
        order = np.argsort(cols["day"].astype(np.int32), kind="stable")
        cols = {k: val[order] for k, val in cols.items()}
        day, cust, amount, quantity, channel, order_bytes = (
            cols["day"], cols["cust"], cols["amount"], cols["quantity"], cols["channel"], cols["order_bytes"]
        )  # fmt: skip

    cust_bytes = _sequential_bytes("C", n, 7)
    frame = pd.DataFrame(
        {
            "customer_id": _str_series(cust_bytes[cust]),
            "date": _dates(start_d, day),
            "amount": amount,
            "order_id": _str_series(order_bytes),
            "channel": _labels(channel, list(shares)),
            "quantity": quantity.astype(np.int64),
        }
    )

    # E[X(T)] per customer: T depends only on the first-purchase day, so compute it per day
    ex_T = bgnbd_expected_repeats((n_days - np.arange(7 * int(acquisition_weeks))) / 7.0, r, alpha, a, b)[first_day]
    customers = pd.DataFrame(
        {
            "customer_id": _str_series(cust_bytes),
            "first_purchase_date": _dates(start_d, first_day),
            "T": T,
            "lambda": lam,
            "p": pdrop,
            "nu": nu,
            "mean_spend": p / nu,
            "n_until_dropout": n_until_dropout,
            "x": x,
            "t_x": t_x,
            "alive": alive,
            "expected_x": ex_T,
        }
    )
    truth = _py(
        dict(
            model="BG/NBD + Gamma-Gamma",
            time_unit="week",
            r=r, alpha=alpha, a=a, b=b, p=p, q=q, v=v,
            population_mean_spend=p * v / (q - 1) if q > 1 else None,  # infinite for q <= 1
            start=str(start_d),
            end=str(start_d + np.timedelta64(n_days - 1, "D")),
            acquisition_weeks=int(acquisition_weeks),
            observation_weeks=int(observation_weeks),
            n_customers=n,
            rows_requested=rows,
            expected_rows=n * per_customer,
            n_rows=len(frame),
            n_purchases=n_rows,
            expected_repeats_per_customer=float(ex_T.mean()),
            channel_shares=shares,
            quantity_extra_mean=quantity_extra_mean,
            returns_rate=returns_rate,
            n_returns=len(extra["R"]["day"]) if "R" in extra else 0,
            zero_value_rate=zero_value_rate,
            n_zero_value=len(extra["Z"]["day"]) if "Z" in extra else 0,
            n_alive_at_end=int(alive.sum()),
        )
    )  # fmt: skip
    return SyntheticData("transactions", frame, truth, {"customers": customers})


# --------------------------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------------------------

REGION_SHARES = {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}
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
    n = _check_rows(rows if rows is not None else n_customers, "rows")
    shares = {
        "region": _shares(region_shares, list(region_shares or REGION_SHARES), REGION_SHARES),
        "age_band": _shares(age_band_shares, list(age_band_shares or AGE_BAND_SHARES), AGE_BAND_SHARES),
        "acquisition_channel": _shares(
            acquisition_shares, list(acquisition_shares or ACQUISITION_SHARES), ACQUISITION_SHARES
        ),
        "gender": _shares(gender_shares, list(gender_shares or GENDER_SHARES), GENDER_SHARES),
    }
    rng = _rng(seed, _STREAM_CUSTOMERS)
    codes = {col: _choice(rng, s, n) for col, s in shares.items()}
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
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
            "customer_id": _str_series(_sequential_bytes("C", n, 7)),
            "signup_date": _dates(start_d, signup_day),
            **{col: _labels(codes[col], list(shares[col])) for col in shares},
        }
    )
    truth = _py(
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
# responses: a survey with known driver weights
# --------------------------------------------------------------------------------------------

DEFAULT_DRIVER_WEIGHTS = {"price": 0.25, "quality": 0.20, "service": 0.12, "delivery": 0.08, "website": 0.05}
# positions on the scale as a fraction of its range (0 = bottom, 1 = top)
_DRIVER_POSITIONS = {"price": 0.575, "quality": 0.70, "service": 0.65, "delivery": 0.725, "website": 0.625}
_IMPORTANCE_POSITIONS = {"price": 0.80, "quality": 0.85, "service": 0.70, "delivery": 0.65, "website": 0.50}
SURVEY_SAMPLE_SHARES = {"North": 0.25, "South": 0.25, "East": 0.25, "West": 0.25}
# effects in points of a 1-5 scale (scaled by (max - min) / 4 on other scales)
_WAVE_EFFECTS_1TO5 = (0.0, 0.3)
_SEGMENT_EFFECTS_1TO5 = {"Budget": -0.15, "Mainstream": 0.0, "Premium": 0.15}
_REGION_EFFECTS_1TO5 = {"North": 0.0, "South": -0.10, "East": 0.10, "West": 0.05}


def _expected_rounded_normal(mean: np.ndarray, sd: float, lo: int, hi: int) -> np.ndarray:
    """E[clip(round(N(mean, sd)), lo, hi)]."""
    from scipy.stats import norm

    mean = np.asarray(mean, dtype=float)
    cuts = np.arange(lo, hi) + 0.5  # boundaries between lo..hi
    cdf = norm.cdf((cuts[None, :] - mean[:, None]) / sd)
    probs = np.diff(np.concatenate([np.zeros((mean.size, 1)), cdf, np.ones((mean.size, 1))], axis=1), axis=1)
    return probs @ np.arange(lo, hi + 1)


def generate_responses(
    rows: int,
    seed: int | None = 0,
    *,
    scale: tuple[int, int] = (1, 5),
    drivers: Mapping[str, float] | Sequence[str] | None = None,
    driver_sd: float = 0.225,
    driver_correlation: float = 0.35,
    intercept: float | None = None,
    noise_halfwidth: float | None = None,
    waves: Sequence[str] = ("2025-Q1", "2025-Q2"),
    wave_effects: Mapping[str, float] | None = None,
    segment_shares: Mapping[str, float] | None = None,
    segment_effects: Mapping[str, float] | None = None,
    population_shares: Mapping[str, float] | None = None,
    sample_shares: Mapping[str, float] | None = None,
    region_effects: Mapping[str, float] | None = None,
    ltr_intercept: float = 1.0,
    ltr_slope: float = 1.0,
    ltr_noise_sd: float = 1.5,
    scale_name: str = "trust",
    scale_items: int = 4,
    scale_loadings: float | Sequence[float] = 0.75,
    importance: bool = True,
    missing_rate: float = 0.03,
) -> SyntheticData:
    """A wide survey table (one row per respondent) with known driver weights.

    Columns: ``respondent_id`` (``R000001``...), ``region``, ``wave``, ``segment``, one rating
    per driver (default ``price, quality, service, delivery, website``), ``overall_satisfaction``,
    ``likelihood_to_recommend`` (0-10), ``{scale_name}_1..k`` (one multi-item construct),
    ``importance_{driver}`` (when ``importance``), ``weight``. Ratings are integers on ``scale``
    (float columns so that item non-response can be NaN).

    Model (everything is in ``truth``; effects are in scale points):

    - drivers: correlated normal latents (equicorrelation ``driver_correlation``, SD
      ``driver_sd`` x scale range, means at fixed positions of the scale), rounded and clipped;
      identically distributed across waves, segments and regions;
    - overall satisfaction: latent y = intercept + sum_k w_k * driver_k + wave + segment + region
      effects + e, with e bounded in (-h, h) (triangular) and y turned into an integer by
      randomised rounding (floor(y + U), U ~ U(0, 1)), so E[overall | drivers, groups] equals the
      linear predictor *exactly* whenever y stays on the scale, and OLS of overall on the drivers
      (plus group dummies) is unbiased for the weights. Defaults (1-5 scale): weights price .25,
      quality .20, service .12, delivery .08, website .05 (sum .70); wave 2025-Q2 +0.30 over
      2025-Q1; segments Budget -0.15 / Mainstream 0 / Premium +0.15; regions North 0 /
      South -0.10 / East +0.10 / West +0.05; h = 0.2 (smaller when more waves or larger
      effects leave less headroom, down to 0.05); the intercept centres y on the scale. With
      these defaults y never leaves the scale (``truth["overall_clipped_share"]`` reports the
      realised share clipped when custom settings break the headroom). On other scales the
      default effects and h are multiplied by (max - min) / 4.
    - likelihood_to_recommend: round(clip(ltr_intercept + ltr_slope * s10 + N(0, ltr_noise_sd),
      0, 10)) where s10 is the satisfaction latent y rescaled to 0-10.
    - scale items (one construct, ``scale_items`` items, default 4 ``trust_*`` items with
      loading 0.75): z_j = l_j F + sqrt(1 - l_j^2) e_j with standard normal F and e_j; the
      rating is clip(round(lo + 0.55 R + 0.2 R z_j)), R = max - min.
      ``truth["scale_alpha"]`` is Cronbach's alpha of the continuous z_j (0.837 by default);
      ``truth["scale_alpha_rounded"]`` adds the rounding noise (variance 1/12 per item) and is
      what the sample alpha approaches (0.799 on 1-5; clipping, under 2 % of cells, ignored).
    - importance ratings: independent normal around per-driver positions, rounded and clipped.
    - sampling: regions are sampled with ``sample_shares`` (default equal quotas) while the
      population has ``population_shares`` (default North .35 / South .30 / East .20 /
      West .15); ``weight`` = population share / realised sample share of the respondent's
      region, so weighted region shares equal the population shares exactly and the weights
      average 1. Waves are equally likely; segments have ``segment_shares``
      (default Budget .30 / Mainstream .50 / Premium .20).
    - item non-response: each rating cell (drivers, overall, LTR, scale items, importance) is
      NaN independently with probability ``missing_rate`` (missing completely at random).

    ``truth["population_mean_overall"]`` is E[overall] in the population (region-weighted,
    waves equally likely) and ``truth["mean_overall_by_wave"]`` per wave.
    """
    n = _check_rows(rows)
    lo, hi = int(scale[0]), int(scale[1])
    if hi <= lo:
        raise ValueError(f"scale must be (min, max) with max > min, got {scale}")
    rng_width = float(hi - lo)
    unit = rng_width / 4.0  # default effects are defined in 1-5 points
    if drivers is None:
        weights = dict(DEFAULT_DRIVER_WEIGHTS)
    elif isinstance(drivers, Mapping):
        weights = {str(k): float(v) for k, v in drivers.items()}
    else:
        names = [str(d) for d in drivers]
        decay = 0.5 ** np.arange(len(names))
        weights = dict(zip(names, (0.7 * decay / decay.sum()).tolist()))
    names = list(weights)
    k = len(names)
    w = np.array([weights[d] for d in names])
    waves = [str(x) for x in waves]
    if wave_effects is None:
        wave_effects = {wv: (_WAVE_EFFECTS_1TO5[1] * unit if i > 0 else 0.0) for i, wv in enumerate(waves)}
        if len(waves) > 2:  # a steady +0.3 (1-5 points) per wave
            wave_effects = {wv: _WAVE_EFFECTS_1TO5[1] * unit * i for i, wv in enumerate(waves)}
    wave_effects = {wv: float(wave_effects[wv]) for wv in waves}
    seg_shares = _shares(
        segment_shares, list(segment_shares or {"Budget": 0, "Mainstream": 0, "Premium": 0}),
        {"Budget": 0.30, "Mainstream": 0.50, "Premium": 0.20},
    )  # fmt: skip
    if segment_effects is None:
        segment_effects = {s: _SEGMENT_EFFECTS_1TO5.get(s, 0.0) * unit for s in seg_shares}
    segment_effects = {s: float(segment_effects.get(s, 0.0)) for s in seg_shares}
    pop = _shares(population_shares, list(population_shares or REGION_SHARES), REGION_SHARES)
    samp = _shares(sample_shares, list(pop), dict.fromkeys(pop, 1.0) if sample_shares is None else sample_shares)
    if region_effects is None:
        region_effects = {r: _REGION_EFFECTS_1TO5.get(r, 0.0) * unit for r in pop}
    region_effects = {r: float(region_effects.get(r, 0.0)) for r in pop}
    mid = (lo + hi) / 2.0
    eff_max = max(wave_effects.values()) + max(segment_effects.values()) + max(region_effects.values())
    eff_min = min(wave_effects.values()) + min(segment_effects.values()) + min(region_effects.values())
    if intercept is None:
        intercept = mid - w.sum() * mid - (eff_max + eff_min) / 2.0
    if noise_halfwidth is None:  # 0.2 (1-5 points), less if the effects leave less headroom
        low = intercept + np.minimum(w * lo, w * hi).sum() + eff_min
        high = intercept + np.maximum(w * lo, w * hi).sum() + eff_max
        headroom = min(low - lo, hi - high)
        h = max(0.05 * unit, min(0.2 * unit, headroom))
    else:
        h = float(noise_halfwidth)
    y_max = intercept + np.maximum(w * lo, w * hi).sum() + eff_max + h
    y_min = intercept + np.minimum(w * lo, w * hi).sum() + eff_min - h

    rng = _rng(seed)
    region = _choice(rng, samp, n)
    wave = rng.integers(0, len(waves), size=n).astype(np.int32)
    segment = _choice(rng, seg_shares, n)

    # drivers: equicorrelated normal latents
    pos = np.array([_DRIVER_POSITIONS.get(d, 0.65) for d in names])
    d_mean = lo + pos * rng_width
    d_sd = driver_sd * rng_width
    rho = float(driver_correlation)
    z = np.sqrt(rho) * rng.standard_normal((n, 1)) + np.sqrt(1 - rho) * rng.standard_normal((n, k))
    X = np.clip(np.rint(d_mean + d_sd * z), lo, hi)

    wave_eff = np.array([wave_effects[wv] for wv in waves])[wave]
    seg_eff = np.array(list(segment_effects.values()))[segment]
    reg_eff = np.array(list(region_effects.values()))[region]
    e = h * (rng.random(n) + rng.random(n) - 1.0)
    y = intercept + X @ w + wave_eff + seg_eff + reg_eff + e
    clipped = (y < lo) | (y > hi)
    y_c = np.clip(y, lo, hi)
    overall = np.minimum(np.floor(y_c + rng.random(n)), hi)

    s10 = 10.0 * (y_c - lo) / rng_width
    ltr_latent = ltr_intercept + ltr_slope * s10 + ltr_noise_sd * rng.standard_normal(n)
    ltr = np.clip(np.rint(ltr_latent), 0, 10)

    loadings = np.broadcast_to(np.asarray(scale_loadings, dtype=float), (scale_items,)).copy()
    if (np.abs(loadings) >= 1).any():
        raise ValueError("scale loadings must be in (-1, 1)")
    F = rng.standard_normal((n, 1))
    Z = loadings * F + np.sqrt(1 - loadings**2) * rng.standard_normal((n, scale_items))
    item_sd = 0.2 * rng_width
    items = np.clip(np.rint(lo + 0.55 * rng_width + item_sd * Z), lo, hi)
    cov = np.outer(loadings, loadings)
    np.fill_diagonal(cov, 1.0)
    kk = scale_items
    alpha_cont = kk / (kk - 1) * (1 - kk / cov.sum()) if kk > 1 else float("nan")
    cov_r = cov * item_sd**2 + np.eye(kk) / 12.0
    alpha_round = kk / (kk - 1) * (1 - np.trace(cov_r) / cov_r.sum()) if kk > 1 else float("nan")

    cols: dict[str, Any] = {
        "respondent_id": _str_series(_sequential_bytes("R", n, 6)),
        "region": _labels(region, list(samp)),
        "wave": _labels(wave, waves),
        "segment": _labels(segment, list(seg_shares)),
    }
    rating_cols: list[str] = []
    for j, d in enumerate(names):
        cols[d] = X[:, j]
        rating_cols.append(d)
    cols["overall_satisfaction"] = overall
    cols["likelihood_to_recommend"] = ltr
    rating_cols += ["overall_satisfaction", "likelihood_to_recommend"]
    item_names = [f"{scale_name}_{j + 1}" for j in range(scale_items)]
    for j, c in enumerate(item_names):
        cols[c] = items[:, j]
        rating_cols.append(c)
    imp_pos = None
    if importance:
        imp_pos = np.array([_IMPORTANCE_POSITIONS.get(d, 0.7) for d in names])
        imp = np.clip(np.rint(lo + imp_pos * rng_width + 0.2 * rng_width * rng.standard_normal((n, k))), lo, hi)
        for j, d in enumerate(names):
            cols[f"importance_{d}"] = imp[:, j]
            rating_cols.append(f"importance_{d}")
    n_missing = 0
    if missing_rate > 0:
        for c in rating_cols:
            mask = rng.random(n) < missing_rate
            n_missing += int(mask.sum())
            col = np.asarray(cols[c], dtype=float)
            col[mask] = np.nan
            cols[c] = col
    realised = np.bincount(region, minlength=len(samp)) / n
    pop_arr = np.fromiter(pop.values(), float)
    with np.errstate(divide="ignore", invalid="ignore"):
        region_weight = np.where(realised > 0, pop_arr / realised, 0.0)
    cols["weight"] = region_weight[region]
    frame = pd.DataFrame(cols)

    # population expectations of the overall rating
    mean_drivers = _expected_rounded_normal(d_mean, np.sqrt(d_sd**2), lo, hi)
    base_mean = (
        intercept + float(mean_drivers @ w)
        + sum(seg_shares[s] * segment_effects[s] for s in seg_shares)
        + sum(pop[r] * region_effects[r] for r in pop)
    )  # fmt: skip
    by_wave = {wv: base_mean + wave_effects[wv] for wv in waves}
    truth = _py(
        dict(
            scale=[lo, hi],
            drivers=names,
            weights=weights,
            intercept=intercept,
            wave_effects=wave_effects,
            segment_effects=segment_effects,
            region_effects=region_effects,
            noise="triangular on (-h, h) then randomised rounding",
            noise_halfwidth=h,
            overall_latent_range=[y_min, y_max],
            overall_clipped_share=float(clipped.mean()),
            driver_means=dict(zip(names, d_mean)),
            driver_expected_ratings=dict(zip(names, mean_drivers)),
            driver_sd=d_sd,
            driver_correlation=rho,
            ltr=dict(intercept=ltr_intercept, slope=ltr_slope, noise_sd=ltr_noise_sd),
            scale_name=scale_name,
            scale_items=item_names,
            scale_loadings=loadings,
            scale_alpha=alpha_cont,
            scale_alpha_rounded=alpha_round,
            importance_means=(dict(zip(names, lo + imp_pos * rng_width)) if importance else None),
            population_shares=pop,
            sample_shares=samp,
            segment_shares=seg_shares,
            waves=waves,
            population_mean_overall=float(np.mean(list(by_wave.values()))),
            mean_overall_by_wave=by_wave,
            missing_rate=missing_rate,
            n_missing=n_missing,
            n_respondents=n,
        )
    )
    latent = pd.DataFrame(
        {
            "respondent_id": cols["respondent_id"],
            "overall_latent": y,
            "ltr_latent": ltr_latent,
            f"{scale_name}_factor": F[:, 0],
        }
    )
    return SyntheticData("responses", frame, truth, {"latent": latent})


# --------------------------------------------------------------------------------------------
# journeys: multi-touch paths with a logistic conversion model
# --------------------------------------------------------------------------------------------

JOURNEY_CHANNEL_SHARES = {"search": 0.30, "social": 0.25, "email": 0.15, "display": 0.20, "direct": 0.10}
JOURNEY_BETAS = {"search": 0.50, "social": 0.20, "email": 0.40, "display": 0.10, "direct": 0.70}


def generate_journeys(
    rows: int,
    seed: int | None = 0,
    *,
    channel_shares: Mapping[str, float] | None = None,
    betas: Mapping[str, float] | None = None,
    intercept: float = -4.0,
    mean_touches: float = 2.5,
    max_touches: int = 8,
    value_mean: float = 80.0,
    value_shape: float = 2.0,
) -> SyntheticData:
    """Aggregated customer paths (``path``, ``conversions``, ``nulls``, ``conversion_value``).

    ``rows`` individual journeys are simulated: length 1 + Poisson(mean_touches - 1), capped at
    ``max_touches``; each touch's channel drawn independently with ``channel_shares`` (default
    search .30, social .25, email .15, display .20, direct .10); a journey converts with
    probability logistic(intercept + sum_c beta_c * touches_c) (default intercept -4, betas
    search .5, social .2, email .4, display .1, direct .7; about 5 % convert); a conversion is
    worth Gamma(value_shape, value_mean / value_shape). Identical paths are then aggregated,
    sorted by number of journeys (descending) then path.

    Truth: the betas and, per channel (also as ``details["channel_effects"]``), the expected
    ``incremental_conversions`` (sum over journeys of p_i - p_i without that channel's touches,
    the journey otherwise unchanged), ``removal_effect`` (that divided by the expected
    conversions) and ``path_removal_effect`` (share of expected conversions on paths that
    contain the channel: what a Markov-chain removal effect estimates, since it removes
    every path through the channel). ``details["journeys"]``: one row per journey with its
    path row index in the frame, touch counts per channel, true p, converted and value.
    """
    n = _check_rows(rows)
    shares = _shares(channel_shares, list(channel_shares or JOURNEY_CHANNEL_SHARES), JOURNEY_CHANNEL_SHARES)
    chans = list(shares)
    K = len(chans)
    if betas is None:
        betas = {c: JOURNEY_BETAS.get(c, 0.3) for c in chans}
    beta = np.array([float(betas[c]) for c in chans])
    if not max_touches >= 1 or not mean_touches >= 1:
        raise ValueError("need max_touches >= 1 and mean_touches >= 1")
    base = K + 1
    if float(base) ** max_touches >= 2**62:
        raise ValueError("too many channels x max_touches to encode paths in 64 bits")

    rng = _rng(seed)
    length = np.minimum(1 + rng.poisson(mean_touches - 1.0, size=n), max_touches)
    total = int(length.sum())
    owner = np.repeat(np.arange(n), length)
    starts = np.cumsum(length) - length
    position = np.arange(total) - np.repeat(starts, length)
    ch = _choice(rng, shares, total).astype(np.int64)
    codes = np.add.reduceat((ch + 1) * base**position, starts)
    counts = np.bincount(owner * K + ch, minlength=n * K).reshape(n, K)
    eta = intercept + counts @ beta
    prob = 1.0 / (1.0 + np.exp(-eta))
    converted = rng.random(n) < prob
    value = np.where(converted, rng.gamma(value_shape, value_mean / value_shape, size=n), 0.0)
    value = np.round(value, 2)

    uniq, inv = np.unique(codes, return_inverse=True)
    m = uniq.size
    n_paths = np.bincount(inv, minlength=m)
    conv = np.bincount(inv, weights=converted, minlength=m).astype(np.int64)
    val = np.round(np.bincount(inv, weights=value, minlength=m), 2)
    # decode each distinct path once
    digits = []
    rest = uniq.copy()
    while (rest > 0).any():
        rest, d = np.divmod(rest, base)
        digits.append(d)
    D = np.stack(digits, axis=1) if digits else np.zeros((m, 0), dtype=np.int64)
    names = np.array([""] + chans, dtype=object)
    parts = names[D]
    paths = [" > ".join(row[: int(L)]) for row, L in zip(parts.tolist(), (D > 0).sum(axis=1))]
    order = np.lexsort((np.array(paths, dtype=object).astype(str), -n_paths))
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    frame = pd.DataFrame(
        {
            "path": pd.Series(np.array(paths, dtype=object)[order], dtype="str"),
            "conversions": conv[order],
            "nulls": (n_paths - conv)[order].astype(np.int64),
            "conversion_value": val[order],
        }
    )

    expected_total = float(prob.sum())
    incremental, path_removal = {}, {}
    for j, c in enumerate(chans):
        p_without = 1.0 / (1.0 + np.exp(-(eta - beta[j] * counts[:, j])))
        incremental[c] = float((prob - p_without).sum())
        path_removal[c] = float(prob[counts[:, j] > 0].sum() / expected_total)
    effects = pd.DataFrame(
        {
            "channel": chans,
            "beta": beta,
            "touches": counts.sum(axis=0),
            "journeys_with_channel": (counts > 0).sum(axis=0),
            "incremental_conversions": [incremental[c] for c in chans],
            "removal_effect": [incremental[c] / expected_total for c in chans],
            "path_removal_effect": [path_removal[c] for c in chans],
        }
    )
    journeys = pd.DataFrame({"path_row": rank[inv], "length": length})
    for j, c in enumerate(chans):
        journeys[f"n_{c}"] = counts[:, j]
    journeys["p"] = prob
    journeys["converted"] = converted
    journeys["value"] = value
    truth = _py(
        dict(
            model="logistic: logit P(convert) = intercept + sum_c beta_c * touches_c",
            channels=chans,
            channel_shares=shares,
            intercept=intercept,
            betas=dict(zip(chans, beta)),
            mean_touches=mean_touches,
            max_touches=max_touches,
            value_mean=value_mean,
            value_shape=value_shape,
            n_journeys=n,
            n_paths=m,
            n_conversions=int(converted.sum()),
            expected_conversions=expected_total,
            incremental_conversions=incremental,
            removal_effects={c: incremental[c] / expected_total for c in chans},
            path_removal_effects=path_removal,
        )
    )
    return SyntheticData("journeys", frame, truth, {"journeys": journeys, "channel_effects": effects})


# --------------------------------------------------------------------------------------------
# spend: marketing mix with adstock and saturation
# --------------------------------------------------------------------------------------------

MMM_CHANNELS = ("tv", "search", "social", "display")
MMM_DEFAULTS = dict(
    spend_scale={"tv": 20_000.0, "search": 8_000.0, "social": 6_000.0, "display": 4_000.0},
    adstock_alpha={"tv": 0.6, "search": 0.2, "social": 0.4, "display": 0.3},
    saturation_lam={"tv": 1.5, "search": 2.0, "social": 2.5, "display": 3.0},
    betas={"tv": 30_000.0, "search": 25_000.0, "social": 12_000.0, "display": 6_000.0},
)


def geometric_adstock(x: np.ndarray, alpha: float, l_max: int = 8, normalize: bool = True) -> np.ndarray:
    """Geometric adstock along axis 0: y_t = sum_{l=0}^{l_max-1} w_l x_{t-l}, w_l = alpha^l
    (divided by sum w when ``normalize``); spend before the first period counts as zero."""
    x = np.asarray(x, dtype=float)
    w = alpha ** np.arange(l_max)
    if normalize:
        w = w / w.sum()
    return np.convolve(x, w)[: x.size]


def logistic_saturation(x: np.ndarray, lam: float) -> np.ndarray:
    """(1 - exp(-lam x)) / (1 + exp(-lam x)), which is tanh(lam x / 2)."""
    return np.tanh(lam * np.asarray(x, dtype=float) / 2.0)


def generate_spend(
    rows: int = 156,
    seed: int | None = 0,
    *,
    start: str = "2022-01-03",
    channels: Sequence[str] = MMM_CHANNELS,
    spend_scale: Mapping[str, float] | None = None,
    adstock_alpha: Mapping[str, float] | None = None,
    saturation_lam: Mapping[str, float] | None = None,
    betas: Mapping[str, float] | None = None,
    l_max: int = 8,
    normalize_adstock: bool = True,
    intercept: float = 100_000.0,
    trend_per_week: float = 150.0,
    fourier: Sequence[tuple[float, float]] = ((8_000.0, -5_000.0), (2_000.0, 1_500.0)),
    noise_sd: float = 4_000.0,
    kpi_name: str = "revenue",
) -> SyntheticData:
    """Weekly marketing-mix data: ``date``, one spend column per channel, ``revenue``.

    ``rows`` weeks from ``start`` (a Monday). Spend patterns: tv in on/off flights, search steady
    with seasonality, social growing, display noisy with some dark weeks (scales ``spend_scale``,
    default tv 40k, search 15k, social 10k, display 6k a week). Revenue:

        revenue_t = intercept + trend_per_week * t
                    + sum_k [s_k sin(2 pi k u_t) + c_k cos(2 pi k u_t)]   (u_t = days/365.25)
                    + sum_c beta_c * sat_c(t) + N(0, noise_sd)

    with sat_c = logistic_saturation(A_c / max_t A_c, lam_c) and A_c the geometric adstock of the
    spend (``l_max`` = 8 weights alpha_c^l, l = 0..7, normalised to sum 1 by default; zero spend
    assumed before the first week). Defaults: alpha tv .6 search .2 social .4 display .3; lam
    tv 1.5 search 3 social 2.5 display 4; betas tv 30k search 25k social 12k display 6k;
    intercept 100k, trend 150/week, Fourier ((8000, -5000), (2000, 1500)), noise SD 4000.

    ``details["contributions"]``: per week the intercept, trend, seasonality, each channel's true
    contribution and the noise (they sum to revenue); ``details["media"]``: adstocked, scaled and
    saturated media per channel (the true regressors). ``truth["channels"][c]`` holds each
    channel's alpha, lam, beta, adstock max (the scaling constant), total spend, total
    contribution, contribution share and ROAS (contribution / spend).
    """
    n = _check_rows(rows)
    chans = [str(c) for c in channels]
    par = {}
    for key, given in (
        ("spend_scale", spend_scale), ("adstock_alpha", adstock_alpha),
        ("saturation_lam", saturation_lam), ("betas", betas),
    ):  # fmt: skip
        defaults = MMM_DEFAULTS[key]
        fallback = {"spend_scale": 10_000.0, "adstock_alpha": 0.4, "saturation_lam": 2.5, "betas": 10_000.0}[key]
        given = dict(given or {})
        par[key] = {c: float(given.get(c, defaults.get(c, fallback))) for c in chans}
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
    last = start_d + np.timedelta64(7 * (n - 1), "D")
    if last > np.datetime64("2262-04-01"):
        raise ValueError(f"{n} weeks from {start_d} run past the last date pandas can hold (2262)")

    rng = _rng(seed)
    t = np.arange(n, dtype=float)
    u = t * 7.0 / 365.25
    season_shape = np.sin(2 * np.pi * u) + 0.5 * np.cos(2 * np.pi * u)
    spend = {}
    for i, c in enumerate(chans):
        scale_c = par["spend_scale"][c]
        kind = c if c in MMM_CHANNELS else MMM_CHANNELS[i % len(MMM_CHANNELS)]
        if kind == "tv":  # flights: smoothed noise above a threshold -> blocks of on-weeks
            smooth = np.convolve(rng.standard_normal(n + 3), np.ones(4) / 2.0, mode="valid")
            on = smooth > 0.1
            x = on * scale_c * rng.lognormal(0.0, 0.25, n) * 1.6
        elif kind == "search":
            x = scale_c * (1.0 + 0.4 * season_shape) * rng.lognormal(0.0, 0.35, n)
        elif kind == "social":
            x = scale_c * (0.4 + 1.2 * t / max(n - 1, 1)) * rng.lognormal(0.0, 0.45, n)
        else:
            x = scale_c * rng.lognormal(0.0, 0.4, n) * (rng.random(n) > 0.15)
        spend[c] = np.round(np.maximum(x, 0.0), 2)

    media, contrib, info = {}, {}, {}
    for c in chans:
        ad = geometric_adstock(spend[c], par["adstock_alpha"][c], l_max, normalize_adstock)
        ad_max = float(ad.max())
        scaled = ad / ad_max if ad_max > 0 else ad
        sat = logistic_saturation(scaled, par["saturation_lam"][c])
        media[f"{c}_adstock"] = ad
        media[f"{c}_scaled"] = scaled
        media[f"{c}_saturated"] = sat
        contrib[c] = par["betas"][c] * sat
        info[c] = dict(
            alpha=par["adstock_alpha"][c],
            lam=par["saturation_lam"][c],
            beta=par["betas"][c],
            adstock_max=ad_max,
            total_spend=float(spend[c].sum()),
            total_contribution=float(contrib[c].sum()),
        )
    season = np.zeros(n)
    for k, (s_k, c_k) in enumerate(fourier, start=1):
        season += s_k * np.sin(2 * np.pi * k * u) + c_k * np.cos(2 * np.pi * k * u)
    trend = trend_per_week * t
    noise = noise_sd * rng.standard_normal(n)
    media_total = np.sum([contrib[c] for c in chans], axis=0) if chans else np.zeros(n)
    revenue = intercept + trend + season + media_total + noise
    total_rev = float(revenue.sum())
    for c in chans:
        info[c]["contribution_share"] = info[c]["total_contribution"] / total_rev
        info[c]["roas"] = info[c]["total_contribution"] / info[c]["total_spend"] if info[c]["total_spend"] else None

    dates = _dates(start_d, 7 * np.arange(n))
    frame = pd.DataFrame({"date": dates, **spend, kpi_name: revenue})
    contributions = pd.DataFrame(
        {"date": dates, "intercept": intercept, "trend": trend, "seasonality": season, **contrib, "noise": noise,
         kpi_name: revenue}
    )  # fmt: skip
    truth = _py(
        dict(
            kpi=kpi_name,
            channels=info,
            l_max=l_max,
            normalize_adstock=normalize_adstock,
            adstock="geometric, weights alpha^l for l = 0..l_max-1, zero before the first week",
            saturation="logistic (1 - exp(-lam x)) / (1 + exp(-lam x)) on adstock / max(adstock)",
            intercept=intercept,
            trend_per_week=trend_per_week,
            fourier=[list(f) for f in fourier],
            fourier_time="u = days since start / 365.25",
            noise_sd=noise_sd,
            n_weeks=n,
            start=str(start_d),
        )
    )
    return SyntheticData(
        "spend", frame, truth, {"contributions": contributions, "media": pd.DataFrame({"date": dates, **media})}
    )


# --------------------------------------------------------------------------------------------
# entry point and writer
# --------------------------------------------------------------------------------------------

_GENERATORS = {
    "transactions": generate_transactions,
    "customers": generate_customers,
    "responses": generate_responses,
    "journeys": generate_journeys,
    "spend": generate_spend,
}


def generate(kind: str, rows: int, seed: int | None = 0, **options: Any) -> SyntheticData:
    """Simulate ``rows`` rows of data of ``kind`` (see the module docstring for what rows means
    per kind); ``options`` go to the kind's generator (``generate_<kind>``)."""
    key = str(kind).strip().lower()
    if key not in _GENERATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    _check_rows(rows)
    return _GENERATORS[key](rows, seed=seed, **options)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as Arrow, with midnight-only datetime columns as dates (ISO, no time part)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if pa.types.is_timestamp(col.type) and col.type.tz is None:
            s = frame[name]
            ns = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
            valid = ~s.isna().to_numpy()
            if not (ns[valid] % 86_400_000_000_000).any():
                table = table.set_column(i, name, col.cast(pa.date32()))
    return table


def _needs_quotes(table: pa.Table) -> bool:
    """Whether any header or text value holds a comma, quote or line break (then quote text).

    Scans the raw bytes of the text columns (a stray hit only means quoting, never damage)."""
    special = (ord(","), ord('"'), ord("\n"), ord("\r"))
    if any(chr(c) in name for name in table.column_names for c in special):
        return True
    for col in table.columns:
        for chunk in col.chunks:
            if pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary
            if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                continue
            data = chunk.buffers()[2]
            if data is None:
                continue
            raw = np.frombuffer(data, dtype=np.uint8)
            if any(np.count_nonzero(raw == c) for c in special):
                return True
    return False


def write_frame(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` by the file extension: ``.csv`` / ``.csv.gz`` (pyarrow, ISO dates, no index,
    NaN as empty), ``.parquet`` / ``.pq`` (dates as date32), or ``.xlsx`` (openpyxl; at most
    1,048,575 rows, slow beyond ~100k). The file appears complete or not at all (written to a
    temporary file in the same folder, then renamed). Returns the path."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".csv.gz"):
        fmt = "csv.gz"
    elif name.endswith(".csv"):
        fmt = "csv"
    elif name.endswith((".parquet", ".pq")):
        fmt = "parquet"
    elif name.endswith(".xlsx"):
        fmt = "xlsx"
    else:
        raise ValueError(f"cannot tell the format of {path.name}: use .csv, .csv.gz, .parquet, .pq or .xlsx")
    if fmt == "xlsx" and len(frame) > 1_048_575:
        raise ValueError(f"{len(frame)} rows do not fit in an Excel sheet (max 1,048,575); use .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        if fmt in ("csv", "csv.gz"):
            import pyarrow.csv as pacsv

            table = _arrow_table(frame)
            quote = _needs_quotes(table)
            # pyarrow quotes header names even with quoting_style="none": write a plain header
            options = pacsv.WriteOptions(quoting_style="needed" if quote else "none", include_header=quote)
            with pa.OSFile(tmp, "wb") if fmt == "csv" else pa.CompressedOutputStream(tmp, "gzip") as out:
                if not quote:
                    out.write((",".join(table.column_names) + "\n").encode("utf-8"))
                pacsv.write_csv(table, out, options)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(_arrow_table(frame), tmp)
        else:
            with pd.ExcelWriter(tmp, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xw:
                frame.to_excel(xw, index=False)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# --------------------------------------------------------------------------------------------
# A messy export, for demonstrating and testing the data contracts


def write_messy_transactions(
    path: str | os.PathLike, rows: int = 20_000, seed: int = 7, defects_per_kind: int = 5
) -> dict:
    """Write a transactions CSV (``;``-separated, day-first dates, like a European spreadsheet
    export) with returns and zero-value orders, plus ``defects_per_kind`` rows of each defect a
    contract must catch. Returns what was planted: ``{"rows": n, "defects": {reason: count}, ...}``.

    Defects: missing customer id, impossible date, amount that is not a number, quantity that
    is not a whole number, too few fields, too many fields.
    """
    rng = _rng(seed, 99)
    data = generate_transactions(rows, seed=seed, returns_rate=0.02, zero_value_rate=0.005)
    frame = data.frame[["customer_id", "date", "amount", "quantity", "channel", "order_id"]].copy()
    text = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype(str),
            "date": frame["date"].dt.strftime("%d/%m/%Y"),
            "amount": frame["amount"].map(lambda v: f"{v:.2f}"),
            "quantity": frame["quantity"].astype(str),
            "channel": frame["channel"].astype(str),
            "order_id": frame["order_id"].astype(str),
        }
    )
    n = len(text)
    k = defects_per_kind
    picks = rng.choice(n, size=6 * k, replace=False)
    groups = [picks[i * k : (i + 1) * k] for i in range(6)]
    text.loc[groups[0], "customer_id"] = ""
    text.loc[groups[1], "date"] = "31/02/2025"
    text.loc[groups[2], "amount"] = "n/a"
    text.loc[groups[3], "quantity"] = "1.5"
    lines = text.apply(lambda r: ";".join(r.values), axis=1).tolist()
    for i in groups[4]:
        lines[i] = ";".join(lines[i].split(";")[:3])
    for i in groups[5]:
        lines[i] = lines[i] + ";EXTRA"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    tmp.write_text("customer_id;date;amount;quantity;channel;order_id\n" + "\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    defects = {
        "customer_id: missing": k,
        "date: not a date in format %d/%m/%Y": k,
        "amount: not a number": k,
        "quantity: not a whole number": k,
        "too few fields (expected 6, found 3)": k,
        "too many fields (expected 6, found 7)": k,
    }
    return {
        "rows": n,
        "defects": defects,
        "returns": int(data.truth["n_returns"]),
        "zero_value": int(data.truth["n_zero_value"]),
        "truth": data.truth,
    }


# --------------------------------------------------------------------------------------------
# Customer summaries straight from the models (no transaction log): for fitting tests and benchmarks


def _observation_lengths(rng: np.random.Generator, n: int, T) -> np.ndarray:
    if T is None:
        return rng.uniform(26.0, 52.0, n)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    return T


def simulate_bgnbd_summary(n: int, r: float, alpha: float, a: float, b: float, seed: int = 0, T=None) -> pd.DataFrame:
    """``frequency, recency, T`` of ``n`` BG/NBD customers in continuous time.

    ``T``: observation length per customer (time units; default uniform on 26-52). Purchases
    arrive at rate lambda ~ Gamma(r, rate alpha); after each repeat purchase the customer drops
    out with probability p ~ Beta(a, b).
    """
    rng = np.random.default_rng(seed)
    T = _observation_lengths(rng, n, T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.poisson(lam * T)  # purchase opportunities in (0, T] had the customer stayed
    x = np.minimum(k, rng.geometric(p))  # drop-out right after the N-th repeat purchase
    tx = np.zeros(n)
    pos = x > 0
    tx[pos] = T[pos] * rng.beta(x[pos], k[pos] - x[pos] + 1)  # x-th smallest of k uniform times
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def simulate_pareto_nbd_summary(
    n: int, r: float, alpha: float, s: float, beta: float, seed: int = 0, T=None
) -> pd.DataFrame:
    """``frequency, recency, T`` of ``n`` Pareto/NBD customers in continuous time: purchase rate
    lambda ~ Gamma(r, rate alpha), exponential lifetime with rate mu ~ Gamma(s, rate beta)."""
    rng = np.random.default_rng(seed)
    T = _observation_lengths(rng, n, T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    active = np.minimum(rng.exponential(1.0 / mu), T)
    x = rng.poisson(lam * active)
    tx = np.zeros(n)
    pos = x > 0
    tx[pos] = active[pos] * rng.random(int(pos.sum())) ** (1.0 / x[pos])  # latest of x uniform times
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def simulate_gamma_gamma_spend(frequency, p: float, q: float, v: float, seed: int = 0) -> np.ndarray:
    """Mean spend per transaction of customers with ``frequency`` transactions each (> 0), under
    Gamma-Gamma: each spend ~ Gamma(p, rate nu), nu ~ Gamma(q, rate v)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(q, 1.0 / v, x.size)
    return rng.gamma(p * x, 1.0 / nu) / x  # the mean of x Gamma(p, nu) draws
