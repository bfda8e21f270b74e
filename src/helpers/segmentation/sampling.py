"""Samples for the diagnostics that do not need every customer (choosing k, the mixture, the bootstrap).

:func:`stratified_sample` draws ``size`` rows without replacement *within each stratum* (e.g. each
RFM segment), in proportion to the stratum's size: stratum ``s`` with ``n_s`` of the ``n`` rows
gets ``floor(size * n_s / n)`` rows, and the rows left over go to the strata with the largest
remainders (ties to the stratum seen first). Every stratum then holds the same share of the sample
as of the data, up to one row, so a small but distinct group (the few Champions) is never missed
or over-drawn by chance. Within a stratum the rows are a simple random sample. The draw depends
only on the strata (their order of first appearance, the rows' order) and the seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["allocation", "stratified_sample"]


def allocation(sizes, size: int) -> np.ndarray:
    """Rows to draw from each stratum (``sizes``: rows per stratum) for a sample of ``size``:
    proportional, largest remainders first (ties to the earlier stratum); never more than a
    stratum holds; the quotas add up to ``min(size, sum(sizes))``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    if size >= n:
        return sizes.copy()
    exact = size * sizes / n
    quota = np.floor(exact).astype(np.int64)
    left = int(size - quota.sum())
    order = np.lexsort((np.arange(len(sizes)), -(exact - quota)))  # largest remainder, then stratum order
    quota[order[:left]] += 1
    return np.minimum(quota, sizes)


def stratified_sample(strata, size: int, seed: int | np.random.Generator) -> np.ndarray:
    """Sorted positions of a sample of ``size`` rows (all rows when there are no more), drawn
    within each stratum of ``strata`` (one label per row; a missing label is a stratum of its own)
    in proportion to its size (see the module doc). ``seed``: an int or a numpy Generator."""
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
        raise ValueError(f"the sample size must be a whole number >= 1 (got {size!r}).")
    codes, uniques = pd.factorize(pd.Series(strata), use_na_sentinel=False)
    n = len(codes)
    if size >= n:
        return np.arange(n)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sizes = np.bincount(codes, minlength=len(uniques))
    quota = allocation(sizes, int(size))
    picked = []
    for s, q in enumerate(quota):
        if q:
            members = np.flatnonzero(codes == s)
            picked.append(members[rng.choice(members.size, int(q), replace=False)])
    return np.sort(np.concatenate(picked))
