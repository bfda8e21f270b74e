"""Simulated channel data with known truth.

- :func:`generate_journeys` (the ``journeys`` kind): multi-touch paths with a logistic
  conversion model, aggregated to one row per distinct path; ``rows`` individual journeys are
  simulated (the frame has fewer rows, the journeys are in ``details["journeys"]``);
- :func:`generate_touchpoints` (the ``touchpoints`` kind): the same journeys as raw events, one
  row per touch with a timestamp, the conversion flag and value on a converting journey's last touch;
- :func:`generate_spend` (the ``spend`` kind): weekly marketing-mix data, ``rows`` weeks, with
  adstock and saturation from :mod:`helpers.channels.transforms`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.channels.transforms import geometric_adstock, logistic_saturation
from helpers.core import simulate as sim
from helpers.core.io import jsonable
from helpers.core.simulate import SyntheticData

__all__ = [
    "JOURNEY_BETAS",
    "JOURNEY_CHANNEL_SHARES",
    "MMM_CHANNELS",
    "MMM_DEFAULTS",
    "generate_costs",
    "generate_journeys",
    "generate_spend",
    "generate_touchpoints",
    "write_channel_demo",
]

#: Rows with a planted defect appended to the demo's touchpoints: a touch with no channel and a
#: timestamp that is not one; the report sets them aside with their reasons.
PLANTED_TOUCHPOINT_DEFECTS = ("J9999998,2025-02-03 10:00:00,,0,0.0\n", "J9999999,2025-02-30 25:61:00,search,0,0.0\n")

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
    n = sim.check_rows(rows)
    shares = sim.shares(channel_shares, list(channel_shares or JOURNEY_CHANNEL_SHARES), JOURNEY_CHANNEL_SHARES)
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

    rng = sim.rng(seed)
    length = np.minimum(1 + rng.poisson(mean_touches - 1.0, size=n), max_touches)
    total = int(length.sum())
    owner = np.repeat(np.arange(n), length)
    starts = np.cumsum(length) - length
    position = np.arange(total) - np.repeat(starts, length)
    ch = sim.choice(rng, shares, total).astype(np.int64)
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
    truth = jsonable(
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


def generate_touchpoints(
    rows: int,
    seed: int | None = 0,
    *,
    start: str = "2025-01-01",
    days: int = 90,
    mean_gap_hours: float = 30.0,
    **options,
) -> SyntheticData:
    """Raw touchpoint events of ``rows`` journeys simulated as in :func:`generate_journeys` (``options``
    go there): ``journey_id``, ``timestamp`` (the first touch uniform over ``days`` days from
    ``start``, then exponential gaps with mean ``mean_gap_hours``, whole seconds), ``channel``,
    ``conversion`` (1 on the last touch of a converting journey, else 0) and ``value`` (its value,
    else 0). Aggregating the events by journey gives back :func:`generate_journeys`' frame (same
    seed and options), which is ``details["paths"]``; the truth is the same."""
    base = generate_journeys(rows, seed, **options)
    j = base.details["journeys"]
    n = len(j)
    touches = base.frame["path"].str.split(" > ").to_numpy()[j["path_row"].to_numpy()]
    length = j["length"].to_numpy()
    owner = np.repeat(np.arange(n), length)
    last = np.cumsum(length) - 1
    rng = sim.rng(seed, stream=7)
    first = rng.random(n) * days * 86_400.0
    gaps = rng.exponential(mean_gap_hours * 3600.0, size=int(length.sum()))
    gaps[np.cumsum(length) - length] = 0.0
    seconds = np.floor(np.repeat(first, length) + _cumsum_by_group(gaps, length))
    conversion = np.zeros(owner.size, dtype=np.int64)
    value = np.zeros(owner.size)
    conversion[last] = j["converted"].to_numpy().astype(np.int64)
    value[last] = j["value"].to_numpy()
    frame = pd.DataFrame(
        {
            "journey_id": sim.str_series(sim.digits_bytes("J", np.arange(1, n + 1), len(str(n)))),
            "timestamp": pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s"),
            "channel": pd.Series(np.concatenate(touches), dtype="str"),
            "conversion": conversion,
            "value": value,
        }
    )
    frame["journey_id"] = frame["journey_id"].to_numpy()[owner]
    return SyntheticData("touchpoints", frame, base.truth, {**base.details, "paths": base.frame})


def generate_costs(rows: int = 5000, seed: int | None = 0, **options) -> SyntheticData:
    """Monthly marketing cost per acquisition channel (``channel``, ``date``, ``cost``) for a base of
    ``rows`` simulated leads: the costs of :func:`helpers.channels.simulate_base.generate_channel_base`
    (same seed and options), whose customers and transactions are ``details``."""
    from helpers.channels.simulate_base import generate_channel_base

    base = generate_channel_base(rows, seed, **options)
    details = {"customers": base.frame, **{k: v for k, v in base.details.items() if k != "costs"}}
    return SyntheticData("costs", base.details["costs"], base.truth, details)


def write_channel_demo(folder, seed: int = 5, prefix: str = "channels") -> dict:
    """Write the bundled channel demo to ``folder``: ``{prefix}_touchpoints.csv`` (4,000 journeys
    as raw events, plus :data:`PLANTED_TOUCHPOINT_DEFECTS`), ``{prefix}_paths.csv`` (20,000
    journeys aggregated to paths), ``{prefix}_spend.csv`` (156 weeks), ``{prefix}_customers.csv``,
    ``{prefix}_transactions.csv`` and ``{prefix}_costs.csv`` (4,000 leads through five channels),
    ``{prefix}_funnel.csv`` (3,000 leads) and ``{prefix}_truth.json`` (every simulator's truth).
    Returns the paths by role."""
    import json
    from pathlib import Path

    from helpers.channels.simulate_base import generate_channel_base
    from helpers.channels.simulate_funnel import generate_funnel
    from helpers.synth import write_frame

    folder = Path(folder)
    touch = generate_touchpoints(4_000, seed)
    paths = generate_journeys(20_000, seed + 1)
    spend = generate_spend(156, seed + 2)
    base = generate_channel_base(4_000, seed + 3)
    funnel = generate_funnel(3_000, seed + 4)
    frames = {
        "touchpoints": touch.frame,
        "paths": paths.frame,
        "spend": spend.frame,
        "customers": base.frame,
        "transactions": base.details["transactions"],
        "costs": base.details["costs"],
        "funnel": funnel.frame,
    }
    out = {role: write_frame(frame, folder / f"{prefix}_{role}.csv") for role, frame in frames.items()}
    with open(out["touchpoints"], "a", encoding="utf-8") as fh:
        fh.writelines(PLANTED_TOUCHPOINT_DEFECTS)
    truth = {"touchpoints": touch.truth, "paths": paths.truth, "spend": spend.truth, "base": base.truth,
             "funnel": funnel.truth}  # fmt: skip
    out["truth"] = folder / f"{prefix}_truth.json"
    out["truth"].write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def _cumsum_by_group(x: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Running sum of ``x`` restarting at each group of ``length`` consecutive values."""
    total = np.cumsum(x)
    starts = np.cumsum(length) - length
    before = np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0.0)
    return total - np.repeat(before, length)


MMM_CHANNELS = ("tv", "search", "social", "display")
MMM_DEFAULTS = dict(
    spend_scale={"tv": 20_000.0, "search": 8_000.0, "social": 6_000.0, "display": 4_000.0},
    adstock_alpha={"tv": 0.6, "search": 0.2, "social": 0.4, "display": 0.3},
    saturation_lam={"tv": 1.5, "search": 2.0, "social": 2.5, "display": 3.0},
    betas={"tv": 30_000.0, "search": 25_000.0, "social": 12_000.0, "display": 6_000.0},
)


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
    default tv 20k, search 8k, social 6k, display 4k a week). Revenue:

        revenue_t = intercept + trend_per_week * t
                    + sum_k [s_k sin(2 pi k u_t) + c_k cos(2 pi k u_t)]   (u_t = days/365.25)
                    + sum_c beta_c * sat_c(t) + N(0, noise_sd)

    with sat_c = logistic_saturation(A_c / max_t A_c, lam_c) and A_c the geometric adstock of the
    spend (``l_max`` = 8 weights alpha_c^l, l = 0..7, normalised to sum 1 by default; zero spend
    assumed before the first week). Defaults: alpha tv .6 search .2 social .4 display .3; lam
    tv 1.5 search 2 social 2.5 display 3; betas tv 30k search 25k social 12k display 6k;
    intercept 100k, trend 150/week, Fourier ((8000, -5000), (2000, 1500)), noise SD 4000.

    ``details["contributions"]``: per week the intercept, trend, seasonality, each channel's true
    contribution and the noise (they sum to revenue); ``details["media"]``: adstocked, scaled and
    saturated media per channel (the true regressors). ``truth["channels"][c]`` holds each
    channel's alpha, lam, beta, adstock max (the scaling constant), total spend, total
    contribution, contribution share and ROAS (contribution / spend).
    """
    n = sim.check_rows(rows)
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
    start_d = sim.day(start)
    last = start_d + np.timedelta64(7 * (n - 1), "D")
    if last > np.datetime64("2262-04-01"):
        raise ValueError(f"{n} weeks from {start_d} run past the last date pandas can hold (2262)")

    rng = sim.rng(seed)
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

    dates = sim.dates(start_d, 7 * np.arange(n))
    frame = pd.DataFrame({"date": dates, **spend, kpi_name: revenue})
    contributions = pd.DataFrame(
        {"date": dates, "intercept": intercept, "trend": trend, "seasonality": season, **contrib, "noise": noise,
         kpi_name: revenue}
    )  # fmt: skip
    truth = jsonable(
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
