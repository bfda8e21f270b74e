"""A simulated customer base acquired through channels of known quality: leads, their purchases and the
marketing cost per channel (:func:`generate_channel_base`), for the channel scorecard.

Each lead comes through one acquisition channel; the channel sets its chance to buy, what it cost
to get, and how the customer buys afterwards (how often, how much, how long). The truth per
channel is in ``truth["channels"]``, so a scorecard computed on the data can be checked against
it. Everything is vectorised (no loop per customer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.core import simulate as sim
from helpers.core.io import jsonable
from helpers.core.simulate import SyntheticData

__all__ = ["BASE_CHANNELS", "generate_channel_base"]

#: Default channels. Per channel: ``share`` of leads; ``conversion`` probability that a lead buys;
#: ``cost_per_lead`` (currency); ``purchases_per_year`` repeat purchase rate while active;
#: ``order_value`` mean spend per purchase day; ``lifetime_days`` mean active life after the first
#: purchase (exponential). Email is cheap and good, social cheap but low value, referral
#: expensive but high value, display expensive per customer and low value.
BASE_CHANNELS: dict[str, dict[str, float]] = {
    "search": dict(share=0.30, conversion=0.20, cost_per_lead=8.0, purchases_per_year=4.0, order_value=60.0, lifetime_days=365.0),
    "social": dict(share=0.25, conversion=0.10, cost_per_lead=3.0, purchases_per_year=2.0, order_value=40.0, lifetime_days=120.0),
    "email": dict(share=0.15, conversion=0.30, cost_per_lead=2.0, purchases_per_year=5.0, order_value=50.0, lifetime_days=540.0),
    "referral": dict(share=0.10, conversion=0.40, cost_per_lead=30.0, purchases_per_year=6.0, order_value=90.0, lifetime_days=900.0),
    "display": dict(share=0.20, conversion=0.06, cost_per_lead=4.0, purchases_per_year=1.5, order_value=45.0, lifetime_days=90.0),
}  # fmt: skip
_KEYS = tuple(BASE_CHANNELS["search"])


def _channel_specs(channels: Mapping[str, Mapping[str, float]] | Sequence[str] | None) -> dict[str, dict[str, float]]:
    """Complete, validated channel parameters: names pick default channels; a mapping's missing keys
    come from the default channel of that name."""
    if channels is None:
        given: dict[str, Mapping[str, float]] = {c: {} for c in BASE_CHANNELS}
    elif isinstance(channels, Mapping):
        given = {str(c): dict(p or {}) for c, p in channels.items()}
    else:
        given = {str(c): {} for c in channels}
    if not given:
        raise ValueError("channels: at least one channel is needed")
    specs = {}
    for name, p in given.items():
        spec = {**BASE_CHANNELS.get(name, {}), **p}
        missing = [k for k in _KEYS if k not in spec]
        if missing:
            raise ValueError(f"channels: {name!r} is not a default channel and misses {missing}")
        spec = {k: float(spec[k]) for k in _KEYS}
        if not 0 < spec["conversion"] <= 1:
            raise ValueError(f"channels: {name!r} conversion must be in (0, 1], got {spec['conversion']}")
        bad = [k for k in _KEYS if k != "conversion" and not spec[k] >= 0]
        bad += [k for k in ("order_value", "lifetime_days") if spec[k] == 0]
        if bad:
            raise ValueError(f"channels: {name!r} needs share, cost and rates >= 0 and positive {bad}")
        specs[name] = spec
    total = sum(s["share"] for s in specs.values())
    if total <= 0:
        raise ValueError("channels: the shares must not all be zero")
    for s in specs.values():
        s["share"] /= total
    return specs


def _truth_per_channel(s: Mapping[str, float]) -> dict[str, float]:
    """A channel's derived truth over an unlimited horizon: true CAC, expected purchase days and
    spend per customer, and net value (spend minus CAC)."""
    mean_orders = 1.0 + s["purchases_per_year"] * s["lifetime_days"] / 365.0
    value = mean_orders * s["order_value"]
    cac = s["cost_per_lead"] / s["conversion"]
    return {
        **s,
        "cac": cac,
        "mean_orders": mean_orders,
        "mean_order_value": s["order_value"],
        "expected_value": value,
        "net_value": value - cac,
    }


def generate_channel_base(
    customers: int = 5000,
    seed: int | None = 0,
    *,
    start: str = "2024-01-01",
    end: str = "2025-12-31",
    channels: Mapping[str, Mapping[str, float]] | Sequence[str] | None = None,
    unattributed_share: float = 0.0,
    same_day_share: float = 0.03,
    return_share: float = 0.02,
    signup_lag_mean_days: float = 3.0,
) -> SyntheticData:
    """Leads (the ``customers`` kind), their transactions and monthly costs per channel.

    ``customers`` leads (exact) sign up on days uniform over ``start``..``end`` (inclusive), each
    through a channel drawn with the channels' shares (``channels``: names of
    :data:`BASE_CHANNELS`, or ``{name: parameters}``, missing parameters taken from the default
    channel of that name). A lead converts with the channel's ``conversion`` probability; a
    converted lead first buys ``Geometric`` days after signing up (mean ``signup_lag_mean_days``,
    not after ``end``), then stays active an ``Exponential(lifetime_days)`` time and buys again at
    rate ``purchases_per_year x Gamma(2)/2`` (a customer's own rate) on uniform days while active
    and before ``end`` (repeat days falling on one day merge). A purchase day's spend is the
    customer's mean (``order_value x Gamma(8)/8``) times ``Gamma(4)/4``, to cents; with probability
    ``same_day_share`` it is split into two orders that day, and with probability ``return_share``
    10-100 % of it is returned 0-14 days later (not after ``end``) as a negative row. Returns are
    not purchases, so the true spend per purchase day is ``order_value``.

    Monthly cost of a channel = ``cost_per_lead`` x its leads signing up that month (to cents), so
    the true CAC is ``cost_per_lead / conversion``. With ``unattributed_share`` > 0 that share of
    leads has no channel recorded (tracking lost; their cost is still paid).

    Frame: ``customer_id`` (``C0000001``...), ``signup_date``, ``acquisition_channel`` (missing
    when unattributed). ``details["transactions"]``: ``customer_id, date, amount``;
    ``details["costs"]``: ``channel, date`` (month start), ``cost``. ``truth["channels"][c]``: the
    parameters, ``cac``, ``mean_orders`` and ``expected_value`` per customer over an unlimited
    horizon (``1 + purchases_per_year x lifetime_days / 365`` purchase days at ``order_value``),
    ``net_value`` (value minus CAC), and the simulated ``leads``, ``customers`` and ``cost``;
    ``truth["ranking"]``: channels by true net value, best first.
    """
    n = sim.check_rows(customers, "customers")
    specs = _channel_specs(channels)
    for name, value in (("unattributed_share", unattributed_share), ("same_day_share", same_day_share)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if not 0 <= return_share <= 1 or not signup_lag_mean_days >= 0:
        raise ValueError("return_share must be in [0, 1] and signup_lag_mean_days >= 0")
    start_d, end_d = sim.day(start), sim.day(end)
    days = int((end_d - start_d).astype(np.int64)) + 1
    if days < 1:
        raise ValueError(f"end ({end}) is before start ({start})")
    names = list(specs)
    par = {k: np.array([specs[c][k] for c in names]) for k in _KEYS}
    rng = sim.rng(seed)

    # --- leads, conversion, first purchase ------------------------------------------------------
    channel = sim.choice(rng, {c: s["share"] for c, s in specs.items()}, n)
    signup = rng.integers(0, days, size=n)
    converted = rng.random(n) < par["conversion"][channel]
    lag = rng.geometric(1.0 / (1.0 + signup_lag_mean_days), size=n) - 1
    first = np.minimum(signup + lag, days - 1)
    buyers = np.flatnonzero(converted)
    ch_b = channel[buyers]

    # --- repeat purchase days while active ------------------------------------------------------
    life = rng.exponential(par["lifetime_days"][ch_b])
    active = np.minimum(life, days - 1 - first[buyers])
    rate = par["purchases_per_year"][ch_b] * rng.gamma(2.0, 0.5, size=buyers.size) / 365.0
    k = rng.poisson(rate * active)
    owner = np.repeat(np.arange(buyers.size), k)
    offset = 1 + np.floor(rng.random(owner.size) * np.floor(active)[owner]).astype(np.int64)
    keep = offset <= np.floor(active)[owner]  # an active time under one day leaves no repeat day
    owner, offset = owner[keep], offset[keep]
    pairs = np.unique(
        np.concatenate([np.arange(buyers.size), owner]) * days
        + np.concatenate([first[buyers], first[buyers][owner] + offset])
    )
    p_owner, p_day = np.divmod(pairs, days)

    # --- spend, same-day splits, returns --------------------------------------------------------
    mean_value = par["order_value"][ch_b] * rng.gamma(8.0, 1.0 / 8.0, size=buyers.size)
    amount = np.maximum(np.round(mean_value[p_owner] * rng.gamma(4.0, 0.25, size=p_owner.size), 2), 0.01)
    split = rng.random(p_owner.size) < same_day_share
    part = np.round(amount[split] * rng.uniform(0.2, 0.8, size=int(split.sum())), 2)
    part = np.clip(part, 0.0, amount[split])
    back = rng.random(p_owner.size) < return_share
    refund = np.minimum(
        np.maximum(np.round(amount[back] * rng.uniform(0.1, 1.0, int(back.sum())), 2), 0.01), amount[back]
    )
    back_day = np.minimum(p_day[back] + rng.integers(0, 15, size=int(back.sum())), days - 1)
    order_amount = amount.copy()
    order_amount[split] -= part
    rows_owner = np.concatenate([p_owner, p_owner[split], p_owner[back]])
    rows_day = np.concatenate([p_day, p_day[split], back_day])
    rows_amount = np.round(np.concatenate([order_amount, part, -refund]), 2)
    order = np.lexsort((buyers[rows_owner], rows_day))
    ids = sim.sequential_bytes("C", n, 7)
    transactions = pd.DataFrame(
        {
            "customer_id": sim.str_series(ids[buyers[rows_owner][order]]),
            "date": sim.dates(start_d, rows_day[order]),
            "amount": rows_amount[order],
        }
    )

    # --- the lead table (channel labels possibly lost) and monthly costs ------------------------
    label = pd.Series(np.array(names, dtype=object)[channel], dtype="str")
    lost = rng.random(n) < unattributed_share
    label[lost] = pd.NA
    frame = pd.DataFrame(
        {"customer_id": sim.str_series(ids), "signup_date": sim.dates(start_d, signup), "acquisition_channel": label}
    )
    month = frame["signup_date"].dt.to_period("M")
    months = pd.period_range(pd.Timestamp(start_d).to_period("M"), pd.Timestamp(end_d).to_period("M"), freq="M")
    counts = pd.crosstab(month, pd.Categorical(channel, categories=range(len(names)))).reindex(months, fill_value=0)
    cost = counts.to_numpy() * par["cost_per_lead"][None, :]
    costs = pd.DataFrame(
        {
            "channel": pd.Series(np.tile(np.array(names, dtype=object), len(months)), dtype="str"),
            "date": np.repeat(months.to_timestamp().to_numpy().astype("datetime64[ns]"), len(names)),
            "cost": np.round(cost.ravel(), 2),
        }
    )

    per: dict[str, dict[str, Any]] = {}
    for j, c in enumerate(names):
        mask = channel == j
        per[c] = {
            **_truth_per_channel(specs[c]),
            "leads": int(mask.sum()),
            "customers": int((converted & mask).sum()),
            "cost": float(costs.loc[costs["channel"] == c, "cost"].sum()),
        }
    truth = jsonable(
        dict(
            n_leads=n,
            start=str(start_d),
            end=str(end_d),
            channels=per,
            ranking=sorted(names, key=lambda c: -per[c]["net_value"]),
            unattributed_share=unattributed_share,
            unattributed_leads=int(lost.sum()),
            same_day_share=same_day_share,
            return_share=return_share,
            signup_lag_mean_days=signup_lag_mean_days,
            n_customers=int(converted.sum()),
            n_purchase_days=int(p_owner.size),
            n_returns=int(back.sum()),
            revenue=float(amount.sum()),
        )
    )
    return SyntheticData("customers", frame, truth, {"transactions": transactions, "costs": costs})
