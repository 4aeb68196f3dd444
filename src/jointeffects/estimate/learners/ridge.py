"""The paper's learner: polynomial ridge regression with the penalty chosen by K-fold CV.

:class:`PolynomialRidgeCV` gives the predictions of scikit-learn's

``GridSearchCV(Pipeline([PolynomialFeatures(degree), StandardScaler(), Ridge()]),
{"ridge__alpha": alphas}, cv=KFold(cv))``

(R² scoring, mean over folds, first alpha among ties, refit on all rows) but never builds the
n × p design: it streams rows in chunks into per-fold sufficient statistics
(:mod:`jointeffects.estimate.learners.polystats`), solves every alpha of a fold from one
decomposition of the standardised Gram, scores each held-out fold from its own statistics and
refits from the merged statistics of all folds. Memory is O(p² + chunk_size · p).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from jointeffects.errors import DataError
from jointeffects.estimate.learners.polystats import (
    FoldedStats,
    PolynomialStats,
    binomial_map,
    check_finite,
)

_EPS = np.finfo(float).eps


#: The default penalties, np.logspace(-8, -1, 8) as a tuple: scikit-learn's repr compares a
#: parameter with its default, which fails for an array default ("truth value ... ambiguous").
ALPHAS = tuple(np.logspace(-8, -1, 8).tolist())


class PolynomialRidgeCV(RegressorMixin, BaseEstimator):
    """Cubic (or any degree) polynomial ridge with the penalty chosen by K-fold CV.

    All monomials of the inputs up to ``degree`` are standardised with the training rows'
    means and population standard deviations, the outcome is centred, and the ridge penalty
    ``alpha`` (on the standardised coefficients) is the one of ``alphas`` with the best mean
    held-out R² over ``KFold(cv)`` folds (contiguous blocks, no shuffle; the first alpha wins
    ties); the model is then refitted on all rows. The paper's learner (Appendix E).

    Parameters
    ----------
    degree : int, default=3
        Largest total degree of the monomials.
    alphas : array-like of float, default=ALPHAS (np.logspace(-8, -1, 8) as a tuple)
        Candidate penalties.
    cv : int, default=3
        Number of folds (at least 2).
    chunk_size : int, default=16384
        Rows expanded at a time; memory is about ``chunk_size · (n_monomials + 1) · 8`` bytes.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    coef_ : ndarray of shape (n_monomials,)
        Coefficients of the raw monomials (``powers_`` order, that of ``PolynomialFeatures``
        without the bias column); ``intercept_ + monomials(x) @ coef_`` is the prediction.
    intercept_ : float
    powers_ : ndarray of int of shape (n_monomials, ``n_features_in_``)
        Exponents of each monomial.
    cv_scores_ : ndarray of shape (n_alphas,)
        Mean held-out R² of each alpha.
    cv_fold_scores_ : ndarray of shape (cv, n_alphas)
        Held-out R² per fold and alpha.
    stats_ : FoldedStats
        The per-fold sufficient statistics the model was fitted from.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X[:, 0] ** 2 + rng.normal(size=200)
    >>> PolynomialRidgeCV(degree=2).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        degree: int = 3,
        alphas: Any = ALPHAS,
        cv: int = 3,
        chunk_size: int = 16384,
    ) -> None:
        self.degree = degree
        self.alphas = alphas
        self.cv = cv
        self.chunk_size = chunk_size

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, *, target: str | None = None) -> PolynomialRidgeCV:
        """Fit on in-memory or Dask data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or dask DataFrame
            Inputs. A dask DataFrame is reduced partition by partition on the current Dask
            scheduler (e.g. a ``distributed.Client``); folds follow global row positions, so
            the result equals the in-memory fit.
        y : array-like of shape (n_samples,) or dask Series, optional
            Outcome; omit it when ``target`` names a column of ``X``.
        target : str, optional
            Outcome column of a (dask) DataFrame ``X``; the other columns are the inputs.

        Returns
        -------
        self
        """
        if _is_dask(X):
            return self._fit_dask(X, y, target)
        X, y = _split_target(X, y, target)
        names = _feature_names(X)
        if not hasattr(X, "iloc"):
            X = np.asarray(X)
        y = np.asarray(y, dtype=float).ravel()
        if X.ndim != 2:
            raise DataError(f"X must be 2-dimensional (n_samples, n_features); got {X.shape}")
        if len(y) != len(X):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}; pass one y per row")
        self._check_rows(len(X))
        step = int(self.chunk_size)
        stats = self.new_stats(_rows(X, 0, step), n_samples=len(X))
        for a in range(0, len(X), step):
            stats.update(_rows(X, a, a + step), y[a : a + step])
        self.fit_stats(stats)
        _set_names(self, names)
        return self

    def _fit_dask(self, X: Any, y: Any, target: str | None) -> PolynomialRidgeCV:
        from jointeffects.estimate.learners.dask import dask_folded_stats

        if target is None:
            _split_target(X, y, None)  # y is required
            if getattr(y, "npartitions", None) != X.npartitions:
                raise DataError(
                    "with a dask DataFrame X, y must be a dask Series with the same "
                    "partitions (or pass fit(frame, target='column'))"
                )
            target = "__target__"
            X = X.assign(**{target: y})
        else:
            _split_target(X, y, target)  # the column must exist, y must not be given
        self.fit_stats(dask_folded_stats(self, X, target))
        self.feature_names_in_ = np.asarray(
            [str(c) for c in X.columns if c != target], dtype=object
        )
        return self

    def fit_chunks(
        self,
        chunks: Iterable[Any],
        n_samples: int | None = None,
        *,
        target: str | None = None,
    ) -> PolynomialRidgeCV:
        """Fit from a stream of row chunks without holding them.

        Parameters
        ----------
        chunks : iterable
            ``(X, y)`` pairs of arrays (or DataFrame and Series), or, with ``target``,
            DataFrames holding the inputs and the outcome column. The input transform comes
            from the first chunk.
        n_samples : int, optional
            Total rows of the stream. Given, the folds are ``KFold(cv)``'s contiguous blocks
            and the result equals ``fit`` on the concatenated rows (up to rounding). Omitted,
            row i (counted over the whole stream) goes to fold ``i % cv``.
        target : str, optional
            Outcome column of DataFrame chunks.

        Returns
        -------
        self
        """
        stats: FoldedStats | None = None
        names = None
        for chunk in chunks:
            if target is None:
                if not (isinstance(chunk, tuple | list) and len(chunk) == 2):
                    raise DataError(
                        "fit_chunks needs (X, y) pairs, or DataFrames with target='column'"
                    )
                X, y = chunk
            else:
                X, y = _split_target(chunk, None, target)
            if stats is None:
                names = _feature_names(X)
                if n_samples is not None:
                    self._check_rows(n_samples)
                stats = self.new_stats(_as_float(X), n_samples=n_samples)
            else:
                _check_names(_feature_names(X), names, "the first chunk's")
            stats.update(_as_float(X), np.asarray(y, dtype=float).ravel())
        if stats is None:
            raise DataError("fit_chunks got no chunks; pass at least one (X, y) chunk")
        if n_samples is not None and stats.count != n_samples:
            raise DataError(
                f"the stream held {stats.count} rows but n_samples={n_samples}; pass the "
                "true total (or n_samples=None for folds by row index modulo cv)"
            )
        self._check_rows(stats.count)
        self.fit_stats(stats)
        _set_names(self, names)
        return self

    def new_stats(self, pilot: Any, n_samples: int | None = None) -> FoldedStats:
        """Empty per-fold statistics for this learner, with the input transform of ``pilot``.

        Accumulators made from one another (``stats.empty_like()``) share the transform and
        can be merged, e.g. to pool several regimes' rows and call :meth:`fit_stats` once.
        """
        self._check_params()
        template = PolynomialStats.for_data(_as_float(pilot), self.degree)
        return FoldedStats(template, int(self.cv), n_samples, chunk_size=int(self.chunk_size))

    def fit_stats(self, stats: FoldedStats) -> PolynomialRidgeCV:
        """Choose alpha by CV and refit, from per-fold sufficient statistics. Returns self."""
        self._check_params()
        if len(stats.folds) != int(self.cv):
            raise DataError(f"the statistics hold {len(stats.folds)} folds but cv={self.cv}")
        self._check_rows(stats.count)
        alphas = np.asarray(self.alphas, dtype=float).ravel()
        template = stats.folds[0]
        T, t0 = binomial_map(template.powers, template.center, template.scale)
        scores = np.empty((len(stats.folds), len(alphas)))
        for f, held_out in enumerate(stats.folds):
            v, b = _ridge_path(stats.training(f), T, t0, alphas)
            scores[f] = _r2(held_out, v, b)
        self.cv_fold_scores_ = scores
        self.cv_scores_ = scores.mean(axis=0)
        best = int(np.argmax(self.cv_scores_))  # first of tied maxima, as GridSearchCV
        self.alpha_ = float(alphas[best])
        v, b = _ridge_path(stats.total(), T, t0, alphas[best : best + 1])
        self._v, self._b = v[:, 0], float(b[0])
        self._template = template
        self.coef_ = np.linalg.solve(T.T, self._v)  # v = Tᵀ w for raw coefficients w
        self.intercept_ = self._b - float(t0 @ self.coef_)
        self.powers_ = template.powers
        self.n_features_in_ = template.n_features
        self.stats_ = stats
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    # -- prediction -------------------------------------------------------------------------

    def predict(self, X: Any) -> np.ndarray:
        """Predict the outcome.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_queries, ``n_features_in_``)

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        if not hasattr(self, "_v"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) first"
            )
        _check_names(_feature_names(X), getattr(self, "feature_names_in_", None), "the fitted")
        X = _as_float(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise DataError(
                f"X has shape {X.shape}; the model was fitted on {self.n_features_in_} "
                "feature column(s)"
            )
        check_finite(X)
        out = np.empty(len(X))
        step = int(self.chunk_size)
        for a in range(0, len(X), step):  # predict through the well-conditioned transform
            out[a : a + step] = self._template.expand(X[a : a + step]) @ self._v + self._b
        return out

    # -- checks -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if int(self.cv) < 2:
            raise ValueError(f"cv={self.cv}: need at least 2 folds")
        if int(self.degree) < 1:
            raise ValueError(f"degree={self.degree}: need degree >= 1")
        alphas = np.asarray(self.alphas, dtype=float).ravel()
        if alphas.size == 0 or not np.all(alphas > 0) or not np.all(np.isfinite(alphas)):
            raise ValueError(f"alphas={self.alphas!r}: need one or more positive finite values")
        if int(self.chunk_size) < 1:
            raise ValueError(f"chunk_size={self.chunk_size}: need a positive number of rows")

    def _check_rows(self, n: int) -> None:
        if n < 2 * int(self.cv):
            raise DataError(
                f"{n} rows are too few for cv={self.cv} folds; pass at least {2 * int(self.cv)} "
                "rows or lower cv"
            )


def _ridge_path(
    stats: PolynomialStats, T: np.ndarray, t0: np.ndarray, alphas: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge on the standardised raw monomials, for every alpha, from one SVD.

    Returns ``v`` (n_monomials, n_alphas) and ``b`` (n_alphas,) with predictions
    ``b + monomials(u) @ v`` in the transformed inputs u.
    """
    n, p = stats.count, len(T)
    C = stats.comoment[:p, :p] / n  # covariance of the transformed monomials
    c_y = stats.comoment[:p, p] / n
    TL = T @ _psd_factor(C)  # raw covariance T C Tᵀ = TL TLᵀ
    var = np.einsum("ij,ij->i", TL, TL)
    mean = T @ stats.mean[:p] + t0
    # StandardScaler's rule: a (numerically) constant column keeps scale 1
    constant = var <= n * _EPS * var + (n * mean * _EPS) ** 2
    sd = np.where(constant, 1.0, np.sqrt(var))
    U, S, _ = np.linalg.svd(TL / sd[:, None])  # standardised Gram / n = U S² Uᵀ
    r = U.T @ (n * (T @ c_y) / sd)
    beta = U @ (r[:, None] / (n * S[:, None] ** 2 + alphas[None, :]))
    v = T.T @ (beta / sd[:, None])
    b = stats.mean[p] - stats.mean[:p] @ v
    return v, b


def _psd_factor(C: np.ndarray) -> np.ndarray:
    """L with C = L Lᵀ: Cholesky, or the eigendecomposition when C is singular."""
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:  # e.g. an input constant over the training rows
        lam, Q = np.linalg.eigh(C)
        return Q * np.sqrt(np.clip(lam, 0.0, None))


def _r2(held_out: PolynomialStats, v: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Held-out R² = 1 − SSE/SST of each column of (v, b), from the fold's statistics."""
    p = len(v)
    M, mean, n = held_out.comoment, held_out.mean, held_out.count
    shift = mean[p] - b - mean[:p] @ v  # mean residual
    sse = M[p, p] - 2 * (M[:p, p] @ v) + np.einsum("ia,ij,ja->a", v, M[:p, :p], v)
    sse = np.maximum(sse, 0.0) + n * shift**2
    sst = M[p, p]
    if sst == 0:  # r2_score's convention for a constant held-out outcome
        return np.where(sse == 0, 1.0, 0.0)
    return 1.0 - sse / sst


# -- input helpers ------------------------------------------------------------------------


def _is_dask(X: Any) -> bool:
    return type(X).__module__.split(".")[0].startswith("dask")


def _split_target(X: Any, y: Any, target: str | None) -> tuple[Any, Any]:
    if target is None:
        if y is None:
            raise DataError("y is missing: pass fit(X, y) or fit(frame, target='column')")
        return X, y
    if y is not None:
        raise DataError("pass either y or target=..., not both")
    if not hasattr(X, "columns") or target not in X.columns:
        cols = list(X.columns) if hasattr(X, "columns") else None
        raise DataError(f"target={target!r} is not a column of X; columns are {cols}")
    return X.drop(columns=[target]), X[target]


def _feature_names(X: Any) -> np.ndarray | None:
    if hasattr(X, "columns"):
        return np.asarray([str(c) for c in X.columns], dtype=object)
    return None


def _check_names(names: np.ndarray | None, expected: np.ndarray | None, whose: str) -> None:
    if names is not None and expected is not None and list(names) != list(expected):
        raise DataError(
            f"X has columns {list(names)}; {whose} columns are {list(expected)} (same names, "
            "same order)"
        )


def _set_names(est: PolynomialRidgeCV, names: np.ndarray | None) -> None:
    if names is not None:
        est.feature_names_in_ = names


def _as_float(X: Any) -> np.ndarray:
    try:
        if hasattr(X, "to_numpy"):
            return np.asarray(X.to_numpy(dtype=float))
        return np.asarray(X, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(f"X must hold numbers only: {err}") from err


def _rows(X: Any, a: int, b: int) -> np.ndarray:
    return _as_float(X.iloc[a:b] if hasattr(X, "iloc") else X[a:b])
