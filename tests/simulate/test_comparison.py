"""The comparison families, and each method's limits on them (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from jointeffects.errors import SpecError
from jointeffects.estimate import JointEffectEstimator
from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.simulate.comparison import (
    COMPARISON_FAMILIES,
    sample_gaussian_additive_scm,
    sample_interaction_scm,
)


def test_interaction_family_is_one_gaussian_block_with_shared_confounders():
    scm = sample_interaction_scm(4, rng=0, n_calibration=1_000)
    spec = scm.to_dict()
    assert scm.blocks == (scm.actions,)
    noises = [spec["noise"]["U"], *spec["noise"]["V"], *spec["noise"]["W"]]
    assert {n["dist"] for n in noises} == {"gaussian"}
    outcome = [t["powers"] for t in spec["outcome_terms"][0]["terms"]]
    assert {"A0": 1, "A3": 1} in outcome and {"C2": 1} in outcome
    for k, mech in enumerate(spec["action_mechanisms"]):
        confounders = {v for t in mech["terms"] for v in t["powers"] if v.startswith("C")}
        assert confounders == {f"C{k}", f"C{(k + 1) % 4}"}
    assert sample_interaction_scm(4, rng=0, n_calibration=1_000) == scm


def test_gaussian_additive_family_has_one_confounder_per_action():
    scm = sample_gaussian_additive_scm(3, rng=1, order=1, n_calibration=1_000)
    spec = scm.to_dict()
    assert scm.blocks == (("A0",), ("A1",), ("A2",))
    for k in range(3):
        f_vars = {v for t in spec["outcome_terms"][k]["terms"] for v in t["powers"]}
        g_vars = {v for t in spec["action_mechanisms"][k]["terms"] for v in t["powers"]}
        assert f_vars == {f"A{k}", f"C{k}"}
        assert {v for v in g_vars if v.startswith("C")} == {f"C{k}"}
    # order=1 is linear-Gaussian: no power above 1 anywhere.
    terms = [t for part in spec["outcome_terms"] + spec["action_mechanisms"] for t in part["terms"]]
    assert max(p for t in terms for p in t["powers"].values()) == 1


@pytest.mark.parametrize("family", ["interaction", "gaussian_additive"])
def test_joint_effect_is_exact_for_the_new_families(family):
    """The truth of a single all-action block is exact: it matches a Monte-Carlo average of
    the joint regime at fixed actions (Y − joint_effect has mean zero given a)."""
    scm = COMPARISON_FAMILIES[family](3, rng=2, n_calibration=2_000)
    rows = scm.sample(200_000, intervened=scm.actions, rng=3)
    gap = rows["Y"].to_numpy() - scm.joint_effect(rows[list(scm.actions)])
    # No constant offset and no linear trend left in the gap: |OLS coefficient| < 4 s.e.
    design = np.column_stack([np.ones(len(rows)), rows[list(scm.actions)].to_numpy()])
    coef, *_ = np.linalg.lstsq(design, gap, rcond=None)
    se = np.sqrt(np.diag(np.linalg.inv(design.T @ design)) * np.var(gap - design @ coef))
    assert np.all(np.abs(coef) < 4 * se)
    # ... while an error of 5 % of the effect's sd in the truth would be caught.
    shifted = gap - 0.05 * scm.joint_effect(rows[list(scm.actions)]).std()
    assert np.abs(np.linalg.lstsq(design, shifted, rcond=None)[0][0]) > 4 * se[0]


@pytest.mark.parametrize("sampler", [sample_interaction_scm, sample_gaussian_additive_scm])
def test_refuses_bad_parameters(sampler):
    with pytest.raises(SpecError, match=r"K=0 must be a positive number of actions"):
        sampler(0)
    with pytest.raises(SpecError, match=r"edge_prob=1.5 must be a probability"):
        sampler(3, edge_prob=1.5)


def _relative_errors(family: str, seeds: range, n: int) -> dict[str, np.ndarray]:
    """Relative error (RMSE vs exact truth / sd of truth) of each method, per SCM."""
    out: dict[str, list[float]] = {"paper": [], "structured": [], "prior": []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        scm = COMPARISON_FAMILIES[family](3, rng, n_calibration=20_000)
        data = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
        queries = scm.sample(2_000, intervened=scm.actions, rng=rng)[list(scm.actions)]
        truth = scm.joint_effect(queries)
        dag = {a: scm.parents(a) for a in scm.actions}
        methods = {
            # A learner that represents pairwise interactions exactly: its bias on the
            # interaction family is the shared confounding, not the learner.
            "paper": JointEffectEstimator(make_pipeline(PolynomialFeatures(2), LinearRegression())),
            "structured": StructuredEstimator(degrees=(2,), alphas=[1e-8], dag=dag),
            "prior": GaussianNoiseJointEstimator(dag=dag),
        }
        for name, est in methods.items():
            error = np.sqrt(np.mean((est.fit(data).predict(queries) - truth) ** 2))
            out[name].append(error / truth.std())
    return {name: np.array(errors) for name, errors in out.items()}


@pytest.mark.slow
def test_prior_method_wins_where_the_outcome_is_not_additive():
    errors = _relative_errors("interaction", range(3), 20_000)
    # Measured over seeds 0..7: prior ≤ 0.022; ours ≥ 0.18 and structured ≥ 0.52 on every SCM.
    assert np.all(errors["prior"] < 0.05)
    assert np.all(errors["paper"] > 0.1)
    assert np.all(errors["structured"] > 0.3)


@pytest.mark.slow
def test_ours_wins_where_the_noise_is_not_additive_gaussian():
    errors = _relative_errors("additive", range(3), 20_000)
    # Measured over seeds 0..7: the prior method's error exceeds the structured estimator's
    # by a factor >= 2.0 on every SCM (>= 4.0 on seeds 0..2); means 1.51 vs 0.27 (seeds
    # 0..2: 1.51 vs 0.24).
    assert np.all(errors["prior"] > 2 * errors["structured"])
    assert errors["prior"].mean() > 0.4
    assert errors["structured"].mean() < 0.35
