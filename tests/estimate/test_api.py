"""The library's public API as a new user meets it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from regime_data import regimes

import jointeffects
from jointeffects import (
    DataError,
    JointEffectEstimator,
    SupportWarning,
    load_model,
    recommend_allocation,
    sample_polynomial_scm,
    save_model,
    support_diagnostics,
)


@pytest.fixture(scope="module")
def data():
    scm = sample_polynomial_scm(3, rng=np.random.default_rng(2))
    return regimes(scm, 300, np.random.default_rng(3))


def test_every_public_name_imports_from_the_package():
    for name in jointeffects.__all__:
        getattr(jointeffects, name)
    for name in ("bootstrap_intervals", "sandwich_intervals", "support_diagnostics",
                 "additivity_check", "plot_response_curves"):  # fmt: skip
        assert name in jointeffects.__all__


def test_save_model_computes_the_diagnostics_from_the_data(data, tmp_path):
    est = JointEffectEstimator(random_state=0).fit(data)
    save_model(est, tmp_path / "m.json", data=data)
    loaded = load_model(tmp_path / "m.json")
    assert loaded.diagnostics.reference == support_diagnostics(data).reference
    X = data[()][list(est.actions_)].to_numpy()[:5]
    np.testing.assert_array_equal(loaded.estimator.predict(X), est.predict(X))


def test_save_model_without_diagnostics_or_data_says_what_to_pass(data, tmp_path):
    est = JointEffectEstimator(random_state=0).fit(data)
    with pytest.raises(DataError, match=r"pass data= .* or diagnostics="):
        save_model(est, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_fit_warns_when_an_experiment_leaves_the_observational_support(data):
    obs = data[()]
    action = obs.columns[0]
    same = {(): obs, (action,): obs.sample(frac=1.0, random_state=0)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SupportWarning)
        JointEffectEstimator().fit(same)  # the experiment covers the observational range
    shifted = dict(data)
    shifted[(action,)] = data[(action,)].assign(**{action: data[(action,)][action] + 50.0})
    with pytest.warns(SupportWarning, match=rf"'{action}' in do\({action}\) covers"):
        JointEffectEstimator().fit(shifted)


def test_allocation_by_simulation_works_with_its_default_estimator(data):
    advice = recommend_allocation(
        3, 2000, pilot=data, how="simulation", grid=(0.5, 1.0), n_sim=2, n_queries=100,
        random_state=0,
    )  # fmt: skip
    assert advice.n_obs + 3 * advice.n_experiment == 2000


def test_curves_without_one_experiment_give_the_identified_ones(data):
    from jointeffects import IdentificationError, response_curves
    from jointeffects.errors import IdentificationWarning

    actions = list(data[()].columns[:-1])
    partial = {r: v for r, v in data.items() if r != (actions[-1],)}
    est = JointEffectEstimator(random_state=0).fit(partial)
    with pytest.raises(IdentificationError):
        est.predict(data[()][actions].to_numpy()[:2])  # the joint effect is not identified
    with pytest.warns(
        IdentificationWarning, match=rf"no experiment intervenes on \['{actions[-1]}'\]"
    ):
        curves = response_curves(est, partial, grid=5, intervals=None)
    assert list(dict.fromkeys(curves["action"])) == actions[:-1]
    # each curve is the mixed effect with the uncovered action observed at its reference
    ref = curves.attrs["reference"]
    part = curves[curves["action"] == actions[0]]
    Q = np.array([[ref[a] for a in actions]] * len(part))
    Q[:, 0] = part["level"]
    mixed = est.predict(Q, intervened=actions[:-1])
    base = est.predict(np.array([[ref[a] for a in actions]]), intervened=actions[:-1])
    np.testing.assert_allclose(part["effect_change"], mixed - base, atol=1e-12)
    np.testing.assert_array_equal(part["reference_level"], ref[actions[0]])
