"""Markov-chain attribution (removal effects computed exactly) and the vectorised path parser.

**Paths** are strings such as ``"search > social > email"``: channel names joined by ``sep``
(blanks around names are stripped). :func:`encode_paths` parses a whole column at once with
pyarrow (``split_pattern``, ``list_flatten``, ``dictionary_encode``) into integer channel codes,
channels numbered in name order, so results never depend on the order of the rows.

**The chain** (order ``k``): a state is a history of the last ``k`` channels, following
ChannelAttribution's ``markov_model(order=k)``: a path of ``L >= k`` touches visits the ``L - k + 1``
windows of ``k`` consecutive touches (``a > b > c`` at order 2: ``(start) -> a > b -> b > c``);
a path shorter than ``k`` is one state, its whole (shorter) history. Every path goes from
``(start)`` through its states to ``(conversion)`` (weight: the path's conversions) or ``(null)``
(weight: its nulls); transitions between states carry the path's journeys (conversions + nulls).
Repeated touches of one channel are kept as written (at order 1 a self-loop ``email -> email``):
a self-loop only delays absorption, so it leaves every removal effect unchanged (ChannelAttribution
drops them; its transition matrix differs only there). ``collapse_repeats=True`` merges them first.

**Removal effect** of channel ``c``: ``RE_c = 1 - P(conversion | c removed) / P(conversion)``,
where removing ``c`` sends every state whose history contains ``c`` to ``(null)``. Both
probabilities are absorption probabilities from ``(start)``, solved exactly from
``(I - Q) x = r`` (``Q``: transitions among transient states, ``r``: one-step conversion
probability) with a sparse LU solve, one per channel: no simulation, identical on every run.
Conversions credited to ``c``: ``total conversions * RE_c / sum RE``. With a ``value`` the same
chain gives each transient state the expected value of its conversion step (``r_v``: value of
the paths ending there per journey through it) and ``value_credits_`` split the total value by
the value removal effects ``1 - E[value | c removed] / E[value]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.linalg import splu

__all__ = [
    "CONVERSION",
    "NULL",
    "START",
    "EncodedPaths",
    "MarkovAttribution",
    "check_amounts",
    "encode_paths",
    "split_paths",
]

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
_SPECIAL = (START, CONVERSION, NULL)
_DENSE_PAIRS = 4_000_000  # count transitions with a dense bincount up to this many (from, to) pairs


def _rows(idx, limit: int = 5) -> str:
    idx = [int(i) for i in idx]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(str(i) for i in idx[:limit]) + more


def _to_arrow_strings(paths, name: str) -> pa.Array:
    if isinstance(paths, str):
        raise ValueError(f"{name} must be a sequence of path strings, not one string ({paths[:40]!r}).")
    try:  # pandas' Arrow-backed strings convert without a copy
        arr = paths if isinstance(paths, pa.Array | pa.ChunkedArray) else pa.array(paths, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as err:
        raise ValueError(f"{name} must hold strings like 'search > email': {err}") from None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_null(arr.type) and len(arr) == 0:
        return pa.array([], pa.string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise ValueError(f"{name} must hold strings like 'search > email', not values of type {arr.type}.")
    if arr.null_count:
        bad = np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))
        raise ValueError(f"{name} has {len(bad)} missing paths (rows {_rows(bad)}).")
    return arr


@dataclass(frozen=True)
class EncodedPaths:
    """Paths as integers: ``codes`` (channel index per touch, paths one after another),
    ``lengths`` (touches per path), ``starts`` (offset of each path in ``codes``) and
    ``channels`` (names, sorted; code ``i`` is ``channels[i]``)."""

    channels: list[str]
    codes: np.ndarray
    lengths: np.ndarray
    starts: np.ndarray

    @property
    def n_paths(self) -> int:
        return int(self.lengths.size)

    def path_index(self) -> np.ndarray:
        """The path (row) of each touch."""
        return _path_index(self.lengths)

    def position(self) -> np.ndarray:
        """Each touch's position in its path (0 = first)."""
        return np.arange(self.codes.size) - np.repeat(self.starts, self.lengths)


def encode_paths(paths, sep: str = ">", name: str = "paths") -> EncodedPaths:
    """Parse path strings into :class:`EncodedPaths` (vectorised; blanks around names stripped).

    A missing path, an empty path or an empty channel name (``"a > > b"``) is a ValueError naming
    the rows; so is a channel called ``(start)``, ``(conversion)`` or ``(null)``.
    """
    if isinstance(paths, EncodedPaths):
        return paths
    if not isinstance(sep, str) or not sep:
        raise ValueError(f"sep must be a non-empty string, not {sep!r}.")
    arr = _to_arrow_strings(paths, name)
    lists = pc.split_pattern(arr, pattern=sep)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    enc = pc.dictionary_encode(pc.list_flatten(lists))
    # blanks are stripped from the (few) distinct raw tokens, not from every touch
    raw = pc.utf8_trim_whitespace(enc.dictionary).to_pylist()
    names = sorted(set(raw))
    ids = {c: i for i, c in enumerate(names)}
    raw_to_id = np.array([ids[c] for c in raw], dtype=np.int32)
    codes = raw_to_id[enc.indices.to_numpy(zero_copy_only=False)] if raw else np.zeros(0, np.int32)
    if "" in ids:
        touches = np.flatnonzero(codes == ids[""])
        rows = np.unique(np.searchsorted(starts, touches, side="right") - 1)
        shown = ", ".join(repr(arr[int(i)].as_py()) for i in rows[:3])
        raise ValueError(
            f"{name} has {len(rows)} empty paths or empty channel names between separators {sep!r} "
            f"(rows {_rows(rows)}: {shown})."
        )
    reserved = sorted(set(names) & set(_SPECIAL))
    if reserved:
        raise ValueError(f"{name}: {reserved} are reserved state names of the chain and cannot be channels.")
    return EncodedPaths(names, codes, lengths, starts)


def split_paths(paths, sep: str = ">") -> list[list[str]]:
    """Each path as a list of channel names (blanks around names stripped); an empty path or an
    empty channel name is a ValueError naming the rows."""
    enc = encode_paths(paths, sep)
    names = np.array(enc.channels, dtype=object)
    flat = names[enc.codes].tolist()
    return [flat[s : s + n] for s, n in zip(enc.starts.tolist(), enc.lengths.tolist())]


def check_amounts(name: str, values, n: int, *, integer_like: bool = False) -> np.ndarray:
    """``values`` as float64 of length ``n``: numbers, no NaN, >= 0 (a ValueError naming ``name``,
    the rule and the first offending rows otherwise)."""
    try:
        arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numbers: {err}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not of shape {arr.shape}.")
    if arr.size != n:
        raise ValueError(f"{name} has {arr.size} values but paths has {n}: they must have the same length.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{name} has {bad.size} missing or infinite values (rows {_rows(bad)}).")
    bad = np.flatnonzero(arr < 0)
    if bad.size:
        vals = ", ".join(f"{v:g}" for v in arr[bad[:5]])
        raise ValueError(f"{name} must be >= 0: {bad.size} negative values (rows {_rows(bad)}: {vals}).")
    return arr


def _path_index(lengths: np.ndarray) -> np.ndarray:
    """The path of each touch for paths of ``lengths`` >= 1 touches (a cumulative sum: faster than
    ``np.repeat`` with per-path counts)."""
    out = np.zeros(int(lengths.sum()), dtype=np.int64)
    if lengths.size > 1:
        out[np.cumsum(lengths[:-1])] = 1
    return np.cumsum(out, out=out)


def _state_sequences(enc: EncodedPaths, order: int, collapse_repeats: bool):
    """Per kept touch the code of its state (its history) and the number of states per path.

    Codes: digits base ``K + 1`` (channel index + 1), the latest touch in the lowest digit, so
    histories of different lengths never collide. Returns ``(state_codes, lengths, base)``."""
    codes, lengths = enc.codes.astype(np.int64), enc.lengths
    if collapse_repeats and codes.size:
        path = enc.path_index()
        keep = np.ones(codes.size, dtype=bool)
        keep[1:] = (codes[1:] != codes[:-1]) | (path[1:] != path[:-1])
        codes = codes[keep]
        lengths = np.bincount(path[keep], minlength=enc.n_paths)
    base = len(enc.channels) + 1
    if order == 1:
        return codes, lengths, base
    if float(base) ** order >= 2**62:
        raise ValueError(f"order={order} with {base - 1} channels is too large to encode histories in 64 bits.")
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(codes.size) - np.repeat(starts, lengths)
    state = codes + 1
    for m in range(1, order):
        prev = np.zeros_like(codes)
        prev[m:] = codes[:-m] + 1
        state = state + np.where(pos >= m, prev, 0) * base**m
    plen = np.repeat(lengths, lengths)
    keep = (pos >= order - 1) | ((pos == plen - 1) & (plen < order))
    path = np.repeat(np.arange(lengths.size), lengths)
    return state[keep], np.bincount(path[keep], minlength=lengths.size), base


def _dense_ids(state_codes: np.ndarray, order: int, base: int):
    """Dense state ids 0..S-1 (in code order) and the code of each id."""
    if order == 1:
        return state_codes, np.arange(base - 1, dtype=np.int64) + 1  # code = channel + 1
    top = base**order
    if top <= 50_000_000:
        seen = np.zeros(top, dtype=bool)
        seen[state_codes] = True
        uniq = np.flatnonzero(seen)
        lookup = np.cumsum(seen) - 1
        return lookup[state_codes], uniq
    uniq, inv = np.unique(state_codes, return_inverse=True)
    return inv, uniq


def _history_digits(uniq_codes: np.ndarray, order: int, base: int) -> np.ndarray:
    """(S, order) channel index per history position (latest first), -1 where the history is shorter."""
    out = np.full((uniq_codes.size, order), -1, dtype=np.int64)
    rest = uniq_codes.copy()
    for m in range(order):
        rest, d = np.divmod(rest, base)
        out[:, m] = d - 1
    return out


class MarkovAttribution:
    """Markov-chain attribution of order ``order`` with exact removal effects (see the module doc).

    ``fit(paths, conversions, nulls=None, value=None)``: ``paths`` strings joined by ``sep``;
    ``conversions`` and ``nulls`` (journeys on the path that converted / did not) counts >= 0;
    ``value`` the conversion value of each path (money, >= 0). Without ``nulls`` every journey
    converts and a removal effect is the share of conversion paths the chain routes through the
    channel (a note says so).

    Learned: ``removal_effects_`` (by channel, name ``removal_effect``), ``credits_`` (conversions
    credited), ``value_removal_effects_`` and ``value_credits_`` (None without ``value``),
    ``conversion_probability_`` (P(conversion) from ``(start)``: total conversions / journeys),
    ``transition_matrix_`` (row-stochastic DataFrame over ``(start)``, the states,
    ``(conversion)``, ``(null)``; the two absorbing states map to themselves), ``n_states_``
    (history states, the three special states not counted), ``channels_`` (sorted), ``notes_``.
    """

    def __init__(self, order: int = 1, sep: str = ">", collapse_repeats: bool = False):
        self.order = order
        self.sep = sep
        self.collapse_repeats = collapse_repeats

    def _check_order(self) -> int:
        if isinstance(self.order, bool) or not isinstance(self.order, int | np.integer) or self.order < 1:
            raise ValueError(f"order must be an integer >= 1, not {self.order!r}.")
        return int(self.order)

    def fit(self, paths, conversions, nulls=None, value=None, sep: str | None = None) -> MarkovAttribution:
        """Count the chain's transitions from the paths and solve every removal (see the class doc).
        ``sep``: the channel separator of these paths, if not the one given at construction (it then
        replaces it, so later calls and the state names use it too)."""
        if sep is not None:
            self.sep = sep
        order = self._check_order()
        enc = encode_paths(paths, self.sep)
        n = enc.n_paths
        if n == 0:
            raise ValueError("paths is empty: there are no journeys to attribute.")
        conv = check_amounts("conversions", conversions, n)
        nul = check_amounts("nulls", nulls, n) if nulls is not None else np.zeros(n)
        val = check_amounts("value", value, n) if value is not None else None
        codes, lengths, base = _state_sequences(enc, order, self.collapse_repeats)
        sid, uniq = _dense_ids(codes, order, base)
        S = uniq.size
        total_w = conv + nul
        ends = np.cumsum(lengths)
        first, last = sid[ends - lengths], sid[ends - 1]
        # weight of the step from each touch to the next one of its path (0 at a path's end)
        w_step = total_w[_path_index(lengths)]
        w_step[ends - 1] = 0.0
        vconv = np.bincount(last, weights=val, minlength=S) if val is not None else None
        hist = _history_digits(uniq, order, base)
        names = [self._state_name(enc.channels, h) for h in hist]
        W = _count_transitions(sid, w_step, first, last, total_w, conv, nul, S)
        self._fit_matrix(W, vconv, names, hist, list(enc.channels), conv.sum(), nul.sum(), val)
        if nulls is None:
            note = "No nulls were given: every journey converts, so a removal effect only says how the chain routes "
            self.notes_.insert(0, note + "conversion paths through the channel.")
        return self

    def fit_transitions(self, transitions: pd.DataFrame, from_col="from", to_col="to", count_col="n"):
        """Fit order 1 from counted transitions (``from``, ``to``, ``n`` journeys), e.g. the output of
        :func:`helpers.channels.paths.transitions_expr`: ``(start)`` to the first channel, channel to
        channel, last channel to ``(conversion)`` or ``(null)``. Same results as :meth:`fit` on the
        paths they were counted from (no value credits)."""
        if self._check_order() != 1:
            raise ValueError(f"fit_transitions fits order 1 only (order={self.order}); fit the paths instead.")
        missing = [c for c in (from_col, to_col, count_col) if c not in transitions.columns]
        if missing:
            raise ValueError(f"transitions has no column {missing} (columns: {list(transitions.columns)}).")
        frm_s = transitions[from_col].astype(str).str.strip().to_numpy(dtype=object)
        to_s = transitions[to_col].astype(str).str.strip().to_numpy(dtype=object)
        cnt = check_amounts(count_col, transitions[count_col], len(transitions))
        bad = np.flatnonzero(np.isin(frm_s, [CONVERSION, NULL]) | (to_s == START))
        if bad.size:
            raise ValueError(f"transitions rows {_rows(bad)} leave an absorbing state or enter (start).")
        chans = sorted(set(frm_s.tolist() + to_s.tolist()) - set(_SPECIAL))
        ids = {START: 0, **{c: i + 1 for i, c in enumerate(chans)}, CONVERSION: len(chans) + 1, NULL: len(chans) + 2}
        S = len(chans)
        frm = np.array([ids[x] for x in frm_s], dtype=np.int64)
        to = np.array([ids[x] for x in to_s], dtype=np.int64)
        W = _count_matrix(frm, to, cnt, S + 1, S + 3)
        hist = np.arange(S, dtype=np.int64)[:, None]
        conv_total = float(cnt[to == S + 1].sum())
        null_total = float(cnt[to == S + 2].sum())
        return self._fit_matrix(W, None, list(chans), hist, chans, conv_total, null_total, None)

    def _state_name(self, channels: list[str], hist_row: np.ndarray) -> str:
        joiner = f" {self.sep.strip()} " if self.sep.strip() else self.sep
        return joiner.join(channels[i] for i in hist_row[::-1] if i >= 0)

    def _fit_matrix(self, W, vconv, names, hist, channels, conv_total, null_total, val) -> MarkovAttribution:
        """Solve the chain from its count matrix ``W`` ((start) + S states) x (S + 3) columns."""
        S = len(names)
        notes: list[str] = []
        out = np.asarray(W.sum(axis=1)).ravel()
        active = np.flatnonzero(out > 0)  # states only on paths of zero journeys carry no information
        inv_out = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        P = sp.diags(inv_out) @ W
        Q = P[:, : S + 1].tocsr()
        rhs = [np.asarray(P[:, S + 1].todense()).ravel()]
        if vconv is not None:
            rhs.append(np.concatenate([[0.0], vconv]) * inv_out)
        R = np.column_stack(rhs)
        base = _absorb(Q, R, active)
        p_conv = float(base[0])
        re = np.zeros(len(channels))
        rev = np.zeros(len(channels))
        for j in range(len(channels)):
            has = np.zeros(S + 1, dtype=bool)
            has[1:] = (hist == j).any(axis=1)
            kept = active[~has[active]]
            x = _absorb(Q, R, kept) if has[active].any() else base
            if p_conv > 0:
                re[j] = max(0.0, 1.0 - x[0] / p_conv)
            if vconv is not None and base[1] > 0:
                rev[j] = max(0.0, 1.0 - x[1] / base[1])
        idx = pd.Index(channels, name="channel")
        self.removal_effects_ = pd.Series(re, index=idx, name="removal_effect")
        total = float(conv_total)
        if total > 0 and re.sum() > 0:
            credits = total * re / re.sum()
        else:
            credits = np.zeros(len(channels))
            notes.append("There are no conversions: every removal effect and credit is 0.")
        self.credits_ = pd.Series(credits, index=idx, name="conversions")
        self.value_removal_effects_ = None
        self.value_credits_ = None
        if vconv is not None:
            self.value_removal_effects_ = pd.Series(rev, index=idx, name="value_removal_effect")
            tv = float(val.sum())
            vc = tv * rev / rev.sum() if tv > 0 and rev.sum() > 0 else np.zeros(len(channels))
            self.value_credits_ = pd.Series(vc, index=idx, name="value")
        idle = [c for j, c in enumerate(channels) if not (hist[active[active > 0] - 1] == j).any()]
        if idle:
            listed = ", ".join(idle[:5])
            notes.append(f"{len(idle)} channels appear only on paths with no journeys ({listed}): their credit is 0.")
        self.conversion_probability_ = p_conv
        self.n_states_ = S
        self.channels_ = list(channels)
        self.n_journeys_ = float(conv_total + null_total)
        self.total_conversions_ = total
        self._W, self._names = W, list(names)
        self.notes_ = notes
        return self

    @property
    def transition_matrix_(self) -> pd.DataFrame:
        """Transition probabilities, rows and columns ``(start)``, states, ``(conversion)``, ``(null)``
        (dense up to 3,000 states, else a pandas sparse frame). Absorbing states map to themselves;
        a state seen only on paths with no journeys has a row of zeros."""
        W = self._W
        S = len(self._names)
        out = np.asarray(W.sum(axis=1)).ravel()
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        P = sp.vstack([sp.diags(inv) @ W, sp.csr_matrix(([1.0, 1.0], ([0, 1], [S + 1, S + 2])), shape=(2, S + 3))])
        labels = [START, *self._names, CONVERSION, NULL]
        if S <= 3000:
            return pd.DataFrame(P.toarray(), index=pd.Index(labels, name="from"), columns=pd.Index(labels, name="to"))
        frame = pd.DataFrame.sparse.from_spmatrix(P.tocsr(), index=labels, columns=labels)
        return frame.rename_axis(index="from", columns="to")

    def summary(self) -> pd.DataFrame:
        """One row per channel, most credited first: ``channel``, ``removal_effect``, ``conversions``
        (credited), ``share`` (of the credited conversions) and, with a value, ``value`` (credited)."""
        total = self.credits_.sum()
        out = pd.DataFrame(
            {
                "channel": self.credits_.index.astype(str),
                "removal_effect": self.removal_effects_.to_numpy(),
                "conversions": self.credits_.to_numpy(),
                "share": self.credits_.to_numpy() / total if total > 0 else 0.0,
            }
        )
        if self.value_credits_ is not None:
            out["value"] = self.value_credits_.to_numpy()
        out = out.sort_values(["conversions", "channel"], ascending=[False, True], ignore_index=True)
        out.attrs["notes"] = list(self.notes_)
        return out


def _count_transitions(sid, w_step, first, last, total_w, conv, nul, S: int) -> sp.csr_matrix:
    """The (start + S) x (S + 3) matrix of summed journeys per transition: column 0 unused
    ((start) is never entered), states 1..S, (conversion) S + 1, (null) S + 2."""
    C = S + 3
    if (S + 1) * C <= _DENSE_PAIRS:
        pair = (sid[:-1] + 1) * C + sid[1:] + 1
        dense = np.bincount(pair, weights=w_step[:-1], minlength=(S + 1) * C).reshape(S + 1, C)
        dense[0, 1 : S + 1] = np.bincount(first, weights=total_w, minlength=S)
        dense[1 : S + 1, S + 1] = np.bincount(last, weights=conv, minlength=S)
        dense[1 : S + 1, S + 2] = np.bincount(last, weights=nul, minlength=S)
        return sp.csr_matrix(dense)
    rows = np.concatenate([sid[:-1] + 1, np.zeros(first.size, np.int64), last + 1, last + 1])
    cols = np.concatenate([sid[1:] + 1, first + 1, np.full(last.size, S + 1), np.full(last.size, S + 2)])
    w = np.concatenate([w_step[:-1], total_w, conv, nul])
    return sp.coo_matrix((w, (rows, cols)), shape=(S + 1, C)).tocsr()


def _count_matrix(frm, to, w, rows: int, cols: int) -> sp.csr_matrix:
    """Summed weights of (from, to) pairs as a sparse ``rows x cols`` matrix."""
    return sp.coo_matrix((w, (frm, to)), shape=(rows, cols)).tocsr()


def _absorb(Q: sp.csr_matrix, R: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Absorption values from ``(start)`` (row 0) when only the transient states ``kept`` remain
    (the others send everything to ``(null)``): solve ``(I - Q_kk) x = R_k`` by sparse LU."""
    if kept.size == 0 or kept[0] != 0:
        return np.zeros(R.shape[1])
    Qk = Q[kept][:, kept]
    A = (sp.identity(kept.size, format="csc") - Qk).tocsc()
    x = splu(A).solve(np.ascontiguousarray(R[kept]))
    return x[0]
