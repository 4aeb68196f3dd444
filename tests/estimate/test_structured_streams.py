"""The structure-aware estimator fitted from chunk streams and dask frames equals its
in-memory fit on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from jointeffects.errors import DataError
from jointeffects.estimate import StructuredEstimator
from jointeffects.estimate.estimators.ancestors import _dependence_pvalue
from jointeffects.estimate.estimators.binned import (
    Summarise,
    binned_pvalue,
    dependence_pvalue,
)
from jointeffects.estimate.estimators.structured_stats import FOLD_BLOCK, fold_labels
from jointeffects.estimate.regimes import RegimeChunks
from jointeffects.simulate import sample_polynomial_scm

N = 3001  # rows per regime; not a multiple of the chunk sizes, of cv or of the fold blocks
ATOL = 1e-8

pytestmark = pytest.mark.filterwarnings("ignore::jointeffects.errors.SupportWarning")


@pytest.fixture(scope="module")
def scm():
    return sample_polynomial_scm(K=3, rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def data(scm):
    rng = np.random.default_rng(4)
    regimes = [(), *((a,) for a in scm.actions)]
    return {r: scm.sample(N, intervened=r, rng=rng) for r in regimes}


@pytest.fixture(scope="module")
def queries(scm):
    return scm.sample(300, intervened=scm.actions, rng=np.random.default_rng(5))[list(scm.actions)]


def dag_of(scm):
    return {a: list(scm.parents(a)) for a in scm.actions}


def pieces(frame, size):
    return [frame.iloc[a : a + size] for a in range(0, len(frame), size)]


def assert_same_fit(got, expected, queries):
    assert got.ancestors_ == expected.ancestors_
    assert got.degree_ == expected.degree_
    assert got.alpha_ == expected.alpha_
    assert got.n_rows_ == expected.n_rows_
    np.testing.assert_allclose(got.x_mean_, expected.x_mean_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(got.x_scale_, expected.x_scale_, rtol=0, atol=ATOL)
    np.testing.assert_allclose(got.coef_, expected.coef_, rtol=0, atol=ATOL)
    assert abs(got.intercept_ - expected.intercept_) <= ATOL
    np.testing.assert_allclose(got.predict(queries), expected.predict(queries), atol=ATOL)
    mixed = [queries.columns[0]]
    np.testing.assert_allclose(
        got.predict(queries, intervened=mixed),
        expected.predict(queries, intervened=mixed),
        atol=ATOL,
    )
    if expected.structure_tests_ is None:
        assert got.structure_tests_ is None
    else:
        np.testing.assert_allclose(
            got.structure_tests_["pvalue"], expected.structure_tests_["pvalue"], rtol=1e-8
        )


@pytest.mark.parametrize("known_dag", [False, True], ids=["learned", "dag"])
@pytest.mark.parametrize("size", [500, 1777, N])
def test_chunk_lists_and_regime_chunks_equal_the_in_memory_fit(scm, data, queries, known_dag, size):
    params = {"structure_test": "binned", "random_state": 0}
    if known_dag:
        params["dag"] = dag_of(scm)
    whole = StructuredEstimator(**params).fit(data)
    assert whole.capabilities().streams
    lists = StructuredEstimator(**params).fit({r: pieces(f, size) for r, f in data.items()})
    assert_same_fit(lists, whole, queries)
    regenerated = {
        r: RegimeChunks(lambda f=f: iter(pieces(f, size)), len(f)) for r, f in data.items()
    }
    assert_same_fit(StructuredEstimator(**params).fit(regenerated), whole, queries)


def test_in_memory_and_streamed_regimes_mix(scm, data, queries):
    whole = StructuredEstimator(structure_test="binned", random_state=1).fit(data)
    mixed = {r: (f if i % 2 else pieces(f, 999)) for i, (r, f) in enumerate(data.items())}
    assert_same_fit(
        StructuredEstimator(structure_test="binned", random_state=1).fit(mixed), whole, queries
    )


def test_dask_frames_equal_the_in_memory_fit(scm, data, queries):
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    lazy = {r: dd.from_pandas(f, npartitions=4) for r, f in data.items()}
    with dask.config.set(scheduler="synchronous"):
        for params in ({"structure_test": "binned"}, {"dag": dag_of(scm)}):
            whole = StructuredEstimator(random_state=2, **params).fit(data)
            on_dask = StructuredEstimator(random_state=2, **params).fit(lazy)
            assert_same_fit(on_dask, whole, queries)


def test_auto_uses_ks_in_memory_and_binned_when_streamed(scm, data, queries):
    streamed = StructuredEstimator(random_state=0).fit({r: [f] for r, f in data.items()})
    binned = StructuredEstimator(structure_test="binned", random_state=0).fit(data)
    ks = StructuredEstimator(structure_test="ks", random_state=0).fit(data)
    assert_same_fit(streamed, binned, queries)
    assert_same_fit(StructuredEstimator(random_state=0).fit(data), ks, queries)
    # "ks" on chunks cannot stream: the chunks are concatenated into the in-memory fit
    assert not StructuredEstimator(structure_test="ks").can_stream()
    from_chunks = StructuredEstimator(structure_test="ks", random_state=0)
    assert_same_fit(from_chunks.fit({r: pieces(f, 700) for r, f in data.items()}), ks, queries)
    with pytest.raises(
        DataError, match=r"structure_test must be 'auto', 'ks' or 'binned', got 'x'"
    ):
        StructuredEstimator(structure_test="x").fit(data)


def test_one_shot_iterators_are_refused_where_two_passes_are_needed(scm, data, queries):
    def once(frame):
        return (chunk for chunk in pieces(frame, 1000))

    with pytest.raises(
        DataError,
        match=r"reads the data of observational, do\(A0\), do\(A1\), do\(A2\) twice \(learning "
        r"the ancestor sets first\), but it is a one-shot iterator.*RegimeChunks\(callable\)",
    ):
        StructuredEstimator().fit({r: once(f) for r, f in data.items()})
    # with the DAG given only the observational regime is read twice
    dag = dag_of(scm)
    with pytest.raises(DataError, match=r"data of observational twice \(standardising by"):
        StructuredEstimator(dag=dag).fit({r: once(f) for r, f in data.items()})
    experiments_once = {**{r: once(f) for r, f in data.items()}, (): pieces(data[()], 1000)}
    got = StructuredEstimator(dag=dag, random_state=0).fit(experiments_once)
    assert_same_fit(got, StructuredEstimator(dag=dag, random_state=0).fit(data), queries)


def test_folds_depend_on_seed_regime_and_position_only():
    n = 3 * FOLD_BLOCK + 123
    folds = fold_labels(7, 1, 0, n, 3)
    cuts = [0, 5, FOLD_BLOCK - 1, FOLD_BLOCK + 17, 2 * FOLD_BLOCK, n]
    pieces_ = [fold_labels(7, 1, a, b, 3) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(pieces_), folds)
    # every full block is balanced exactly
    assert np.bincount(folds[:FOLD_BLOCK], minlength=3).tolist() == [1366, 1365, 1365]
    assert not np.array_equal(fold_labels(7, 2, 0, n, 3), folds)  # another regime
    assert not np.array_equal(fold_labels(8, 1, 0, n, 3), folds)  # another seed


def test_a_fit_without_seed_uses_one_fold_assignment_in_both_passes(data):
    first = StructuredEstimator(structure_test="binned").fit(
        {r: pieces(f, 800) for r, f in data.items()}
    )
    assert np.isfinite(first.cv_mse_["mse"]).all()
    assert first.n_rows_ == {r: N for r in data}


def test_binned_pvalue_merges_sparse_bins():
    assert binned_pvalue(np.array([50, 50, 50]), np.array([50, 50, 50])) == pytest.approx(1.0)
    assert binned_pvalue(np.array([500, 0, 500]), np.array([0, 1000, 0])) < 1e-100
    # 12 rows against 1000: bins merge until expected counts reach 5, here into 2 groups
    p = binned_pvalue(np.array([250] * 4), np.array([6, 0, 0, 6]))
    assert p == pytest.approx(1.0)
    assert binned_pvalue(np.array([3, 0]), np.array([0, 3])) == 1.0  # too few rows to test


def test_dependence_test_from_comoments_equals_the_regression_test(scm, data):
    X = data[("A0",)][list(scm.actions)].to_numpy()
    center, scale = X.mean(axis=0) + 0.3, X.std(axis=0) * 2  # any standardisation
    task = Summarise([np.array([0.0])] * 3, (0,), center, scale)
    halves = task(X[:1000], None, 0).merge(task(X[1000:], None, 1000))
    for t, m in enumerate((1, 2)):
        got = dependence_pvalue(halves.dependence, 3, 3 + t)
        expected = _dependence_pvalue(X[:, [0]], X[:, m])
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-300)


@pytest.mark.slow
def test_dask_frames_on_a_process_cluster(scm, data, queries):
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    lazy = {r: dd.from_pandas(f, npartitions=4) for r, f in data.items()}
    whole = StructuredEstimator(structure_test="binned", random_state=3).fit(data)
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        on_cluster = StructuredEstimator(random_state=3).fit(lazy)
    assert_same_fit(on_cluster, whole, queries)
