"""Bootstrap of a fitted PLS path model: standard errors, t values, percentile intervals.

``model.bootstrap(n=500, seed=0, n_jobs=None)`` (or :func:`run_bootstrap`) re-estimates the
model on ``n`` resamples of the respondents the fit used (drawn with replacement, same size):

* *Reproducible*: resample ``b`` draws its rows from its own generator, child ``b`` of
  ``numpy.random.SeedSequence(seed)`` spawned up front, so the draws (and the results) are the
  same whatever ``n_jobs`` is and however the resamples are split among processes. ``seed=None``
  draws fresh entropy, kept in ``PLSBootstrap.seed`` so the run can be repeated.
* *Parallel*: ``n_jobs=-1`` uses every core available to this process, 1 runs here, k uses k
  processes (joblib's loky); the resamples go in one contiguous chunk per process, each process
  with one BLAS thread. ``n_jobs=None`` (the default) times the first resamples here and uses
  every core only when the rest would take longer than :data:`PARALLEL_MIN_SECONDS` here, since
  starting the worker processes costs one to a few seconds (a typical 250-respondent model does
  1,000 resamples in about 2 s on one core). A resample costs one ``X'X`` and the iterations on it.
* *Each resample* is standardised (or centred) afresh, as in the fit; with ``missing="mean"`` the
  missing answers were replaced once, before resampling, by the means of the whole sample.
* *Signs*: each construct of a resample is aligned with the original estimate (flipped when its
  weights point against the original weights: Tenenhaus et al.'s construct-level sign change);
  R plspm does no correction, which only matters when a sign flips in some resamples.
* *Failures*: a resample where an item has no variance, or whose iterations do not converge,
  is left out and counted in ``n_failed``.

Per statistic: ``estimate`` (the original fit), ``boot_mean``, ``se`` (sd of the resample values,
divisor n - 1), ``t = estimate / se``, and the percentile interval ``ci_low``, ``ci_high`` (the
(1 - level)/2 and (1 + level)/2 quantiles of the resample values, linear interpolation).
Statistics: path coefficients, outer weights, loadings, R² and total effects (every pair linked by
a chain of paths).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .resample import layout, resample_statistics, statistics

__all__ = ["PARALLEL_MIN_SECONDS", "PLSBootstrap", "available_cores", "run_bootstrap"]

#: With ``n_jobs=None``, the resamples run in parallel only when they would take longer than this here.
PARALLEL_MIN_SECONDS = 3.0
#: With ``n_jobs=None``, this many resamples are timed here first.
_PROBE = 10


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class PLSBootstrap:
    """Bootstrap results (see the module docstring). Tables ``paths`` (``from, to``), ``weights``
    and ``loadings`` (``construct, item``), ``r2`` (``construct``), ``total_effects``
    (``from, to``), each followed by ``estimate, boot_mean, se, t, ci_low, ci_high``; ``draws`` the
    resample values (one row per successful resample, one column per statistic)."""

    n_resamples: int
    n_failed: int
    seed: int | None
    level: float
    n_jobs: int
    paths: pd.DataFrame
    weights: pd.DataFrame
    loadings: pd.DataFrame
    r2: pd.DataFrame
    total_effects: pd.DataFrame
    draws: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, pd.DataFrame]:
        """The five tables by name."""
        return {
            "paths": self.paths,
            "weights": self.weights,
            "loadings": self.loadings,
            "r2": self.r2,
            "total_effects": self.total_effects,
        }


def _table(keys: pd.DataFrame, estimate_: np.ndarray, draws: np.ndarray, level: float) -> pd.DataFrame:
    se = draws.std(axis=0, ddof=1) if len(draws) > 1 else np.full(draws.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate_ / se
    if len(draws):
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        mean = draws.mean(axis=0)
    else:
        lo = hi = mean = np.full(draws.shape[1], np.nan)
    out = keys.copy()
    out["estimate"], out["boot_mean"], out["se"], out["t"] = estimate_, mean, se, t
    out["ci_low"], out["ci_high"] = lo, hi
    return out


def run_bootstrap(model, n: int = 500, seed: int | None = 0, n_jobs: int | None = None, level: float = 0.95):
    """Bootstrap a fitted :class:`~.model.PLSPathModel` (see the module docstring)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ValueError(f"n (the number of resamples) must be a whole number >= 2 (got {n!r}).")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, e.g. 0.95 (got {level!r}).")
    if n_jobs is None or n_jobs == -1:
        jobs = available_cores()
    elif isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ValueError(f"n_jobs must be None, -1 or a positive whole number (got {n_jobs!r}).")
    else:
        jobs = int(n_jobs)
    seq = np.random.SeedSequence(seed)
    children = seq.spawn(int(n))
    spec, core = model.spec_, model._core
    lay = layout(spec)
    args = (model._raw, spec, bool(model.scaled), model.scheme, float(model.tol), int(model.max_iter), core.W, lay)
    done = []
    if n_jobs is None and jobs > 1:  # time a few resamples here; go parallel only if it pays
        t0 = time.perf_counter()
        done = [resample_statistics(*args, children[:_PROBE])]
        rest = (time.perf_counter() - t0) / _PROBE * (len(children) - _PROBE)
        children = children[_PROBE:]
        if rest < PARALLEL_MIN_SECONDS:
            jobs = 1
    jobs = max(1, min(jobs, len(children)))
    if jobs == 1:
        done.append(resample_statistics(*args, children))
    else:
        from joblib import Parallel, delayed

        parts = [list(c) for c in np.array_split(np.array(children, dtype=object), jobs)]
        done.extend(Parallel(n_jobs=jobs, backend="loky")(delayed(resample_statistics)(*args, part) for part in parts))
    values = np.vstack(done)
    ok = ~np.isnan(values).any(axis=1)
    draws = values[ok]
    original = statistics(core, spec, lay)

    paths, totals, endo = lay
    items = list(spec.items)
    owner = [spec.constructs[j] for j in spec.block_of]
    cuts = np.cumsum([len(paths), len(items), len(items), len(endo), len(totals)])[:-1]
    groups = np.split(np.arange(len(original)), cuts)
    keys = [
        pd.DataFrame({"from": [p[0] for p in paths], "to": [p[1] for p in paths]}),
        pd.DataFrame({"construct": owner, "item": items}),
        pd.DataFrame({"construct": owner, "item": items}),
        pd.DataFrame({"construct": [spec.constructs[j] for j in endo]}),
        pd.DataFrame({"from": [p[0] for p in totals], "to": [p[1] for p in totals]}),
    ]
    tables = [_table(k, original[g], draws[:, g], level) for k, g in zip(keys, groups)]
    names = (
        [f"path:{a}->{b}" for a, b, _, _ in paths]
        + [f"weight:{i}" for i in items]
        + [f"loading:{i}" for i in items]
        + [f"r2:{spec.constructs[j]}" for j in endo]
        + [f"total:{a}->{b}" for a, b, _, _ in totals]
    )
    return PLSBootstrap(
        n_resamples=int(n),
        n_failed=int((~ok).sum()),
        seed=seed if seed is not None else int(seq.entropy),
        level=float(level),
        n_jobs=jobs,
        paths=tables[0],
        weights=tables[1],
        loadings=tables[2],
        r2=tables[3],
        total_effects=tables[4],
        draws=pd.DataFrame(draws, columns=names),
    )
