"""A simulated survey (the ``responses`` kind) with known driver weights, group effects, a
multi-item scale of known reliability and a sample whose weights restore the population.

Respondents are ``R000001``...; ``generate_responses(rows)`` simulates exactly ``rows``
respondents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers.core import simulate as sim
from helpers.core.io import jsonable
from helpers.core.simulate import SyntheticData

__all__ = ["DEFAULT_DRIVER_WEIGHTS", "generate_responses"]

DEFAULT_DRIVER_WEIGHTS = {"price": 0.25, "quality": 0.20, "service": 0.12, "delivery": 0.08, "website": 0.05}
# positions on the scale as a fraction of its range (0 = bottom, 1 = top)
_DRIVER_POSITIONS = {"price": 0.575, "quality": 0.70, "service": 0.65, "delivery": 0.725, "website": 0.625}
_IMPORTANCE_POSITIONS = {"price": 0.80, "quality": 0.85, "service": 0.70, "delivery": 0.65, "website": 0.50}
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
    n = sim.check_rows(rows)
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
    seg_shares = sim.shares(
        segment_shares, list(segment_shares or {"Budget": 0, "Mainstream": 0, "Premium": 0}),
        {"Budget": 0.30, "Mainstream": 0.50, "Premium": 0.20},
    )  # fmt: skip
    if segment_effects is None:
        segment_effects = {s: _SEGMENT_EFFECTS_1TO5.get(s, 0.0) * unit for s in seg_shares}
    segment_effects = {s: float(segment_effects.get(s, 0.0)) for s in seg_shares}
    pop = sim.shares(population_shares, list(population_shares or sim.REGION_SHARES), sim.REGION_SHARES)
    samp = sim.shares(sample_shares, list(pop), dict.fromkeys(pop, 1.0) if sample_shares is None else sample_shares)
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

    rng = sim.rng(seed)
    region = sim.choice(rng, samp, n)
    wave = rng.integers(0, len(waves), size=n).astype(np.int32)
    segment = sim.choice(rng, seg_shares, n)

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
        "respondent_id": sim.str_series(sim.sequential_bytes("R", n, 6)),
        "region": sim.labels(region, list(samp)),
        "wave": sim.labels(wave, waves),
        "segment": sim.labels(segment, list(seg_shares)),
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
    truth = jsonable(
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


def write_survey_export(path, rows: int = 2400, seed: int = 21) -> dict:
    """Write the bundled survey demo (``data/synthetic/survey_responses.csv``): the
    :func:`generate_responses` survey (two waves, known driver weights, a 4-item trust scale,
    importance ratings, a region sample that over-represents the West) without its truth weight
    column, plus what the cleaning steps must catch, planted on a seeded choice of respondents:
    a ``duration_seconds`` column (log-normal, median about 7 minutes) with 25 speeders under one
    minute, 20 straight-liners (one answer to the five driver ratings and the five importance ratings), 40 answers coded ``-99`` ("don't
    know") and 6 respondents exported twice. Returns what was planted (row counts by kind)."""
    from helpers.synth import write_frame

    frame = generate_responses(rows, seed=seed).frame.drop(columns=["weight"])
    rng = sim.rng(seed, sim.STREAM_MESSY)
    n = len(frame)
    frame["duration_seconds"] = np.round(rng.lognormal(np.log(420.0), 0.35, n)).astype(int)
    chosen = rng.choice(n, 25 + 20, replace=False)
    speeders, liners = chosen[:25], chosen[25:]
    frame.loc[speeders, "duration_seconds"] = rng.integers(20, 60, speeders.size)
    drivers = list(DEFAULT_DRIVER_WEIGHTS)
    grid = [*drivers, *(f"importance_{d}" for d in drivers)]  # the two 5-item grids, answered alike
    frame.loc[liners, grid] = np.repeat(rng.integers(1, 6, liners.size)[:, None], len(grid), axis=1).astype(float)
    answer_cols = [*drivers, "overall_satisfaction", "trust_1", "trust_2", "trust_3", "trust_4"]
    rows_coded = rng.choice(np.setdiff1d(np.arange(n), chosen), 40, replace=False)
    cols_coded = rng.choice(answer_cols, 40)
    for r, c in zip(rows_coded, cols_coded, strict=True):
        frame.loc[r, c] = -99.0
    dup = frame.iloc[rng.choice(np.setdiff1d(np.arange(n), chosen), 6, replace=False)]
    frame = pd.concat([frame, dup], ignore_index=True)
    write_frame(frame, path)
    return {"rows": len(frame), "speeders": 25, "straight_liners": 20, "missing_codes": 40, "duplicates": 6}
