"""Allocation advice: the paper's (K−1)/(2K−1) rule, its variance-weighted form, the sandwich."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_intervals import OLS, sample_regimes

from jointeffects.errors import DataError
from jointeffects.estimate import JointEffectEstimator
from jointeffects.estimate.allocation import STRUCTURED_C, recommend_allocation, split
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.simulate import sample_linear_scm


@pytest.mark.parametrize("K", [2, 5, 10])
def test_paper_rule_without_pilot_is_the_closed_form(K):
    advice = recommend_allocation(K, 60_000)
    assert advice.method == "analytic"
    assert advice.obs_share == pytest.approx((K - 1) / (2 * K - 1), abs=1e-3)
    assert advice.ratio == pytest.approx(1 / (K - 1), rel=1e-2)
    assert advice.n_obs + K * advice.n_experiment <= 60_000
    # The grid's minimum of the variance formula sits next to the closed form.
    best = advice.table.loc[advice.table["relative_error"].idxmin(), "ratio"]
    assert best / advice.ratio == pytest.approx(1.0, rel=0.5)


@pytest.mark.parametrize("K", [2, 3, 5, 10])
@pytest.mark.parametrize("per_regime", [500, 10_000])
def test_structured_default_is_the_measured_square_root_rule(K, per_regime):
    # N_sint/N_obs = c/√(K−1), c = STRUCTURED_C, at every size (allocation module docstring;
    # measured on 400 SCMs per cell, benchmarks/bench_allocation.py).
    budget = (K + 1) * per_regime
    advice = recommend_allocation(K, budget, "structured")
    assert advice.method == "analytic"
    root = np.sqrt(K - 1)
    assert advice.ratio == pytest.approx(STRUCTURED_C / root, rel=1e-2)
    assert advice.obs_share == pytest.approx(root / (root + STRUCTURED_C * K), abs=1e-3)
    assert advice.n_obs + K * advice.n_experiment <= budget
    best = advice.table.loc[advice.table["relative_error"].idxmin(), "ratio"]
    assert best / advice.ratio == pytest.approx(1.0, rel=0.5)  # its variance formula agrees


def _pilot(noise_sd, n=2000, seed=0):
    """Two independent actions, Y = A0 + A1 + noise with a regime-specific sd."""
    rng = np.random.default_rng(seed)
    out = {}
    for regime, sd in noise_sd.items():
        X = rng.normal(size=(n, 2))
        out[regime] = (X, X.sum(axis=1) + sd * rng.normal(size=n))
    return out


@pytest.mark.parametrize(("sd_obs", "share"), [(1.0, 1 / 3), (3.0, 0.6)])
def test_paper_rule_with_pilot_weights_regimes_by_their_noise(sd_obs, share):
    # Known optimum: n_r ∝ c_r·σ_r with c_obs = K−1 = 1, c_j = 1 (OLS: v_r ∝ σ_r²).
    pilot = _pilot({(): sd_obs, ("A0",): 1.0, ("A1",): 1.0})
    est = JointEffectEstimator(learner=OLS())
    advice = recommend_allocation(2, 30_000, est, pilot=pilot, n_boot=40, random_state=0)
    assert advice.method == "pilot variance"
    assert advice.obs_share == pytest.approx(share, abs=0.05)


def test_structured_sandwich_predicts_the_variance_ratio_between_allocations():
    scm = sample_linear_scm(2, 4, n_calibration=5000)
    dag = {a: scm.parents(a) for a in scm.actions}
    pilot = sample_regimes(scm, 2000, 0)
    est = StructuredEstimator(degrees=(1,), dag=dag, random_state=0)
    ratios = (0.1, 3.0)
    advice = recommend_allocation(
        2, 3000, est, pilot=pilot, grid=ratios, random_state=0, how="sandwich"
    )
    assert advice.method == "sandwich"
    predicted = advice.table["relative_error"].to_numpy()
    queries = scm.sample(500, intervened=scm.actions, rng=1)[list(scm.actions)]
    observed = []
    for ratio in ratios:  # slow reference: the spread of the estimate over data sets
        n_obs, n_exp = split(2, 3000, ratio)
        fits = []
        for rep in range(40):
            rng = np.random.default_rng([5, rep])
            data = {(): scm.sample(n_obs, rng=rng)}
            data.update({(a,): scm.sample(n_exp, intervened=[a], rng=rng) for a in scm.actions})
            fits.append(StructuredEstimator(degrees=(1,), dag=dag).fit(data).predict(queries))
        observed.append(np.sqrt(np.var(fits, axis=0, ddof=1).mean()))
    # Measured: predicted 1.67-1.69 (pilot seeds 0-4), observed 1.71-2.08 (3 base seeds).
    ratio_observed = observed[0] / observed[1]
    assert predicted[0] / predicted[1] == pytest.approx(ratio_observed, rel=0.3)


def test_simulation_for_other_estimators_finds_the_paper_optimum():
    # The additive projection of a linear paper estimator is that estimator, so its
    # optimum is the paper's: N_sint / N_obs = 1 / (K − 1) = 1 with equal noise. Measured over
    # pilot seeds 0-5: best at 1.0 every time (ties with 3.0 once); ends 1.34-1.94 (theory 1.67).
    pilot = _pilot({(): 1.0, ("A0",): 1.0, ("A1",): 1.0}, n=1000)
    est = AdditiveProjection(JointEffectEstimator(learner=OLS()), degree=1, n_points=500)
    grid = (0.1, 0.3, 1.0, 3.0, 10.0)
    advice = recommend_allocation(2, 3000, est, pilot=pilot, grid=grid, n_sim=20, random_state=0)
    assert advice.method == "simulation"
    table = advice.table.set_index("ratio")["relative_error"]
    assert table[1.0] < 1.1 and table[0.1] > 1.2 and table[10.0] > 1.2
    assert advice.ratio == pytest.approx(1.0, rel=0.01)


def test_allocation_errors():
    with pytest.raises(DataError, match=r"needs a pilot sample of every regime"):
        recommend_allocation(3, 10_000, AdditiveProjection())
    with pytest.raises(DataError, match=r"needs a pilot sample of every regime"):
        recommend_allocation(3, 10_000, "structured", how="simulation")
    with pytest.raises(DataError, match=r"budget=30 leaves fewer than 10 rows"):
        recommend_allocation(3, 30)
    with pytest.raises(DataError, match=r"estimator='ridge' is not 'paper' or 'structured'"):
        recommend_allocation(3, 10_000, "ridge")
    with pytest.raises(
        DataError, match=r"how='exact' is not one of \['auto', 'analytic', 'sandwich'"
    ):
        recommend_allocation(
            2, 3000, "structured", pilot=_pilot({(): 1.0, ("A0",): 1.0, ("A1",): 1.0}), how="exact"
        )
    with pytest.raises(DataError, match=r"the pilot must hold the observational regime and 3"):
        recommend_allocation(
            3, 10_000, "structured", pilot=_pilot({(): 1.0, ("A0",): 1.0}), how="simulation"
        )


def test_simulation_advice_leaves_the_analytic_ratio_only_for_a_clearly_better_split():
    from jointeffects.estimate.allocation import _closest_within_noise

    ratios = np.array([0.1, 0.25, 1.0, 4.0])
    base = np.random.default_rng(0).normal(size=30)  # shared by all rows: common random numbers
    wobble = np.tile([0.1, -0.1], 15)  # paired standard error 0.1017 / √30 = 0.0186
    errors = np.vstack([base + 0.3, base + 0.01 + wobble, base, base + 0.05 + wobble])
    # Ratio 1 is best, but 0.25 (the prior for K = 5) is only 0.01 worse, within the noise.
    assert _closest_within_noise(ratios, errors, prior=0.25) == 1
    assert _closest_within_noise(ratios, errors, prior=4.0) == 2  # 4.0 is 0.05 worse: out
    errors[3] = base - 0.5 + wobble  # ratio 4 now better by far more than the noise
    assert _closest_within_noise(ratios, errors, prior=0.25) == 3
    errors[0] = np.inf  # too few rows at a grid point: never chosen, never an error
    assert _closest_within_noise(ratios, errors, prior=0.1) == 3


def _noisy_experiment_pilot(seed: int, n: int = 1000):
    """A pilot of a seeded linear SCM with K = 3 whose do(A1) outcome carries extra noise
    (three times the outcome's sd)."""
    scm = sample_linear_scm(3, seed, n_calibration=5000)
    rng = np.random.default_rng([seed, 1])
    pilot = {}
    for regime in [(), *((a,) for a in scm.actions)]:
        table = scm.sample(n, intervened=regime, rng=rng)
        if regime == ("A1",):
            table[scm.outcome] += 3 * table[scm.outcome].std() * rng.normal(size=n)
        pilot[regime] = table
    return scm, pilot


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unequal_sandwich_gives_the_noisy_experiment_more_rows_and_a_smaller_error(seed):
    scm, pilot = _noisy_experiment_pilot(seed)
    dag = {a: scm.parents(a) for a in scm.actions}
    est = StructuredEstimator(degrees=(1,), dag=dag, random_state=0)
    kwargs = dict(pilot=pilot, how="sandwich", random_state=0)
    equal = recommend_allocation(3, 8000, est, **kwargs)
    unequal = recommend_allocation(3, 8000, est, unequal=True, **kwargs)
    assert equal.n_experiments == dict.fromkeys(["do(A0)", "do(A1)", "do(A2)"], equal.n_experiment)
    assert equal.search is None and equal.method == "sandwich"
    # The search starts at the best equal split and keeps its observational rows and total.
    assert unequal.method == "sandwich, unequal"
    assert (unequal.n_obs, unequal.n_experiment) == (equal.n_obs, equal.n_experiment)
    pd.testing.assert_frame_equal(unequal.table, equal.table)
    sizes = unequal.n_experiments
    assert sum(sizes.values()) == 3 * equal.n_experiment
    assert sizes["do(A1)"] > 1.5 * equal.n_experiment
    assert sizes["do(A1)"] > 2 * max(sizes["do(A0)"], sizes["do(A2)"])
    # Measured on seeds 0-3: predicted RMSE 0.69-0.76 of the best equal split's.
    trace = unequal.search
    assert trace["move"].iloc[0] == "equal" and trace["relative_error"].iloc[0] == 1.0
    assert np.all(np.diff(trace["relative_error"]) < 0)
    assert trace["relative_error"].iloc[-1] < 0.85
    assert trace[["do(A0)", "do(A1)", "do(A2)"]].iloc[-1].to_dict() == sizes


def test_the_equal_split_is_what_it_was_before_unequal_splits():
    # Numbers of the code before the unequal search existed, on the same seeded pilot.
    pilot = _pilot({(): 1.0, ("A0",): 1.0, ("A1",): 3.0}, n=800)
    est = StructuredEstimator(degrees=(1,), dag={"A0": [], "A1": []}, random_state=0)
    advice = recommend_allocation(2, 3000, est, pilot=pilot, how="sandwich", random_state=0)
    assert (advice.n_obs, advice.n_experiment) == (436, 1282)
    errors = advice.table["relative_error"].to_numpy()
    assert errors[[0, 12, 18]] == pytest.approx([4.394531, 1.013400, 1.188483], rel=1e-5)


def test_unequal_needs_a_method_with_a_predicted_error():
    with pytest.raises(DataError, match=r"unequal=True searches .* got how='analytic' and no"):
        recommend_allocation(3, 10_000, "structured", unequal=True)
    pilot = _pilot({(): 1.0, ("A0",): 1.0, ("A1",): 1.0}, n=200)
    with pytest.raises(DataError, match=r"unequal=True searches .* got how='auto'"):
        recommend_allocation(2, 3000, JointEffectEstimator(), pilot=pilot, unequal=True)


def test_unequal_simulation_moves_rows_only_when_the_simulations_agree():
    # Known direction: OLS variances ∝ σ_r², so do(A1), four times noisier, should get more
    # rows. The simulations' noise keeps small gains out: measured over pilot seeds 0-2 with
    # n_sim=40, two searches moved rows to do(A1) (predicted RMSE 0.84-0.86 of the equal
    # split's) and one stayed equal.
    moved = 0
    for seed in range(3):
        pilot = _pilot({(): 1.0, ("A0",): 1.0, ("A1",): 4.0}, n=600, seed=seed)
        est = AdditiveProjection(JointEffectEstimator(learner=OLS()), degree=1, n_points=200)
        advice = recommend_allocation(
            2, 3000, est, pilot=pilot, grid=(0.3, 1.0, 3.0), n_sim=40, random_state=seed,
            unequal=True,
        )  # fmt: skip
        sizes = advice.n_experiments
        assert advice.method == "simulation, unequal"
        assert sizes["do(A1)"] >= sizes["do(A0)"]
        assert sum(sizes.values()) == 2 * advice.n_experiment
        errors = advice.search["relative_error"].to_numpy()
        assert np.all(np.diff(errors) < 0)
        moved += sizes["do(A1)"] > sizes["do(A0)"]
    assert moved >= 2
