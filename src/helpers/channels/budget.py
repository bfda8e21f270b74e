"""Budget allocation across channels: the spend split that maximises a model's expected response.

``BudgetOptimizer(budget, bounds).fit(response, current)`` maximises ``response(spend)`` (a
callable taking the spend totals per channel over the modelled period, in the order of
``current.index``, e.g. ``MarketingMixModel.expected_response``) subject to

- the total: ``sum(spend) == budget`` (default: the current total);
- per channel: ``low * current <= spend <= high * current`` (``bounds``, multiples of current
  spend; ``channel_bounds`` overrides per channel). A channel with no current spend stays at 0.

Method: SLSQP on scaled variables ``z = spend / current`` (channels with no spend scaled by the
mean spend), with the objective in units of the response that 1 % more spend on every channel
adds at the first start (so ``tol`` means the same for any currency or baseline). The gradient comes from central finite
differences in ``z`` (step 1e-5; forward at 0), or from an optional ``gradient`` callable.
Starts, in order (duplicates skipped): every channel scaled by one common factor and clipped
to its bounds (the feasible point closest to the current mix), the budget split equally (clipped
to the bounds), and the slack above the lower bounds shared in proportion to the marginal
returns at the first start times each channel's range.
The best result is kept; ties keep the earlier start, so fits are deterministic. A run that does
not converge is kept only if it beats the others, and never below the best start (``notes_``).

Uncertainty: with ``draws`` (callables like ``response``, e.g. bootstrap refits), the gain of
the chosen allocation over the current one is computed under each draw; ``gain_interval_`` is
its 5th and 95th percentile. The allocation itself is not re-optimised per draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from helpers.core.formats import PREFIX_CURRENCIES
from helpers.reporting.text import esc

__all__ = ["BudgetOptimizer"]

_STEP = 1e-5  # finite-difference step in scaled units (fraction of current spend)
_AT_BOUND = 1e-6  # distance to a bound, in scaled units, counted as "at the bound"
_KKT_TOL = 1e-3  # relative spread of marginal returns among free channels worth a note


class BudgetOptimizer:
    """Maximise expected response over channel spends with a fixed total and per-channel bounds.

    Parameters: ``budget`` (total to allocate over the modelled period, currency; ``None`` =
    current total), ``bounds`` (``(low, high)`` multiples of current spend, every channel),
    ``channel_bounds`` (``{channel: (low, high)}`` overrides), ``tol`` (SLSQP ``ftol`` on the
    scaled objective), ``max_iter`` (iterations per start), ``method`` (``"SLSQP"`` or
    ``"trust-constr"``).

    After :meth:`fit`: ``allocation_`` (per channel: ``channel, current_spend, optimal_spend,
    change, change_pct, lower_bound, upper_bound, at_bound`` (``"lower"``, ``"upper"``,
    ``"fixed"`` or ``"no"``), ``current_response`` and ``optimal_response`` when the response
    returns one value per channel, ``marginal_return`` and ``marginal_return_current``:
    d response / d spend per currency unit at the optimum and at current spend),
    ``current_response_``, ``optimal_response_``, ``expected_gain_``, ``gain_interval_``
    ((low, high) or ``None``), ``gain_draws_``, ``budget_``, ``converged_``, ``message_``,
    ``n_evaluations_``, ``notes_``.
    """

    def __init__(
        self,
        budget: float | None = None,
        bounds: tuple[float, float] = (0.5, 1.5),
        channel_bounds: Mapping[str, tuple[float, float]] | None = None,
        tol: float = 1e-9,
        max_iter: int = 200,
        method: str = "SLSQP",
    ):
        self.budget = budget
        self.bounds = bounds
        self.channel_bounds = channel_bounds
        self.tol = tol
        self.max_iter = max_iter
        self.method = method

    # ------------------------------------------------------------------------------------------
    def fit(
        self,
        response: Callable[[np.ndarray], float],
        current: pd.Series,
        draws: Sequence[Callable[[np.ndarray], float]] | None = None,
        gradient: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> BudgetOptimizer:
        """Find the allocation; ``gradient(spend)`` (optional) returns d response / d spend per channel."""
        if not callable(response):
            raise ValueError(f"response must be a callable(spend array) -> float, got {type(response).__name__}")
        if self.method not in ("SLSQP", "trust-constr"):
            raise ValueError(f"method must be 'SLSQP' or 'trust-constr', got {self.method!r}")
        cur, names = _current(current)
        lo, hi = self._bounds(cur, names)
        budget = self._budget(cur, lo, hi)
        n = cur.size
        notes: list[str] = []
        self._evals = 0
        self._n = n

        def total(x: np.ndarray, fn=response) -> float:
            return float(np.sum(self._call(fn, x)))

        r0 = total(cur)
        if not np.isfinite(r0):
            raise ValueError(f"response(current) is not a finite number ({r0}): check the response function.")
        pos = cur[cur > 0]
        scale = np.where(cur > 0, cur, pos.mean())
        zero = names[(cur == 0)].tolist()
        if zero:
            notes.append(
                f"No current spend on {', '.join(zero)}: bounds are multiples of current spend, so "
                f"{'it stays' if len(zero) == 1 else 'they stay'} at 0."
            )
        x, runs, message, converged = self._solve(total, gradient, cur, lo, hi, scale, budget, notes)
        self.budget_ = budget
        self.current_response_ = r0
        self.optimal_response_ = total(x)
        if (
            self.optimal_response_ < r0
            and abs(budget - cur.sum()) <= 1e-9 * budget
            and np.all(lo <= cur)
            and np.all(cur <= hi)
        ):
            x, self.optimal_response_ = cur.copy(), r0  # the current split is feasible and better: keep it
            notes.append("No allocation found beats the current one: the current split is kept.")
        self.expected_gain_ = self.optimal_response_ - r0
        self.converged_, self.message_, self.n_starts_ = converged, message, runs
        self.allocation_ = self._table(response, gradient, names, cur, x, lo, hi, scale)
        self._notes_bounds(notes, cur, budget)
        self.gain_interval_, self.gain_draws_ = self._draws(draws, cur, x, notes)
        self.n_evaluations_ = self._evals
        self.notes_ = notes
        return self

    # ------------------------------------------------------------------------------------------
    def _call(self, fn, x: np.ndarray) -> np.ndarray:
        self._evals += 1
        out = np.asarray(fn(np.array(x, dtype=float)), dtype=float)
        if out.ndim == 0 or out.shape == (self._n,):
            return out
        raise ValueError(f"response must return one number (or one per channel, {self._n}), got shape {out.shape}")

    def _bounds(self, cur: np.ndarray, names: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        low = np.empty(cur.size)
        high = np.empty(cur.size)
        low[:], high[:] = _pair(self.bounds, "bounds")
        extra = dict(self.channel_bounds or {})
        unknown = [str(c) for c in extra if str(c) not in set(names)]
        if unknown:
            raise ValueError(f"channel_bounds names channels not in current: {unknown}; channels: {list(names)}")
        for c, b in extra.items():
            i = names.get_loc(str(c))
            low[i], high[i] = _pair(b, f"channel_bounds[{c!r}]")
        self._mult = (low, high)
        return low * cur, high * cur

    def _budget(self, cur: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
        b = float(cur.sum()) if self.budget is None else self.budget
        if (
            isinstance(b, bool)
            or not isinstance(b, float | int | np.floating | np.integer)
            or not np.isfinite(b)
            or b <= 0
        ):
            raise ValueError(f"budget must be a positive finite number (or None for the current total), got {b!r}")
        b = float(b)
        slack = 1e-12 * max(b, 1.0)
        if b < lo.sum() - slack or b > hi.sum() + slack:
            side = "below the lower bounds' sum" if b < lo.sum() - slack else "above the upper bounds' sum"
            raise ValueError(
                f"budget {b:,.2f} is {side}: the lower bounds sum to {lo.sum():,.2f} and the upper bounds to "
                f"{hi.sum():,.2f} (bounds are multiples of current spend, total {cur.sum():,.2f}); widen bounds "
                "or channel_bounds, or change the budget."
            )
        return b

    def _solve(self, total, gradient, cur, lo, hi, scale, budget, notes):
        """The best feasible spend found: (spend, runs, message, converged)."""
        free = np.flatnonzero(hi - lo > _AT_BOUND * scale)
        fixed_x = np.where(hi - lo > _AT_BOUND * scale, 0.0, lo)
        starts = _starts(cur, lo, hi, budget)
        if free.size <= 1 or budget <= lo.sum() + 1e-12 * budget or budget >= hi.sum() - 1e-12 * budget:
            x = starts[0]
            return x, 0, "allocation determined by the bounds and the budget", True
        s = scale[free]
        zlo, zhi = lo[free] / s, hi[free] / s
        rest = budget - fixed_x.sum()

        def spend(z: np.ndarray) -> np.ndarray:
            x = fixed_x.copy()
            x[free] = np.clip(z, zlo, zhi) * s
            return x

        def grad_z(z: np.ndarray) -> np.ndarray:
            x = spend(z)
            if gradient is not None:
                g = np.asarray(gradient(x), dtype=float)
                if g.shape != (cur.size,) or not np.isfinite(g).all():
                    raise ValueError(f"gradient must return {cur.size} finite numbers, got {g!r}")
                return g[free] * s
            return _fd(lambda x_: total(x_), x, free, s)

        # third start: the slack shared by marginal return at the first start
        g0 = grad_z(starts[0][free] / s) / s
        room = hi - lo
        weight = np.zeros(cur.size)
        weight[free] = np.maximum(g0, 0.0) * room[free]
        if weight.sum() > 0:
            starts.append(_fill(lo, weight, lo, hi, budget))
        unique = []
        for st in starts:
            if not any(np.allclose(st, u, rtol=1e-9, atol=1e-9 * budget) for u in unique):
                unique.append(st)
        # objective unit: the response 1 % more spend on every channel would add at the first start
        f_scale = max(0.01 * float(np.abs(g0 * s).sum()), 1e-12 * abs(total(starts[0])), 1e-300)

        def fun(z):
            return -total(spend(z)) / f_scale

        def jac(z):
            return -grad_z(z) / f_scale

        a, target = s / rest, 1.0
        best = None
        for st in unique:
            z0 = st[free] / s
            if self.method == "SLSQP":
                cons = [{"type": "eq", "fun": lambda z: a @ z - target, "jac": lambda z: a}]
                res = optimize.minimize(
                    fun, z0, jac=jac, bounds=list(zip(zlo, zhi)), constraints=cons, method="SLSQP",
                    options={"ftol": self.tol, "maxiter": self.max_iter},
                )  # fmt: skip
            else:
                res = optimize.minimize(
                    fun, z0, jac=jac, hess=optimize.BFGS(), method="trust-constr",
                    bounds=optimize.Bounds(zlo, zhi), constraints=optimize.LinearConstraint(a[None, :], target, target),
                    options={"gtol": self.tol, "xtol": self.tol, "maxiter": self.max_iter},
                )  # fmt: skip
            x = _repair(spend(res.x), lo, hi, budget, free)
            val, val0 = total(x), total(st)
            if not np.isfinite(val) or val0 > val:  # never worse than where the run started
                x, val = st, val0
            cand = (val, bool(res.success), str(res.message), x)
            if best is None or _better(cand, best):
                best = cand
        val, ok, message, x = best
        if not ok:
            notes.append(
                f"The optimiser did not report convergence ({message}); the best allocation found is reported "
                "(never worse than the best start)."
            )
        return x, len(unique), message, ok

    def _table(self, response, gradient, names, cur, x, lo, hi, scale) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "channel": names,
                "current_spend": cur,
                "optimal_spend": x,
                "change": x - cur,
                "change_pct": np.where(cur > 0, 100 * (x - cur) / np.where(cur > 0, cur, 1.0), np.nan),
                "lower_bound": lo,
                "upper_bound": hi,
            }
        )
        tol = _AT_BOUND * scale * 10
        out["at_bound"] = np.select(
            [hi - lo <= _AT_BOUND * scale, x <= lo + tol, x >= hi - tol], ["fixed", "lower", "upper"], default="no"
        )
        per_now, per_opt = self._call(response, cur), self._call(response, x)
        if per_now.ndim == 1:
            out["current_response"] = per_now
            out["optimal_response"] = per_opt
        everyone = np.arange(cur.size)

        def marginal(at):
            if gradient is not None:
                return np.asarray(gradient(at), dtype=float)
            return _fd(lambda x_: float(np.sum(self._call(response, x_))), at, everyone, scale) / scale

        out["marginal_return"] = marginal(x)
        out["marginal_return_current"] = marginal(cur)
        return out

    def _notes_bounds(self, notes: list[str], cur: np.ndarray, budget: float) -> None:
        a = self.allocation_
        low_m, high_m = self._mult
        for side, word in (("lower", "cut {} further"), ("upper", "give {} more")):
            idx = np.flatnonzero(a["at_bound"].to_numpy() == side)
            if idx.size:
                parts = [
                    f"{a['channel'].iloc[i]} ({(low_m if side == 'lower' else high_m)[i]:g} x current)" for i in idx
                ]
                it = "it" if idx.size == 1 else "them"
                notes.append(
                    f"At the {side} bound: {', '.join(parts)}; the optimum would {word.format(it)} if the bounds allowed."
                )
        free = a["at_bound"].to_numpy() == "no"
        m = a["marginal_return"].to_numpy()
        if free.sum() >= 2:
            lam = np.median(m[free])
            spread = (m[free].max() - m[free].min()) / max(abs(lam), 1e-300)
            bad_low = (a["at_bound"].to_numpy() == "lower") & (m > lam * (1 + _KKT_TOL))
            bad_high = (a["at_bound"].to_numpy() == "upper") & (m < lam * (1 - _KKT_TOL))
            if spread > _KKT_TOL or bad_low.any() or bad_high.any():
                notes.append(
                    f"Marginal returns at the optimum are not balanced (spread {100 * spread:.1f} % among channels inside "
                    "their bounds): the allocation may be a local optimum or inexact (e.g. an S-shaped response)."
                )
        total_now = float(cur.sum())
        if abs(budget - total_now) > 1e-9 * budget:
            notes.append(
                f"The budget ({budget:,.2f}) is {100 * abs(budget / total_now - 1):.1f} % "
                f"{'above' if budget > total_now else 'below'} current total spend ({total_now:,.2f}); the gain "
                "includes the effect of the budget change."
            )

    def _draws(self, draws, cur, x, notes):
        if draws is None:
            return None, None
        gains = []
        for fn in draws:
            gains.append(float(np.sum(self._call(fn, x))) - float(np.sum(self._call(fn, cur))))
        g = np.asarray(gains, dtype=float)
        bad = ~np.isfinite(g)
        if bad.any():
            notes.append(f"{int(bad.sum())} of {g.size} draws gave a non-finite response and are left out.")
        g = g[~bad]
        if g.size == 0:
            return None, g
        if g.size < 20:
            notes.append(f"The gain interval rests on only {g.size} draws: treat it as rough.")
        notes.append(
            f"Gain interval: 5th-95th percentile over {g.size} draws of the gain of this allocation over the current "
            "one (the allocation is not re-optimised per draw)."
        )
        return (float(np.percentile(g, 5)), float(np.percentile(g, 95))), g

    # ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "allocation_"):
            raise ValueError("BudgetOptimizer is not fitted: call fit(response, current) first.")

    def summary(self) -> pd.DataFrame:
        """``allocation_`` indexed by channel; ``.attrs``: ``fit_line`` and the totals in ``fit_statistics``."""
        self._check_fitted()
        table = self.allocation_.set_index("channel")
        gi = self.gain_interval_
        interval = f" (5-95 % over draws: {gi[0]:,.0f} to {gi[1]:,.0f})" if gi else ""
        table.attrs["fit_line"] = (
            f"Budget {self.budget_:,.0f} over {len(table)} channels; expected response {self.current_response_:,.0f} "
            f"-> {self.optimal_response_:,.0f}, gain {self.expected_gain_:,.0f}{interval}; "
            f"{'converged' if self.converged_ else 'NOT converged'} ({self.message_})."
        )
        table.attrs["fit_statistics"] = {
            "budget": self.budget_,
            "current_total": float(table["current_spend"].sum()),
            "current_response": self.current_response_,
            "optimal_response": self.optimal_response_,
            "expected_gain": self.expected_gain_,
            "gain_low": gi[0] if gi else None,
            "gain_high": gi[1] if gi else None,
            "converged": self.converged_,
            "notes": list(self.notes_),
        }
        return table

    def sentence(self, currency: str = "$", kpi: str = "expected response", kpi_currency: bool = False) -> str:
        """The recommended shift and the expected gain (with its interval when there are draws), in
        Markdown (channel names and the currency escaped). ``kpi``: what the response measures;
        ``kpi_currency``: whether it is money (then amounts carry ``currency``)."""
        self._check_fitted()
        a = self.allocation_
        cur = esc(currency)

        def money(v: float) -> str:  # the reports' rule: a mark before the amount, a code after it
            body = f"{abs(v):,.0f}"
            return f"{cur}{body}" if not currency or currency in PREFIX_CURRENCIES else f"{body} {cur}"

        def resp(v: float) -> str:
            return money(v) if kpi_currency else f"{abs(v):,.0f}"

        eps = max(1e-6 * self.budget_, 0.5)
        down = a[a["change"] < -eps].sort_values("change", kind="stable")
        up = a[a["change"] > eps].sort_values("change", ascending=False, kind="stable")

        def listed(rows: pd.DataFrame, amounts: bool) -> str:
            items = [esc(c) + (f" ({money(v)})" if amounts else "") for c, v in zip(rows["channel"], rows["change"])]
            return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

        total_now = float(a["current_spend"].sum())
        if down.empty and up.empty:
            head = "Keep the current allocation: no shift within the bounds changes it"
        elif abs(self.budget_ - total_now) <= 1e-9 * self.budget_:
            head = (
                f"Move {money(-down['change'].sum())} from {listed(down, len(down) > 1)} to {listed(up, len(up) > 1)}"
            )
        else:
            moves = []
            if len(up):
                moves.append(f"raise {listed(up, True)}")
            if len(down):
                moves.append(f"cut {listed(down, True)}")
            head = f"Spend {money(self.budget_)} instead of {money(total_now)}: " + ", ".join(moves)
        g = self.expected_gain_
        rel = g / abs(self.current_response_) if self.current_response_ else np.nan
        sign = "+" if g >= 0 else "-"
        text = (
            f"{head}: the {kpi} goes from {resp(self.current_response_)} to {resp(self.optimal_response_)} "
            f"({sign}{resp(g)}" + (f", {sign}{100 * abs(rel):.1f} %" if np.isfinite(rel) else "") + ")"
        )
        if self.gain_interval_ is not None:
            lo, hi = self.gain_interval_
            sl = "-" if lo < 0 else ""
            sh = "-" if hi < 0 else ""
            text += f"; 90 % interval of the gain over {len(self.gain_draws_)} model draws: {sl}{resp(lo)} to {sh}{resp(hi)}"
        text += "."
        if not self.converged_:
            text += " The optimiser did not confirm convergence: treat the split as indicative."
        return text


# ----------------------------------------------------------------------------------------------
def _pair(b, name: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in b)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of multiples of current spend, got {b!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high < low:
        raise ValueError(f"{name} must satisfy 0 <= low <= high (finite), got ({low}, {high})")
    return low, high


def _current(current) -> tuple[np.ndarray, pd.Index]:
    if not isinstance(current, pd.Series):
        raise ValueError(
            f"current must be a pandas Series of spend per channel (index = channels), got {type(current).__name__}"
        )
    if current.empty:
        raise ValueError("current is empty: give the current spend of at least one channel.")
    names = pd.Index([str(c) for c in current.index])
    if not names.is_unique:
        raise ValueError(f"current has duplicate channels: {sorted(set(names[names.duplicated()]))}")
    if not pd.api.types.is_numeric_dtype(current) or pd.api.types.is_bool_dtype(current):
        raise ValueError(f"current must hold numbers (spend per channel), got dtype {current.dtype}")
    x = current.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        raise ValueError(
            f"current spend must be finite and >= 0; offending channels: "
            f"{dict(zip(names[bad].tolist(), x[bad].tolist()))}"
        )
    if x.sum() <= 0:
        raise ValueError("current spend is 0 for every channel: bounds are multiples of current spend.")
    return x, names


def _fill(base: np.ndarray, weight: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """``clip(base + t * weight, lo, hi)`` with t >= 0 chosen by bisection so the total is ``budget``."""

    def at(t: float) -> np.ndarray:
        return np.clip(base + t * weight, lo, hi)

    a, b = 0.0, 1.0
    while at(b).sum() < budget and b < 1e300:
        b *= 2.0
    for _ in range(200):
        m = 0.5 * (a + b)
        if at(m).sum() < budget:
            a = m
        else:
            b = m
    return _repair(at(b), lo, hi, budget, np.flatnonzero(hi > lo))


def _starts(cur, lo, hi, budget) -> list[np.ndarray]:
    """The current mix scaled by one common factor, then an equal split, each clipped to the bounds."""
    prop = _fill(np.zeros_like(cur), cur, lo, hi, budget)
    equal = _fill(np.zeros_like(cur), (hi > lo).astype(float), lo, hi, budget)
    return [prop, equal]


def _repair(x, lo, hi, budget, free) -> np.ndarray:
    """``x`` clipped to its bounds with the total set to ``budget`` exactly (the gap shared by room)."""
    x = np.clip(np.asarray(x, dtype=float), lo, hi)
    for _ in range(5):
        gap = budget - x.sum()
        if gap == 0:
            break
        room = (hi - x) if gap > 0 else (x - lo)
        room = np.where(np.isin(np.arange(x.size), free), room, 0.0)
        if room.sum() <= 0:
            break
        x = np.clip(x + gap * room / room.sum(), lo, hi)
    return x


def _fd(f, x: np.ndarray, idx: np.ndarray, s: np.ndarray) -> np.ndarray:
    """d f / d z_i at ``x`` for z = spend / s over ``idx`` (``s`` aligned with ``idx``; central
    differences, forward where the spend is below one step)."""
    g = np.empty(idx.size)
    for j, i in enumerate(idx):
        h = _STEP * s[j]
        up, dn = x.copy(), x.copy()
        up[i] += h
        if x[i] >= h:
            dn[i] -= h
            g[j] = (f(up) - f(dn)) / (2 * _STEP)
        else:
            g[j] = (f(up) - f(x)) / _STEP
    return g


def _better(cand, best) -> bool:
    """A higher response wins (by more than rounding); on a tie a converged run beats one that is not."""
    margin = 1e-12 * max(abs(best[0]), 1.0)
    return cand[0] > best[0] + margin or (abs(cand[0] - best[0]) <= margin and cand[1] and not best[1])
