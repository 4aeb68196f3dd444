"""The random marketing family, its true optimal plan and the current allocation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scm_specs import block_spec

import jointeffects
from jointeffects.errors import SpecError
from jointeffects.simulate import (
    AdditiveSCM,
    current_plan,
    load_scm,
    marketing_example,
    sample_marketing_scm,
    sample_polynomial_scm,
    support_bounds,
    true_optimal_plan,
)


def _ols(X, y):
    """Slopes of y on the columns of X (with an intercept) and their standard errors."""
    X = np.c_[np.ones(len(y)), X]
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    cov = np.linalg.inv(X.T @ X) * (resid @ resid) / (len(y) - X.shape[1])
    return coef[1:], np.sqrt(np.diag(cov))[1:]


def test_seeded_draws_are_reproducible():
    assert sample_marketing_scm(4, rng=3) == sample_marketing_scm(4, rng=3)
    assert sample_marketing_scm(4, rng=np.random.default_rng(3)) == sample_marketing_scm(4, rng=3)
    assert sample_marketing_scm(4, rng=3) != sample_marketing_scm(4, rng=4)
    assert jointeffects.sample_marketing_scm is sample_marketing_scm


@pytest.mark.parametrize("seed", range(5))
def test_channels_spend_money_and_tv_feeds_search(seed):
    scm = sample_marketing_scm(5, rng=seed)
    assert scm.actions == ("tv", "search", "social", "display", "email")
    assert scm.outcome == "sales" and scm.blocks == tuple((a,) for a in scm.actions)
    assert "tv" in scm.parents("search")
    obs = scm.sample(20_000, rng=seed)
    spend = obs[list(scm.actions)].to_numpy()
    assert np.mean((spend > 0).all(axis=1)) >= 0.99
    # Scales differ per channel; experiments randomise over the observed mean and spread.
    means, stds = spend.mean(axis=0), spend.std(axis=0)
    assert means.max() / means.min() > 1.5
    for k, a in enumerate(scm.actions):
        noise = scm.intervention(a)
        assert abs(noise.mean - means[k]) < 5 * stds[k] / np.sqrt(len(obs))
        assert noise.std == pytest.approx(stds[k], rel=0.05)


def test_names_beyond_the_list_and_given_names():
    assert sample_marketing_scm(10, rng=0).actions[-2:] == ("channel8", "channel9")
    scm = sample_marketing_scm(2, rng=0, channels=["brand", "paid"])
    assert scm.actions == ("brand", "paid") and scm.parents("paid") == ("brand",)
    assert sample_marketing_scm(1, rng=0).actions == ("tv",)


@pytest.mark.parametrize("degree", [2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_curves_are_increasing_and_concave_over_the_support(seed, degree):
    scm = sample_marketing_scm(4, rng=seed, degree=degree)
    ref = np.array([scm.intervention(a).mean for a in scm.actions])
    for k, (lo, hi) in enumerate(support_bounds(scm).values()):
        assert lo > 0
        table = np.repeat(ref[None, :], 501, axis=0)
        table[:, k] = np.linspace(lo, hi, 501)
        curve = scm.block_effects(table)[:, k]
        slope = np.diff(curve)
        assert np.all(slope > 0)
        assert np.all(np.diff(slope) < 0)
        # Near saturation: the last step returns well under half of the first.
        assert slope[-1] < 0.5 * slope[0]
    degrees = {max(t["powers"].get(f"A{k}", 0) for t in b["terms"])
               for k, b in enumerate(scm.to_dict()["outcome_terms"])}  # fmt: skip
    assert degrees == {degree}


@pytest.mark.parametrize("degree", [2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_observational_slopes_are_confounded(seed, degree):
    # Over 100 SCMs of this family at these sizes, the largest gap between the observational
    # and the experimental slope had z >= 10 and was >= 69 % of the experimental slope.
    scm = sample_marketing_scm(4, rng=seed, degree=degree)
    gen = np.random.default_rng([seed, degree])
    obs = scm.sample(20_000, rng=gen)
    slope, se = _ols(obs[list(scm.actions)].to_numpy(), obs["sales"].to_numpy())
    z, rel = [], []
    for k, a in enumerate(scm.actions):
        exp = scm.sample(20_000, intervened=(a,), rng=gen)
        true_slope, true_se = _ols(exp[[a]].to_numpy(), exp["sales"].to_numpy())
        z.append(abs(slope[k] - true_slope[0]) / np.hypot(se[k], true_se[0]))
        rel.append(abs(slope[k] - true_slope[0]) / abs(true_slope[0]))
    assert max(z) > 5 and max(rel) > 0.3


@pytest.mark.parametrize(("K", "seed"), [(2, 0), (3, 1), (4, 2), (4, 3), (5, 4)])
def test_true_optimal_plan_beats_the_current_and_random_plans(K, seed):
    scm = sample_marketing_scm(K, rng=seed)
    current = current_plan(scm)
    budget = sum(current.values())
    plan = true_optimal_plan(scm, budget)
    bounds = support_bounds(scm)
    lo, hi = (np.array([bounds[a][i] for a in scm.actions]) for i in (0, 1))
    levels = plan.as_array()
    assert plan.channels == scm.actions and plan.method == "lagrangian"
    assert abs(levels.sum() - budget) <= 1e-9 * budget
    assert np.all((lo <= levels) & (levels <= hi))
    assert plan.value == pytest.approx(scm.joint_effect(levels)[0], rel=1e-12)
    assert plan.tolerance <= 1e-9 * abs(plan.value)
    baseline = scm.joint_effect(np.array(list(current.values())))[0]
    assert plan.value > baseline + 1e-6 * abs(baseline)
    # 300 random plans inside the bounds, shifted onto the budget.
    rng = np.random.default_rng(seed)
    draws = rng.uniform(lo, hi, size=(300, K))
    low, high = np.full(300, -hi.max()), np.full(300, hi.max())
    for _ in range(100):
        mid = 0.5 * (low + high)
        over = np.clip(draws + mid[:, None], lo, hi).sum(axis=1) > budget
        high, low = np.where(over, mid, high), np.where(over, low, mid)
    feasible = np.clip(draws + low[:, None], lo, hi)
    assert np.allclose(feasible.sum(axis=1), budget, rtol=1e-9)
    assert plan.value >= scm.joint_effect(feasible).max()


@pytest.mark.parametrize("degree", [2, 3])
def test_true_optimal_plan_agrees_with_slsqp_on_five_channels(degree):
    from scipy.optimize import minimize

    scm = sample_marketing_scm(5, rng=11, degree=degree)
    current = np.array(list(current_plan(scm).values()))
    budget = current.sum()
    plan = true_optimal_plan(scm, budget)
    result = minimize(
        lambda x: -scm.joint_effect(x)[0],
        current,
        method="SLSQP",
        bounds=list(support_bounds(scm).values()),
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - budget}],
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert result.success
    assert plan.value >= -result.fun - 1e-12 * abs(plan.value)
    np.testing.assert_allclose(plan.as_array(), result.x, atol=1e-4 * budget)


def test_true_optimal_plan_with_costs_fixed_channels_and_profit():
    scm = sample_marketing_scm(3, rng=5)
    current = current_plan(scm)
    costs = {"tv": 1.2, "search": 0.8}
    # tv is held at 1.5 times its usual spend, and the budget grows by that much.
    budget = sum(costs.get(a, 1.0) * x for a, x in current.items()) + 0.6 * current["tv"]
    plan = true_optimal_plan(scm, budget, costs=costs, fixed={"tv": 1.5 * current["tv"]})
    assert plan.levels["tv"] == 1.5 * current["tv"]  # may lie outside the support
    assert plan.spend == pytest.approx(budget, rel=1e-9)
    profit = true_optimal_plan(scm, None, value=0.6)
    assert profit.method == "grid" and profit.multiplier == pytest.approx(1 / 0.6)
    levels = profit.as_array()
    assert profit.value == pytest.approx(0.6 * scm.joint_effect(levels)[0] - levels.sum())
    with pytest.raises(SpecError, match="give a budget, or budget=None with value="):
        true_optimal_plan(scm, None)


def test_true_optimal_plan_needs_one_curve_per_action():
    with pytest.raises(SpecError, match=r"blocks \[\['p', 'q'\], \['r'\]\] are not one action"):
        true_optimal_plan(AdditiveSCM(block_spec()), 1.0)


def test_current_plan_is_the_observational_mean():
    scm = sample_marketing_scm(4, rng=0)
    exact = current_plan(scm)
    assert exact == {a: pytest.approx(scm.intervention(a).mean, rel=1e-12) for a in scm.actions}
    obs = scm.sample(200_000, rng=1)
    for a in scm.actions:
        assert exact[a] == pytest.approx(obs[a].mean(), abs=5 * obs[a].std() / np.sqrt(len(obs)))
    walk = marketing_example()
    assert list(current_plan(walk)) == list(walk.actions)
    paper = sample_polynomial_scm(2, rng=0, n_calibration=1_000)  # not linear: Monte Carlo
    mc = current_plan(paper, rng=2, n_mc=20_000)
    assert mc == {a: pytest.approx(paper.sample(20_000, rng=2)[a].mean()) for a in paper.actions}


def test_spec_round_trips(tmp_path):
    scm = sample_marketing_scm(4, rng=7, degree=3)
    assert load_scm(scm.to_dict()) == scm
    scm.save(tmp_path / "spec.json")
    assert load_scm(tmp_path / "spec.json") == scm
    assert load_scm(json.loads(json.dumps(scm.to_dict()))) == scm


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"degree": 4}, r"degree=4 must be 2 \(quadratic\) or 3 \(cubic\)"),
        ({"channels": ["a", "b"]}, r"channels=\['a', 'b'\] names 2 channels; K = 4"),
        ({"spend_cv": (0.2, 0.8)}, r"a cv above 0.5 makes spend often negative"),
        ({"spend_range": (0.0, 5.0)}, r"spend_range=\(0.0, 5.0\) must be a range of positive"),
        (
            {"saturation": (0.8, 1.2)},
            r"saturation=\(0.8, 1.2\) must be a range \(lo, hi\) with 1.0",
        ),
        ({"noise": -1.0}, r"noise=-1.0 must be a finite number >= 0"),
        ({"edge_prob": 1.5}, r"edge_prob=1.5 must be a probability"),
    ],
)
def test_bad_family_arguments_raise_spec_errors(kwargs, match):
    with pytest.raises(SpecError, match=match):
        sample_marketing_scm(4, rng=0, **kwargs)
