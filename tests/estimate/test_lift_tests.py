"""Lift-test summaries as experiments of the structure-aware estimator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jointeffects import sample_marketing_scm
from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate import (
    JointEffectEstimator,
    StructuredEstimator,
    fit_uncertainty,
    load_model,
    optimize_budget,
    response_curves,
    save_model,
    support_diagnostics,
)
from jointeffects.estimate.estimators.structured_lift import lift_only_ancestors
from jointeffects.estimate.uncertainty.fitted import sandwich_uncertainty
from jointeffects.simulate.marketing import current_plan

pytestmark = pytest.mark.filterwarnings("ignore::jointeffects.errors.SupportWarning")

FAST = {"degrees": (1, 2), "psi_degrees": (1, 2), "random_state": 0}


def _scm(seed: int = 1):
    return sample_marketing_scm(K=3, rng=seed)


def _dag(scm):
    return {a: scm.parents(a) for a in scm.actions}


def _data(scm, n: int, seed: int, experiments=("tv", "search"), n_exp: int | None = None):
    out = {(): scm.sample(n, rng=seed)}
    for j, a in enumerate(experiments):
        out[(a,)] = scm.sample(n if n_exp is None else n_exp, [a], rng=seed + 1 + j)
    return out


def _means(scm) -> np.ndarray:
    return np.array(list(current_plan(scm).values()))


def _phi(scm, channel: str, x: np.ndarray) -> np.ndarray:
    """The channel's exact interventional response curve at levels x."""
    k = scm.actions.index(channel)
    table = np.repeat(_means(scm)[None, :], len(x), axis=0)
    table[:, k] = x
    return scm.block_effects(table)[:, k]


def _lift(scm, channel, rel_levels, rel_sigma, rng, curve=None):
    """Lift tests of ``channel`` at mean·rel_levels, +10 % of the mean each, with noise."""
    mean = _means(scm)[scm.actions.index(channel)]
    x = mean * np.asarray(rel_levels, dtype=float)
    dx = np.full(len(x), 0.1 * mean)
    curve = curve or (lambda v: _phi(scm, channel, v))
    dy = curve(x + dx) - curve(x)
    sigma = np.full(len(x), rel_sigma * np.abs(dy).mean() + 1e-300)
    noise = np.random.default_rng(rng).normal(0, 1, len(x)) * sigma if rel_sigma else 0.0
    return pd.DataFrame(
        {"channel": channel, "x": x, "delta_x": dx, "delta_y": dy + noise, "sigma": sigma}
    )


def _curve_error(est, scm, channel, curve=None) -> float:
    """RMSE of the fitted curve's differences from the mean level over the central range,
    relative to the exact curve's range there."""
    k = scm.actions.index(channel)
    mean = _means(scm)[k]
    grid = mean * np.linspace(0.75, 1.25, 11)
    Q = np.repeat(_means(scm)[None, :], len(grid), axis=0)
    Q[:, k] = grid
    fitted = est.predict(Q)
    truth = (curve or (lambda v: _phi(scm, channel, v)))(grid)
    fitted, truth = fitted - fitted[5], truth - truth[5]
    return float(np.sqrt(np.mean((fitted - truth) ** 2)) / np.ptp(truth))


@pytest.fixture(scope="module")
def lift_only():
    """'social' has lift tests and no experiment; tv and search have experiments."""
    scm = _scm()
    data = _data(scm, 800, seed=10)
    tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.05, rng=3)
    est = StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=tests)
    return scm, data, tests, est


def test_a_lift_only_channel_is_identified_for_differences(lift_only):
    scm, _, _, est = lift_only
    assert est.blocks_ == (("tv",), ("search",), ("social",))
    assert est.lift_counts_ == {"social": 6}
    assert est.lift_shapes_ == {"social": "polynomial"}
    assert not est.level_identified_
    assert est._identified_actions() == scm.actions
    # the level convention: the lift-only curve is 0 at the channel's observational mean
    k = scm.actions.index("social")
    Q = np.repeat(est.x_mean_[None, :], 2, axis=0)
    Q[1, k] = 0.5 * est.x_mean_[k]
    base = est.predict(Q[:1], intervened=["social"])
    assert est._level_note().startswith("level not identified")
    assert any("lift tests used: social 6" in line for line in est._fit_summary()[1])
    assert np.isfinite(base).all()
    assert _curve_error(est, scm, "social") < 0.05


def test_lift_only_curves_match_the_exact_differences_over_seeds():
    # measured over seeds 0..19 (800 rows per regime, 6 tests with σ 5 % of the mean lift):
    # relative RMSE 0.007 on average, at most 0.019; the margin allows twice the largest
    errors = []
    for seed in range(5):
        scm = _scm(seed)
        tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.05, rng=seed)
        est = StructuredEstimator(dag=_dag(scm), **FAST).fit(
            _data(scm, 800, seed=100 + seed), outcome="sales", lift_tests=tests
        )
        errors.append(_curve_error(est, scm, "social"))
    assert max(errors) < 0.04, errors


def test_lift_tests_beside_a_small_experiment_improve_its_curve():
    # measured over seeds 0..19 (60 experiment rows, 6 tests with σ 5 % of the mean lift):
    # the mean error over 6 seeds falls to 1.3–1.6 % of the experiment's alone
    without, with_tests = [], []
    for seed in range(6):
        scm = _scm(seed)
        data = _data(scm, 600, seed=200 + seed, experiments=("tv", "search", "social"), n_exp=60)
        tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.05, rng=seed)
        est = StructuredEstimator(dag=_dag(scm), **FAST)
        without.append(_curve_error(est.fit(data, outcome="sales"), scm, "social"))
        est = StructuredEstimator(dag=_dag(scm), **FAST)
        fitted = est.fit(data, outcome="sales", lift_tests=tests)
        with_tests.append(_curve_error(fitted, scm, "social"))
    assert np.mean(with_tests) < 0.2 * np.mean(without), (with_tests, without)


def test_lift_tests_of_huge_sigma_leave_the_fit_unchanged():
    scm = _scm()
    data = _data(scm, 400, seed=20, experiments=("tv", "search", "social"))
    tests = _lift(scm, "social", [0.8, 1.0, 1.2], 0.05, rng=1)
    tests["sigma"] = 1e9
    est = StructuredEstimator(dag=_dag(scm), **FAST)
    plain = est.fit(data, outcome="sales")
    coef, intercept = plain.coef_.copy(), plain.intercept_
    lifted = StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=tests)
    assert (lifted.degree_, lifted.alpha_) == (plain.degree_, plain.alpha_)
    np.testing.assert_allclose(lifted.coef_, coef, rtol=0, atol=1e-8 * np.abs(coef).max())
    assert abs(lifted.intercept_ - intercept) < 1e-8 * max(1.0, abs(intercept))
    assert lifted.level_identified_  # social has its experiment


def test_too_few_lift_tests_are_refused_with_what_is_missing():
    scm = _scm()
    data = _data(scm, 100, seed=30)
    one = _lift(scm, "social", [1.0], 0.05, rng=0)
    with pytest.raises(IdentificationError, match=r"determine 1 of the 2 coefficients.*needs 1 "
                       r"more lift test\(s\) at distinct levels.*'hill'"):  # fmt: skip
        StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=one)
    # the same test twice adds no information: still one distinct level
    twice = pd.concat([one, one])
    with pytest.raises(IdentificationError, match="needs 1 more"):
        StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=twice)
    # a Hill curve has two parameters too
    with pytest.raises(IdentificationError, match="2 parameters of its Hill curve"):
        StructuredEstimator(dag=_dag(scm), lift_shape="hill", **FAST).fit(
            data, outcome="sales", lift_tests=one
        )
    # one test identifies a straight line
    est = StructuredEstimator(dag=_dag(scm), degrees=(1,), psi_degrees=(1,))
    assert est.fit(data, outcome="sales", lift_tests=one).degree_ == 1


def test_learned_structures_take_a_lift_only_channel_as_a_possible_ancestor():
    scm = _scm()
    tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.05, rng=0)
    est = StructuredEstimator(**FAST).fit(
        _data(scm, 800, seed=31), outcome="sales", lift_tests=tests
    )
    # the experiments show tv and search upstream of social; social's place is unknown
    assert set(est.ancestors_["social"]) == set(scm.ancestors("social")) == {"tv", "search"}
    assert est.ancestors_["tv"] == () and est.ancestors_["search"] == ("tv",)
    assert _curve_error(est, scm, "social") < 0.04
    # a lift-only channel that no experiment shows downstream of an action may be its ancestor
    widened = lift_only_ancestors({"a": (), "b": ("a",), "c": ("a",)}, ("c",))
    assert widened == {"a": (), "b": ("a", "c"), "c": ("a",)}
    # an action with neither an experiment nor lift tests still needs a dag
    data = _data(scm, 100, seed=31, experiments=("search",))
    with pytest.raises(DataError, match=r"experiment on every action \(or lift tests on "
                       r"it\); none on \['tv'\]: pass dag="):  # fmt: skip
        StructuredEstimator(**FAST).fit(data, outcome="sales", lift_tests=tests)


def test_a_hill_curve_is_recovered_from_noise_free_tests():
    scm = _scm()
    beta, kappa = 4.0, 2.5

    def hill(a):
        return beta * a / (a + kappa)

    tests = _lift(scm, "social", [0.6, 0.8, 1.0, 1.2], 0.0, rng=0, curve=hill)
    tests["sigma"] = 0.01
    data = _data(scm, 300, seed=40)
    est = StructuredEstimator(dag=_dag(scm), lift_shape={"social": "hill"}, **FAST)
    est.fit(data, outcome="sales", lift_tests=tests)
    curve = est.hill_["social"]
    assert curve.beta == pytest.approx(beta, rel=1e-6)
    assert curve.kappa == pytest.approx(kappa, rel=1e-6)
    assert _curve_error(est, scm, "social", curve=hill) < 1e-6
    assert "social 4 (only; hill curve)" in " ".join(est._fit_summary()[1])
    # the curve's band comes from the tests' stated σ: twice the σ, twice the width
    k = scm.actions.index("social")
    X = np.repeat(est.x_mean_[None, :], 2, axis=0)
    X[1, k] *= 1.2
    ses = []
    for sigma in (0.01, 0.02):
        fitted = StructuredEstimator(dag=_dag(scm), lift_shape="hill", **FAST).fit(
            data, outcome="sales", lift_tests=tests.assign(sigma=sigma)
        )
        u = sandwich_uncertainty(fitted, _regimes(data), misspecification=False)
        ses.append(u.band(fitted, X[1:], base=X[0], intervened=["social"])["se"].iloc[0])
    assert 0 < ses[0] and ses[1] / ses[0] == pytest.approx(2.0, rel=1e-6)


def test_model_files_round_trip_lift_fits(lift_only, tmp_path):
    scm, data, tests, est = lift_only
    hill = StructuredEstimator(dag=_dag(scm), lift_shape="hill", **FAST).fit(
        data, outcome="sales", lift_tests=tests
    )
    Q = scm.sample(20, rng=5)[list(scm.actions)].to_numpy()
    for fitted in (est, hill):
        save_model(fitted, tmp_path / "m.json", data=data)
        loaded = load_model(tmp_path / "m.json").estimator
        np.testing.assert_array_equal(loaded.predict(Q), fitted.predict(Q))
        for partial in (["social"], ["tv", "social"]):
            np.testing.assert_array_equal(loaded.predict(Q, partial), fitted.predict(Q, partial))
        assert loaded.lift_counts_ == fitted.lift_counts_
        assert loaded.lift_shapes_ == fitted.lift_shapes_
        assert loaded.level_identified_ is False
        assert loaded._fit_summary() == fitted._fit_summary()


def test_sandwich_and_bootstrap_both_see_the_lift_tests(lift_only):
    scm, data, tests, est = lift_only
    k = scm.actions.index("social")
    X = np.repeat(est.x_mean_[None, :], 2, axis=0)
    X[1, k] *= 1.2
    sandwich = sandwich_uncertainty(est, _regimes(data), misspecification=False)
    se = sandwich.band(est, X[1:], base=X[0])["se"].iloc[0]
    # the lift-only difference rests on the tests: its se is about that of their GLS fit
    boot = fit_uncertainty(est, _regimes(data), n_boot=20, rng=0)
    assert all(r.lift_counts_ == {"social": 6} for r in boot.replicates)
    spread = np.std([np.diff(r.predict(X))[0] for r in boot.replicates])
    assert 0.5 * se < spread < 2 * se, (spread, se)


@pytest.mark.slow
def test_sandwich_intervals_of_lift_only_differences_cover():
    # measured over 200 repetitions: coverage 0.875 at nominal 0.9; 50 repetitions have a
    # binomial standard deviation of 0.04, the margin is about 2.5 of them
    scm = _scm(1)
    k = scm.actions.index("social")
    X = np.repeat(_means(scm)[None, :], 2, axis=0)
    X[0, k] *= 0.8
    X[1, k] *= 1.2
    truth = np.diff(_phi(scm, "social", X[:, k]))[0]
    hits = []
    for rep in range(50):
        data = _data(scm, 500, seed=1000 + 10 * rep)
        tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.1, rng=rep)
        est = StructuredEstimator(dag=_dag(scm), degrees=(2,), psi_degrees=(2,), random_state=0)
        est.fit(data, outcome="sales", lift_tests=tests)
        u = sandwich_uncertainty(est, _regimes(data), misspecification=False)
        band = u.band(est, X[1:], base=X[0], level=0.9)
        hits.append(band["lower"].iloc[0] <= truth <= band["upper"].iloc[0])
    assert 0.78 <= np.mean(hits) <= 0.99, np.mean(hits)


@pytest.mark.slow
def test_sandwich_intervals_of_hill_differences_cover():
    # measured over 200 repetitions: coverage 0.90 (σ 5 % of the mean lift) and 0.91 (20 %)
    # at nominal 0.9; the margin is as for the polynomial curve
    scm = _scm(1)
    beta, kappa = 4.0, 2.5

    def hill(a):
        return beta * a / (a + kappa)

    k = scm.actions.index("social")
    X = np.repeat(_means(scm)[None, :], 2, axis=0)
    X[0, k] *= 0.8
    X[1, k] *= 1.2
    truth = hill(X[1, k]) - hill(X[0, k])
    data = _data(scm, 300, seed=5)  # no raw row involves a Hill curve: only its tests vary
    hits = []
    for rep in range(50):
        tests = _lift(scm, "social", np.linspace(0.5, 1.3, 6), 0.1, rng=rep, curve=hill)
        est = StructuredEstimator(dag=_dag(scm), lift_shape="hill", **FAST)
        est.fit(data, outcome="sales", lift_tests=tests)
        u = sandwich_uncertainty(est, _regimes(data), misspecification=False)
        band = u.band(est, X[1:], base=X[0], level=0.9)
        hits.append(band["lower"].iloc[0] <= truth <= band["upper"].iloc[0])
    assert 0.78 <= np.mean(hits) <= 0.99, np.mean(hits)


def test_budget_plans_work_and_say_the_level_is_convention(lift_only):
    scm, data, _, est = lift_only
    plan = optimize_budget(est, budget=float(_means(scm).sum()), data=data)
    assert np.isfinite(plan.gain)
    assert any("level not identified" in note for note in plan.notes)


def _regimes(data):
    from jointeffects.estimate import as_regime_data

    return as_regime_data(data, outcome="sales")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.drop(columns="sigma"), r"lack the column\(s\) \['sigma'\]"),
        (lambda t: t.assign(extra=1), r"unknown column\(s\) \['extra'\]"),
        (lambda t: t.iloc[:0], "no rows"),
        (lambda t: t.assign(channel=["socal", "social", "social"]), "did you mean 'social'"),
        (lambda t: t.assign(sigma=[1.0, 0.0, 1.0]), "row 1: sigma is 0; sigma must be positive"),
        (lambda t: t.assign(delta_x=[1.0, 1.0, 0.0]), "row 2: delta_x is 0"),
        (lambda t: t.assign(x=[1.0, np.nan, 1.0]), "row 1: x is nan"),
        (lambda t: t.assign(delta_y=["a", 1, 1]), "row 0: delta_y is 'a'"),
    ],
)
def test_lift_tables_are_validated_at_the_boundary(change, match):
    scm = _scm()
    tests = change(_lift(scm, "social", [0.8, 1.0, 1.2], 0.05, rng=0))
    with pytest.raises(DataError, match=match):
        StructuredEstimator(dag=_dag(scm)).fit(
            _data(scm, 50, seed=0), outcome="sales", lift_tests=tests
        )


def test_other_estimators_refuse_lift_tests_and_say_which_takes_them():
    scm = _scm()
    tests = _lift(scm, "social", [0.8, 1.0], 0.05, rng=0)
    assert StructuredEstimator().capabilities().lift_tests
    assert not JointEffectEstimator().capabilities().lift_tests
    with pytest.raises(DataError, match="JointEffectEstimator does not take lift tests; "
                       "StructuredEstimator"):  # fmt: skip
        JointEffectEstimator().fit(_data(scm, 50, seed=0), outcome="sales", lift_tests=tests)
    with pytest.raises(DataError, match="lift_shape applies to channels with lift tests"):
        StructuredEstimator(dag=_dag(scm), lift_shape="hill").fit(
            _data(scm, 50, seed=0), outcome="sales"
        )
    with pytest.raises(DataError, match="only channels with lift tests and no experiment"):
        StructuredEstimator(dag=_dag(scm), lift_shape={"tv": "hill"}).fit(
            _data(scm, 50, seed=0), outcome="sales", lift_tests=tests
        )


def test_streamed_regimes_with_lift_tests_fit_as_held_ones(lift_only):
    scm, data, tests, est = lift_only
    chunks = {r: [t.iloc[:300], t.iloc[300:]] for r, t in data.items()}
    streamed = StructuredEstimator(dag=_dag(scm), **FAST).fit(
        chunks, outcome="sales", lift_tests=tests
    )
    Q = scm.sample(20, rng=6)[list(scm.actions)].to_numpy()
    assert streamed.alpha_ == est.alpha_ and streamed.lift_variance_ == pytest.approx(
        est.lift_variance_, rel=1e-9
    )
    # CV picks a tiny penalty here (the lift-only curve wants little shrinkage), at which the
    # near-collinear design turns the rounding of other sums into ~1e-8 relative changes
    np.testing.assert_allclose(streamed.predict(Q), est.predict(Q), rtol=1e-7, atol=0)


def test_response_curves_of_a_lift_fit_have_bands(lift_only):
    _, data, _, est = lift_only
    for intervals in ("sandwich", "bootstrap"):
        curves = response_curves(
            est, data, grid=5, outcome="sales", intervals=intervals, n_boot=5, random_state=0
        )
        assert set(curves["action"]) == {"tv", "search", "social"}
        assert np.isfinite(curves[["lower", "upper"]].to_numpy()).all()


def test_a_format_7_structured_file_without_lift_keys_is_read(lift_only, tmp_path):
    from jointeffects.estimate.modelfile.format import _checksum, model_from_dict, model_to_dict

    scm, data, _, _ = lift_only
    plain = StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales")
    payload = model_to_dict(plain, support_diagnostics(_regimes(data)))
    old = json.loads(json.dumps(payload))
    old["format"] = "jointeffects.model/7"
    del old["estimator"]["params"]["lift_shape"]
    for key in ("lift_counts", "lift_shapes", "hill"):
        del old["estimator"]["structured"][key]
    old["checksum"] = _checksum(old)
    loaded = model_from_dict(old).estimator
    Q = scm.sample(10, rng=7)[list(scm.actions)].to_numpy()
    both = ["tv", "search"]  # social has no experiment in these data
    np.testing.assert_array_equal(loaded.predict(Q, both), plain.predict(Q, both))
    assert loaded.level_identified_ and loaded.lift_counts_ == {}


def test_a_mapping_of_columns_is_a_lift_table_and_hill_levels_must_be_spend():
    scm = _scm()
    tests = _lift(scm, "social", np.linspace(0.7, 1.2, 6), 0.05, rng=0)
    data = _data(scm, 300, seed=8)
    columns = {c: tests[c].tolist() for c in tests.columns}
    a = StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=columns)
    b = StructuredEstimator(dag=_dag(scm), **FAST).fit(data, outcome="sales", lift_tests=tests)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    below = tests.assign(x=tests["x"] - tests["x"].max())
    with pytest.raises(DataError, match="reach negative levels; a Hill curve is for spend ≥ 0"):
        StructuredEstimator(dag=_dag(scm), lift_shape="hill").fit(
            data, outcome="sales", lift_tests=below
        )
