"""The separable budget solver against brute force, closed forms and its error paths."""

from __future__ import annotations

import numpy as np
import pytest

from jointeffects.budget import Plan, allocate_budget, maximize_profit
from jointeffects.errors import DataError, SpecError


def _quadratic(b, g):
    return lambda x: b * x - g * x**2


def _saturating(top, scale):
    return lambda x: top * (1.0 - np.exp(-x / scale))


def _sigmoid(top, mid):
    return lambda x: top / (1.0 + np.exp(-(x - mid)))


def _brute_force(curves, budget, bounds, costs, n=1001):
    """The best plan over an n^(K-1) grid of the first K-1 channels; the last one takes the
    rest of the budget (within its bounds)."""
    names = list(curves)
    grids = np.meshgrid(*(np.linspace(*bounds[c], n) for c in names[:-1]), indexing="ij")
    levels = [g.ravel() for g in grids]
    rest = budget - sum(costs[c] * x for c, x in zip(names[:-1], levels, strict=True))
    last = rest / costs[names[-1]]
    lo, hi = bounds[names[-1]]
    ok = (last >= lo) & (last <= hi)
    levels.append(last)
    total = sum(curves[c](x) for c, x in zip(names, levels, strict=True))
    total = np.where(ok, total, -np.inf)
    return float(total.max())


def _random_problem(rng, K, kind):
    curves, bounds, costs = {}, {}, {}
    for k in range(K):
        name = f"c{k}"
        hi = float(rng.uniform(5, 30))
        bounds[name] = (float(rng.uniform(0, 0.2 * hi)), hi)
        costs[name] = float(rng.uniform(0.5, 2.0))
        if kind == "quadratic":
            # vertex anywhere from inside the range to well beyond it
            vertex = float(rng.uniform(0.5, 2.0)) * hi
            g = float(rng.uniform(0.01, 0.2))
            curves[name] = _quadratic(2 * g * vertex, g)
        else:
            curves[name] = _saturating(float(rng.uniform(5, 40)), float(rng.uniform(2, 20)))
    least = sum(costs[c] * bounds[c][0] for c in curves)
    most = sum(costs[c] * bounds[c][1] for c in curves)
    budget = float(least + rng.uniform(0.1, 0.9) * (most - least))
    return curves, budget, bounds, costs


@pytest.mark.parametrize("kind", ["quadratic", "saturating"])
@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_concave_plans_match_brute_force(kind, K, seed):
    rng = np.random.default_rng([seed, K])
    curves, budget, bounds, costs = _random_problem(rng, K, kind)
    plan = allocate_budget(curves, budget, bounds=bounds, costs=costs)
    brute = _brute_force(curves, budget, bounds, costs, n=100_001 if K == 2 else 1001)
    scale = sum(abs(curves[c](np.array(bounds[c]))).max() for c in curves)
    assert plan.method == "lagrangian"
    # At least as good as every brute-force grid point, and the certificate is tight.
    assert plan.value >= brute - 1e-9 * scale
    assert plan.tolerance <= 1e-8 * scale
    assert abs(plan.spend - budget) <= 1e-9 * budget
    for c, level in plan.levels.items():
        assert bounds[c][0] <= level <= bounds[c][1]
    # The value is the curves' sum at the levels.
    assert plan.value == pytest.approx(
        sum(curves[c](np.array([x]))[0] for c, x in plan.levels.items())
    )


def test_equal_quadratics_split_the_budget_equally():
    curves = {c: _quadratic(2.0, 0.1) for c in ("tv", "search", "email")}
    plan = allocate_budget(curves, 12.0, bounds=dict.fromkeys(curves, (0.0, 10.0)))
    np.testing.assert_allclose(plan.as_array(), [4.0, 4.0, 4.0], atol=1e-9)
    assert plan.channels == ("tv", "search", "email")
    # g'(4) = 2 - 0.2·4 = 1.2 on every channel: the multiplier per unit cost.
    assert plan.multiplier == pytest.approx(1.2, abs=1e-8)
    np.testing.assert_allclose(list(plan.marginal.values()), 1.2, atol=1e-8)


def test_quadratics_with_costs_follow_the_closed_form():
    b, g, cost = np.array([3.0, 2.0, 4.0]), np.array([0.1, 0.05, 0.3]), np.array([1.0, 0.5, 2.0])
    names = ("a", "b", "c")
    curves = {n: _quadratic(bk, gk) for n, bk, gk in zip(names, b, g, strict=True)}
    budget = 20.0
    # KKT: b_k − 2 g_k a_k = λ c_k and Σ c_k a_k = B.
    lam = (np.sum(cost * b / (2 * g)) - budget) / np.sum(cost**2 / (2 * g))
    expected = (b - lam * cost) / (2 * g)
    assert np.all(expected > 0)
    plan = allocate_budget(
        curves,
        budget,
        bounds=dict.fromkeys(names, (0.0, 40.0)),
        costs=dict(zip(names, cost, strict=True)),
    )
    np.testing.assert_allclose(plan.as_array(), expected, atol=1e-7)
    assert plan.multiplier == pytest.approx(lam, abs=1e-6)  # to the finest grid's resolution
    assert abs(plan.spend - budget) <= 1e-9 * budget


def test_fixed_channels_keep_their_level_and_spend_from_the_budget():
    rng = np.random.default_rng(7)
    curves, budget, bounds, costs = _random_problem(rng, 3, "saturating")
    level = 0.5 * (bounds["c1"][0] + bounds["c1"][1])
    plan = allocate_budget(curves, budget, bounds=bounds, costs=costs, fixed={"c1": level})
    assert plan.levels["c1"] == level and plan.fixed == ("c1",)
    assert abs(plan.spend - budget) <= 1e-9 * budget
    # The others share what is left, exactly as if c1 did not exist.
    rest = {c: curves[c] for c in ("c0", "c2")}
    alone = allocate_budget(
        rest,
        budget - costs["c1"] * level,
        bounds={c: bounds[c] for c in rest},
        costs={c: costs[c] for c in rest},
    )
    assert plan.levels["c0"] == pytest.approx(alone.levels["c0"], abs=1e-9)
    assert plan.value == pytest.approx(alone.value + curves["c1"](np.array([level]))[0])


def test_a_fixed_channel_needs_no_bounds():
    curves = {"tv": _quadratic(2.0, 0.1), "radio": _quadratic(1.0, 0.1)}
    plan = allocate_budget(curves, 10.0, bounds={"tv": (0.0, 20.0)}, fixed={"radio": 3.0})
    assert plan.levels == {"tv": pytest.approx(7.0), "radio": 3.0}


def test_non_concave_curves_fall_back_to_the_dynamic_programme():
    # Two S-curves: the hull bridges each S, so the Lagrangian would split the budget evenly
    # (value 2.4); putting it all into one channel is far better (value 9.8).
    curves = {"a": _sigmoid(10.0, 8.0), "b": _sigmoid(10.0, 8.0)}
    bounds = dict.fromkeys(curves, (0.0, 12.0))
    plan = allocate_budget(curves, 12.0, bounds=bounds)
    assert plan.method == "dynamic-programming"
    assert sorted(plan.as_array()) == pytest.approx([0.0, 12.0])
    assert plan.value >= _brute_force(curves, 12.0, bounds, dict.fromkeys(curves, 1.0), 100_001)
    assert plan.tolerance > 0  # the hull's bound is not attained


@pytest.mark.parametrize("seed", range(3))
def test_non_concave_mixtures_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    curves = {
        "s": _sigmoid(float(rng.uniform(5, 15)), float(rng.uniform(3, 8))),
        "q": _quadratic(float(rng.uniform(1, 3)), 0.05),
        "t": _sigmoid(float(rng.uniform(5, 15)), float(rng.uniform(3, 8))),
    }
    bounds = dict.fromkeys(curves, (0.0, 12.0))
    costs = {"s": 1.0, "q": float(rng.uniform(0.5, 2)), "t": 1.5}
    budget = float(rng.uniform(8, 20))
    plan = allocate_budget(curves, budget, bounds=bounds, costs=costs)
    brute = _brute_force(curves, budget, bounds, costs, n=1001)
    assert plan.value >= brute - 1e-6
    assert abs(plan.spend - budget) <= 1e-9 * budget


def test_at_most_stops_where_returns_turn_negative():
    curves = {"a": _quadratic(2.0, 0.1), "b": _quadratic(1.0, 0.1)}  # peaks at 10 and 5
    bounds = dict.fromkeys(curves, (0.0, 20.0))
    plan = allocate_budget(curves, 100.0, bounds=bounds, total="at_most")
    np.testing.assert_allclose(plan.as_array(), [10.0, 5.0], atol=1e-6)
    assert plan.multiplier == 0.0 and plan.spend < 100.0
    binding = allocate_budget(curves, 9.0, bounds=bounds, total="at_most")
    same = allocate_budget(curves, 9.0, bounds=bounds)
    np.testing.assert_allclose(binding.as_array(), same.as_array(), atol=1e-9)


def test_at_most_with_non_concave_curves_may_leave_budget_unspent():
    curves = {"a": _sigmoid(10.0, 8.0), "b": lambda x: -0.5 * x}  # b only costs
    bounds = dict.fromkeys(curves, (0.0, 12.0))
    plan = allocate_budget(curves, 20.0, bounds=bounds, total="at_most")
    assert plan.levels["b"] == pytest.approx(0.0, abs=1e-9)
    assert plan.levels["a"] == pytest.approx(12.0)
    assert plan.spend <= 20.0


def test_profit_follows_the_closed_form():
    curves = {"a": _quadratic(3.0, 0.1), "b": _quadratic(2.0, 0.05), "c": _quadratic(0.2, 0.1)}
    bounds = dict.fromkeys(curves, (0.0, 20.0))
    plan = maximize_profit(curves, value=2.0, bounds=bounds, costs={"a": 1.0, "b": 2.0, "c": 1.0})
    # 2·(b − 2 g a) = cost → a = (b − cost/2) / (2 g); c is not worth any spend.
    np.testing.assert_allclose(plan.as_array(), [12.5, 10.0, 0.0], atol=1e-7)
    assert plan.method == "grid" and plan.multiplier == 0.5
    expected = 2.0 * (3 * 12.5 - 0.1 * 12.5**2 + 2 * 10 - 0.05 * 100) - (12.5 + 20.0)
    assert plan.value == pytest.approx(expected)
    assert plan.tolerance < 1e-8


def test_profit_finds_the_far_peak_of_a_non_concave_curve():
    curves = {"a": lambda x: np.sin(x) + 0.3 * x}
    plan = maximize_profit(curves, value=1.0, bounds={"a": (0.0, 12.0)}, costs={"a": 0.05})
    x = np.linspace(0.0, 12.0, 1_000_001)
    assert plan.value >= np.max(np.sin(x) + 0.25 * x) - 1e-12


def test_plan_is_frozen():
    plan = allocate_budget({"a": _quadratic(1, 0.1)}, 3.0, bounds={"a": (0.0, 5.0)})
    assert isinstance(plan, Plan) and plan.levels == {"a": pytest.approx(3.0)}
    with pytest.raises(AttributeError):
        plan.value = 0.0  # type: ignore[misc]


_C = {"tv": _quadratic(2.0, 0.1), "search": _quadratic(1.0, 0.1)}
_B = {"tv": (0.0, 10.0), "search": (1.0, 5.0)}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 0.5}, r"budget 0.5 is below the least spend the bounds allow, Σ cost·lo = 1"),
        ({"budget": 16.0}, r"budget 16 exceeds the most the bounds allow, Σ cost·hi = 15"),
        ({"costs": {"tv": 0.0}}, r"costs must be positive; channel\(s\) \['tv'\] have \[0.0\]"),
        ({"costs": {"tv": -1.0}}, r"costs must be positive"),
        ({"bounds": {**_B, "tv": (5.0, 2.0)}}, r"bounds of 'tv' have lo = 5 > hi = 2"),
        ({"bounds": {**_B, "radio": (0, 1)}}, r"bounds names unknown channel\(s\) \['radio'\]"),
        ({"fixed": {"radio": 1.0}}, r"fixed names unknown channel\(s\) \['radio'\]; channels"),
        ({"costs": {"Tv": 1.0}}, r"costs names unknown channel\(s\) \['Tv'\]"),
        ({"bounds": {"tv": (0, 1)}}, r"channel 'search' has no bounds; give bounds"),
        ({"fixed": {"tv": 11.0}}, r"fixed tv=11 lies outside its bounds \[0, 10\]"),
        ({"total": "below"}, r"total='below' must be one of \['equal', 'at_most'\]"),
        ({"budget": float("nan")}, r"budget must be finite"),
        ({"grid": 2}, r"grid=2 must be an integer number of points >= 3"),
    ],
)
def test_bad_problems_raise_one_clear_spec_error(kwargs, match):
    args = {"budget": 8.0, "bounds": _B, **kwargs}
    with pytest.raises(SpecError, match=match):
        allocate_budget(_C, args.pop("budget"), **args)


def test_infeasible_at_most_budget_names_the_least_spend():
    with pytest.raises(SpecError, match="below the least spend"):
        allocate_budget(_C, 0.5, bounds=_B, total="at_most")
    plan = allocate_budget(_C, 100.0, bounds=_B, total="at_most")  # above the most is fine
    assert plan.spend <= 15.0


def test_curves_that_do_not_give_one_finite_value_per_level_are_data_errors():
    with pytest.raises(DataError, match=r"curve of channel 'tv' returned shape \(2,\)"):
        allocate_budget({**_C, "tv": lambda x: np.zeros(2)}, 8.0, bounds=_B)
    with pytest.raises(DataError, match="curve of channel 'search' returned non-finite"):
        allocate_budget({**_C, "search": lambda x: np.where(x > 3.0, np.inf, x)}, 8.0, bounds=_B)
    with pytest.raises(SpecError, match="curve of channel 'tv' is not callable"):
        allocate_budget({**_C, "tv": 3.0}, 8.0, bounds=_B)  # type: ignore[dict-item]


def test_profit_needs_a_positive_value():
    with pytest.raises(SpecError, match=r"value=0.0 must be positive"):
        maximize_profit(_C, value=0.0, bounds=_B)
