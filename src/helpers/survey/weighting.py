"""Survey weights by raking: weights that make the sample's shares match known population
shares on several variables at once.

**Raking** (iterative proportional fitting) adjusts the weights one variable at a time so the
weighted shares of its categories equal the targets, and cycles through the variables until
every weighted share is within ``tol`` of its target (shares are fractions, 0..1).

**Trimming.** Raking can give a few respondents very large weights, which costs precision.
With ``trim=(lo, hi)``, when the raked weights leave ``lo``..``hi`` times the mean weight they
are capped and raked again, this time scaling each category to its target with every weight held
within the bounds (the capped ones stay at the cap unless the targets pull them back in). Rounds
of capping and raking repeat until the margins meet ``tol`` with every weight within the bounds,
a round no longer helps, or ``max_trim_rounds`` rounds have passed; the bounds always win, so
when the targets cannot be met within them the result says which margins are off, by how much,
and which targets need an average weight outside the bounds.

**Result.** Weights average 1 (they add up to the number of respondents), so a weighted count
reads as respondents. The efficiency ``n_eff / n`` (Kish, :func:`helpers.survey.scores.effective_n`)
says how much precision the weighting costs: the answers carry the precision of ``n_eff``
unweighted ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.formats import fixed, number, percent

from .scores import effective_n

__all__ = ["RakeResult", "rake"]

_SUM_TOLERANCE = 1e-6  # target shares of a column must add up to 1 within this
_BOUND_SLACK = 1e-6  # a weight this far (relative) over a trimming bound still counts as within


@dataclass
class RakeResult:
    """Raked weights and how well they hit the targets.

    ``weights``: one per respondent (the frame's index), mean 1. ``converged``: every margin within
    ``tol`` (and every weight within the trimming bounds). ``iterations``: raking sweeps over all
    margins, every trimming round included. ``max_error``: the largest |weighted share - target|
    over all categories (a fraction). ``trimmed``: respondents whose final weight sits at a
    trimming bound. ``n``, ``n_eff``, ``efficiency`` (n_eff / n, 0..1), ``design_effect`` (n / n_eff),
    ``min_weight``, ``max_weight``; ``notes``: what happened, in plain words. ``targets``: the
    targets used (after any renormalisation); ``trim``: the bounds (x the mean weight) or None.
    """

    weights: pd.Series
    converged: bool
    iterations: int
    max_error: float
    trimmed: int
    n: int
    n_eff: float
    efficiency: float
    design_effect: float
    min_weight: float
    max_weight: float
    notes: list[str] = field(default_factory=list)
    targets: dict[str, dict[Any, float]] = field(default_factory=dict)
    trim: tuple[float, float] | None = None
    _margins: pd.DataFrame | None = field(default=None, repr=False)

    def margins(self) -> pd.DataFrame:
        """One row per target category: ``column``, ``category``, ``sample_share`` (share of
        respondents, unweighted), ``target`` and ``weighted_share`` (with the raked weights);
        shares are fractions 0..1."""
        return self._margins.copy()

    def sentence(self) -> str:
        """The weighting in one or two plain sentences for a report."""
        k = len(self.targets)
        sweeps = f"{self.iterations} iteration{'s' if self.iterations != 1 else ''}"
        text = f"Weights were raked to {k} margin{'s' if k != 1 else ''} in {sweeps}; "
        text += f"they range {fixed(self.min_weight, 2)}-{fixed(self.max_weight, 2)}"
        if self.trim is not None:
            bounds = f"{number(float(self.trim[0]))}-{number(float(self.trim[1]))} x the mean"
            text += f" (trimmed at {bounds})" if self.trimmed else f" (within the trimming bounds of {bounds})"
        text += (
            f", and the efficiency of {percent(100 * self.efficiency, 0)} means the {number(self.n)} answers "
            f"carry the precision of {number(round(self.n_eff))}."
        )
        if not self.converged:
            text += f" The weights do not meet every target: {_worst_margins(self._margins)}."
        return text


def _label(column: str, category: Any) -> str:
    return f"weight_targets[{column!r}][{category!r}]"


def _worst_margins(table: pd.DataFrame, limit: int = 3) -> str:
    """The margins furthest from their targets, with the gap in percentage points."""
    off = (table["weighted_share"] - table["target"]).abs()
    worst = table.assign(off=off).sort_values("off", ascending=False).head(limit)
    return "; ".join(
        f"{r.column} = {r.category!r} at {fixed(100 * r.weighted_share, 2)} % against {fixed(100 * r.target, 2)} % "
        f"(off by {number(100 * r.off)} points)"
        for r in worst.itertuples()
    )


def _check_targets(frame: pd.DataFrame, targets: Mapping[str, Mapping[Any, float]], notes: list[str]):
    """Per target column: the category codes of every respondent and the target shares (adding
    up to 1), after the rules in :func:`rake`."""
    if not targets:
        raise ValueError("weight_targets is empty: give target shares for at least one column.")
    n = len(frame)
    codes, shares, clean = [], [], {}
    for column, given in targets.items():
        if column not in frame.columns:
            raise ValueError(f"weight_targets[{column!r}]: the data has no column {column!r}.")
        if not given:
            raise ValueError(f"weight_targets[{column!r}] is empty: give the share of each category.")
        cats = list(given)
        t = pd.to_numeric(pd.Series([given[c] for c in cats], dtype=object), errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(t)) or (t < 0).any():
            bad = [c for c, v in zip(cats, t) if not (np.isfinite(v) and v >= 0)]
            raise ValueError(f"{_label(column, bad[0])}: target shares must be numbers >= 0.")
        total = float(t.sum())
        if total <= 0:
            raise ValueError(
                f"weight_targets[{column!r}]: the target shares add up to {total:g}; they must add up to 1."
            )
        if abs(total - 1) > _SUM_TOLERANCE:
            notes.append(f"The targets for {column} added up to {total:.6g}, not 1; they were rescaled to add up to 1.")
        t = t / total  # also a rounding slip within the tolerance, so the targets can be met exactly
        values = frame[column]
        missing = int(values.isna().sum())
        if missing:
            raise ValueError(
                f"weight_targets[{column!r}]: {number(missing)} of {number(n)} respondents "
                f"{'have' if missing != 1 else 'has'} no {column}, "
                "so they cannot be weighted to its targets; fill in or drop them first."
            )
        code = pd.Index(cats).get_indexer(values)
        if (code < 0).any():
            counts = values[code < 0].value_counts()
            extra, count = counts.index[0], int(counts.iloc[0])
            raise ValueError(
                f"weight_targets[{column!r}] has no target for {column} = {extra!r}, which {number(count)} "
                f"respondent{'s have' if count != 1 else ' has'}; give every category present in the data a target "
                f"(categories without one: {', '.join(map(repr, counts.index))})."
            )
        present = np.bincount(code, minlength=len(cats))
        for cat, target, count in zip(cats, t, present):
            if target > 0 and count == 0:
                raise ValueError(
                    f"{_label(column, cat)}: no respondent has {column} = {cat!r} (0 of {number(n)}), so no weight "
                    f"can reach its {percent(100 * target)} target; drop the category from the targets or check "
                    "its spelling against the data."
                )
            if target == 0 and count > 0:
                raise ValueError(
                    f"{_label(column, cat)}: the target is 0 but {number(int(count))} "
                    f"respondent{'s have' if count != 1 else ' has'} {column} = {cat!r}; drop them or give the "
                    "category a positive share."
                )
        codes.append(code)
        shares.append(t)
        clean[column] = dict(zip(cats, t.tolist()))
    return codes, shares, clean


def _errors(w: np.ndarray, codes, shares) -> float:
    total = w.sum()
    return max(
        float(np.abs(np.bincount(c, weights=w, minlength=t.size) / total - t).max()) for c, t in zip(codes, shares)
    )


def _cap(w: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Weights capped to ``lo``..``hi`` times their mean, rescaled to mean 1 (capping moves the
    mean, so clip and rescale until they agree)."""
    n = w.size
    for _ in range(100):
        w = np.clip(w * (n / w.sum()), lo, hi)
        if abs(w.sum() - n) <= 1e-12 * n:
            break
    return w * (n / w.sum())


def _capped_total(w: np.ndarray, target: float, lo: float, hi: float) -> np.ndarray:
    """``clip(f * w, lo, hi)`` with the factor f that makes them add up to ``target`` (all at a
    bound when no factor can)."""
    if target <= lo * w.size:
        return np.full(w.size, lo)
    if target >= hi * w.size:
        return np.full(w.size, hi)
    s = np.sort(w)
    prefix = np.concatenate([[0.0], np.cumsum(s)])
    f = np.sort(np.concatenate([lo / s, hi / s]))  # where a weight reaches a bound

    def total(f):
        n_low = np.searchsorted(s, lo / f, side="right")  # f w <= lo
        n_free_end = np.searchsorted(s, hi / f, side="left")  # f w < hi
        return lo * n_low + hi * (s.size - n_free_end) + f * (prefix[n_free_end] - prefix[n_low])

    g = total(f)  # nondecreasing in f, piecewise linear between the breakpoints
    j = int(np.clip(np.searchsorted(g, target), 1, f.size - 1))
    f0, f1, g0, g1 = f[j - 1], f[j], g[j - 1], g[j]
    factor = f0 if g1 == g0 else f0 + (target - g0) * (f1 - f0) / (g1 - g0)
    return np.clip(factor * w, lo, hi)


def _ipf(w: np.ndarray, codes, shares, max_iter: int, tol: float, bounds=None) -> tuple[np.ndarray, int, float]:
    """Raking sweeps until every margin is within ``tol`` (or ``max_iter`` sweeps); the total
    weight is kept. With ``bounds`` (lo, hi), each category is scaled to its target with its
    weights held within the bounds (the weights must then average 1)."""
    total = w.sum()
    members = [[np.flatnonzero(c == k) for k in range(t.size)] for c, t in zip(codes, shares)] if bounds else None
    error = _errors(w, codes, shares)
    sweeps, checkpoint = 0, error
    while error > tol and sweeps < max_iter:
        for j, (c, t) in enumerate(zip(codes, shares)):
            if bounds is None:
                have = np.bincount(c, weights=w, minlength=t.size)
                factor = np.divide(t * total, have, out=np.ones_like(have), where=have > 0)
                w = w * factor[c]
            else:
                w = w.copy()
                for k, rows in enumerate(members[j]):
                    if rows.size:
                        w[rows] = _capped_total(w[rows], t[k] * total, *bounds)
        sweeps += 1
        error = _errors(w, codes, shares)
        if bounds and sweeps % 25 == 0:  # held at the bounds, the margins can stop moving: stop then
            if error > 0.999 * checkpoint:
                break
            checkpoint = error
    return w, sweeps, error


def _out_of_reach(codes, shares, clean, n: int, lo: float, hi: float) -> list[str]:
    """Categories whose target needs an average weight outside the trimming bounds."""
    out = []
    for (column, cats), c, t in zip(clean.items(), codes, shares):
        counts = np.bincount(c, minlength=t.size)
        for cat, target, count in zip(cats, t, counts):
            need = target * n / count if count else 0.0
            if count and not lo <= need <= hi:
                side = "above the cap" if need > hi else "below the floor"
                bound = hi if need > hi else lo
                out.append(
                    f"{column} = {cat!r} would need an average weight of {number(need)} x the mean, {side} of "
                    f"{number(bound)}"
                )
    return out


def rake(
    frame: pd.DataFrame,
    targets: Mapping[str, Mapping[Any, float]],
    *,
    base_weights: Any = None,
    max_iter: int = 200,
    tol: float = 1e-8,
    trim: tuple[float, float] | None = (0.2, 5.0),
    max_trim_rounds: int = 20,
) -> RakeResult:
    """Rake weights so the weighted shares of each column in ``targets`` match its target shares.

    ``targets``: column -> {category: share}; the shares of a column must add up to 1 (within
    1e-6, then they are rescaled silently; otherwise they are rescaled and a note says so; a
    total <= 0 is refused). Every
    category in the data needs a target, every target above 0 needs respondents, and target
    columns may not be missing: each breaks with a ValueError naming the column, the category
    and the count. ``base_weights`` (array-like aligned with the rows, or a column name; > 0):
    the design weights to start from (default 1 each). ``tol``: the largest |weighted share -
    target| accepted (a fraction). ``trim``: (lo, hi) caps on the weights as multiples of the
    mean weight, or None (see the module doc). Returns a :class:`RakeResult`.
    """
    if max_iter < 1 or max_trim_rounds < 0:
        raise ValueError("max_iter must be >= 1 and max_trim_rounds >= 0.")
    if not tol > 0:
        raise ValueError(f"tol must be > 0 (a share, e.g. 1e-8), got {tol}.")
    if trim is not None:
        lo, hi = (float(b) for b in trim)
        if not 0 <= lo < 1 < hi:
            raise ValueError(f"trim must be (lo, hi) with 0 <= lo < 1 < hi (multiples of the mean weight), got {trim}.")
    n = len(frame)
    if n == 0:
        raise ValueError("there are no respondents to weight.")
    notes: list[str] = []
    codes, shares, clean = _check_targets(frame, targets, notes)
    if base_weights is None:
        w = np.ones(n)
    else:
        raw = frame[base_weights] if isinstance(base_weights, str) else base_weights
        w = pd.to_numeric(pd.Series(np.asarray(raw, dtype=object).ravel()), errors="coerce").to_numpy(dtype=float)
        if w.size != n:
            raise ValueError(f"base_weights has {w.size} values for {n} respondents.")
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            raise ValueError(
                f"base_weights: {number(int(bad.sum()))} are missing, zero, negative or not numbers; every base "
                "weight must be > 0 (drop respondents who should not count)."
            )
    w = w * (n / w.sum())  # mean 1: the trimming bounds are then fixed numbers

    w, iterations, error = _ipf(w, codes, shares, max_iter, tol)
    w = w * (n / w.sum())
    rounds, trimmed = 0, 0
    if trim is not None:
        while rounds < max_trim_rounds:
            outside = (w < lo * (1 - _BOUND_SLACK)) | (w > hi * (1 + _BOUND_SLACK))
            if not outside.any() and error <= tol:
                break
            before = error if rounds else np.inf
            w, sweeps, error = _ipf(_cap(w, lo, hi), codes, shares, max_iter, tol, bounds=(lo, hi))
            iterations += sweeps
            rounds += 1
            if error >= 0.99 * before:  # another round no longer helps
                break
        w = _cap(w, lo, hi)  # the last word goes to the bounds; the margins are measured after it
        error = _errors(w, codes, shares)
        trimmed = int(((w <= lo * (1 + 1e-9)) | (w >= hi * (1 - 1e-9))).sum())
        if trimmed:
            notes.append(
                f"{number(trimmed)} weights sit at the trimming bounds ({number(lo)}-{number(hi)} x the mean "
                f"weight); the others were raked again to meet the targets ({rounds} round{'s' if rounds != 1 else ''})."
            )
    converged = error <= tol

    rows = []
    for (column, cats), code, t in zip(clean.items(), codes, shares):
        sample = np.bincount(code, minlength=t.size) / n
        weighted = np.bincount(code, weights=w, minlength=t.size) / w.sum()
        rows += [(column, cat, s, tv, ws) for cat, s, tv, ws in zip(cats, sample, t, weighted)]
    table = pd.DataFrame(rows, columns=["column", "category", "sample_share", "target", "weighted_share"])
    if not converged:
        if trim is None:
            why = f"in {max_iter} iterations"
        else:
            why = f"with every weight within {number(lo)}-{number(hi)} x the mean"
        note = f"The weights did not reach every target within {tol:g} {why}; furthest off: {_worst_margins(table)}."
        reach = _out_of_reach(codes, shares, clean, n, lo, hi) if trim is not None else []
        if reach:
            note += " No weights within the bounds can meet these targets: " + "; ".join(reach) + "."
        notes.append(note)
    n_eff = effective_n(w)
    return RakeResult(
        weights=pd.Series(w, index=frame.index, name="weight"),
        converged=bool(converged),
        iterations=int(iterations),
        max_error=float(error),
        trimmed=trimmed,
        n=n,
        n_eff=n_eff,
        efficiency=n_eff / n,
        design_effect=n / n_eff,
        min_weight=float(w.min()),
        max_weight=float(w.max()),
        notes=notes,
        targets=clean,
        trim=None if trim is None else (lo, hi),
        _margins=table,
    )
