"""helpers.channels.budget: the optimiser finds known optima (closed form for separable
exponential markets, with and without active bounds; a brute-force grid for S-shaped Hill
curves), never loses against the current split, flags bounds, and explains itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.channels.budget import BudgetOptimizer

NAMES = ["tv", "search", "social", "display"]
A = np.array([500.0, 300.0, 200.0, 400.0])  # saturation level of each channel's response
B = np.array([100.0, 50.0, 80.0, 200.0])  # spend scale
CURRENT = pd.Series([150.0, 60.0, 90.0, 100.0], index=NAMES)


def exp_response(x: np.ndarray, a: np.ndarray = A, b: np.ndarray = B) -> float:
    """r(x) = sum_i a_i (1 - exp(-x_i / b_i)): separable and concave."""
    return float(np.sum(a * (1.0 - np.exp(-x / b))))


def exp_optimum(budget: float, free: np.ndarray, fixed: dict[int, float], a=A, b=B) -> tuple[np.ndarray, float]:
    """Equal marginal returns: a_i / b_i exp(-x_i / b_i) = lam for the free channels, so
    x_i = b_i (ln(a_i / b_i) - ln lam) and sum_free x_i = budget - sum_fixed gives
    ln lam = (sum_free b_i ln(a_i / b_i) - (budget - sum_fixed)) / sum_free b_i."""
    rest = budget - sum(fixed.values())
    bf = b[free]
    ln_lam = (np.sum(bf * np.log(a[free] / bf)) - rest) / bf.sum()
    x = np.zeros(a.size)
    x[free] = bf * (np.log(a[free] / bf) - ln_lam)
    for i, v in fixed.items():
        x[i] = v
    return x, float(np.exp(ln_lam))


@pytest.mark.parametrize("budget", [None, 480.0])
def test_exponential_market_matches_the_closed_form_optimum(budget):
    opt = BudgetOptimizer(budget=budget, bounds=(0.0, 10.0)).fit(exp_response, CURRENT)
    total = CURRENT.sum() if budget is None else budget
    x, lam = exp_optimum(total, np.arange(4), {})
    assert ((x > 0) & (x < 10 * CURRENT.to_numpy())).all()  # no bound active: the closed form holds
    a = opt.allocation_
    assert a["optimal_spend"].to_numpy() == pytest.approx(x, rel=1e-5)
    assert a["marginal_return"].to_numpy() == pytest.approx(np.full(4, lam), rel=1e-5)
    assert a["optimal_spend"].sum() == pytest.approx(total, rel=1e-12)
    assert opt.optimal_response_ == pytest.approx(exp_response(x), rel=1e-10)
    assert opt.expected_gain_ == pytest.approx(exp_response(x) - exp_response(CURRENT.to_numpy()), rel=1e-6)
    assert opt.converged_ and (a["at_bound"] == "no").all()
    # marginal return at current spend: a_i / b_i exp(-x_i / b_i)
    cur = CURRENT.to_numpy()
    assert a["marginal_return_current"].to_numpy() == pytest.approx(A / B * np.exp(-cur / B), rel=1e-6)
    assert any("above current total spend" in n for n in opt.notes_) == (budget is not None)


def test_exponential_market_with_active_bounds_matches_the_closed_form_and_flags_them():
    # display made weak (a = 100, a/b = 0.5) and over-funded; search (a/b = 6) under-funded
    a = np.array([500.0, 300.0, 200.0, 100.0])
    cur = pd.Series([220.0, 60.0, 140.0, 400.0], index=NAMES)
    opt = BudgetOptimizer(bounds=(0.5, 1.5)).fit(lambda x: exp_response(x, a), cur)
    fixed = {1: 1.5 * 60.0, 3: 0.5 * 400.0}
    x, lam = exp_optimum(cur.sum(), np.array([0, 2]), fixed, a=a)
    # the derivation's assumptions hold: free channels inside their bounds, bound channels pushing out
    unconstrained = B * (np.log(a / B) - np.log(lam))
    assert unconstrained[1] > fixed[1] and unconstrained[3] < fixed[3]
    assert (0.5 * cur.to_numpy()[[0, 2]] < x[[0, 2]]).all() and (x[[0, 2]] < 1.5 * cur.to_numpy()[[0, 2]]).all()
    al = opt.allocation_.set_index("channel")
    assert al["optimal_spend"].to_numpy() == pytest.approx(x, rel=1e-6)
    assert al["at_bound"].to_dict() == {"tv": "no", "search": "upper", "social": "no", "display": "lower"}
    assert al.loc["search", "marginal_return"] > lam > al.loc["display", "marginal_return"]
    assert al.loc[["tv", "social"], "marginal_return"].to_numpy() == pytest.approx([lam, lam], rel=1e-5)
    notes = " ".join(opt.notes_)
    assert (
        "At the upper bound: search (1.5 x current); the optimum would give it more" in notes
        and "At the lower bound: display (0.5 x" in notes
    )
    assert opt.expected_gain_ > 0


def hill(x: np.ndarray, a: np.ndarray, h: np.ndarray, k: float = 2.0) -> np.ndarray:
    """S-shaped Hill curves a_i x^k / (x^k + h_i^k), elementwise over the last axis."""
    return a * x**k / (x**k + h**k)


def test_hill_market_matches_a_brute_force_grid():
    a, h = np.array([900.0, 600.0, 400.0]), np.array([120.0, 60.0, 40.0])
    cur = pd.Series([200.0, 50.0, 50.0], index=["tv", "search", "social"])
    lo, hi = 0.25 * cur.to_numpy(), 2.5 * cur.to_numpy()
    opt = BudgetOptimizer(bounds=(0.25, 2.5)).fit(lambda x: float(hill(x, a, h).sum()), cur)
    # grid: x1, x2 on a 0.25 step, x3 = budget - x1 - x2 where it is within its bounds
    total = cur.sum()
    g1, g2 = np.meshgrid(np.arange(lo[0], hi[0] + 1e-9, 0.25), np.arange(lo[1], hi[1] + 1e-9, 0.25), indexing="ij")
    g3 = total - g1 - g2
    ok = (g3 >= lo[2]) & (g3 <= hi[2])
    grid = np.stack([g1[ok], g2[ok], g3[ok]], axis=-1)
    values = hill(grid, a, h).sum(axis=-1)
    best = grid[np.argmax(values)]
    assert opt.optimal_response_ >= values.max() - 1e-9
    assert opt.optimal_response_ - values.max() < 1e-3  # the grid is fine enough to be close
    assert opt.allocation_["optimal_spend"].to_numpy() == pytest.approx(best, abs=0.5)  # within two grid steps
    assert opt.expected_gain_ > 0 and opt.converged_


@pytest.mark.parametrize("seed", range(8))
def test_gain_is_never_negative_and_the_allocation_is_feasible(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    a, h = rng.uniform(100, 1000, n), rng.uniform(20, 200, n)
    k = rng.uniform(0.7, 2.5)
    cur = pd.Series(rng.uniform(10, 300, n), index=[f"c{i}" for i in range(n)])
    opt = BudgetOptimizer(bounds=(0.3, 2.0)).fit(lambda x: float(hill(x, a, h, k).sum()), cur)
    x = opt.allocation_["optimal_spend"].to_numpy()
    assert opt.expected_gain_ >= 0
    assert x.sum() == pytest.approx(cur.sum(), rel=1e-12)
    assert (x >= 0.3 * cur.to_numpy() * (1 - 1e-12)).all() and (x <= 2.0 * cur.to_numpy() * (1 + 1e-12)).all()
    # no single pairwise shift of 1 % of the smaller channel improves the response (a local optimum)
    base = opt.optimal_response_
    for i in range(n):
        for j in range(n):
            y = x.copy()
            step = 0.01 * min(x[i], x[j])
            y[i] -= step
            y[j] += step
            if i != j and y[i] >= 0.3 * cur.iloc[i] and y[j] <= 2.0 * cur.iloc[j]:
                assert float(hill(y, a, h, k).sum()) <= base + 1e-9 * abs(base)


def test_infeasible_budget_raises_naming_the_budget_and_the_bound_sums():
    with pytest.raises(
        ValueError, match=r"budget 700\.00 is above the upper bounds' sum.*lower bounds sum to 200\.00 "
    ):
        BudgetOptimizer(budget=700.0, bounds=(0.5, 1.5)).fit(exp_response, CURRENT)
    with pytest.raises(ValueError, match=r"budget 150\.00 is below.*upper bounds to 600\.00"):
        BudgetOptimizer(budget=150.0, bounds=(0.5, 1.5)).fit(exp_response, CURRENT)
    with pytest.raises(ValueError, match=r"budget .* upper bounds to 600\.00"):
        BudgetOptimizer(budget=610.0, channel_bounds={"tv": (0.5, 1.5)}).fit(exp_response, CURRENT)


def test_draw_intervals_bracket_the_gain_and_are_their_percentiles():
    rng = np.random.default_rng(5)
    scales = A * rng.normal(1, 0.05, (200, 4))
    draws = [lambda x, a=a: exp_response(x, a) for a in scales]
    opt = BudgetOptimizer().fit(exp_response, CURRENT, draws=draws)
    x = opt.allocation_["optimal_spend"].to_numpy()
    gains = np.array([d(x) - d(CURRENT.to_numpy()) for d in draws])
    low, high = opt.gain_interval_
    assert (low, high) == pytest.approx((np.percentile(gains, 5), np.percentile(gains, 95)))
    assert low < opt.expected_gain_ < high
    assert len(opt.gain_draws_) == 200
    assert "over 200 model draws" in opt.sentence()
    assert BudgetOptimizer().fit(exp_response, CURRENT).gain_interval_ is None


def test_per_channel_responses_and_analytic_gradient():
    def per_channel(x):
        return A * (1.0 - np.exp(-x / B))

    def gradient(x):
        return A / B * np.exp(-x / B)

    fd = BudgetOptimizer().fit(exp_response, CURRENT)
    an = BudgetOptimizer().fit(per_channel, CURRENT, gradient=gradient)
    assert an.allocation_["optimal_spend"].to_numpy() == pytest.approx(fd.allocation_["optimal_spend"], rel=1e-6)
    assert an.n_evaluations_ < fd.n_evaluations_
    x = an.allocation_["optimal_spend"].to_numpy()
    assert an.allocation_["optimal_response"].to_numpy() == pytest.approx(per_channel(x))
    assert an.allocation_["current_response"].sum() == pytest.approx(an.current_response_)
    assert "current_response" not in fd.allocation_.columns


def test_not_converged_is_noted_and_never_worse_than_the_start():
    opt = BudgetOptimizer(max_iter=1).fit(exp_response, CURRENT)
    assert not opt.converged_
    assert any("did not report convergence" in n for n in opt.notes_)
    assert opt.expected_gain_ >= 0  # the start is the current split here (bounds 0.5-1.5 include it)
    assert "did not confirm convergence" in opt.sentence()


def test_sentence_and_summary_state_the_numbers():
    cur = pd.Series([300.0, 100.0], index=["tv", "search"])
    a, b = np.array([400.0, 400.0]), np.array([200.0, 100.0])
    opt = BudgetOptimizer().fit(lambda x: exp_response(x, a, b), cur)
    moved = -opt.allocation_.set_index("channel").loc["tv", "change"]
    assert moved > 0
    text = opt.sentence(currency="$", kpi="expected revenue", kpi_currency=True)
    assert text.startswith(f"Move \\${moved:,.0f} from tv to search: the expected revenue goes from")
    assert f"\\${opt.current_response_:,.0f} to \\${opt.optimal_response_:,.0f}" in text
    assert f"+\\${opt.expected_gain_:,.0f}" in text
    table = opt.summary()
    assert list(table.index) == ["tv", "search"]
    assert table.attrs["fit_statistics"]["expected_gain"] == opt.expected_gain_
    more = BudgetOptimizer(budget=500.0).fit(lambda x: exp_response(x, a, b), cur).sentence()
    assert more.startswith("Spend \\$500 instead of \\$400: raise")


def test_trust_constr_method_agrees_and_a_budget_at_the_upper_bounds_puts_every_channel_there():
    slsqp = BudgetOptimizer().fit(exp_response, CURRENT)
    tc = BudgetOptimizer(method="trust-constr").fit(exp_response, CURRENT)
    assert tc.allocation_["optimal_spend"].to_numpy() == pytest.approx(slsqp.allocation_["optimal_spend"], rel=1e-5)
    full = BudgetOptimizer(budget=1.5 * CURRENT.sum()).fit(exp_response, CURRENT)
    assert full.allocation_["optimal_spend"].to_numpy() == pytest.approx(1.5 * CURRENT.to_numpy(), rel=1e-12)
    assert (full.allocation_["at_bound"] == "upper").all() and full.converged_
    assert "determined by the bounds" in full.message_
    assert any("50.0 % above current total spend" in n for n in full.notes_)


def test_zero_current_spend_stays_at_zero_and_fits_are_deterministic():
    cur = pd.Series([150.0, 0.0, 90.0, 100.0], index=NAMES)
    one = BudgetOptimizer().fit(exp_response, cur)
    two = BudgetOptimizer().fit(exp_response, cur)
    assert one.allocation_.loc[1, "optimal_spend"] == 0.0 and one.allocation_.loc[1, "at_bound"] == "fixed"
    assert any("No current spend on search" in n for n in one.notes_)
    pd.testing.assert_frame_equal(one.allocation_, two.allocation_)


def test_bad_input_errors_name_the_parameter_and_values():
    with pytest.raises(ValueError, match="current must be a pandas Series"):
        BudgetOptimizer().fit(exp_response, CURRENT.to_numpy())
    with pytest.raises(ValueError, match=r"offending channels: \{'search': -1\.0\}"):
        BudgetOptimizer().fit(exp_response, CURRENT.set_axis(NAMES).where(CURRENT != 60.0, -1.0))
    with pytest.raises(ValueError, match=r"offending channels: \{'tv': nan\}"):
        BudgetOptimizer().fit(exp_response, CURRENT.where(CURRENT != 150.0))
    with pytest.raises(ValueError, match=r"duplicate channels: \['tv'\]"):
        BudgetOptimizer().fit(exp_response, CURRENT.set_axis(["tv", "tv", "social", "display"]))
    with pytest.raises(ValueError, match=r"bounds must satisfy 0 <= low <= high.*\(1\.5, 0\.5\)"):
        BudgetOptimizer(bounds=(1.5, 0.5)).fit(exp_response, CURRENT)
    with pytest.raises(ValueError, match=r"channel_bounds names channels not in current: \['radio'\]"):
        BudgetOptimizer(channel_bounds={"radio": (0, 2)}).fit(exp_response, CURRENT)
    with pytest.raises(ValueError, match=r"response must return one number .* got shape \(2,\)"):
        BudgetOptimizer().fit(lambda x: x[:2], CURRENT)
    with pytest.raises(ValueError, match="budget must be a positive"):
        BudgetOptimizer(budget=-5).fit(exp_response, CURRENT)
    with pytest.raises(ValueError, match="not fitted"):
        BudgetOptimizer().sentence()


def test_a_currency_code_is_written_after_the_amount_as_in_the_reports():
    cur = pd.Series([300.0, 100.0], index=["tv", "search"])
    a, b = np.array([400.0, 400.0]), np.array([200.0, 100.0])
    opt = BudgetOptimizer().fit(lambda x: exp_response(x, a, b), cur)
    moved = -opt.allocation_.set_index("channel").loc["tv", "change"]
    text = opt.sentence(currency="EUR", kpi="expected revenue", kpi_currency=True)
    assert text.startswith(f"Move {moved:,.0f} EUR from tv to search: the expected revenue goes from")
    assert f"+{opt.expected_gain_:,.0f} EUR" in text and "EUR1" not in text
