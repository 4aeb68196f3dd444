"""Response curves: the simulator's φ_k up to the stated constant, identities, plotting."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from test_intervals import OLS, sample_regimes

from jointeffects.errors import DataError, IntervalWarning
from jointeffects.estimate import JointEffectEstimator
from jointeffects.estimate.curves import response_curves, true_curves
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.plotting import plot_response_curves
from jointeffects.simulate import sample_linear_scm, sample_polynomial_scm

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        yield


@pytest.fixture(scope="module")
def scm():
    return sample_linear_scm(3, 1, n_calibration=5000)


def test_true_curves_are_the_block_effects_centred_at_the_reference(scm):
    data = sample_regimes(scm, 200, 0)
    curves = response_curves(JointEffectEstimator(learner=OLS()), data, grid=5, intervals=None)
    reference = data[()][list(scm.actions)].median()
    assert curves.attrs["reference"] == pytest.approx(reference.to_dict())
    truth = true_curves(scm, curves)
    for k, action in enumerate(scm.actions):
        mask = (curves["action"] == action).to_numpy()
        point = np.repeat(reference.to_numpy()[None, :], mask.sum(), axis=0)
        point[:, k] = curves.loc[mask, "level"]
        phi = scm.block_effects(point)[:, k] - scm.block_effects(reference.to_numpy())[0, k]
        np.testing.assert_allclose(truth[mask], phi, atol=1e-12)


def test_curves_cover_the_simulator_phi_up_to_the_constant(scm):
    # Over 20 data sets, share of (data set, grid point) whose interval holds the true centred
    # φ_k; measured 0.83-0.93 over 5 base seeds (each curve is a line: hits come in blocks).
    dag = {a: scm.parents(a) for a in scm.actions}
    hits = []
    for rep in range(20):
        data = sample_regimes(scm, 500, np.random.default_rng([3, rep]))
        est = StructuredEstimator(degrees=(1,), dag=dag, random_state=0)
        curves = response_curves(est, data, grid=7, intervals="sandwich")
        truth = true_curves(scm, curves)
        hits.append(np.mean((curves["lower"] <= truth) & (truth <= curves["upper"])))
    assert 0.75 <= np.mean(hits) <= 0.98


def test_bootstrap_curves_of_a_polynomial_scm_follow_the_truth():
    # At 10^4 rows per regime, over SCM seeds 3..8: coverage >= 0.94 of 18 points and
    # max |error| <= 0.17 of the curves' range; margins 0.7 and 0.25.
    scm = sample_polynomial_scm(2, 3, n_calibration=5000)
    data = sample_regimes(scm, 10_000, 1)
    with pytest.warns(IntervalWarning, match="extrapolation"):
        curves = response_curves(
            StructuredEstimator(random_state=0),
            data,
            grid=9,
            intervals="bootstrap",
            n_boot=30,
            random_state=0,
        )
    truth = true_curves(scm, curves)
    assert np.mean((curves["lower"] <= truth) & (truth <= curves["upper"])) >= 0.7
    assert np.max(np.abs(curves["effect_change"] - truth)) < 0.25 * np.ptp(truth)


def test_sandwich_curves_of_a_detectably_misspecified_model_are_flagged():
    # As in test_intervals: a straight line for a quadratic SCM; the specification test
    # rejected with p < 1e-5 on 5 of 5 data sets of 500 rows per regime (SCM seed 2).
    scm = sample_polynomial_scm(2, 2, n_calibration=5000)
    data = sample_regimes(scm, 500, 0)
    est = StructuredEstimator(
        degrees=(1,), psi_degrees=None, dag={a: scm.parents(a) for a in scm.actions}
    )
    with pytest.warns(IntervalWarning, match=r"10 of 10 intervals .*model misspecified"):
        curves = response_curves(est, data, grid=5, intervals="sandwich")
    assert not curves["trusted"].any()
    assert curves["note"].str.startswith("model misspecified").all()
    plain = response_curves(est, data, grid=5, intervals="sandwich", misspecification=False)
    assert plain["trusted"].all()


def test_curves_are_zero_at_the_reference_and_add_up_to_the_joint_effect(scm):
    data = sample_regimes(scm, 300, 2)
    est = StructuredEstimator(degrees=(1, 2), random_state=0).fit(data)
    ref = data[()][list(scm.actions)].median()
    point = ref + np.array([0.3, -0.2, 0.1])
    grid = {a: [ref[a], point[a]] for a in scm.actions}
    curves = response_curves(est, data, grid=grid, n_boot=20, random_state=0)
    at_ref = curves.iloc[::2]
    assert np.all(at_ref["effect_change"] == 0)
    np.testing.assert_allclose(at_ref[["lower", "upper"]], 0, atol=1e-12)  # no width there
    # The structured estimator is additive by construction: joint = reference + Σ curves.
    joint = curves["reference_effect"].iloc[0] + curves["effect_change"].iloc[1::2].sum()
    assert joint == pytest.approx(est.predict(point.to_frame().T)[0], abs=1e-10)


def test_without_data_the_curves_have_no_intervals(scm):
    data = sample_regimes(scm, 200, 3)
    est = JointEffectEstimator(learner=OLS()).fit(data)
    ref = {a: 0.0 for a in scm.actions}
    curves = response_curves(est, grid={"A1": [0.0, 1.0]}, reference=ref)
    assert list(curves["action"]) == ["A1", "A1"] and curves["lower"].isna().all()
    slope = est.predict([[0.0, 1.0, 0.0]])[0] - est.predict([[0.0, 0.0, 0.0]])[0]
    assert curves["effect_change"].iloc[1] == pytest.approx(slope)
    with pytest.raises(DataError, match=r"without datasets pass grid as \{action: values\}"):
        response_curves(est)
    with pytest.raises(DataError, match=r"grid names unknown action\(s\) \['B'\]"):
        response_curves(est, data, grid={"B": [1.0]})
    with pytest.raises(DataError, match=r"needs a StructuredEstimator"):
        response_curves(est, data, intervals="sandwich")


def test_plot_draws_bands_and_the_truth(scm):
    data = sample_regimes(scm, 300, 4)
    est = JointEffectEstimator(learner=OLS())
    curves = response_curves(est, data, grid=5, n_boot=10, random_state=0)
    axes = plot_response_curves(curves, truth_scm=scm)
    assert len(axes) == 3
    assert [len(ax.lines) for ax in axes] == [3, 3, 3]  # estimate, truth, zero line
    assert all(len(ax.collections) == 1 for ax in axes)  # the band
    np.testing.assert_allclose(axes[0].lines[1].get_ydata(), true_curves(scm, curves)[:5])
    untrusted = curves.assign(trusted=curves["level"] > curves["level"].median())
    axes = plot_response_curves(untrusted)
    labels = [c.get_label() for c in axes[0].collections]
    assert labels[1] == "not trustworthy" and len(labels) == 2  # trusted band + hatched one
    assert axes[0].collections[1].get_hatch() == "//"
