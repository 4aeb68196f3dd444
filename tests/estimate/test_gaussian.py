"""The Gaussian-noise prior method (Saengkyongam & Silva, 2020): ML fit, joint and mixed effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regime_data import regimes
from scipy import optimize, stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator
from jointeffects.simulate import AdditiveSCM

ACTIONS = ["A0", "A1", "A2"]


def _term(coef: float, **powers: int) -> dict:
    return {"coef": coef, "powers": powers}


def linear_gaussian_spec() -> dict:
    """Known θ and Σ: C0 is shared by A0, A1 and Y (correlated action noise), Y has A0·A2.

    e_A0 = C0 + V0, e_A1 = 0.8 C0 + C1 + V1, e_A2 = C2 + V2, e_Y = 2 C0 − C2 + U with
    C ~ N(0, 1), V ~ N(0, 0.5²), U ~ N(0, 0.1²): Σ = LOADINGS · diag(VARIANCES) · LOADINGSᵀ.
    """
    g = {"dist": "gaussian", "mean": 0.0}
    y_terms = [
        _term(0.3),
        _term(1.0, A0=1),
        _term(-0.5, A1=1),
        _term(0.7, A2=1),
        _term(0.6, A0=1, A2=1),
        _term(2.0, C0=1),
        _term(-1.0, C2=1),
    ]
    return {
        "format": "jointeffects.scm/1",
        "actions": ACTIONS,
        "outcome": "Y",
        "noise": {
            "U": {**g, "std": 0.1},
            "V": [{**g, "std": 0.5}] * 3,
            "W": [{**g, "std": 1.0}] * 3,
        },
        "outcome_terms": [{"block": [0, 1, 2], "terms": y_terms}],
        "action_mechanisms": [
            {"terms": [_term(1.0, C0=1), _term(1.0, V=1)]},
            {"terms": [_term(0.5, A0=1), _term(0.8, C0=1), _term(1.0, C1=1), _term(1.0, V=1)]},
            {"terms": [_term(-0.4, A1=1), _term(1.0, C2=1), _term(1.0, V=1)]},
        ],
        "interventions": [{**g, "std": 1.1}] * 3,
    }


# Rows: e_A0, e_A1, e_A2, e_Y; columns: C0, C1, C2, V0, V1, V2, U.
LOADINGS = np.array(
    [
        [1.0, 0, 0, 1, 0, 0, 0],
        [0.8, 1, 0, 0, 1, 0, 0],
        [0, 0, 1, 0, 0, 1, 0],
        [2.0, 0, -1, 0, 0, 0, 1],
    ]
)
VARIANCES = np.array([1, 1, 1, 0.25, 0.25, 0.25, 0.01])
TRUE_SIGMA = LOADINGS @ np.diag(VARIANCES) @ LOADINGS.T
TRUE_THETA = {
    "A0": {"1": 0.0},
    "A1": {"1": 0.0, "A0": 0.5, "A0^2": 0.0},
    "A2": {"1": 0.0, "A1": -0.4, "A1^2": 0.0},
    "Y": {"1": 0.3, "A0": 1.0, "A1": -0.5, "A2": 0.7, "A0*A2": 0.6, "A0^2": 0.0, "A1*A2": 0.0},
}


@pytest.fixture(scope="module")
def scm() -> AdditiveSCM:
    return AdditiveSCM(linear_gaussian_spec())


@pytest.fixture(scope="module")
def fitted(scm):
    data = regimes(scm, 20_000, np.random.default_rng(0))
    est = GaussianNoiseJointEstimator(dag={a: scm.parents(a) for a in scm.actions})
    return est.fit(data), data


def test_recovers_theta_and_sigma(fitted):
    est, _ = fitted
    assert est.converged_
    # Over seeds 0..9 the largest coefficient error was 0.032 and Σ's 0.068 (entries up to 5).
    for variable, coefs in TRUE_THETA.items():
        for feature, value in coefs.items():
            assert est.coef_[variable][feature] == pytest.approx(value, abs=0.05), (
                variable,
                feature,
            )
    assert np.abs(est.covariance_.to_numpy() - TRUE_SIGMA).max() < 0.15
    assert list(est.covariance_.columns) == [*ACTIONS, "Y"]


def test_residuals_are_each_equation_less_its_fitted_mean(fitted, scm):
    est, data = fitted
    frame = data[()]
    X, y = frame[ACTIONS].to_numpy(), frame["Y"].to_numpy()
    residuals = est.residuals(X, y)
    assert residuals.shape == (len(y), 4)
    np.testing.assert_allclose(residuals[:, 3], y - est.predict(frame[ACTIONS]), atol=1e-10)
    theta = est.coef_["A1"]
    a0 = X[:, 0]
    mean_a1 = theta["1"] + theta["A0"] * a0 + theta["A0^2"] * a0**2
    np.testing.assert_allclose(residuals[:, 1], X[:, 1] - mean_a1, atol=1e-10)
    # Observational residuals are N(0, Σ): their scatter is Σ̂ within 4 sampling sd per entry
    # (the sd of a Gaussian sample covariance is √((Σ_ii Σ_jj + Σ_ij²) / n)).
    sigma = est.covariance_.to_numpy()
    sd = np.sqrt((np.outer(np.diag(sigma), np.diag(sigma)) + sigma**2) / len(y))
    assert (np.abs(np.cov(residuals.T) - sigma) < 4 * sd).all()
    with pytest.raises(DataError, match=r"X of shape \(n, 3\) and y of shape \(n,\)"):
        est.residuals(X[:, :2], y)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GaussianNoiseJointEstimator(dag={}).residuals(X, y)


def test_joint_effect_matches_truth(fitted, scm):
    est, _ = fitted
    query = scm.sample(5_000, intervened=scm.actions, rng=1)[ACTIONS]
    truth = scm.joint_effect(query)
    # Measured 0.008-0.022 relative RMSE over seeds 0..9.
    assert np.sqrt(np.mean((est.predict(query) - truth) ** 2)) < 0.04 * truth.std()


@pytest.mark.parametrize("intervened", [(), ("A0",), ("A2",), ("A0", "A1")])
def test_mixed_effect_matches_regression_on_that_regime(scm, fitted, intervened):
    """In a linear-Gaussian SCM E[Y | do(a_int), a_obs] is a quadratic: OLS on fresh rows of
    the regime is a model-free reference for the Gaussian conditioning."""
    est, _ = fitted
    fresh = scm.sample(100_000, intervened=intervened, rng=2)
    X = fresh[ACTIONS].to_numpy()
    design = np.column_stack(
        [np.ones(len(X)), X, *(X[:, i] * X[:, j] for i in range(3) for j in range(i, 3))]
    )
    coef, *_ = np.linalg.lstsq(design, fresh["Y"].to_numpy(), rcond=None)
    query = X[:2_000]
    reference = design[:2_000] @ coef
    predicted = est.predict(query, intervened=list(intervened))
    # Over seeds 0..9: at most 0.029·sd in every regime; the joint effect is ≥ 0.54·sd off.
    assert np.sqrt(np.mean((predicted - reference) ** 2)) < 0.05 * reference.std()
    if len(intervened) < 3:
        joint = est.predict(query)
        assert np.sqrt(np.mean((joint - reference) ** 2)) > 0.2 * reference.std()


def _slow_loglik(params: np.ndarray, data: dict) -> float:
    """Joint log-likelihood of A0 := a + e0, A1 := b + c·A0 + e1, Y := d + f·A0 + g·A1 +
    h·A0·A1 + eY with full Σ = LLᵀ, by scipy's multivariate normal density row by row."""
    a, b, c, d, f, g, h = params[:7]
    L = np.zeros((3, 3))
    L[np.tril_indices(3)] = params[7:]
    sigma = L @ L.T + 1e-12 * np.eye(3)
    total = 0.0
    for regime, frame in data.items():
        A0, A1, Y = frame["A0"].to_numpy(), frame["A1"].to_numpy(), frame["Y"].to_numpy()
        residuals = {0: A0 - a, 1: A1 - b - c * A0, 2: Y - d - f * A0 - g * A1 - h * A0 * A1}
        keep = [j for j, name in enumerate(["A0", "A1", "Y"]) if name not in regime]
        r = np.column_stack([residuals[j] for j in keep])
        total += (
            stats.multivariate_normal(np.zeros(len(keep)), sigma[np.ix_(keep, keep)])
            .logpdf(r)
            .sum()
        )
    return float(total)


def test_fit_is_the_maximum_likelihood_of_a_slow_reference(scm):
    """Two actions, literal basis (no squares): our profile L-BFGS reaches the maximum that
    a generic optimiser finds on the joint likelihood over (θ, Cholesky factor)."""
    spec = linear_gaussian_spec()
    spec["actions"], spec["interventions"] = ["A0", "A1"], spec["interventions"][:2]
    spec["noise"]["V"], spec["noise"]["W"] = spec["noise"]["V"][:2], spec["noise"]["W"][:2]
    spec["outcome_terms"] = [
        {
            "block": [0, 1],
            "terms": [_term(0.3), _term(1.0, A0=1), _term(0.4, A0=1, A1=1), _term(2.0, C0=1)],
        }
    ]
    spec["action_mechanisms"] = spec["action_mechanisms"][:2]
    small = AdditiveSCM(spec)
    data = regimes(small, 150, np.random.default_rng(3))
    est = GaussianNoiseJointEstimator(dag={"A1": ["A0"]}, squares=False).fit(data)
    start = np.concatenate([np.zeros(7), np.eye(3)[np.tril_indices(3)]])
    reference = optimize.minimize(lambda p: -_slow_loglik(p, data), start, method="BFGS")
    assert est.loglik_ == pytest.approx(-reference.fun, abs=1e-4)
    assert est.loglik_ >= -reference.fun - 1e-6
    assert est.loglikelihood(data) == pytest.approx(est.loglik_, rel=1e-10)
    theta = [*est.coef_["A0"], *est.coef_["A1"], *est.coef_["Y"]]
    np.testing.assert_allclose(theta, reference.x[:7], atol=1e-3)
    assert list(est.coef_["Y"].index) == ["1", "A0", "A1", "A0*A1"]


def test_refuses_a_fit_without_the_dag(scm, fitted):
    _, data = fitted
    with pytest.raises(DataError, match=r"needs the DAG among the actions: pass dag="):
        GaussianNoiseJointEstimator().fit(data)
    with pytest.raises(DataError, match="unknown parent 'radio'"):
        GaussianNoiseJointEstimator(dag={"A1": ["radio"]}).fit(data)
    with pytest.raises(DataError, match="cycle"):
        GaussianNoiseJointEstimator(dag={"A1": ["A2"], "A2": ["A1"]}).fit(data)


def test_refuses_an_action_that_is_never_observed(fitted):
    _, data = fitted
    only_do_a0 = {
        ("A0",): data[("A0",)],
        ("A0", "A1"): data[("A1",)].assign(A0=data[("A0",)]["A0"]),
    }
    with pytest.raises(DataError, match=r"\['A0'\] are intervened on in every regime"):
        GaussianNoiseJointEstimator(dag={}).fit(only_do_a0)


def test_sklearn_contract(fitted):
    est, _ = fitted
    unfitted = clone(est)
    assert unfitted.get_params()["dag"] == est.dag and not hasattr(unfitted, "coef_")
    with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
        unfitted.predict(np.zeros((1, 3)))
    with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
        unfitted.loglikelihood({})


def test_warns_when_the_optimiser_stops_early(fitted):
    _, data = fitted
    small = {regime: frame.iloc[:2_000] for regime, frame in data.items()}
    with pytest.warns(ConvergenceWarning, match=r"did not converge .*raise max_iter \(now 1\)"):
        est = GaussianNoiseJointEstimator(dag={"A1": ["A0"], "A2": ["A1"]}, max_iter=1).fit(small)
    assert not est.converged_


def test_too_few_rows_give_a_clear_error_not_nan():
    from jointeffects.simulate import sample_polynomial_scm

    # K = 9 with a complete DAG: the outcome equation has 1 + 9 + 36 + 9 = 55 coefficients but
    # only 10 regimes × 10 rows = 100 < 2·55 rows.
    rng = np.random.default_rng(0)
    scm = sample_polynomial_scm(K=9, rng=rng)
    data = {r: scm.sample(10, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    complete = {a: list(scm.actions[:k]) for k, a in enumerate(scm.actions)}
    with pytest.raises(DataError, match="equation of the outcome has 55 coefficients"):
        GaussianNoiseJointEstimator(dag=complete).fit(data)
    # K = 5, 12 rows per regime: enough rows on paper, but the observational rows are one
    # row repeated, so Σ̂ is singular.
    rng = np.random.default_rng(5)
    scm = sample_polynomial_scm(K=5, rng=rng)
    data = {r: scm.sample(12, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    data[()] = pd.concat([data[()].iloc[:1]] * 12, ignore_index=True)
    dag = {a: list(scm.parents(a)) for a in scm.actions}
    with pytest.warns(Warning), pytest.raises(DataError, match="singular"):
        GaussianNoiseJointEstimator(dag=dag).fit(data)
