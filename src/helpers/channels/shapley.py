"""Shapley-value attribution over the sets of channels journeys touch (exact, all coalitions).

A journey's *channel set* is the set of distinct channels on its path (order and repeats
ignored). Two coalition games over the ``K`` channels, both solved exactly by enumerating the
``2^K`` coalitions as bit masks (vectorised; ``K <= max_channels``):

- ``value_function="conversions"``: ``v(S)`` = conversions of the journeys whose channel set is
  a subset of ``S``. Each channel set is then a unanimity game, so the Shapley value splits every
  journey's conversions equally among its distinct channels (a linear model on distinct channels).
- ``value_function="rate"`` (Shao & Li 2011; Dalessandro et al. 2012): ``v(S)`` = conversion rate
  of the journeys whose channel set is exactly ``S`` (0 for a set no journey has: no evidence of
  any conversion). Channels earn the rate they add when they join. The conversions of the
  journeys with channel set ``T`` are split in proportion to the Shapley values of this game
  restricted to the channels of ``T`` (which sum to the rate of ``T``), so credits sum to the
  total conversions exactly (Zhao et al. 2018's "simplified" Shapley per journey). A channel
  whose arrival lowers the rate can get a negative credit (a note says so). Needs ``nulls``.

Default ``"auto"``: ``"rate"`` when ``nulls`` are given, else ``"conversions"``. The reason: the
conversions game never looks at the journeys that did not convert, so it cannot tell a channel
that raises the conversion rate from one that is merely frequent (it is the linear heuristic on
distinct channels); the rate game can, and only lacks the data when nulls are missing.

Computation: the Harsanyi dividends ``d`` of ``v`` (Moebius transform over subsets) give the
Shapley value of the game restricted to ``T`` as ``phi_c(T) = sum_{c in S, S subset T} d(S) / |S|``,
one subset-sum transform per channel: ``O(K^2 2^K)`` operations in all.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.channels.markov import check_amounts, encode_paths

__all__ = ["VALUE_FUNCTIONS", "ShapleyAttribution", "moebius", "shapley_values", "subset_sums"]

VALUE_FUNCTIONS = ("auto", "conversions", "rate")


def subset_sums(v: np.ndarray, k: int) -> np.ndarray:
    """Zeta transform: ``out[S] = sum of v[T] over T subset S`` (``v`` indexed by bit mask)."""
    out = np.array(v, dtype=float, copy=True)
    for i in range(k):
        view = out.reshape(-1, 2, 2**i)
        view[:, 1, :] += view[:, 0, :]
    return out


def moebius(v: np.ndarray, k: int) -> np.ndarray:
    """Moebius transform (the inverse of :func:`subset_sums`): the Harsanyi dividends of ``v``."""
    out = np.array(v, dtype=float, copy=True)
    for i in range(k):
        view = out.reshape(-1, 2, 2**i)
        view[:, 1, :] -= view[:, 0, :]
    return out


def shapley_values(v: np.ndarray, k: int) -> np.ndarray:
    """Exact Shapley values of the game ``v`` (length ``2^k``, indexed by bit mask, ``v[0]`` the
    empty coalition): ``phi_c = sum_{S without c} |S|! (k - |S| - 1)! / k! (v(S + c) - v(S))``."""
    v = np.asarray(v, dtype=float)
    masks = np.arange(2**k, dtype=np.int64)
    size = np.bitwise_count(masks)
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
    phi = np.zeros(k)
    for c in range(k):
        without = masks[(masks >> c) & 1 == 0]
        phi[c] = float(np.sum(weight[size[without]] * (v[without | (1 << c)] - v[without])))
    return phi


class ShapleyAttribution:
    """Exact Shapley attribution over channel sets (see the module doc for both value functions).

    ``fit(paths, conversions, nulls=None, value=None)`` learns ``credits_`` (conversions credited
    by channel; they sum to the total conversions), ``value_credits_`` (money credited the same
    way, summing to the total value; None without ``value``), ``shapley_values_`` (the Shapley
    values of the game over all channels: conversions, or conversion rate for ``"rate"``),
    ``value_function_`` (the game used), ``channels_``, ``coalitions_`` (``2^K``) and ``notes_``.
    More than ``max_channels`` channels is a ValueError (``2^K`` coalitions).
    """

    def __init__(self, sep: str = ">", max_channels: int = 20, value_function: str = "auto"):
        self.sep = sep
        self.max_channels = max_channels
        self.value_function = value_function

    def fit(self, paths, conversions, nulls=None, value=None, sep: str | None = None) -> ShapleyAttribution:
        if sep is not None:  # the separator of these paths, replacing the one given at construction
            self.sep = sep
        if self.value_function not in VALUE_FUNCTIONS:
            raise ValueError(f"value_function must be one of {VALUE_FUNCTIONS}, not {self.value_function!r}.")
        enc = encode_paths(paths, self.sep)
        n, K = enc.n_paths, len(enc.channels)
        if self.max_channels < K:
            raise ValueError(
                f"Shapley attribution enumerates 2^K coalitions: {K} channels ({2**K:,} coalitions) exceed "
                f"max_channels={self.max_channels}; group rare channels or raise max_channels."
            )
        conv = check_amounts("conversions", conversions, n)
        nul = check_amounts("nulls", nulls, n) if nulls is not None else None
        val = check_amounts("value", value, n) if value is not None else None
        game = self.value_function
        notes: list[str] = []
        if game == "auto":
            game = "rate" if nul is not None else "conversions"
        if game == "rate" and nul is None:
            raise ValueError("value_function='rate' needs nulls (journeys that did not convert) to compute rates.")
        if K == 0:
            raise ValueError("paths is empty: there are no channels to attribute.")
        sets = np.bitwise_or.reduceat(np.left_shift(1, enc.codes.astype(np.int64)), enc.starts) if n else np.zeros(0)
        size = 2**K
        conv_t = np.bincount(sets, weights=conv, minlength=size)
        val_t = np.bincount(sets, weights=val, minlength=size) if val is not None else None
        if game == "conversions":
            phi = shapley_values(subset_sums(conv_t, K), K)
            credits = phi
            vcred = shapley_values(subset_sums(val_t, K), K) if val_t is not None else None
        else:
            n_t = conv_t + np.bincount(sets, weights=nul, minlength=size)
            rate = np.divide(conv_t, n_t, out=np.zeros(size), where=n_t > 0)
            phi, credits, vcred = _rate_credits(rate, conv_t, val_t, K)
            if (credits < -1e-12).any():
                neg = [c for c, x in zip(enc.channels, credits) if x < -1e-12]
                notes.append(
                    f"{', '.join(neg)}: negative credit: journeys that add this channel convert less often than "
                    "the same journeys without it."
                )
        idx = pd.Index(enc.channels, name="channel")
        self.credits_ = pd.Series(credits, index=idx, name="conversions")
        self.value_credits_ = pd.Series(vcred, index=idx, name="value") if vcred is not None else None
        self.shapley_values_ = pd.Series(phi, index=idx, name="shapley_value")
        self.value_function_ = game
        self.channels_ = list(enc.channels)
        self.coalitions_ = size
        if conv.sum() == 0:
            notes.append("There are no conversions: every credit is 0.")
        self.notes_ = notes
        return self

    def summary(self) -> pd.DataFrame:
        """One row per channel, most credited first: ``channel``, ``shapley_value``, ``conversions``
        (credited), ``share`` and, with a value, ``value`` (credited)."""
        total = self.credits_.sum()
        out = pd.DataFrame(
            {
                "channel": self.credits_.index.astype(str),
                "shapley_value": self.shapley_values_.to_numpy(),
                "conversions": self.credits_.to_numpy(),
                "share": self.credits_.to_numpy() / total if total else 0.0,
            }
        )
        if self.value_credits_ is not None:
            out["value"] = self.value_credits_.to_numpy()
        out = out.sort_values(["conversions", "channel"], ascending=[False, True], ignore_index=True)
        out.attrs["notes"] = list(self.notes_)
        return out


def _rate_credits(rate: np.ndarray, conv_t: np.ndarray, val_t, K: int):
    """Shapley values of the rate game over all channels, and the conversions (and value) of each
    channel set split by the Shapley values of the game restricted to that set."""
    div = moebius(rate, K)
    masks = np.arange(2**K, dtype=np.int64)
    size = np.bitwise_count(masks).astype(float)
    share_div = np.divide(div, size, out=np.zeros_like(div), where=size > 0)
    has_conv = np.flatnonzero(conv_t > 0)  # sets with conversions have a rate > 0
    per_conv = conv_t[has_conv] / rate[has_conv]
    per_val = val_t[has_conv] / rate[has_conv] if val_t is not None else None
    phi, credits = np.zeros(K), np.zeros(K)
    vcred = np.zeros(K) if val_t is not None else None
    for c in range(K):
        g = subset_sums(np.where((masks >> c) & 1 == 1, share_div, 0.0), K)  # phi_c of each restricted game
        phi[c] = g[-1]
        credits[c] = float(np.dot(per_conv, g[has_conv]))
        if vcred is not None:
            vcred[c] = float(np.dot(per_val, g[has_conv]))
    if val_t is not None:  # value on sets without conversions cannot be split by rates: by equal shares
        lost = np.flatnonzero((conv_t <= 0) & (val_t > 0))
        for t in lost:
            members = [c for c in range(K) if (t >> c) & 1]
            vcred[members] += val_t[t] / len(members)
    return phi, credits, vcred
