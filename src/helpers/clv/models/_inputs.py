"""Input checks and array plumbing shared by the CLV models (no statistics here).

Conventions checked by :func:`_validate_rfm`: ``frequency`` whole numbers >= 0; ``recency`` and
``T`` finite, >= 0, ``recency <= T``; ``recency`` 0 when ``frequency`` is 0. A customer with repeat
purchases may have ``recency`` 0 (all repeat purchases in the period of the first one, e.g. on a
weekly grid): both transaction-model likelihoods are finite there.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd


def _to_float_array(name: str, values: Any) -> np.ndarray:
    try:
        if isinstance(values, (pd.Series, pd.Index)):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric (could not convert it to numbers: {exc})") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (got shape {arr.shape})")
    return arr


def _first_index(*values: Any) -> pd.Index | None:
    for v in values:
        if isinstance(v, pd.Series):
            return v.index
    return None


def _all_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _check_finite(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} contains NaN or infinite values ({int(bad.sum())} of {arr.size}, first at "
            f"position {i}); drop or fill those customers first"
        )


def _check_whole_nonnegative(name: str, arr: np.ndarray) -> None:
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0 (smallest value {arr.min():g})")
    frac = arr != np.round(arr)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise ValueError(
            f"{name} must be whole numbers (the number of repeat purchases); found {arr[i]:g} at position {i}"
        )


def _check_lengths(**arrays: np.ndarray) -> int:
    sizes = {k: v.size for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k}={n}" for k, n in sizes.items())
        raise ValueError(f"inputs must have the same length (got {desc})")
    n = next(iter(sizes.values()))
    if n == 0:
        raise ValueError("no customers given (inputs are empty)")
    return n


def _validate_rfm(frequency: Any, recency: Any, T: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _to_float_array("frequency", frequency)
    tx = _to_float_array("recency", recency)
    TT = _to_float_array("T", T)
    _check_lengths(frequency=x, recency=tx, T=TT)
    for name, arr in (("frequency", x), ("recency", tx), ("T", TT)):
        _check_finite(name, arr)
    _check_whole_nonnegative("frequency", x)
    if (tx < 0).any():
        raise ValueError(f"recency must be >= 0 (smallest value {tx.min():g})")
    if (TT < 0).any():
        raise ValueError(f"T must be >= 0 (smallest value {TT.min():g})")
    over = tx > TT * (1.0 + 1e-12) + 1e-12
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"recency must be <= T for every customer: {int(over.sum())} customers have recency > T "
            f"(first at position {i}: recency={tx[i]:g}, T={TT[i]:g}). Both are measured from each "
            "customer's first purchase, in the same time unit."
        )
    tx = np.minimum(tx, TT)  # remove round-off excess (never modify the caller's array)
    bad_zero = (x == 0) & (tx > 0)
    if bad_zero.any():
        i = int(np.flatnonzero(bad_zero)[0])
        raise ValueError(
            f"{int(bad_zero.sum())} customers have frequency 0 but recency > 0 (first at position "
            f"{i}): with no repeat purchase recency must be 0."
        )
    return x, tx, TT


def _validate_weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _to_float_array("weights", weights)
    if w.size != n:
        raise ValueError(f"weights must have one value per customer (got {w.size} for {n} customers)")
    _check_finite("weights", w)
    if (w < 0).any():
        raise ValueError("weights must be >= 0")
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: nothing to fit")
    return w


def _wrap(values: np.ndarray, index: pd.Index | None, scalar: bool, name: str) -> Any:
    if scalar:
        return float(values[0])
    if index is not None:
        return pd.Series(values, index=index, name=name)
    return values


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and, for each element, the index of its value (hash based: O(n))."""
    codes, uniq = pd.factorize(np.asarray(values).reshape(-1), sort=True)
    return np.asarray(uniq), codes.astype(np.int64, copy=False)


#: Distinct-row tables of large inputs are kept (by content) for reuse: one analysis scores the
#: same millions of customers many times (fits, P(alive), twelve months of CLV, checks), and
#: collapsing them took a tenth of a 10-million-row CLV report.
_ROWS_CACHE: OrderedDict[tuple, tuple[list[np.ndarray], np.ndarray]] = OrderedDict()
_ROWS_CACHE_SIZE = 6
_ROWS_CACHE_MIN = 50_000


_ROWS_CACHE_USERS = [0]  # how many remember_rows() blocks are open


@contextlib.contextmanager
def remember_rows():
    """Within this block, distinct-row tables of large inputs are remembered (an analysis that
    scores the same customers many times opens it); they are forgotten when the last block ends,
    so nothing stays in memory after the analysis."""
    _ROWS_CACHE_USERS[0] += 1
    try:
        yield
    finally:
        _ROWS_CACHE_USERS[0] -= 1
        if _ROWS_CACHE_USERS[0] == 0:
            _ROWS_CACHE.clear()


def _content_key(arr: np.ndarray) -> tuple:
    a = np.ascontiguousarray(arr)
    return a.dtype.str, a.shape, hashlib.blake2b(a.view(np.uint8).reshape(-1), digest_size=20).digest()


def _unique_rows(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the given columns, in lexicographic order: per-column values of each
    distinct row, and for each input element the index of its distinct row (read-only arrays).
    Inside :func:`remember_rows`, inputs of at least ``_ROWS_CACHE_MIN`` elements are remembered by
    content (a 160-bit hash of each column), so collapsing the same customers again costs only the
    hashing."""
    cols = tuple(np.asarray(c) for c in cols)
    remember = _ROWS_CACHE_USERS[0] > 0 and cols[0].size >= _ROWS_CACHE_MIN
    key = tuple(_content_key(c) for c in cols) if remember else None
    if key is not None and key in _ROWS_CACHE:
        _ROWS_CACHE.move_to_end(key)
        values, inverse = _ROWS_CACHE[key]
        return list(values), inverse
    first, inverse = _factorize(cols[0])
    values = [first]
    for c in cols[1:]:
        u, k = _factorize(c)
        ku, inverse = _factorize(inverse * u.size + k)
        values = [v[ku // u.size] for v in values] + [u[ku % u.size]]
    for a in (*values, inverse):
        a.flags.writeable = False
    if key is not None:
        _ROWS_CACHE[key] = (values, inverse)
        while len(_ROWS_CACHE) > _ROWS_CACHE_SIZE:
            _ROWS_CACHE.popitem(last=False)
    return list(values), inverse
