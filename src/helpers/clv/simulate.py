"""Simulated customer-base data with known truth: BG/NBD purchases and Gamma-Gamma spend.

- :func:`generate_transactions`: a transaction log (the ``transactions`` kind) from a BG/NBD
  purchase process with Gamma-Gamma spend, optionally with returns and zero-value rows;
- :func:`simulate_bgnbd_summary`, :func:`simulate_pareto_nbd_summary`,
  :func:`simulate_gamma_gamma_spend`: customer summaries straight from the models, without a
  log (for fitting tests and benchmarks).

The BG/NBD process is drawn by one pair of functions (:func:`draw_bgnbd`,
:func:`draw_repeat_times`) for both the log and the summary, so the two cannot drift apart.

What ``rows`` means for ``generate("transactions", rows)``: the expected number of transaction
rows. The number of customers is ``round(rows / expected_rows_per_customer)`` from the
closed-form BG/NBD mean, so the realised count is ``rows`` up to sampling error (relative SD
about ``1.5 / sqrt(n_customers)`` with the defaults, about 3 rows per customer: 2 % at 20,000
rows, 0.3 % at 1M, 0.1 % at 10M); ``truth["n_rows"]`` is the exact count.

Identifiers: customers ``C0000001`` (7 digits, wider only beyond 9,999,999 customers), so that
``transactions`` and ``customers`` generated with the same seed and size join on
``customer_id`` (see :func:`helpers.segmentation.simulate.generate_customer_base`); orders
``O000000001``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core import simulate as sim
from helpers.core.io import jsonable
from helpers.core.simulate import SyntheticData

__all__ = [
    "BGNBDDraws",
    "bgnbd_expected_repeats",
    "draw_bgnbd",
    "draw_repeat_times",
    "expected_rows_per_customer",
    "generate_transactions",
    "simulate_bgnbd_summary",
    "simulate_gamma_gamma_spend",
    "simulate_pareto_nbd_summary",
]

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


# --------------------------------------------------------------------------------------------
# The BG/NBD process, drawn once for both the transaction log and the customer summaries


@dataclass
class BGNBDDraws:
    """Per-customer draws of the BG/NBD process over observation lengths ``T``."""

    T: np.ndarray  # observation length (time units)
    lam: np.ndarray  # purchase rate lambda ~ Gamma(shape r, rate alpha)
    p: np.ndarray  # drop-out probability after each repeat purchase, ~ Beta(a, b)
    n_until_dropout: np.ndarray  # drops out right after this repeat purchase (1, 2, ...)
    n_opportunities: np.ndarray  # purchases in (0, T] had the customer never dropped out
    x: np.ndarray  # repeat purchases made in (0, T]
    alive: np.ndarray  # still active at T


def draw_bgnbd(rng: np.random.Generator, T: np.ndarray, r: float, alpha: float, a: float, b: float) -> BGNBDDraws:
    """Latent values and repeat-purchase counts of ``len(T)`` BG/NBD customers.

    Purchases arrive at rate lambda ~ Gamma(r, rate alpha); after each repeat purchase the
    customer drops out with probability p ~ Beta(a, b) (never right after the first purchase),
    so X = min(N, D) with N ~ Poisson(lambda T) and D ~ Geometric(p) on 1, 2, ...
    """
    T = np.asarray(T, dtype=float)
    n = T.size
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = np.clip(rng.beta(a, b, size=n), 1e-12, 1.0)
    n_until_dropout = rng.geometric(p)
    n_opportunities = rng.poisson(lam * T)
    x = np.minimum(n_until_dropout, n_opportunities)
    return BGNBDDraws(T, lam, p, n_until_dropout, n_opportunities, x, n_opportunities < n_until_dropout)


def draw_repeat_times(rng: np.random.Generator, bg: BGNBDDraws) -> tuple[np.ndarray, np.ndarray]:
    """Times of the repeat purchases (flat, customer-major, increasing within a customer) and
    each customer's last one ``t_x`` (0 without repeats), in the units of ``T``.

    The repeat purchases are the first x of N uniform order statistics on (0, T]:
    U_(j) = T * S_j / S_(N+1) with S the cumulative sums of unit exponentials, and S_(N+1) is
    S_x plus a Gamma(N + 1 - x) remainder, so only x + 1 draws per customer are needed.
    """
    x, T = bg.x, bg.T
    csum = np.cumsum(rng.standard_exponential(int(x.sum())))
    ends = np.cumsum(x)
    base = np.concatenate(([0.0], csum))[ends - x]
    s_within = csum - np.repeat(base, x)
    s_x = np.concatenate(([0.0], csum))[ends] - base
    denom = s_x + rng.gamma(bg.n_opportunities - x + 1.0)
    times = np.repeat(T / denom, x) * s_within
    t_x = np.zeros(x.size)
    has = x > 0
    t_x[has] = T[has] * s_x[has] / denom[has]
    return times, t_x


def _draw_nu(rng: np.random.Generator, n: int, q: float, v: float) -> np.ndarray:
    """Gamma-Gamma: each customer's spend rate nu ~ Gamma(shape q, rate v); a spend ~ Gamma(p, rate nu)."""
    return rng.gamma(q, 1.0 / v, size=n)


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
    shares = sim.shares(channel_shares, list((channel_shares or _CHANNEL_SHARES).keys()), _CHANNEL_SHARES)
    per_customer = expected_rows_per_customer(
        r, alpha, a, b, acquisition_weeks, observation_weeks, returns_rate, zero_value_rate
    )
    if n_customers is None:
        n = max(1, round(sim.check_rows(rows) / per_customer))
    else:
        n = sim.check_rows(n_customers, "n_customers")

    rng = sim.rng(seed)
    start_d = sim.day(start)
    n_days = 7 * int(observation_weeks)

    # --- per-customer latent values -----------------------------------------------------
    first_day = rng.integers(0, 7 * int(acquisition_weeks), size=n)
    T = (n_days - first_day) / 7.0
    bg = draw_bgnbd(rng, T, r, alpha, a, b)
    x = bg.x
    nu = _draw_nu(rng, n, q, v)
    rep_weeks, t_x = draw_repeat_times(rng, bg)
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
    channel = sim.choice(rng, shares, n_rows)

    # sort by date (stable radix sort on small ints keeps customer-major order within a day)
    order = np.argsort(day.astype(np.int16 if n_days < 32767 else np.int32), kind="stable")
    day, cust, amount, quantity, channel = day[order], cust[order], amount[order], quantity[order], channel[order]
    order_no = np.arange(1, n_rows + 1, dtype=np.int64)
    order_bytes = sim.sequential_bytes("O", n_rows, 9)

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
            order_bytes=sim.digits_bytes(label, order_no[pick], 9),
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

    cust_bytes = sim.sequential_bytes("C", n, 7)
    frame = pd.DataFrame(
        {
            "customer_id": sim.str_series(cust_bytes[cust]),
            "date": sim.dates(start_d, day),
            "amount": amount,
            "order_id": sim.str_series(order_bytes),
            "channel": sim.labels(channel, list(shares)),
            "quantity": quantity.astype(np.int64),
        }
    )

    # E[X(T)] per customer: T depends only on the first-purchase day, so compute it per day
    ex_T = bgnbd_expected_repeats((n_days - np.arange(7 * int(acquisition_weeks))) / 7.0, r, alpha, a, b)[first_day]
    customers = pd.DataFrame(
        {
            "customer_id": sim.str_series(cust_bytes),
            "first_purchase_date": sim.dates(start_d, first_day),
            "T": T,
            "lambda": bg.lam,
            "p": bg.p,
            "nu": nu,
            "mean_spend": p / nu,
            "n_until_dropout": bg.n_until_dropout,
            "x": x,
            "t_x": t_x,
            "alive": bg.alive,
            "expected_x": ex_T,
        }
    )
    truth = jsonable(
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
            n_alive_at_end=int(bg.alive.sum()),
        )
    )  # fmt: skip
    return SyntheticData("transactions", frame, truth, {"customers": customers})


# --------------------------------------------------------------------------------------------
# Customer summaries straight from the models (no transaction log): for fitting tests and benchmarks


def _observation_lengths(rng: np.random.Generator, n: int, T) -> np.ndarray:
    if T is None:
        return rng.uniform(26.0, 52.0, n)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    return T


def simulate_bgnbd_summary(n: int, r: float, alpha: float, a: float, b: float, seed: int = 0, T=None) -> pd.DataFrame:
    """``frequency, recency, T`` of ``n`` BG/NBD customers in continuous time.

    ``T``: observation length per customer (time units; default uniform on 26-52). The process
    is the one :func:`generate_transactions` simulates (:func:`draw_bgnbd` and
    :func:`draw_repeat_times`), summarised instead of written out as a log.
    """
    rng = np.random.default_rng(seed)
    T = _observation_lengths(rng, n, T)
    bg = draw_bgnbd(rng, T, r, alpha, a, b)
    _, t_x = draw_repeat_times(rng, bg)
    return pd.DataFrame({"frequency": bg.x, "recency": t_x, "T": T})


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
    nu = _draw_nu(rng, x.size, q, v)
    return rng.gamma(p * x, 1.0 / nu) / x  # the mean of x Gamma(p, nu) draws
