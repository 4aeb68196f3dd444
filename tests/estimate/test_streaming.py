"""Estimators fitted from chunk streams and dask frames equal their in-memory fits."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from jointeffects.errors import DataError
from jointeffects.estimate import (
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PolynomialRidgeCV,
    PooledBaseline,
    StructuredEstimator,
)
from jointeffects.estimate.regimes import RegimeChunks, as_regime_streams
from jointeffects.simulate import sample_polynomial_scm

N = 3001  # rows per regime; not a multiple of the chunk sizes or of cv
CHUNK = 700


@pytest.fixture(scope="module")
def scm():
    return sample_polynomial_scm(K=3, rng=5, n_calibration=2000)


def regimes_for(cls, scm) -> list[tuple[str, ...]]:
    if cls is JointTopline:
        return [tuple(scm.actions)]
    return [(), *[(a,) for a in scm.actions]]


def frames(scm, regimes, n=N) -> dict:
    return {r: scm.sample(n, intervened=r, rng=i) for i, r in enumerate(regimes)}


def chunked(data: dict, known: bool = True, size: int = CHUNK) -> dict:
    def stream(frame):  # a one-shot generator, as the simulator's sample_chunks
        return (frame.iloc[a : a + size] for a in range(0, len(frame), size))

    return {r: RegimeChunks(stream(f), len(f)) if known else stream(f) for r, f in data.items()}


@pytest.fixture(scope="module")
def queries(scm):
    return scm.sample(400, intervened=scm.actions, rng=99)[list(scm.actions)]


def assert_close(got, expected, rtol=1e-6):
    assert np.max(np.abs(got - expected)) <= rtol * np.max(np.abs(expected))


def models(est) -> list:
    return list(est.models_.values()) if hasattr(est, "models_") else [est.model_]


ESTIMATORS = [JointEffectEstimator, PooledBaseline, ObservationalBaseline, JointTopline]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_chunk_stream_fit_equals_in_memory_fit(cls, scm, queries):
    data = frames(scm, regimes_for(cls, scm))
    whole = cls().fit(data)
    streamed = cls().fit(chunked(data))
    assert streamed.can_stream()
    assert [m.alpha_ for m in models(streamed)] == [m.alpha_ for m in models(whole)]
    assert_close(streamed.predict(queries), whole.predict(queries))
    assert streamed.n_rows_ == whole.n_rows_ == {r: N for r in streamed.n_rows_}
    # the stream was read, not held: its models keep only per-fold statistics
    assert all(m.stats_.count == m.stats_.n_samples for m in models(streamed))


def test_plain_iterators_and_lists_of_chunks(scm, queries):
    data = frames(scm, regimes_for(JointEffectEstimator, scm))
    # without the total the folds are row index modulo cv; with one alpha the CV cannot
    # choose differently, and the refit on all rows is the in-memory one
    one_alpha = PolynomialRidgeCV(alphas=[1e-3])
    whole = JointEffectEstimator(learner=one_alpha).fit(data)
    streamed = JointEffectEstimator(learner=one_alpha).fit(chunked(data, known=False))
    assert_close(streamed.predict(queries), whole.predict(queries))
    assert all(m.stats_.n_samples is None for m in streamed.models_.values())
    lists = {r: [f.iloc[:1000], f.iloc[1000:]] for r, f in data.items()}
    from_lists = JointEffectEstimator(learner=one_alpha).fit(lists)
    assert_close(from_lists.predict(queries), whole.predict(queries))


def test_pooled_is_one_fit_on_the_concatenated_rows(scm, queries):
    data = frames(scm, regimes_for(PooledBaseline, scm))
    X = np.concatenate([f[list(scm.actions)].to_numpy() for f in data.values()])
    y = np.concatenate([f["Y"].to_numpy() for f in data.values()])
    reference = PolynomialRidgeCV().fit(X, y)  # KFold over the concatenation
    for fitted in (PooledBaseline().fit(data), PooledBaseline().fit(chunked(data))):
        assert fitted.model_.alpha_ == reference.alpha_
        np.testing.assert_allclose(fitted.model_.cv_scores_, reference.cv_scores_, atol=1e-9)
        assert_close(fitted.predict(queries), reference.predict(queries.to_numpy()))
    mixed = dict(chunked(data))  # in-memory and streamed regimes together
    mixed[()] = data[()]
    assert_close(PooledBaseline().fit(mixed).predict(queries), reference.predict(queries))


def test_a_learner_that_cannot_stream_gets_the_chunks_concatenated(scm, queries):
    data = frames(scm, regimes_for(JointEffectEstimator, scm))
    est = JointEffectEstimator(learner=LinearRegression())
    assert not est.can_stream()
    streamed = est.fit(chunked(data, known=False))
    whole = JointEffectEstimator(learner=LinearRegression()).fit(data)
    np.testing.assert_allclose(streamed.predict(queries), whole.predict(queries), rtol=1e-9)
    assert streamed.n_rows_ == whole.n_rows_
    pooled = PooledBaseline(learner=LinearRegression()).fit(chunked(data))
    whole_pooled = PooledBaseline(learner=LinearRegression()).fit(data)
    np.testing.assert_allclose(pooled.predict(queries), whole_pooled.predict(queries), rtol=1e-9)


def test_dask_input_needs_a_learner_that_streams(scm):
    dd = pytest.importorskip("dask.dataframe")
    data = frames(scm, regimes_for(JointEffectEstimator, scm), n=100)
    lazy = {r: dd.from_pandas(f, npartitions=2) for r, f in data.items()}
    with pytest.raises(
        DataError,
        match=r"data of observational is a dask DataFrame, but JointEffectEstimator with "
        r"learner LinearRegression cannot fit from per-partition statistics.*\.compute\(\)",
    ):
        JointEffectEstimator(learner=LinearRegression()).fit(lazy)
    # the KS structure test needs whole samples; the default ("auto") streams with "binned"
    with pytest.raises(
        DataError,
        match=r"but StructuredEstimator cannot fit from per-partition statistics; pass "
        r"structure_test='binned'",
    ):
        StructuredEstimator(structure_test="ks").fit(lazy)
    assert not StructuredEstimator(structure_test="ks").capabilities().streams
    assert StructuredEstimator(structure_test="ks", dag={}).capabilities().streams
    assert StructuredEstimator().capabilities().streams


def test_every_chunk_is_validated(scm):
    data = frames(scm, regimes_for(JointEffectEstimator, scm), n=300)
    bad = data[("A1",)].copy()
    bad.iloc[250, 0] = np.nan
    with pytest.raises(DataError, match=r"chunk 2 of the data of do\(A1\), actions contains NaN"):
        JointEffectEstimator().fit(
            {**chunked(data, size=100), ("A1",): chunked({0: bad}, size=100)[0]}
        )
    renamed = [data[("A2",)].iloc[:150], data[("A2",)].iloc[150:].rename(columns={"A0": "a0"})]
    with pytest.raises(
        DataError, match=r"chunk 1 of the data of do\(A2\) lacks column\(s\) \['A0'\]"
    ):
        JointEffectEstimator().fit({**data, ("A2",): renamed})
    text = [data[()].iloc[:150], data[()].iloc[150:].astype({"A1": str})]
    with pytest.raises(
        DataError, match=r"chunk 1 of the data of observational: column 'A1' is not"
    ):
        JointEffectEstimator().fit({**data, (): text})
    with pytest.raises(DataError, match=r"chunks of do\(A0\) held 300 rows but n_rows=400"):
        JointEffectEstimator().fit({**data, ("A0",): RegimeChunks([data[("A0",)]], 400)})
    with pytest.raises(DataError, match=r"chunks of do\(A0\) hold more than n_rows=200"):
        JointEffectEstimator().fit({**data, ("A0",): RegimeChunks([data[("A0",)]], 200)})
    with pytest.raises(DataError, match=r"regime do\(A0\) has 5 rows; at least 10"):
        JointEffectEstimator().fit({**data, ("A0",): iter([data[("A0",)].iloc[:5]])})
    with pytest.raises(DataError, match="chunk stream of observational is empty"):
        JointEffectEstimator().fit({**data, (): iter([])})
    with pytest.raises(DataError, match="got ndarray"):
        JointEffectEstimator().fit({**data, (): [data[()].to_numpy()]})
    with pytest.raises(DataError, match=r"\(X, y\) array pairs cannot be mixed with streamed"):
        JointEffectEstimator().fit({(): (np.ones((20, 3)), np.ones(20)), ("A0",): [data[()]]})
    with pytest.raises(DataError, match="regime_col applies to one in-memory table"):
        JointEffectEstimator().fit({(): [data[()]]}, regime_col="regime")
    stream = chunked(data)
    est = JointEffectEstimator().fit(stream)
    with pytest.raises(DataError, match=r"observational is empty.*used up by one fit"):
        est.fit(stream)


def test_dask_partitions_are_validated(scm):
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    data = frames(scm, regimes_for(JointEffectEstimator, scm), n=300)
    lazy = {r: dd.from_pandas(f, npartitions=3) for r, f in data.items()}
    bad = data[("A0",)].copy()
    bad.iloc[250, 1] = np.inf
    # what travels to the workers pickles (a process cluster ships it)
    validate = pickle.loads(pickle.dumps(as_regime_streams(lazy).regimes[()].validator()))
    with pytest.raises(DataError, match=r"partition 7 of the data of observational: column"):
        validate(data[()].astype({"A2": str}), 7)
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(DataError, match=r"partition 2 of the data of do\(A0\), actions"):
            JointEffectEstimator().fit({**lazy, ("A0",): dd.from_pandas(bad, npartitions=3)})
        extra = dd.from_pandas(data[("A1",)].assign(radio=1.0), npartitions=2)
        with pytest.raises(
            DataError, match=r"data of do\(A1\) has unexpected column\(s\) \['radio"
        ):
            JointEffectEstimator().fit({**lazy, ("A1",): extra})
        tiny = dd.from_pandas(data[("A2",)].iloc[:4], npartitions=2)
        with pytest.raises(DataError, match=r"regime do\(A2\) has 4 rows"):
            JointEffectEstimator().fit({**lazy, ("A2",): tiny})


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("cls", [JointEffectEstimator, PooledBaseline])
def test_parquet_on_a_local_cluster_equals_in_memory_fit(
    cls, scm, queries, tmp_path, cluster_client
):
    dd = pytest.importorskip("dask.dataframe")
    data = frames(scm, regimes_for(cls, scm))
    lazy = {}
    for i, (regime, frame) in enumerate(data.items()):
        # uneven partitions, so the KFold boundaries fall inside partitions
        parts = [frame.iloc[:500], frame.iloc[500:1700], frame.iloc[1700:]]
        dd.from_pandas(frame, npartitions=1).repartition(
            divisions=[0, 500, 1700, N - 1]
        ).to_parquet(tmp_path / f"regime{i}")
        lazy[regime] = dd.read_parquet(tmp_path / f"regime{i}")
        assert lazy[regime].npartitions == len(parts)
    whole = cls().fit(data)
    on_cluster = cls().fit(lazy)
    assert [m.alpha_ for m in models(on_cluster)] == [m.alpha_ for m in models(whole)]
    assert_close(on_cluster.predict(queries), whole.predict(queries))
    assert on_cluster.n_rows_ == whole.n_rows_
    if cls is PooledBaseline:  # dask, streamed and in-memory regimes pooled in one fit
        mixed = {**chunked(data), (): lazy[()], ("A0",): data[("A0",)]}
        assert_close(cls().fit(mixed).predict(queries), whole.predict(queries))
