"""The one-pass sandwich for estimators that are ridge regressions on a fixed design.

Its row sums (the moments, the specification test's scores) are passes of a
:class:`~jointeffects.estimate.regimes.passes.SourceReader`, so held, chunked and dask
regimes give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.learners.basis import polynomial_columns
from jointeffects.estimate.learners.misfit import ScoreSums, score_statistic
from jointeffects.estimate.regimes import (
    Regime,
    RegimeData,
    RegimeStreams,
    as_regime_streams,
    row_chunks,
)
from jointeffects.estimate.regimes.passes import SourceReader, compute, measured_readers
from jointeffects.estimate.uncertainty.bands import check_level
from jointeffects.estimate.uncertainty.refits import fitted_on


def misspecification_note(fitted: Any, data: RegimeData, spec_level: float) -> str:
    """A note naming the specification test's rejection ("" if it does not reject)."""
    check_level(spec_level)
    stat, dof, pvalue = specification_test(fitted, data)
    if pvalue >= spec_level:
        return ""
    return (
        f"model misspecified (residual test chi2={stat:.0f} on {dof} df, p={pvalue:.2g}): the "
        "band ignores the bias; the paper's estimator (JointEffectEstimator, CLI --estimator "
        "paper) with bootstrap intervals does not rely on this model"
    )


def specification_test(fitted: Any, data: Any, degree: int = 2) -> tuple[float, int, float]:
    """Robust score test that no regime's residuals are predictable from the monomials of
    degree 1..``degree`` in all standardised actions: (statistic, degrees of freedom,
    p-value), ≈ χ² (conservatively) when the model is right. Degree 2 keeps the dimension
    small enough to hold the level at a few hundred rows per regime. ``data`` is held
    (:class:`RegimeData`) or streamed (two passes)."""
    readers = _readers(data, fitted.outcome_)
    sums = compute({r: rd.reduce(_MonomialSums(fitted, degree)) for r, rd in readers.items()})
    tasks = {r: _ScoreSums(fitted, r, degree, s[1:] / s[0]) for r, s in sums.items()}
    scores = compute({r: rd.reduce(tasks[r]) for r, rd in readers.items()})
    stat = sum(score_statistic(*scores[r]) for r in readers)
    dof = sum(len(s) - 1 for s in sums.values())
    return stat, dof, float(stats.chi2.sf(stat, dof))


def _readers(data: Any, outcome: str) -> dict[Regime, SourceReader]:
    """One :class:`SourceReader` per regime of held or streamed ``data``, dask ones measured."""
    streams = (
        RegimeStreams.from_data(data)
        if isinstance(data, RegimeData)
        else as_regime_streams(data, outcome=outcome)
    )
    return measured_readers(streams)


def _monomials(fitted: Any, X: np.ndarray, degree: int) -> np.ndarray:
    variables = tuple(range(X.shape[1]))
    return polynomial_columns((X - fitted.x_mean_) / fitted.x_scale_, variables, degree)


@dataclass(frozen=True)
class _MonomialSums:
    """Pass task: [row count, Σ monomials]."""

    fitted: Any
    degree: int

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> np.ndarray:
        total = sum(
            _monomials(self.fitted, X[part], self.degree).sum(axis=0) for part in row_chunks(len(y))
        )
        return np.concatenate([[len(y)], total])


@dataclass(frozen=True)
class _ScoreSums:
    """Pass task: the score sums (Σ s_i, Σ s_i s_iᵀ, n) of s_i = (z_i − z̄)·e_i."""

    fitted: Any
    regime: Regime
    degree: int
    zbar: np.ndarray

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> ScoreSums:
        theta = np.concatenate([[self.fitted.intercept_], self.fitted.coef_])
        d = len(self.zbar)
        out = ScoreSums(np.zeros(d), np.zeros((d, d)), 0)
        for part in row_chunks(len(y)):
            e = y[part] - self.fitted._linear_rows(X[part], self.regime) @ theta
            scores = (_monomials(self.fitted, X[part], self.degree) - self.zbar) * e[:, None]
            out = out.merge(ScoreSums(scores.sum(axis=0), scores.T @ scores, len(e)))
        return out


def structured_fit(estimator: RegimeEstimator, data: RegimeData) -> Any:
    """``estimator`` fitted on ``data`` (itself if it is, else a fitted clone), if it supports
    the sandwich; else refused."""
    if not estimator.capabilities().sandwich:
        raise DataError(
            f"the sandwich interval needs a StructuredEstimator, got {type(estimator).__name__}; "
            "use bootstrap_intervals for other estimators"
        )
    return fitted_on(estimator, data)


def sandwich_covariance(estimator: Any, data: Any) -> np.ndarray:
    """HC1 sandwich covariance of [intercept, coef] of a fitted StructuredEstimator, with
    the weighted rows of its lift tests (if any) in bread and meat."""
    moments = list(regime_moments(estimator, data).values())
    lift = estimator._lift_moments(np.concatenate([[estimator.intercept_], estimator.coef_]))
    if lift is not None:
        moments.append(lift)
    bread = sum(b for b, _ in moments)
    meat = sum(m for _, m in moments)
    return sandwich_from_moments(np.asarray(bread), np.asarray(meat), estimator.alpha_)


def regime_moments(estimator: Any, data: Any) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Per regime, Σ_i w_i w_iᵀ and Σ_i (e_i w_i − ḡ)(e_i w_i − ḡ)ᵀ, in one pass over held
    (:class:`RegimeData`) or streamed ``data``."""
    readers = _readers(data, estimator.outcome_)
    sums = compute({r: rd.reduce(_Moments(estimator, r)) for r, rd in readers.items()})
    return {r: (m.bread, m.meat - np.outer(m.score, m.score) / m.rows) for r, m in sums.items()}


@dataclass(frozen=True)
class Moments:
    """Row sums of one regime: Σ w wᵀ, Σ e² w wᵀ, Σ e w and the row count."""

    bread: np.ndarray
    meat: np.ndarray
    score: np.ndarray
    rows: int

    def merge(self, other: Moments) -> Moments:
        return Moments(
            self.bread + other.bread,
            self.meat + other.meat,
            self.score + other.score,
            self.rows + other.rows,
        )


@dataclass(frozen=True)
class _Moments:
    """Pass task of :class:`Moments` for ``estimator`` in ``regime``."""

    estimator: Any
    regime: Regime

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> Moments:
        theta = np.concatenate([[self.estimator.intercept_], self.estimator.coef_])
        p = len(theta)
        out = Moments(np.zeros((p, p)), np.zeros((p, p)), np.zeros(p), 0)
        for part in row_chunks(len(y)):
            W = self.estimator._linear_rows(X[part], self.regime)
            e = y[part] - W @ theta
            out = out.merge(Moments(W.T @ W, (W * e[:, None] ** 2).T @ W, W.T @ e, len(e)))
        return out


def sandwich_from_moments(bread: np.ndarray, meat: np.ndarray, alpha: float) -> np.ndarray:
    """A⁻¹ M A⁻¹ · n/(n − p) with A = bread + the StructuredEstimator's ridge penalty."""
    n = bread[0, 0]
    # StructuredEstimator's penalty: alpha·n on coefficients standardised by the columns'
    # centred root sums of squares (gram_ridge.solve_path); dead columns are dropped.
    centred = np.diag(bread)[1:] - bread[0, 1:] ** 2 / n
    live = np.concatenate([[True], centred > 1e-12 * max(1.0, centred.max())])
    penalty = np.concatenate([[0.0], alpha * n * centred])
    A_inv = np.linalg.pinv((bread + np.diag(penalty))[np.ix_(live, live)])
    cov = np.zeros_like(bread)
    hc1 = n / max(n - live.sum(), 1)
    cov[np.ix_(live, live)] = A_inv @ meat[np.ix_(live, live)] @ A_inv * hc1
    return cov
