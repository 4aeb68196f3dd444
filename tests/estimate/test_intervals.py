"""Bootstrap and sandwich intervals: coverage on a linear-Gaussian SCM, flags, identities."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.preprocessing import PolynomialFeatures

from jointeffects.errors import DataError, IntervalWarning
from jointeffects.estimate import (
    AdditiveProjection,
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PolynomialRidgeCV,
    PooledBaseline,
)
from jointeffects.estimate.curves import response_curves
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.learners.misfit import binned_residual_test, extension_residual_test
from jointeffects.estimate.uncertainty.bands import bias_aware_critical, percentile_bounds, widen
from jointeffects.estimate.uncertainty.intervals import bootstrap_intervals, sandwich_intervals
from jointeffects.estimate.uncertainty.refits import refit, regime_data, resample_rows
from jointeffects.estimate.uncertainty.trust import regression_misfit_note
from jointeffects.simulate import sample_linear_scm, sample_polynomial_scm


class OLS(RegressorMixin, BaseEstimator):
    """Least squares with an intercept, without scikit-learn's validation overhead."""

    def fit(self, X, y):
        design = np.column_stack([np.ones(len(X)), X])
        self.coef_ = np.linalg.lstsq(design, y, rcond=None)[0]
        return self

    def predict(self, X):
        return self.coef_[0] + np.asarray(X, dtype=float) @ self.coef_[1:]


def regimes_of(scm):
    return [(), *((a,) for a in scm.actions)]


def sample_regimes(scm, n, rng):
    return {r: scm.sample(n, intervened=r, rng=rng) for r in regimes_of(scm)}


@pytest.fixture(scope="module")
def linear_scm():
    return sample_linear_scm(2, 0, n_calibration=5000)


@pytest.fixture(scope="module")
def queries(linear_scm):
    # Central joint queries: coverage is about sampling, not extrapolation (flagged apart).
    X = linear_scm.sample(400, intervened=linear_scm.actions, rng=99)[list(linear_scm.actions)]
    inner = ((X - X.median()).abs() < X.std()).all(axis=1)
    return X[inner].iloc[:20]


def _coverage(linear_scm, queries, interval, reps=30):
    truth = linear_scm.joint_effect(queries)
    hits = []
    for rep in range(reps):
        data = sample_regimes(linear_scm, 500, np.random.default_rng([7, rep]))
        table = interval(data, rep)
        hits.append(np.mean((table["lower"] <= truth) & (truth <= table["upper"])))
    return float(np.mean(hits))


def test_bootstrap_covers_the_exact_joint_effect(linear_scm, queries):
    # Measured over 5 base seeds x 30 data sets: 0.85-0.89 (percentile, n_boot=100).
    coverage = _coverage(
        linear_scm,
        queries,
        lambda data, rep: bootstrap_intervals(
            JointEffectEstimator(learner=OLS()), data, queries, n_boot=100, random_state=rep
        ),
    )
    assert 0.80 <= coverage <= 0.97


def test_sandwich_covers_the_exact_joint_effect(linear_scm, queries):
    # The plain model-conditional sandwich (right model: linear, true dag).
    # Measured over 5 base seeds x 30 data sets: 0.86-0.89.
    dag = {a: linear_scm.parents(a) for a in linear_scm.actions}
    coverage = _coverage(
        linear_scm,
        queries,
        lambda data, rep: sandwich_intervals(
            StructuredEstimator(degrees=(1,), dag=dag, random_state=0),
            data,
            queries,
            misspecification=False,
        ),
    )
    assert 0.80 <= coverage <= 0.97


def test_bias_aware_sandwich_covers_and_is_trusted_when_the_model_is_right(linear_scm, queries):
    # Default interval (degree-spread bias term + specification test). Measured over base
    # seeds 7, 11, 12, 13, 14 x 30 data sets of 500 rows per regime: coverage 0.91-0.95,
    # share trusted 0.97-1.00 (the test rejected 0-3 % of the right models at its 5 % level).
    dag = {a: linear_scm.parents(a) for a in linear_scm.actions}
    trusted = []

    def interval(data, rep):
        table = sandwich_intervals(
            StructuredEstimator(degrees=(1,), dag=dag, random_state=0), data, queries
        )
        trusted.append(table["trusted"].mean())
        return table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        coverage = _coverage(linear_scm, queries, interval)
    assert 0.85 <= coverage <= 0.98
    assert np.mean(trusted) >= 0.9


def test_bias_term_is_the_largest_spread_to_the_degree_and_penalty_neighbours(linear_scm, queries):
    data = sample_regimes(linear_scm, 400, 6)
    dag = {a: linear_scm.parents(a) for a in linear_scm.actions}
    est = StructuredEstimator(psi_degrees=None, degrees=(1,), dag=dag, random_state=0).fit(data)
    assert est.alpha_ == pytest.approx(1e-6)  # so the grid has a smaller penalty, 1e-7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        table = sandwich_intervals(est, data, queries)
    richer = StructuredEstimator(psi_degrees=None, degrees=(2,), dag=dag, random_state=0).fit(data)
    lighter = StructuredEstimator(psi_degrees=None, degrees=(1,), alphas=(1e-7,), dag=dag).fit(data)
    spreads = [np.abs(est.predict(queries) - other.predict(queries)) for other in (richer, lighter)]
    spread = np.max(spreads, axis=0)
    np.testing.assert_allclose(table["bias"], spread, rtol=1e-9)
    # At the grid's smallest penalty there is no lighter fit: the degree spread alone.
    smallest = StructuredEstimator(psi_degrees=None, degrees=(1,), alphas=(1e-6,), dag=dag).fit(
        data
    )
    assert smallest._lighter_fit(regime_data(data)) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        alone = sandwich_intervals(smallest, data, queries)
    richer_alone = StructuredEstimator(psi_degrees=None, degrees=(2,), alphas=(1e-6,), dag=dag).fit(
        data
    )
    np.testing.assert_allclose(
        alone["bias"], np.abs(smallest.predict(queries) - richer_alone.predict(queries)), rtol=1e-9
    )
    for side in (table["upper"] - table["estimate"], table["estimate"] - table["lower"]):
        assert_bias_aware(side, table["se"], spread, 0.9)


def test_sandwich_partners_keep_ancestor_sets_that_name_each_other(linear_scm, queries):
    # The structure tests can declare two actions each other's ancestor (seen at 10^4 rows,
    # uniform noise); the partners reuse the sets, which as a dag= were refused as a cycle.
    data = sample_regimes(linear_scm, 400, 6)
    both = {"A0": ["A1"], "A1": ["A0"]}
    est = StructuredEstimator(psi_degrees=None, degrees=(1,), ancestors=both, random_state=0).fit(
        data
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        table = sandwich_intervals(est, data, queries)
    richer = StructuredEstimator(
        psi_degrees=None, degrees=(2,), ancestors=both, random_state=0
    ).fit(data)
    lighter = StructuredEstimator(
        psi_degrees=None, degrees=(1,), alphas=(est.alpha_ / 10,), ancestors=both
    )
    lighter.fit(data)  # the next smaller penalty of the default grid (steps of 10x)
    assert est.alpha_ > 1e-14 and est.ancestors_ == {"A0": ("A1",), "A1": ("A0",)}
    spreads = [np.abs(est.predict(queries) - other.predict(queries)) for other in (richer, lighter)]
    np.testing.assert_allclose(table["bias"], np.max(spreads, axis=0), rtol=1e-9)


def test_bootstrap_bias_term_is_the_spread_less_its_bootstrap_noise(linear_scm, queries):
    data = sample_regimes(linear_scm, 400, 6)
    est = JointEffectEstimator(learner=PolynomialRidgeCV(degree=1))
    kwargs = {"n_boot": 20, "random_state": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        plain = bootstrap_intervals(est, data, queries, misspecification=False, **kwargs)
        table = bootstrap_intervals(est, data, queries, **kwargs)  # "auto": ridge learners
    richer = JointEffectEstimator(learner=PolynomialRidgeCV(degree=2))
    spread = table["estimate"] - richer.fit(data).predict(queries)
    # the same resamples, refitted at both degrees, by hand
    rng = np.random.default_rng(3)
    rd = regime_data(data)
    noise = []
    for _ in range(20):
        sample = resample_rows(rd, rng)
        noise.append(refit(est, sample).predict(queries) - refit(richer, sample).predict(queries))
    expected = np.sqrt(np.maximum(spread**2 - np.var(noise, axis=0, ddof=1), 0.0))
    np.testing.assert_allclose(table["bias"], expected, atol=1e-12)
    assert (table["bias"] <= np.abs(spread) + 1e-12).all()
    z = stats.norm.ppf(0.95)
    for side in ("lower", "upper"):  # the same resamples: plain is the unwidened band
        se = np.abs(plain[side] - plain["estimate"]) / z
        assert_bias_aware(np.abs(table[side] - table["estimate"]), se, table["bias"], 0.9)


def assert_bias_aware(half, se, bias, level):
    """``half`` is the half-width that covers at ``level`` an estimate ~ N(truth + bias, se²)."""
    half, se, bias = (np.asarray(v, dtype=float) for v in (half, se, bias))
    covered = stats.norm.cdf((half - bias) / se) - stats.norm.cdf((-half - bias) / se)
    np.testing.assert_allclose(covered, level, atol=1e-9)
    assert (half >= np.maximum(bias, stats.norm.ppf(0.5 + level / 2) * se) - 1e-12).all()


@pytest.mark.parametrize("level", [0.5, 0.9, 0.99])
def test_bias_aware_critical_value_is_the_folded_normal_quantile(level):
    t = np.array([0.0, 1e-3, 0.5, 1.0, 3.0, 7.999, 8.0, 8.001, 50.0, 1e6])
    c = bias_aware_critical(t, level)
    covered = stats.norm.cdf(c - t) - stats.norm.cdf(-c - t)
    np.testing.assert_allclose(covered, level, atol=1e-9)
    assert c[0] == pytest.approx(stats.norm.ppf(0.5 + level / 2), abs=1e-9)
    assert (np.diff(c) > 0).all()  # more bias, wider; continuous across the t = 8 switch


def test_widened_interval_covers_at_its_level_when_the_bias_is_known():
    # Monte Carlo: estimates with a known bias and standard error, widened by that bias.
    rng = np.random.default_rng(11)
    bias = np.repeat([0.0, 0.3, 1.0, 3.0], 50_000)
    se = 1.0
    estimate = bias + se * rng.standard_normal(bias.size)  # the truth is 0
    half = stats.norm.ppf(0.95) * se
    lower, upper = widen(estimate, estimate - half, estimate + half, bias, 0.9)
    covered = (lower <= 0) & (0 <= upper)
    for b in np.unique(bias):
        # binomial sd of a share near 0.9 over 50 000 draws is 0.0013
        assert covered[bias == b].mean() == pytest.approx(0.9, abs=0.006)
    plain = (estimate - half <= 0) & (0 <= estimate + half)
    assert plain[bias == 1.0].mean() < 0.8  # the unwidened band misses


@pytest.mark.parametrize(
    ("draw", "cdf"),
    [("standard_normal", stats.norm.cdf), ("standard_exponential", stats.expon.cdf)],
)
def test_percentile_bounds_of_few_draws_hold_the_nominal_share(draw, cdf):
    # 4000 sets of 50 draws: the share of the distribution between the bounds averaged
    # 0.889-0.890 over seeds 0-4 for both distributions; numpy's default quantiles 0.866-0.867.
    draws = getattr(np.random.default_rng(3), draw)((50, 4000))
    lower, upper = percentile_bounds(draws, 0.9)
    assert (cdf(upper) - cdf(lower)).mean() == pytest.approx(0.89, abs=0.005)
    lower, upper = np.quantile(draws, [0.05, 0.95], axis=0)
    assert (cdf(upper) - cdf(lower)).mean() < 0.875


def test_widening_an_interval_of_zero_width_gives_the_bias():
    lower, upper = widen(np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([0.2]), 0.9)
    np.testing.assert_allclose([lower[0], upper[0]], [0.8, 1.2])


def test_projection_bias_partner_is_one_degree_richer_inside_and_out():
    from jointeffects.estimate import AdditiveProjection
    from jointeffects.estimate.uncertainty.refits import bootstrap_partner

    partner = bootstrap_partner(AdditiveProjection(degree=2, random_state=4))
    assert (partner.degree, partner.estimator.learner.degree, partner.random_state) == (3, 4, 4)
    wrapped = JointEffectEstimator(learner=PolynomialRidgeCV(degree=1))
    assert bootstrap_partner(AdditiveProjection(estimator=wrapped)).estimator.learner.degree == 2
    other = AdditiveProjection(estimator=JointEffectEstimator(learner=OLS()))
    assert bootstrap_partner(other) is None  # "auto": no bias term for other learners
    with pytest.raises(DataError, match="needs PolynomialRidgeCV learners; JointEffectEst"):
        bootstrap_partner(other, misspecification=True)


def test_bootstrap_bias_term_needs_polynomial_ridge_learners(linear_scm, queries):
    data = sample_regimes(linear_scm, 300, 6)
    with pytest.raises(DataError, match=r"needs PolynomialRidgeCV learners; .* has OLS"):
        bootstrap_intervals(
            JointEffectEstimator(learner=OLS()), data, queries, n_boot=2, misspecification=True
        )


def test_a_detectably_misspecified_model_flags_every_interval():
    # A straight line fitted to the paper's quadratic SCM: the residual specification test
    # rejected with p < 1e-5 on 5 of 5 data sets of 500 rows per regime (SCM seed 2).
    scm = sample_polynomial_scm(2, 2, n_calibration=5000)
    data = sample_regimes(scm, 500, 0)
    X = scm.sample(50, intervened=scm.actions, rng=1)[list(scm.actions)]
    est = StructuredEstimator(
        degrees=(1,), psi_degrees=None, dag={a: scm.parents(a) for a in scm.actions}
    )
    with pytest.warns(IntervalWarning, match=r"50 of 50 intervals .*model misspecified"):
        table = sandwich_intervals(est, data, X)
    assert not table["trusted"].any()
    assert table["note"].str.startswith("model misspecified (residual test chi2=").all()
    with pytest.warns(IntervalWarning, match=r"extrapolation"):  # the only flag left
        plain = sandwich_intervals(est, data, X, misspecification=False)
    assert plain["trusted"].mean() > 0.5


def test_sandwich_standard_error_matches_the_spread_over_data_sets(linear_scm, queries):
    # Slow obvious reference: the sd of the estimate over independent data sets.
    dag = {a: linear_scm.parents(a) for a in linear_scm.actions}
    estimates, ses = [], []
    for rep in range(40):
        data = sample_regimes(linear_scm, 500, np.random.default_rng([8, rep]))
        table = sandwich_intervals(StructuredEstimator(degrees=(1,), dag=dag), data, queries)
        estimates.append(table["estimate"])
        ses.append(table["se"])
    ratio = np.mean(ses, axis=0) / np.std(estimates, axis=0, ddof=1)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio  # sd of a 40-sample sd is ~11 %


def test_basic_interval_reflects_the_percentile_one(linear_scm, queries):
    data = sample_regimes(linear_scm, 300, 1)
    est = JointEffectEstimator(learner=OLS())
    pct = bootstrap_intervals(est, data, queries, n_boot=50, random_state=3)
    basic = bootstrap_intervals(est, data, queries, n_boot=50, method="basic", random_state=3)
    np.testing.assert_allclose(basic["lower"], 2 * pct["estimate"] - pct["upper"])
    np.testing.assert_allclose(basic["upper"], 2 * pct["estimate"] - pct["lower"])
    fitted = est.fit(data)
    np.testing.assert_allclose(pct["estimate"], fitted.predict(queries))
    assert pct["trusted"].all() and (pct["note"] == "").all()


def test_mixed_effect_intervals_use_the_mixed_query(linear_scm, queries):
    data = sample_regimes(linear_scm, 300, 2)
    est = JointEffectEstimator(learner=OLS()).fit(data)
    table = bootstrap_intervals(est, data, queries, intervened=["A0"], n_boot=20, random_state=0)
    np.testing.assert_allclose(table["estimate"], est.predict(queries, intervened=["A0"]))
    assert (table["lower"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["upper"]).all()


def test_structured_mixed_effect_intervals_are_flagged_joint_ones_not(linear_scm, queries):
    # Its mixed effects evaluate the cubic ψ terms, whose bias neither interval sees.
    data = sample_regimes(linear_scm, 300, 2)
    est = StructuredEstimator(degrees=(1,), random_state=0).fit(data)
    for interval in (
        lambda r: bootstrap_intervals(est, data, queries, intervened=r, n_boot=5),
        lambda r: sandwich_intervals(est, data, queries, intervened=r, misspecification=False),
    ):
        with pytest.warns(IntervalWarning, match="mixed effect of the structured model"):
            mixed = interval(["A0"])
        assert not mixed["trusted"].any()
        with warnings.catch_warnings():
            warnings.simplefilter("error", IntervalWarning)
            joint = interval(["A0", "A1"])  # all actions: the joint effect
        assert joint["trusted"].all()


def test_binned_residual_test_holds_its_level_and_sees_a_kink():
    # Correct mean, heteroskedastic noise: p-values about uniform; a kink the linear fit misses
    # is found.
    rejections = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(500, 3))
        noise = rng.normal(size=500) * (0.5 + np.abs(X[:, 0]))
        rejections.append(binned_residual_test(X, noise)[2] < 0.05)
    assert 0.02 <= np.mean(rejections) <= 0.09  # 0.05 ± 2.2 binomial sd (0.015)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    y = np.abs(X[:, 1]) + rng.normal(size=5000)
    design = np.column_stack([np.ones(5000), X])
    residuals = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    stat, dof, p = binned_residual_test(X, residuals)
    assert dof == 27 and p < 1e-10
    X[:, 2] = 1.0  # a constant action has no bins
    assert binned_residual_test(X, residuals)[1] == 18


def _cubic_residuals(X, y):
    design = PolynomialFeatures(3).fit_transform(X)
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


def test_extension_residual_test_holds_its_level_and_sees_what_bins_miss():
    # A right cubic fit, heteroskedastic noise: 15 degree-4 monomials of 3 actions, 2000 rows.
    rejections = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(2000, 3))
        y = X[:, 0] ** 3 - X[:, 1] * X[:, 2] + rng.normal(size=2000) * (0.5 + np.abs(X[:, 0]))
        stat, dof = extension_residual_test(X, _cubic_residuals(X, y), 3)
        rejections.append(stats.chi2.sf(stat, dof) < 0.05)
    # Somewhat anti-conservative at 133 rows per monomial with these heavy-tailed monomials
    # (Gaussian actions to the 4th power): measured 0.065-0.095 over seeds 0, 1000 and 2000
    # (+ 0..199); at 10^4 rows, K = 5 and t_5 noise 0.047. Extra flags err on the safe side.
    assert dof == 15
    assert 0.03 <= np.mean(rejections) <= 0.13
    # A degree-4 interaction whose mean along each action is zero: bins cannot see it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    y = 0.2 * X[:, 0] ** 2 * X[:, 1] * X[:, 2] + rng.normal(size=5000)
    residuals = _cubic_residuals(X, y)
    stat, dof = extension_residual_test(X, residuals, 3)
    assert stats.chi2.sf(stat, dof) < 1e-10 and binned_residual_test(X, residuals)[2] > 0.05
    # Below 100 rows per monomial its χ² approximation over-rejects: not run.
    assert extension_residual_test(X[:1499], residuals[:1499], 3) is None


@pytest.fixture(scope="module")
def uniform_scm_data():
    # The paper's family with uniform noise: the posterior means E[f_k | a_k] a mixed effect
    # keeps are not polynomial, and at 10^4 rows the cubic learners' misfit shows.
    rng = np.random.default_rng(np.random.SeedSequence(2032, spawn_key=(10_000,)))
    scm = sample_polynomial_scm(5, rng, families=("uniform",), n_calibration=20_000)
    data = sample_regimes(scm, 10_000, rng)
    queries = scm.sample(20, intervened=("A0", "A1"), rng=rng)[list(scm.actions)]
    return data, queries


def test_paper_mixed_effects_are_flagged_where_the_regressions_misfit(uniform_scm_data):
    data, queries = uniform_scm_data
    est = JointEffectEstimator().fit(data)
    note = regression_misfit_note(est, regime_data(data))
    assert note.startswith("the per-regime regressions' residuals")
    kwargs = dict(n_boot=2, misspecification=False, random_state=0)
    with pytest.warns(IntervalWarning, match="per-regime regressions"):
        mixed = bootstrap_intervals(est, data, queries, intervened=["A0", "A1"], **kwargs)
    assert mixed["note"].str.startswith(note).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)  # extrapolation may flag some
        joint = bootstrap_intervals(est, data, queries, **kwargs)
    assert not joint["note"].str.contains("regressions").any()
    # The projection answers mixed queries with the paper's estimator: the same note.
    projection = AdditiveProjection(n_points=2000, random_state=0).fit(data)
    assert regression_misfit_note(projection, regime_data(data)) == note
    # Estimators without per-regime regressions get no such note.
    assert regression_misfit_note(StructuredEstimator(), regime_data(data)) == ""


def test_paper_mixed_effects_of_a_right_model_are_not_flagged(linear_scm, queries):
    # Linear-Gaussian: every regime's regression is linear, so OLS learners are right.
    # With polynomial ridge learners the extension test runs too (degree-2 monomials).
    for seed in range(3):
        data = sample_regimes(linear_scm, 2000, seed)
        est = JointEffectEstimator(learner=OLS()).fit(data)
        assert regression_misfit_note(est, regime_data(data)) == ""
        table = bootstrap_intervals(est, data, queries, intervened=["A0"], n_boot=5)
        assert table["trusted"].all()
        ridge = JointEffectEstimator(learner=PolynomialRidgeCV(degree=1)).fit(data)
        assert regression_misfit_note(ridge, regime_data(data)) == ""


def test_tiny_regimes_and_extrapolation_are_flagged(linear_scm, queries):
    data = sample_regimes(linear_scm, 300, 4)
    far = queries.copy()
    far.iloc[0] = 100.0  # far outside every regime's range
    with pytest.warns(IntervalWarning, match=r"1 of 20 intervals are not trustworthy"):
        table = bootstrap_intervals(JointEffectEstimator(learner=OLS()), data, far, n_boot=10)
    assert list(table["trusted"]) == [False] + [True] * 19
    assert table["note"].iloc[0].startswith("extrapolation")
    data[()] = data[()].iloc[:50]
    with pytest.warns(IntervalWarning, match=r"tiny regime \(obs=50"):
        table = bootstrap_intervals(JointEffectEstimator(learner=OLS()), data, queries, n_boot=10)
    assert not table["trusted"].any()


def test_argument_errors(linear_scm, queries):
    data = sample_regimes(linear_scm, 100, 5)
    est = JointEffectEstimator(learner=OLS())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        with pytest.raises(DataError, match=r"level=1.5 must be a coverage probability"):
            bootstrap_intervals(est, data, queries, level=1.5, n_boot=5)
        with pytest.raises(DataError, match=r"n_boot=1 must be at least 2"):
            bootstrap_intervals(est, data, queries, n_boot=1)
        with pytest.raises(DataError, match=r"method='bca' is not one of"):
            bootstrap_intervals(est, data, queries, n_boot=5, method="bca")
        with pytest.raises(DataError, match=r"misspecification='yes' must be True, False or"):
            bootstrap_intervals(est, data, queries, n_boot=5, misspecification="yes")
        with pytest.raises(DataError, match=r"needs a StructuredEstimator, got JointEffect"):
            sandwich_intervals(est, data, queries)


@pytest.mark.parametrize("baseline", [ObservationalBaseline, PooledBaseline])
def test_baselines_that_ignore_confounding_are_flagged(linear_scm, queries, baseline):
    data = sample_regimes(linear_scm, 300, 5)
    with pytest.warns(IntervalWarning, match=f"{baseline.__name__} ignores confounding"):
        table = bootstrap_intervals(baseline(learner=OLS()), data, queries, n_boot=5)
    assert not table["trusted"].any()
    # The topline learns from a joint experiment: its interval is about the joint effect,
    # and regimes it does not read (here a tiny observational one) do not flag it.
    data[linear_scm.actions] = linear_scm.sample(300, intervened=linear_scm.actions, rng=5)
    data[()] = data[()].iloc[:50]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntervalWarning)
        table = bootstrap_intervals(JointTopline(learner=OLS()), data, queries, n_boot=5)
    assert table["trusted"].all()
    del data[linear_scm.actions]  # the paper's estimator reads the other regimes
    with pytest.warns(IntervalWarning, match=r"tiny regime \(obs=50 rows"):
        bootstrap_intervals(JointEffectEstimator(learner=OLS()), data, queries, n_boot=5)


def test_an_estimator_fitted_on_other_data_is_refused(linear_scm, queries):
    # Its predictions would be the point estimates of other columns: refuse, name both.
    data = sample_regimes(linear_scm, 300, 5)
    names = {a: f"B{j}" for j, a in enumerate(linear_scm.actions)}
    renamed = {
        tuple(names[a] for a in regime): frame.rename(columns=names)
        for regime, frame in data.items()
    }
    other = queries.rename(columns=names)
    fitted = StructuredEstimator(degrees=(1,), random_state=0).fit(data)
    with pytest.raises(DataError, match=r"fitted on actions \['A0', 'A1'\].*have \['B0', 'B1'\]"):
        bootstrap_intervals(fitted, renamed, other, n_boot=3)
    with pytest.raises(DataError, match=r"fitted on actions .* outcome 'Y'.* and 'Z': pass"):
        sandwich_intervals(fitted, {r: f.rename(columns={"Y": "Z"}) for r, f in data.items()},
                           queries, outcome="Z")  # fmt: skip
    with pytest.raises(DataError, match=r"fitted on actions \['A0', 'A1'\]"):
        response_curves(fitted, renamed, grid=3)


@pytest.mark.parametrize(("family", "rows"), [("own", 1000), ("logistic", 1000), ("uniform", 500)])
def test_prior_method_intervals_are_flagged_when_its_gaussian_model_is_rejected(family, rows):
    # Measured with K = 5, 12 SCMs per cell, 500-10^4 rows: the normality tests of every
    # observed equation's residuals rejected 12 of 12 SCMs of the paper's family (seed 2025),
    # 0-4 of 12 of the prior method's own (seeds 2025 and 31). The uniform case is one the
    # outcome's residuals alone passed (Bonferroni p = 0.60; every equation's: 6e-9).
    from jointeffects.estimate import GaussianNoiseJointEstimator
    from jointeffects.simulate.comparison import sample_gaussian_additive_scm

    if family == "own":
        scm = sample_gaussian_additive_scm(3, 0, n_calibration=5000)
    else:
        scm = sample_polynomial_scm(3, 0, families=(family,), n_calibration=5000)
    data = sample_regimes(scm, rows, 1)
    queries = scm.sample(20, intervened=scm.actions, rng=2)[list(scm.actions)]
    est = GaussianNoiseJointEstimator(dag={a: scm.parents(a) for a in scm.actions})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IntervalWarning)
        table = bootstrap_intervals(est, data, queries, n_boot=5, random_state=0)
    rejected = table["note"].str.contains("Gaussian-noise model is rejected")
    if family == "own":
        assert not rejected.any()
    else:
        assert rejected.all() and not table["trusted"].any()
        assert any(issubclass(w.category, IntervalWarning) for w in caught)
