"""Model files: JSON round trips predict identically; damaged or tampered files are refused."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from regime_data import regimes
from sklearn.linear_model import LinearRegression

from jointeffects.errors import DataError, IntervalWarning
from jointeffects.estimate import (
    AdditiveProjection,
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PolynomialRidgeCV,
    PooledBaseline,
    RegimeData,
    StructuredEstimator,
    as_regime_data,
)
from jointeffects.estimate.diagnostics import additivity_check, support_diagnostics
from jointeffects.estimate.learners.polystats import monomial_powers
from jointeffects.estimate.modelfile.format import (
    FORMAT,
    SavedModel,
    fit_uncertainty,
    load_model,
    model_from_dict,
    save_model,
)
from jointeffects.estimate.uncertainty.intervals import bootstrap_intervals, sandwich_intervals
from jointeffects.estimate.uncertainty.trust import regression_misfit_note
from jointeffects.simulate import sample_polynomial_scm


@pytest.fixture(scope="module")
def scm():
    return sample_polynomial_scm(K=3, rng=3, n_calibration=2000)


@pytest.fixture(scope="module")
def data(scm):
    out = regimes(scm, 300, 0)
    out[scm.actions] = scm.sample(300, scm.actions, rng=1)
    return as_regime_data(out, outcome=scm.outcome)


@pytest.fixture(scope="module")
def queries(scm):
    return scm.sample(40, scm.actions, rng=2)[list(scm.actions)].to_numpy()


def _train(data):
    """The data without the joint regime (held out for the topline and validation)."""
    kept = {r: v for r, v in data.regimes.items() if len(r) < len(data.actions)}
    return RegimeData(data.actions, data.outcome, kept)


def _fit(est, data, joint=False):
    regimes_ = data.regimes if joint else _train(data).regimes
    return est.fit(dict(regimes_), outcome=data.outcome, actions=data.actions)


ESTIMATORS = [
    JointEffectEstimator(),
    JointEffectEstimator(learner=PolynomialRidgeCV(degree=2, cv=4)),
    StructuredEstimator(degrees=(1, 2), random_state=0),
    ObservationalBaseline(),
    PooledBaseline(learner=PolynomialRidgeCV(degree=1)),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_round_trip_predicts_identically(est, data, queries, tmp_path):
    fitted = _fit(est, data)
    path = tmp_path / "model.json"
    save_model(fitted, path, support_diagnostics(data))
    loaded = load_model(path).estimator
    assert type(loaded) is type(fitted)
    for intervened in (None, (data.actions[0],), data.actions[:2]):
        expected = fitted.predict(queries, intervened=intervened)
        assert np.array_equal(loaded.predict(queries, intervened=intervened), expected)
    assert loaded.n_rows_ == fitted.n_rows_
    assert loaded.get_params(deep=False).keys() == fitted.get_params(deep=False).keys()
    if getattr(fitted, "learner", None) is not None:
        assert loaded.learner.get_params()["degree"] == fitted.learner.degree


def test_joint_topline_round_trip(data, queries, tmp_path):
    fitted = _fit(JointTopline(), data, joint=True)
    save_model(fitted, tmp_path / "m.json", support_diagnostics(data))
    assert np.array_equal(load_model(tmp_path / "m.json").estimator.predict(queries),
                          fitted.predict(queries))  # fmt: skip


def test_loaded_raw_coefficients_reproduce_the_predictions(data, queries, tmp_path):
    # The raw-monomial coefficients are rebuilt on load, not stored: check them against a slow
    # evaluation of intercept_ + Σ coef_j · Π x^power.
    fitted = _fit(JointEffectEstimator(), data)
    save_model(fitted, tmp_path / "m.json", support_diagnostics(data))
    for regime, learner in load_model(tmp_path / "m.json").estimator.models_.items():
        powers = monomial_powers(3, 3)
        raw = learner.intercept_ + np.prod(queries[:, None, :] ** powers, axis=2) @ learner.coef_
        np.testing.assert_allclose(raw, fitted.models_[regime].predict(queries), rtol=1e-7)
        np.testing.assert_allclose(learner.coef_, fitted.models_[regime].coef_, rtol=1e-12)


@pytest.mark.parametrize(
    ("kind", "n_boot", "method"),
    [("paper", 5, "bootstrap"), ("structured", 5, "bootstrap"), ("structured", 0, "sandwich")],
)
def test_intervals_survive_the_round_trip(kind, n_boot, method, data, queries, tmp_path):
    est = JointEffectEstimator() if kind == "paper" else StructuredEstimator(degrees=(1, 2))
    fitted = _fit(est, data)
    diagnostics = support_diagnostics(data)
    uncertainty = fit_uncertainty(fitted, _train(data), n_boot=n_boot, rng=0)
    before = SavedModel(fitted, diagnostics, uncertainty, "x")
    save_model(fitted, tmp_path / "m.json", diagnostics, uncertainty)
    after = load_model(tmp_path / "m.json")
    for base in (None, queries[0]):
        a = before.predict_table(queries, level=0.8, base=base)
        b = after.predict_table(queries, level=0.8, base=base)
        assert a.equals(b)
        assert np.all(a["lower"] <= a["upper"])
    assert after.uncertainty.method == method
    assert set(a.columns) == {"prediction", "lower", "upper", "trusted", "note"}


def test_saved_baseline_intervals_are_flagged_as_the_library_flags_them(data, queries):
    # The note depends on the estimator alone, so a loaded model repeats it.
    train = _train(data)
    fitted = _fit(ObservationalBaseline(), data)
    uncertainty = fit_uncertainty(fitted, train, n_boot=4, rng=1)
    table = SavedModel(fitted, support_diagnostics(data), uncertainty, "x").predict_table(
        queries, level=0.9
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        library = bootstrap_intervals(fitted, train, queries, level=0.9, n_boot=4, random_state=1)
    assert not table["trusted"].any() and not library["trusted"].any()
    assert table["note"].str.contains("ObservationalBaseline ignores confounding").all()
    np.testing.assert_allclose(table[["lower", "upper"]], library[["lower", "upper"]], rtol=1e-9)


def test_saved_structured_band_equals_the_library_sandwich(data, queries, tmp_path):
    # The file keeps the bias term (fit one degree richer) and the specification verdict, so
    # a loaded model gives sandwich_intervals' band, not the narrower model-conditional one.
    train = _train(data)
    fitted = _fit(StructuredEstimator(degrees=(1, 2), random_state=0), data)
    diagnostics = support_diagnostics(data)
    save_model(fitted, tmp_path / "m.json", diagnostics, fit_uncertainty(fitted, train, n_boot=0))
    loaded = load_model(tmp_path / "m.json")
    table = loaded.predict_table(queries, level=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        library = sandwich_intervals(fitted, train, queries, level=0.9)
        plain = sandwich_intervals(fitted, train, queries, level=0.9, misspecification=False)
    np.testing.assert_allclose(table["prediction"], library["estimate"], rtol=1e-12)
    np.testing.assert_allclose(table[["lower", "upper"]], library[["lower", "upper"]], rtol=1e-9)
    assert (library["bias"] > 0).all() and (library["upper"] > plain["upper"]).all()
    misfit = library["note"].str.startswith("model misspecified").all()
    assert (loaded.uncertainty.misfit != "") == misfit
    assert loaded.uncertainty.neighbour.degree_ == fitted.degree_ + 1
    mixed = loaded.predict_table(queries, intervened=[fitted.actions_[0]], level=0.9)
    assert mixed["note"].str.contains("mixed effect of the structured model").all()
    lighter = loaded.uncertainty.lighter
    assert lighter.degree_ == fitted.degree_ and lighter.alpha_ == pytest.approx(fitted.alpha_ / 10)


def test_format_4_sandwich_files_are_read_with_the_degree_spread_only(data, queries, tmp_path):
    # Format 4 stored no penalty neighbour: such a file still gives the band it gave then.
    from jointeffects.estimate.modelfile.format import _checksum, model_to_dict

    fitted = _fit(StructuredEstimator(degrees=(1, 2), random_state=0), data)
    diagnostics = support_diagnostics(data)
    uncertainty = fit_uncertainty(fitted, _train(data), n_boot=0)
    assert uncertainty.lighter is not None
    payload = model_to_dict(fitted, diagnostics, uncertainty)

    def as_format_4(p):
        p["format"] = "jointeffects.model/4"
        del p["uncertainty"]["lighter"], p["uncertainty"]["mixed_misfit"]

    old = _tampered(payload, as_format_4)
    old["checksum"] = _checksum(old)
    loaded = model_from_dict(old)
    assert loaded.uncertainty.lighter is None
    uncertainty.lighter = None
    then = SavedModel(fitted, diagnostics, uncertainty, "x").predict_table(queries, level=0.9)
    assert loaded.predict_table(queries, level=0.9).equals(then)
    now = model_from_dict(payload).predict_table(queries, level=0.9)
    assert (now["upper"] - now["lower"] >= then["upper"] - then["lower"] - 1e-12).all()
    # A format-6 file must hold the key.
    broken = _tampered(payload, lambda p: p["uncertainty"].pop("lighter"))
    broken["checksum"] = _checksum(broken)
    with pytest.raises(DataError, match=r"uncertainty' lacks \['lighter'\]"):
        model_from_dict(broken)


def test_saved_paper_model_flags_mixed_effects_where_the_regressions_misfit(tmp_path):
    # Uniform noise at 10^4 rows: the binned residual test rejects. The file keeps its note,
    # which flags mixed effects (not the joint effect) as the library's bootstrap does.
    from jointeffects.estimate.modelfile.format import _checksum, model_to_dict

    rng = np.random.default_rng(np.random.SeedSequence(2032, spawn_key=(10_000,)))
    scm = sample_polynomial_scm(5, rng, families=("uniform",), n_calibration=20_000)
    train = as_regime_data(regimes(scm, 10_000, rng))
    Q = scm.sample(10, intervened=("A0", "A1"), rng=rng)[list(scm.actions)].to_numpy()
    fitted = JointEffectEstimator().fit(dict(train.regimes))
    uncertainty = fit_uncertainty(fitted, train, n_boot=2, rng=0)
    note = regression_misfit_note(fitted, train)
    assert note and uncertainty.mixed_misfit == note
    payload = model_to_dict(fitted, support_diagnostics(train), uncertainty)
    loaded = model_from_dict(payload)
    mixed = loaded.predict_table(Q, intervened=["A0", "A1"], level=0.9)
    assert mixed["note"].str.contains("per-regime regressions").all()
    joint = loaded.predict_table(Q, level=0.9)
    assert not joint["note"].str.contains("per-regime regressions").any()
    # A format-5 file has no verdict: read as not flagged, as it was then.
    old = _tampered(payload, lambda p: p.update(format="jointeffects.model/5"))
    old["uncertainty"].pop("mixed_misfit")
    old["checksum"] = _checksum(old)
    then = model_from_dict(old).predict_table(Q, intervened=["A0", "A1"], level=0.9)
    assert not then["note"].str.contains("per-regime regressions").any()
    # A format-6 file must hold the key.
    broken = _tampered(payload, lambda p: p["uncertainty"].pop("mixed_misfit"))
    broken["checksum"] = _checksum(broken)
    with pytest.raises(DataError, match=r"uncertainty' lacks \['mixed_misfit'\]"):
        model_from_dict(broken)


def test_saved_bootstrap_band_equals_the_library_bootstrap(data, queries, tmp_path):
    # The file keeps the richer learners' refits on the same resamples, so the loaded model
    # gives bootstrap_intervals' band with its noise-corrected bias term.
    train = _train(data)
    fitted = _fit(JointEffectEstimator(), data)
    uncertainty = fit_uncertainty(fitted, train, n_boot=8, rng=5)
    save_model(fitted, tmp_path / "m.json", support_diagnostics(data), uncertainty)
    table = load_model(tmp_path / "m.json").predict_table(queries, level=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        library = bootstrap_intervals(fitted, train, queries, level=0.9, n_boot=8, random_state=5)
    np.testing.assert_allclose(table[["lower", "upper"]], library[["lower", "upper"]], rtol=1e-9)
    assert len(uncertainty.partner_replicates) == 8
    assert (library["bias"] > 0).any()


def test_saved_structured_bootstrap_equals_the_library_bootstrap(data, queries, tmp_path):
    # Each stored replicate is a whole structured model (its own ancestor sets, degree and
    # alpha), so the loaded model gives bootstrap_intervals' band for the structured estimator.
    train = _train(data)
    est = StructuredEstimator(degrees=(1, 2), random_state=0)
    fitted = _fit(est, data)
    uncertainty = fit_uncertainty(fitted, train, n_boot=6, rng=4)
    save_model(fitted, tmp_path / "m.json", support_diagnostics(data), uncertainty)
    loaded = load_model(tmp_path / "m.json")
    table = loaded.predict_table(queries, level=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntervalWarning)
        library = bootstrap_intervals(est, train, queries, level=0.9, n_boot=6, random_state=4)
    np.testing.assert_allclose(table[["lower", "upper"]], library[["lower", "upper"]], rtol=1e-9)
    assert "bias" not in library  # no bias term for the structured estimator's bootstrap
    assert loaded.uncertainty.neighbour is None and len(loaded.uncertainty.replicates) == 6
    # A replicate that is not a structured model on the same actions is refused.
    payload = json.loads((tmp_path / "m.json").read_text())
    other = _fit(JointEffectEstimator(), data)
    from jointeffects.estimate.modelfile.estimators import estimator_state
    from jointeffects.estimate.modelfile.format import _checksum

    payload["uncertainty"]["replicates"][2] = estimator_state(other)
    payload["checksum"] = _checksum(payload)  # a deliberate edit: the fields are still checked
    with pytest.raises(DataError, match=r"replicates\[2\].*StructuredEstimator on the actions"):
        model_from_dict(payload)


def test_a_misspecified_saved_model_flags_every_interval(tmp_path):
    # As in test_intervals: a straight line fitted to a quadratic SCM fails the residual test.
    scm = sample_polynomial_scm(2, 2, n_calibration=5000)
    train = as_regime_data(regimes(scm, 500, 0), outcome=scm.outcome)
    est = StructuredEstimator(
        degrees=(1,), psi_degrees=None, dag={a: scm.parents(a) for a in scm.actions}
    )
    fitted = est.fit(dict(train.regimes), actions=train.actions, outcome=train.outcome)
    uncertainty = fit_uncertainty(fitted, train, n_boot=0)
    assert uncertainty.misfit.startswith("model misspecified (residual test chi2=")
    save_model(fitted, tmp_path / "m.json", support_diagnostics(train), uncertainty)
    table = load_model(tmp_path / "m.json").predict_table(np.zeros((3, 2)), level=0.9)
    assert not table["trusted"].any()
    assert table["note"].str.startswith("model misspecified").all()


def test_diagnostics_round_trip(scm, data, tmp_path):
    fitted = _fit(JointEffectEstimator(), data)
    diagnostics = support_diagnostics(data)
    diagnostics.validation = additivity_check(fitted, {scm.actions: data.regimes[scm.actions]})
    save_model(fitted, tmp_path / "m.json", diagnostics)
    loaded = load_model(tmp_path / "m.json").diagnostics
    assert loaded.support.equals(diagnostics.support)
    assert loaded.validation.equals(diagnostics.validation)
    assert (loaded.lower, loaded.upper, loaded.grid) == (
        diagnostics.lower,
        diagnostics.upper,
        diagnostics.grid,
    )


def test_other_learners_are_refused_naming_the_alternatives(data, tmp_path):
    fitted = _fit(JointEffectEstimator(learner=LinearRegression()), data)
    with pytest.raises(DataError, match=r"LinearRegression cannot be written.*PolynomialRidgeCV.*"
                       r"StructuredEstimator"):  # fmt: skip
        save_model(fitted, tmp_path / "m.json", support_diagnostics(data))
    assert not list(tmp_path.iterdir())


def test_unsupported_or_unfitted_estimators_are_refused(data, tmp_path):
    projection = AdditiveProjection()
    with pytest.raises(DataError, match="cannot write an AdditiveProjection.*supported are"):
        save_model(projection, tmp_path / "m.json", support_diagnostics(data))
    with pytest.raises(DataError, match="not fitted yet"):
        save_model(JointEffectEstimator(), tmp_path / "m.json", support_diagnostics(data))


@pytest.fixture(scope="module")
def payload(data):
    fitted = _fit(JointEffectEstimator(learner=PolynomialRidgeCV(degree=2)), data)
    from jointeffects.estimate.modelfile.format import model_to_dict

    return model_to_dict(fitted, support_diagnostics(data))


def _tampered(payload, edit, reseal=True):
    """``payload`` edited; resealed with a matching checksum unless ``reseal`` is false, as a
    deliberate edit would be (the fields must then refuse it)."""
    from jointeffects.estimate.modelfile.format import _checksum

    copy = json.loads(json.dumps(payload))
    edit(copy)
    if reseal and "checksum" in copy:
        copy["checksum"] = _checksum(copy)
    return copy


def _learner(p):
    return p["estimator"]["models"][1]["learner"]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda p: _learner(p)["v"].__setitem__(0, _learner(p)["v"][0] * 1.001), "checksum"),
        (lambda p: _learner(p).__setitem__("v", "0.1"), r"'estimator\.models\[1\]\.learner\.v'"),
        (lambda p: _learner(p)["v"].pop(), r"estimator\.models\[1\]\.learner\.v.*shape"),
        (lambda p: _learner(p)["center"].__setitem__(0, True), r"learner\.center"),
        (lambda p: _learner(p).pop("scale"), r"learner' lacks \['scale'\]"),
        (lambda p: p["estimator"].__setitem__("pickle", "x"), r"unknown key\(s\) \['pickle'\]"),
        (lambda p: p["estimator"].__setitem__("kind", "Other"), "kind' must be one of"),
        (lambda p: p.__setitem__("format", "jointeffects.model/9"), "format 'jointeffects.model/9"),
        (lambda p: p["estimator"]["models"].pop(), "one learner per regime"),
        (lambda p: p["estimator"]["regimes"][0].__setitem__("rows", -3), r"regimes\[0\]\.rows"),
        (lambda p: p["diagnostics"]["lower"].pop("A1"), r"diagnostics\.lower' lacks \['A1'\]"),
        (lambda p: p.pop("checksum"), r"lacks \['checksum'\]"),
    ],
)
def test_tampered_files_are_refused_naming_the_field(payload, edit, match):
    model_from_dict(payload)  # the untouched payload loads
    with pytest.raises(DataError, match=match):
        model_from_dict(_tampered(payload, edit, reseal=match != "checksum"))


def test_format_3_files_are_still_read(payload, queries):
    from jointeffects.estimate.modelfile.format import _checksum

    assert FORMAT == "jointeffects.model/8"
    old = _tampered(payload, lambda p: p.__setitem__("format", "jointeffects.model/3"))
    old["checksum"] = _checksum(old)
    assert np.array_equal(
        model_from_dict(old).estimator.predict(queries),
        model_from_dict(payload).estimator.predict(queries),
    )
    older = _tampered(old, lambda p: p.__setitem__("format", "jointeffects.model/2"))
    with pytest.raises(DataError, match="model/3' or .*model/6'.*refit the model"):
        model_from_dict(older)


def test_truncated_missing_and_non_json_files_are_refused(payload, tmp_path):
    text = json.dumps(payload)
    path = tmp_path / "m.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match="not valid JSON.*truncated"):
        load_model(path)
    path.write_text(text.replace(str(_learner(payload)["b"]), "NaN", 1))
    with pytest.raises(DataError, match="NaN, which is not valid JSON"):
        load_model(path)
    path.write_text("[1, 2]")
    with pytest.raises(DataError, match="must be a JSON object"):
        load_model(path)
    with pytest.raises(DataError, match="does not exist"):
        load_model(tmp_path / "nope.json")


def test_file_is_plain_versioned_json(payload, data, tmp_path):
    fitted = _fit(JointEffectEstimator(), data)
    save_model(fitted, tmp_path / "m.json", support_diagnostics(data))
    content = json.loads((tmp_path / "m.json").read_text())
    assert content["format"] == FORMAT
    assert content["estimator"]["actions"] == list(data.actions)
    assert [r["rows"] for r in content["estimator"]["regimes"]] == [300] * 4
    assert content["package_version"]
    assert content["checksum"].startswith("sha256:")
