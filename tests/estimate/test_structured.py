"""The structure-aware estimator, ancestor discovery and the additive projection."""

from __future__ import annotations

import numpy as np
import pytest
from regime_data import regimes, shared_confounder_spec
from scipy import stats
from sklearn.linear_model import LinearRegression

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate import JointEffectEstimator
from jointeffects.estimate.estimators.ancestors import (
    ancestors_from_dag,
    discover_ancestors,
    given_ancestors,
    ks_pvalue,
)
from jointeffects.estimate.estimators.binned import bin_counts
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.estimators.structured_stats import FoldGram, fold_labels, gated_design
from jointeffects.estimate.regimes import as_regime_data
from jointeffects.simulate import load_scm, sample_linear_scm, sample_polynomial_scm


def _rel_error(est, scm, queries, intervened=None):
    X = queries[list(scm.actions)]
    truth = scm.joint_effect(X)
    return float(np.sqrt(np.mean((est.predict(X, intervened) - truth) ** 2)) / truth.std())


def _true_dag(scm):
    return {a: scm.parents(a) for a in scm.actions}


def test_ancestors_from_dag_closure_and_errors():
    actions = ("a", "b", "c", "d")
    assert ancestors_from_dag({"b": ["a"], "c": ["b"], "d": "a"}, actions) == {
        "a": (),
        "b": ("a",),
        "c": ("a", "b"),
        "d": ("a",),
    }
    with pytest.raises(DataError, match="cycle through"):
        ancestors_from_dag({"a": ["b"], "b": ["a"]}, actions)
    with pytest.raises(DataError, match="unknown parent 'x'"):
        ancestors_from_dag({"a": ["x"]}, actions)
    with pytest.raises(DataError, match="unknown action 'z'"):
        ancestors_from_dag({"z": []}, actions)


def test_given_ancestor_sets_are_used_as_they_are():
    actions = ("a", "b", "c")
    # Not closed and not checked for cycles (learned sets can name each other), but checked.
    assert given_ancestors({"b": ["a"], "c": "b", "a": ["b"]}, actions) == {
        "a": ("b",),
        "b": ("a",),
        "c": ("b",),
    }
    with pytest.raises(DataError, match="gives 'a' itself as an ancestor"):
        given_ancestors({"a": ["a"]}, actions)
    with pytest.raises(DataError, match="gives 'a' the unknown ancestor 'x'"):
        given_ancestors({"a": ["x"]}, actions)
    with pytest.raises(DataError, match="unknown action 'z'"):
        given_ancestors({"z": []}, actions)


def test_structured_estimator_takes_ancestor_sets_or_a_dag_not_both():
    scm = sample_polynomial_scm(3, 5, n_calibration=2000)
    data = {r: scm.sample(300, intervened=r, rng=1) for r in [(), ("A0",), ("A1",), ("A2",)]}
    est = StructuredEstimator(degrees=(1,), ancestors={"A2": ["A0"]}).fit(data)
    assert est.ancestors_ == {"A0": (), "A1": (), "A2": ("A0",)}
    assert est.structure_tests_ is None
    with pytest.raises(DataError, match="pass dag= or ancestors=, not both"):
        StructuredEstimator(dag={}, ancestors={}).fit(data)


def test_discovered_ancestors_match_the_scm():
    """At 10^4 rows per regime the experiments reveal most of the action DAG of the paper's
    family. Over seeds 0-7 the discovery missed 4 of 28 ancestor relations and added 3; over
    seeds 8-15 it missed 7 of 35 and added 3."""
    missed = added = relations = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        scm = sample_polynomial_scm(5, rng)
        data = as_regime_data(regimes(scm, 10_000, rng))
        found, tests = discover_ancestors(data, tuple((a,) for a in scm.actions))
        assert len(tests) == 5 * 4 and set(tests.columns) >= {"pvalue", "qvalue"}
        for a in scm.actions:
            truth = set(scm.ancestors(a))
            relations += len(truth)
            missed += len(truth - set(found[a]))
            added += len(set(found[a]) - truth)
    assert relations >= 20
    assert missed <= 10
    assert added <= 5


@pytest.mark.parametrize("seed", range(3))
def test_structure_beats_the_paper_estimator_on_its_own_family(seed):
    rng = np.random.default_rng(100 + seed)
    scm = sample_polynomial_scm(5, rng)
    data = regimes(scm, 2_000, rng)
    queries = scm.sample(5_000, intervened=scm.actions, rng=rng)
    ours = StructuredEstimator(random_state=0).fit(data)
    paper = JointEffectEstimator().fit(data)
    # Ratio structured/paper over seeds 100..109: 0.12-0.27.
    assert _rel_error(ours, scm, queries) < 0.5 * _rel_error(paper, scm, queries)


def test_known_dag_on_linear_scm_and_mixed_effects():
    rng = np.random.default_rng(3)
    scm = sample_linear_scm(4, rng)
    data = regimes(scm, 5_000, rng)
    est = StructuredEstimator(dag=_true_dag(scm), random_state=0).fit(data)
    queries = scm.sample(1_000, intervened=scm.actions, rng=rng)
    assert _rel_error(est, scm, queries) < 0.05
    intervened = [scm.actions[1], scm.actions[3]]
    mixed = scm.sample(300, intervened=intervened, rng=rng)[list(scm.actions)]
    truth, se = scm.mixed_effect(mixed, intervened, rng=rng, n_mc=100_000)
    err = est.predict(mixed, intervened=intervened) - truth
    assert np.sqrt(np.mean(err**2)) < 0.05 * truth.std() + 3 * se.max()


def test_block_experiments():
    rng = np.random.default_rng(8)
    scm = load_scm(shared_confounder_spec())
    data = regimes(scm, 10_000, rng, experiments=[("A0", "A1"), ("A2",)])
    est = StructuredEstimator(random_state=0).fit(data)
    queries = scm.sample(2_000, intervened=scm.actions, rng=rng)
    assert _rel_error(est, scm, queries) < 0.05
    with pytest.raises(IdentificationError, match="splits the block experiment"):
        est.predict(queries[list(scm.actions)], intervened=["A0"])


def test_learning_structure_needs_every_experiment():
    rng = np.random.default_rng(4)
    scm = sample_linear_scm(3, rng)
    data = regimes(scm, 500, rng, experiments=[(scm.actions[0],)])
    with pytest.raises(DataError, match="needs an experiment on every action"):
        StructuredEstimator().fit(data)
    est = StructuredEstimator(dag={}).fit(data)  # with a DAG, unexperimented actions are fine
    with pytest.raises(IdentificationError, match="no experiment intervenes on"):
        est.predict(np.zeros((1, 3)))


def test_alpha_grid_scales_with_rows():
    """The chosen penalty is per row: doubling the data leaves the grid's meaning unchanged."""
    rng = np.random.default_rng(5)
    scm = sample_linear_scm(2, rng)
    est = StructuredEstimator(random_state=0).fit(regimes(scm, 1_000, rng))
    assert set(est.cv_mse_["degree"]) == {1, 2}
    assert set(est.cv_mse_["psi_degree"]) == {1, 2, 3, 4, 5}
    assert est.alpha_ in set(est.cv_mse_["alpha"])
    chosen = (est.degree_, est.psi_degree_, est.alpha_)
    assert est.cv_mse_["mse"].min() == pytest.approx(
        est.cv_mse_.set_index(["degree", "psi_degree", "alpha"]).loc[chosen, "mse"]
    )


@pytest.mark.parametrize("seed", range(3))
def test_additive_projection_reduces_the_paper_estimators_error(seed):
    rng = np.random.default_rng(200 + seed)
    scm = sample_polynomial_scm(5, rng)
    data = regimes(scm, 2_000, rng)
    queries = scm.sample(5_000, intervened=scm.actions, rng=rng)
    paper = JointEffectEstimator().fit(data)
    projected = AdditiveProjection(random_state=0).fit(data)
    # Ratio projected/paper over seeds 200..209: 0.30-0.72.
    assert _rel_error(projected, scm, queries) < 0.9 * _rel_error(paper, scm, queries)
    X = queries[list(scm.actions)]
    mixed = [scm.actions[0]]  # mixed queries are passed through unchanged
    np.testing.assert_allclose(
        projected.predict(X, intervened=mixed), paper.predict(X, intervened=mixed)
    )


def test_projection_of_an_additive_estimate_is_the_identity():
    rng = np.random.default_rng(6)
    scm = sample_linear_scm(3, rng)
    data = regimes(scm, 2_000, rng)
    inner = JointEffectEstimator(learner=LinearRegression())
    projected = AdditiveProjection(inner, degree=1, random_state=0).fit(data)
    X = scm.sample(100, intervened=scm.actions, rng=rng)[list(scm.actions)]
    np.testing.assert_allclose(projected.predict(X), inner.fit(data).predict(X), atol=1e-9)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shift", [0.0, 0.02, 0.3])
def test_ks_pvalue_is_scipys(ties, shift):
    rng = np.random.default_rng(3)
    obs, other = rng.standard_normal(3000), rng.standard_normal(2001) + shift
    if ties:
        obs, other = np.round(obs, 1), np.round(other, 1)
    expected = stats.ks_2samp(obs, other, method="asymp").pvalue
    assert ks_pvalue(np.sort(obs), other) == expected


def _design():
    actions = ("a", "b", "c", "d")
    units = (("a",), ("b", "c"), ("d",))
    ancestors = {"a": (), "b": ("a",), "c": ("a",), "d": ("b",)}
    return gated_design(actions, units, ancestors, (True, True, False), 3)


@pytest.mark.parametrize("gates", [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 0.0)])
def test_live_design_is_the_gated_design_to_the_bit(gates):
    design, g = _design(), np.array(gates)
    X = np.random.default_rng(4).standard_normal((50, 4))
    reference = design.matrix(X, np.tile(g, (len(X), 1)))
    keep = design.keep(2, 3)
    assert np.array_equal(design.live(g).matrix(X), reference)
    assert np.array_equal(design.live(g, keep).matrix(X), reference[:, keep])


def test_fold_gram_sums_each_folds_rows():
    design, g = _design(), np.array([1.0, 0.0, 0.0])
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((9000, 4)), rng.standard_normal(9000)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    stats_ = FoldGram(design, mean, scale, g, 3, 7, 1)(X, y, 100)
    folds = fold_labels(7, 1, 100, 9100, 3)
    Z = design.matrix((X - mean) / scale, np.tile(g, (len(X), 1)))
    W = np.column_stack([np.ones(len(X)), Z, y])
    for f in range(3):
        Wf = W[folds == f]
        np.testing.assert_allclose(stats_[f], Wf.T @ Wf, rtol=1e-12, atol=1e-9)


def test_bin_counts_put_values_on_an_edge_in_the_bin_above():
    rng = np.random.default_rng(6)
    X = np.round(rng.standard_normal((2000, 2)), 1)
    edges = [np.array([-0.5, 0.0, 0.7]), np.array([0.1])]
    for k, (counts, e) in enumerate(zip(bin_counts(X, edges), edges, strict=True)):
        expected = np.bincount(np.searchsorted(e, X[:, k], side="right"), minlength=len(e) + 1)
        assert np.array_equal(counts, expected)
