"""Simulated sales funnels with known truth: :func:`generate_funnel` (the ``funnel`` kind).

Each lead enters the first stage on a day of the year, then moves stage by stage: from stage k
to stage k+1 with a probability that depends on its channel and the transition, after a
number of days in stage k (1 + a negative binomial, so whole days >= 1 with the stated mean).
A lead that does not move on stops. The frame has one row per lead per stage reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.core import simulate as sim
from helpers.core.simulate import SyntheticData

__all__ = ["FUNNEL_CHANNEL_SHARES", "FUNNEL_STAGES", "generate_funnel"]

FUNNEL_STAGES = ("lead", "qualified", "proposal", "won")
FUNNEL_CHANNEL_SHARES = {"search": 0.35, "social": 0.25, "email": 0.20, "referral": 0.20}
#: Base conversion probability of each transition and mean days in each stage (before the next).
_BASE_CONVERSION = (0.50, 0.45, 0.35)
_BASE_DAYS = (6.0, 10.0, 15.0)
_DISPERSION = 2.0  # negative-binomial size of (days - 1): the days are right-skewed
_PLANT_UP, _PLANT_DOWN, _PLANT_DAYS = 0.25, -0.15, 0.5


def _base(values: tuple[float, ...], k: int, low: float, high: float) -> np.ndarray:
    """The defaults for 3 transitions, else evenly spaced from ``high`` down to ``low``."""
    return np.array(values, dtype=float) if k == len(values) else np.linspace(high, low, k)


def generate_funnel(
    leads: int = 5000,
    seed: int | None = 0,
    *,
    stages: Sequence[str] = FUNNEL_STAGES,
    channels: Sequence[str] | Mapping[str, float] | None = None,
    start: str = "2024-01-01",
    entry_days: int = 365,
) -> SyntheticData:
    """Funnel events (``lead_id``, ``stage``, ``date``, ``channel``) of ``leads`` simulated leads.

    ``channels``: names (equal shares) or ``{name: share}``; default search .35, social .25,
    email .20, referral .20. Leads enter the first stage uniformly over ``entry_days`` days from
    ``start``. Transition k (stage k -> k+1) converts with probability p_k (default .50, .45,
    .35 for three transitions; evenly spaced from .6 to .3 otherwise) and a lead spends on
    average m_k days in stage k before moving on (default 6, 10, 15; 5 to 20 otherwise).

    Planted difference, at the middle transition only (index ``(transitions - 1) // 2``): the
    first channel converts at p + .25 and moves on in half the days; with three channels or more
    the second converts at p - .15. Every other channel and every other transition is equal
    across channels.

    Truth: ``conversion[channel][transition]`` and ``mean_days[channel][stage]`` (transition
    names ``"a -> b"``), the planted transition and channels; ``details["leads"]``: one row per
    lead (channel, entry date, last stage reached); ``details["rates"]``: the same truth as a
    table (channel, from_stage, to_stage, p, mean_days).
    """
    n = sim.check_rows(leads, "leads")
    stages = [str(s) for s in stages]
    if len(stages) < 2 or len(set(stages)) != len(stages):
        raise ValueError(f"stages must be at least 2 distinct names, got {stages}")
    if isinstance(channels, Mapping):
        shares = sim.shares(channels, [str(c) for c in channels], None)
    else:
        names = list(FUNNEL_CHANNEL_SHARES) if channels is None else [str(c) for c in channels]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"channels must be distinct names, got {names}")
        default = FUNNEL_CHANNEL_SHARES if channels is None else dict.fromkeys(names, 1.0)
        shares = sim.shares(None, names, default)
    chans = list(shares)
    n_t = len(stages) - 1
    p = np.tile(_base(_BASE_CONVERSION, n_t, 0.3, 0.6), (len(chans), 1))
    days = np.tile(_base(_BASE_DAYS, n_t, 5.0, 20.0), (len(chans), 1))
    planted = (n_t - 1) // 2
    p[0, planted] = min(p[0, planted] + _PLANT_UP, 0.95)
    days[0, planted] = max(1.0, days[0, planted] * _PLANT_DAYS)
    planted_channels = [chans[0]]
    if len(chans) >= 3:
        p[1, planted] = max(p[1, planted] + _PLANT_DOWN, 0.05)
        planted_channels.append(chans[1])
    p = np.round(p, 10)

    rng = sim.rng(seed)
    ch = sim.choice(rng, shares, n)
    entry = rng.integers(0, entry_days, n)
    # stage reached: keep moving while every draw so far converted
    moves = rng.random((n, n_t)) < p[ch]
    reached = np.concatenate([np.ones((n, 1), bool), np.cumprod(moves, axis=1).astype(bool)], axis=1)
    mean_extra = days[ch] - 1.0  # (n, n_t)
    size = _DISPERSION
    extra = rng.negative_binomial(size, size / (size + mean_extra))
    offsets = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(1 + extra, axis=1)], axis=1)
    day_no = entry[:, None] + offsets

    lead_idx, stage_idx = np.nonzero(reached)  # row-major: by lead, then stage order
    start_d = sim.day(start)
    ids = sim.sequential_bytes("L", n, 6)
    frame = pd.DataFrame(
        {
            "lead_id": sim.str_series(ids[lead_idx]),
            "stage": sim.labels(stage_idx, stages),
            "date": sim.dates(start_d, day_no[lead_idx, stage_idx]),
            "channel": sim.labels(ch[lead_idx], chans),
        }
    )
    last = reached.sum(axis=1) - 1
    leads_table = pd.DataFrame(
        {
            "lead_id": sim.str_series(ids),
            "channel": sim.labels(ch, chans),
            "entry_date": sim.dates(start_d, entry),
            "last_stage": sim.labels(last, stages),
        }
    )
    names = [f"{stages[k]} -> {stages[k + 1]}" for k in range(n_t)]
    rates = pd.DataFrame(
        {
            "channel": np.repeat(chans, n_t),
            "from_stage": stages[:-1] * len(chans),
            "to_stage": stages[1:] * len(chans),
            "p": p.ravel(),
            "mean_days": days.ravel(),
        }
    )
    truth = sim.truth_dict(
        model="stage k -> k+1 with probability p[channel, k] after 1 + NegBin(size 2, mean m[channel, k] - 1) days",
        stages=stages,
        channels=chans,
        channel_shares=shares,
        transitions=names,
        conversion={c: dict(zip(names, p[i])) for i, c in enumerate(chans)},
        mean_days={c: dict(zip(stages[:-1], days[i])) for i, c in enumerate(chans)},
        planted_transition=names[planted],
        planted_channels=planted_channels,
        equal_transitions=[t for k, t in enumerate(names) if k != planted],
        n_leads=n,
        reached={s: int(reached[:, k].sum()) for k, s in enumerate(stages)},
        start=str(start_d),
        entry_days=entry_days,
    )
    return SyntheticData("funnel", frame, truth, {"leads": leads_table, "rates": rates})
