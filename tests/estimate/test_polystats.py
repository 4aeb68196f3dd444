"""The sufficient-statistics accumulator against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import PolynomialFeatures

from jointeffects.errors import DataError
from jointeffects.estimate.learners.polystats import (
    FoldedStats,
    PolynomialStats,
    binomial_map,
    kfold_bounds,
    merge_all,
    monomial_powers,
)


@pytest.mark.parametrize(("d", "degree"), [(1, 3), (2, 2), (3, 3), (5, 3)])
def test_monomials_follow_polynomial_features(d: int, degree: int) -> None:
    X = np.random.default_rng(0).normal(size=(20, d))
    poly = PolynomialFeatures(degree, include_bias=False).fit(X)
    np.testing.assert_array_equal(monomial_powers(d, degree), poly.powers_)
    stats = PolynomialStats(degree, np.zeros(d), np.ones(d))  # identity transform
    np.testing.assert_allclose(stats.expand(X), poly.transform(X), rtol=1e-13)


def test_binomial_map_reproduces_raw_monomials() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)) * [2.0, 0.5, 3.0] + [4.0, -1.0, 0.0]
    stats = PolynomialStats.for_data(X, degree=3)
    T, t0 = binomial_map(stats.powers, stats.center, stats.scale)
    raw = PolynomialFeatures(3, include_bias=False).fit_transform(X)
    np.testing.assert_allclose(stats.expand(X) @ T.T + t0, raw, rtol=1e-12, atol=1e-12)
    assert np.allclose(T, np.tril(T))  # degree order makes the map triangular


def test_chunked_merged_moments_equal_direct_ones() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 2)) * 10 + 5
    y = X[:, 0] ** 2 + rng.normal(size=1000)
    whole = PolynomialStats.for_data(X[:100], degree=2).update(X, y)
    parts = [whole.empty_like().update(X[a : a + 137], y[a : a + 137]) for a in range(0, 1000, 137)]
    merged = merge_all(parts)
    Z = np.column_stack([whole.expand(X), y])
    assert merged.count == 1000
    np.testing.assert_allclose(merged.mean, Z.mean(axis=0), rtol=1e-12, atol=1e-12)
    centred = Z - Z.mean(axis=0)
    np.testing.assert_allclose(merged.comoment, centred.T @ centred, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(merged.comoment, whole.comoment, rtol=1e-10, atol=1e-9)


def test_kfold_bounds_match_sklearn() -> None:
    from sklearn.model_selection import KFold

    for n, k in [(10, 3), (11, 5), (12, 4)]:
        bounds = kfold_bounds(n, k)
        for f, (_, test) in enumerate(KFold(k).split(np.zeros(n))):
            np.testing.assert_array_equal(test, np.arange(bounds[f], bounds[f + 1]))


def test_streamed_folds_contiguous_and_modulo() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(101, 2)), rng.normal(size=101)
    template = PolynomialStats.for_data(X, degree=1)
    contiguous = FoldedStats(template, 3, n_samples=101, chunk_size=16)
    modulo = FoldedStats(template, 3, chunk_size=16)
    for a in range(0, 101, 30):
        contiguous.update(X[a : a + 30], y[a : a + 30])
        modulo.update(X[a : a + 30], y[a : a + 30])
    bounds = kfold_bounds(101, 3)
    for f in range(3):
        block = template.empty_like().update(
            X[bounds[f] : bounds[f + 1]], y[bounds[f] : bounds[f + 1]]
        )
        np.testing.assert_allclose(contiguous.folds[f].comoment, block.comoment, atol=1e-10)
        strided = template.empty_like().update(X[f::3], y[f::3])
        np.testing.assert_allclose(modulo.folds[f].comoment, strided.comoment, atol=1e-10)
    assert contiguous.count == modulo.count == 101


def test_merge_refuses_other_transform_and_overlong_stream() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    a = PolynomialStats.for_data(X, degree=2)
    with pytest.raises(DataError, match="different degree or input transform"):
        a.merge(PolynomialStats.for_data(X + 1, degree=2))
    folded = FoldedStats(a, 2, n_samples=5)
    with pytest.raises(DataError, match="more than n_samples=5"):
        folded.update(X, y)
    with pytest.raises(DataError, match="NaN or infinite"):
        a.update(X, np.where(y > 3, np.nan, y))
