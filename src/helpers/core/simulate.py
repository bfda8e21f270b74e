"""Pieces every simulator shares: the result type, seeded streams and fast column builders.

The domains' simulators (``helpers.<domain>.simulate``) build on these; ``helpers.synth``
dispatches to them by kind. Everything is vectorised: no Python loop per row or customer, so
millions of rows take seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from helpers.core.io import jsonable

#: Independent random streams per purpose, derived from the user's seed (see :func:`rng`).
STREAM_MAIN = 0
STREAM_CUSTOMERS = 1  # customer attributes: joinable to transactions without sharing draws
STREAM_MESSY = 99  # which rows of an export get planted defects

#: The regions of the simulated market (customers' regions, the survey's population).
REGION_SHARES = {"North": 0.35, "South": 0.30, "East": 0.20, "West": 0.15}


@dataclass
class SyntheticData:
    """A simulated table, the truth that generated it and extra truth tables.

    - ``frame``: a pandas DataFrame in the contract's column names;
    - ``truth``: a JSON-friendly dict of the parameters and effects used (plain Python numbers,
      strings, lists and dicts);
    - ``details``: extra truth tables (per-customer latent values, individual journeys, true
      media contributions, ...).
    """

    kind: str
    frame: pd.DataFrame
    truth: dict[str, Any]
    details: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:  # the default repr would print whole frames
        extra = ", ".join(f"{k}: {len(v)} rows" for k, v in self.details.items())
        return f"SyntheticData(kind={self.kind!r}, rows={len(self.frame)}, details={{{extra}}})"


def truth_dict(**values: Any) -> dict[str, Any]:
    """The truth as plain JSON data (numpy numbers and arrays to Python, tuples to lists)."""
    return jsonable(values)


def rng(seed: int | None, stream: int = STREAM_MAIN) -> np.random.Generator:
    """``default_rng(seed)`` for the main stream; an independent child stream of the same seed otherwise."""
    if stream == STREAM_MAIN:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))


def check_rows(rows: Any, name: str = "rows") -> int:
    """``rows`` as an int, or a ValueError unless it is a positive integer."""
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise ValueError(f"{name} must be a positive integer, got {rows!r}")
    return int(rows)


def digits_bytes(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
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


def sequential_bytes(prefix: str, n: int, width: int) -> np.ndarray:
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


def str_series(values: np.ndarray) -> pd.Series:
    """A numpy ``S`` (ASCII) array as a pandas string Series without a Python-level loop."""
    values = np.ascontiguousarray(values)
    n = values.size
    itemsize = values.dtype.itemsize
    small = n * itemsize < 2**31 - 1
    offsets = np.arange(0, (n + 1) * itemsize, itemsize, dtype=np.int32 if small else np.int64)
    cls = pa.StringArray if small else pa.LargeStringArray
    arr = cls.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(values.view(np.uint8)))
    return pd.Series(arr, dtype="str")


def labels(codes: np.ndarray, names: Sequence[str]) -> pd.Series:
    """Small-vocabulary codes -> string Series (via an Arrow dictionary, fast for millions)."""
    dictionary = pa.array(list(names), type=pa.string())
    idx = pa.array(np.asarray(codes, dtype=np.int32))
    return pd.Series(pa.DictionaryArray.from_arrays(idx, dictionary).cast(pa.string()), dtype="str")


def shares(given: Mapping[str, float] | Sequence[float] | None, names: Sequence[str], default) -> dict:
    """Validate category shares (normalised to sum 1) keyed by name."""
    if given is None:
        given = default
    if isinstance(given, Mapping):
        missing = [n for n in names if n not in given]
        if missing:
            raise ValueError(f"shares missing for {missing}")
        vals = np.array([float(given[n]) for n in names])
    else:
        vals = np.asarray(given, dtype=float)
        if vals.size != len(names):
            raise ValueError(f"{len(names)} shares needed, got {vals.size}")
    if (vals < 0).any() or vals.sum() <= 0:
        raise ValueError("shares must be >= 0 and not all zero")
    vals = vals / vals.sum()
    return dict(zip(names, vals.tolist()))


def choice(gen: np.random.Generator, category_shares: Mapping[str, float], size: int) -> np.ndarray:
    """``size`` category codes (0..k-1) drawn with the given shares."""
    p = np.fromiter(category_shares.values(), float)
    return gen.choice(len(category_shares), size=size, p=p).astype(np.int32)


def day(date: str) -> np.datetime64:
    """A date (anything pandas reads) as a numpy day."""
    return np.datetime64(pd.Timestamp(date).date(), "D")


def dates(start: np.datetime64, days: np.ndarray) -> np.ndarray:
    """``start`` + ``days`` as midnight ``datetime64[ns]`` values."""
    return (start + np.asarray(days).astype("timedelta64[D]")).astype("datetime64[ns]")
