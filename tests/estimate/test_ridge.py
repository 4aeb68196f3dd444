"""PolynomialRidgeCV against scikit-learn's GridSearchCV pipeline and exact references."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from jointeffects.errors import DataError
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

ALPHAS = np.logspace(-8, -1, 8)


def pipeline(degree: int, alpha: float = 1.0) -> Pipeline:
    return Pipeline(
        [
            ("poly", PolynomialFeatures(degree)),
            ("scale", StandardScaler()),
            ("ridge", Ridge(alpha=alpha)),
        ]
    )


def sklearn_search(X, y, degree: int, cv) -> GridSearchCV:
    search = GridSearchCV(pipeline(degree), {"ridge__alpha": ALPHAS}, cv=cv)
    return search.fit(X, y)


def smooth_data(n: int, d: int, seed: int, offset: float = 0.0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    y = np.sin(Z).sum(axis=1) + 0.5 * Z[:, 0] ** 2 + 0.3 * rng.normal(size=n)
    return Z * scale + offset, y


def assert_same_model(ours: PolynomialRidgeCV, ref: GridSearchCV, X, rtol: float = 1e-6) -> None:
    assert ours.alpha_ == ref.best_params_["ridge__alpha"]
    expected = ref.predict(X)
    got = ours.predict(X)
    assert np.max(np.abs(got - expected)) <= rtol * np.max(np.abs(expected))


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
def test_equals_sklearn_grid_search(degree: int, d: int) -> None:
    X, y = smooth_data(600, d, seed=10 * d + degree)
    ours = PolynomialRidgeCV(degree=degree, chunk_size=97).fit(X, y)
    ref = sklearn_search(X, y, degree, KFold(3))
    assert_same_model(ours, ref, X)
    np.testing.assert_allclose(ours.cv_scores_, ref.cv_results_["mean_test_score"], atol=1e-9)
    # the raw-monomial coefficients are the pipeline's, unscaled
    scaler, ridge = ref.best_estimator_["scale"], ref.best_estimator_["ridge"]
    np.testing.assert_allclose(
        ours.coef_,
        (ridge.coef_ / scaler.scale_)[1:],
        rtol=1e-5,
        atol=1e-8 * np.abs(ours.coef_).max(),
    )


@pytest.mark.parametrize("cv", [2, 4, 5])
def test_equals_sklearn_for_other_fold_counts(cv: int) -> None:
    X, y = smooth_data(503, 2, seed=cv)
    ours = PolynomialRidgeCV(degree=3, cv=cv).fit(X, y)
    assert_same_model(ours, sklearn_search(X, y, 3, KFold(cv)), X)
    assert ours.cv_fold_scores_.shape == (cv, len(ALPHAS))


def test_dataframe_input_and_target_column() -> None:
    X, y = smooth_data(400, 3, seed=5)
    frame = pd.DataFrame(X, columns=["tv", "email", "search"])
    ref = sklearn_search(frame, y, 3, KFold(3))
    ours = PolynomialRidgeCV().fit(frame, pd.Series(y))
    assert_same_model(ours, ref, frame)
    assert list(ours.feature_names_in_) == ["tv", "email", "search"]
    by_name = PolynomialRidgeCV().fit(frame.assign(Y=y), target="Y")
    np.testing.assert_allclose(by_name.predict(frame), ours.predict(frame), rtol=1e-12)


def test_moderately_large_n_with_many_chunk_merges() -> None:
    # 10^7 rows against scikit-learn would take minutes and ~5 GB in CI; the benchmark
    # (benchmarks/bench_learner.py) checks 10^7 streamed rows. Here 3·10^4 rows in 512-row
    # chunks exercise ~20 co-moment merges per fold.
    X, y = smooth_data(30_000, 5, seed=7)
    ours = PolynomialRidgeCV(chunk_size=512).fit(X, y)
    assert_same_model(ours, sklearn_search(X, y, 3, KFold(3)), X[:2000])


def naive_raw_sums_prediction(X, y, degree: int, alpha: float, Q) -> np.ndarray:
    """The textbook route: raw-monomial sums of squares, variances by E[z²] − E[z]²."""
    poly = PolynomialFeatures(degree, include_bias=False)
    Z, n = poly.fit_transform(X), len(y)
    mean = Z.mean(axis=0)
    cov = Z.T @ Z / n - np.outer(mean, mean)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    cross = Z.T @ y / n - mean * y.mean()
    beta = np.linalg.solve(n * cov / np.outer(sd, sd) + alpha * np.eye(len(sd)), n * cross / sd)
    return y.mean() + (poly.transform(Q) - mean) @ (beta / sd)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("degree", [1, 2, 3])
def test_large_offsets_and_scales(degree: int, seed: int) -> None:
    # offset/scale = 100: scikit-learn's two-pass pipeline is still accurate to ~3e-7 at
    # degree 3 (measured), while raw sums of squares lose the cubic terms
    X, y = smooth_data(2000, 3, seed=seed, offset=1e5, scale=1e3)
    ours = PolynomialRidgeCV(degree=degree, chunk_size=500).fit(X, y)
    ref = sklearn_search(X, y, degree, KFold(3))
    assert_same_model(ours, ref, X[:500])
    if degree == 3:
        naive = naive_raw_sums_prediction(X, y, degree, ours.alpha_, X[:500])
        expected = ref.predict(X[:500])
        assert np.max(np.abs(naive - expected)) > 1e-4 * np.max(np.abs(expected))


def exact_ridge_1d(x, y, degree: int, alpha: float, query) -> np.ndarray:
    """The pipeline's fit in exact rational arithmetic (one input): the penalty on the
    standardised coefficients is α·var_j·w_j² on the raw ones, so no square root enters."""
    n = len(x)
    Z = [[Fraction(float(v)) ** k for k in range(1, degree + 1)] for v in x]
    Y = [Fraction(float(v)) for v in y]
    mz = [sum(r[j] for r in Z) / n for j in range(degree)]
    my = sum(Y) / n
    Zc = [[r[j] - mz[j] for j in range(degree)] for r in Z]
    G = [[sum(r[i] * r[j] for r in Zc) for j in range(degree)] for i in range(degree)]
    A = [
        [G[i][j] + (Fraction(alpha) * G[i][i] / n if i == j else 0) for j in range(degree)]
        + [sum(r[i] * (v - my) for r, v in zip(Zc, Y, strict=True))]
        for i in range(degree)
    ]
    for i in range(degree):  # Gauss–Jordan elimination
        A[i] = [a / A[i][i] for a in A[i]]
        for k in range(degree):
            if k != i:
                A[k] = [a - A[k][i] * b for a, b in zip(A[k], A[i], strict=True)]
    w = [A[i][degree] for i in range(degree)]
    return np.array(
        [
            float(my + sum(w[j] * (Fraction(float(q)) ** (j + 1) - mz[j]) for j in range(degree)))
            for q in query
        ]
    )


@pytest.mark.parametrize("alpha", [1e-8, 1e-4, 1e-1])
def test_offset_1e6_against_exact_arithmetic(alpha: float) -> None:
    # x·1e3 + 1e6: scikit-learn's float pipeline itself is only ~1e-8 accurate at degree 3
    # (x³ ≈ 1e18); against exact rationals we are far closer
    x, y = smooth_data(300, 1, seed=4, offset=1e6, scale=1e3)
    ours = PolynomialRidgeCV(degree=3, alphas=[alpha], chunk_size=64).fit(x, y)
    exact = exact_ridge_1d(x[:, 0], y, 3, alpha, x[:40, 0])
    assert np.max(np.abs(ours.predict(x[:40]) - exact)) <= 1e-10 * np.max(np.abs(exact))


def test_fit_chunks_equals_fit_with_n_samples() -> None:
    X, y = smooth_data(5003, 3, seed=8)
    whole = PolynomialRidgeCV(chunk_size=1000).fit(X, y)
    stream = ((X[a : a + 777], y[a : a + 777]) for a in range(0, 5003, 777))
    streamed = PolynomialRidgeCV(chunk_size=1000).fit_chunks(stream, n_samples=5003)
    assert streamed.alpha_ == whole.alpha_
    np.testing.assert_allclose(streamed.predict(X), whole.predict(X), rtol=1e-9, atol=1e-9)
    frames = (
        pd.DataFrame(X[a : a + 1000], columns=list("abc")).assign(Y=y[a : a + 1000])
        for a in range(0, 5003, 1000)
    )
    named = PolynomialRidgeCV().fit_chunks(frames, n_samples=5003, target="Y")
    np.testing.assert_allclose(named.predict(X), whole.predict(X), rtol=1e-9, atol=1e-9)
    assert list(named.feature_names_in_) == ["a", "b", "c"]


def modulo_folds(n: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rows = np.arange(n)
    return [(rows[rows % k != f], rows[rows % k == f]) for f in range(k)]


def test_fit_chunks_without_n_samples_uses_row_index_modulo_cv() -> None:
    X, y = smooth_data(1000, 2, seed=9)
    stream = ((X[a : a + 99], y[a : a + 99]) for a in range(0, 1000, 99))
    ours = PolynomialRidgeCV().fit_chunks(stream)
    assert_same_model(ours, sklearn_search(X, y, 3, modulo_folds(1000, 3)), X)


def test_pooled_statistics_of_two_regimes() -> None:
    # the internal API: statistics of several datasets merged fold by fold, fitted once
    (X1, y1), (X2, y2) = smooth_data(300, 2, seed=11), smooth_data(450, 2, seed=12)
    learner = PolynomialRidgeCV()
    stats = learner.new_stats(X1, n_samples=300).update(X1, y1)
    stats.merge(stats.empty_like(n_samples=450).update(X2, y2))
    ours = learner.fit_stats(stats)
    folds1, folds2 = KFold(3).split(X1), KFold(3).split(X2)
    cv = [
        (np.concatenate([a, 300 + c]), np.concatenate([b, 300 + e]))
        for (a, b), (c, e) in zip(folds1, folds2, strict=True)
    ]
    X, y = np.vstack([X1, X2]), np.concatenate([y1, y2])
    assert_same_model(ours, sklearn_search(X, y, 3, cv), X)


def test_sklearn_conventions() -> None:
    est = PolynomialRidgeCV(degree=2, cv=4)
    assert clone(est).get_params()["cv"] == 4
    assert est.set_params(degree=1).degree == 1
    X, y = smooth_data(100, 2, seed=0)
    fitted = est.fit(X, y)
    assert fitted is est and est.n_features_in_ == 2 and est.powers_.shape == (2, 2)
    assert est.score(X, y) > 0.5  # RegressorMixin's R²


def test_validation_messages() -> None:
    X, y = smooth_data(100, 2, seed=0)
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(\.\.\.\) first"):
        PolynomialRidgeCV().predict(X)
    with pytest.raises(DataError, match="NaN or infinite"):
        PolynomialRidgeCV().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(DataError, match="y holds NaN or infinite"):
        PolynomialRidgeCV().fit(X, np.where(y > 1, np.inf, y))
    with pytest.raises(DataError, match="5 rows are too few for cv=3 folds"):
        PolynomialRidgeCV().fit(X[:5], y[:5])
    with pytest.raises(DataError, match="100 rows but y has 99"):
        PolynomialRidgeCV().fit(X, y[:99])
    est = PolynomialRidgeCV().fit(X, y)
    with pytest.raises(DataError, match=r"shape \(100, 3\); the model was fitted on 2"):
        est.predict(np.ones((100, 3)))
    with pytest.raises(DataError, match="NaN or infinite"):
        est.predict(np.full((1, 2), np.inf))
    named = PolynomialRidgeCV().fit(pd.DataFrame(X, columns=["a", "b"]), y)
    with pytest.raises(DataError, match=r"columns \['b', 'a'\]"):
        named.predict(pd.DataFrame(X, columns=["b", "a"]))
    with pytest.raises(DataError, match="held 100 rows but n_samples=120"):
        PolynomialRidgeCV().fit_chunks([(X, y)], n_samples=120)
    with pytest.raises(DataError, match="got no chunks"):
        PolynomialRidgeCV().fit_chunks([])
    with pytest.raises(DataError, match="target='Z' is not a column"):
        PolynomialRidgeCV().fit(pd.DataFrame(X, columns=["a", "b"]), target="Z")
    with pytest.raises(ValueError, match="cv=1: need at least 2 folds"):
        PolynomialRidgeCV(cv=1).fit(X, y)


def test_dask_parquet_on_local_cluster(tmp_path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    X, y = smooth_data(6007, 3, seed=13)
    frame = pd.DataFrame(X, columns=["tv", "email", "search"]).assign(Y=y)
    dd.from_pandas(frame, npartitions=5).to_parquet(tmp_path / "data")
    whole = PolynomialRidgeCV(chunk_size=1000).fit(frame.drop(columns="Y"), y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        data = dd.read_parquet(tmp_path / "data")
        assert data.npartitions > 1
        ours = PolynomialRidgeCV(chunk_size=1000).fit(data, target="Y")
        separate = PolynomialRidgeCV(chunk_size=1000).fit(
            data[["tv", "email", "search"]], data["Y"]
        )
    assert ours.alpha_ == whole.alpha_ == separate.alpha_
    assert list(ours.feature_names_in_) == ["tv", "email", "search"]
    np.testing.assert_allclose(ours.predict(X), whole.predict(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(separate.predict(X), whole.predict(X), rtol=1e-9, atol=1e-9)


def test_learners_and_estimators_print():
    from jointeffects.estimate import JointEffectEstimator

    assert repr(PolynomialRidgeCV()) == "PolynomialRidgeCV()"
    nested = repr(JointEffectEstimator(learner=PolynomialRidgeCV(degree=2, alphas=[0.1, 1.0])))
    assert "degree=2" in nested and "alphas=[0.1, 1.0]" in nested
