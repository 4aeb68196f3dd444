"""The one-pass sandwich for estimators that are ridge regressions on a fixed design."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.learners.basis import polynomial_columns
from jointeffects.estimate.learners.misfit import robust_score_statistic
from jointeffects.estimate.regimes import RegimeData, row_chunks
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


def specification_test(fitted: Any, data: RegimeData, degree: int = 2) -> tuple[float, int, float]:
    """Robust score test that no regime's residuals are predictable from the monomials of
    degree 1..``degree`` in all standardised actions: (statistic, degrees of freedom,
    p-value), ≈ χ² (conservatively) when the model is right. Degree 2 keeps the dimension
    small enough to hold the level at a few hundred rows per regime."""
    theta = np.concatenate([[fitted.intercept_], fitted.coef_])
    variables = tuple(range(len(data.actions)))

    def monomials(X: np.ndarray) -> np.ndarray:
        return polynomial_columns((X - fitted.x_mean_) / fitted.x_scale_, variables, degree)

    stat, dof = 0.0, 0
    for regime, (X, y) in data.regimes.items():
        chunks = row_chunks(len(y))
        zbar = sum(monomials(X[part]).sum(axis=0) for part in chunks) / len(y)
        scores = (
            (monomials(X[part]) - zbar)
            * (y[part] - fitted._linear_rows(X[part], regime) @ theta)[:, None]
            for part in chunks
        )
        stat += robust_score_statistic(scores)
        dof += len(zbar)
    return stat, dof, float(stats.chi2.sf(stat, dof))


def structured_fit(estimator: RegimeEstimator, data: RegimeData) -> Any:
    """``estimator`` fitted on ``data`` (itself if it is, else a fitted clone), if it supports
    the sandwich; else refused."""
    if not estimator.capabilities().sandwich:
        raise DataError(
            f"the sandwich interval needs a StructuredEstimator, got {type(estimator).__name__}; "
            "use bootstrap_intervals for other estimators"
        )
    return fitted_on(estimator, data)


def sandwich_covariance(estimator: Any, data: RegimeData) -> np.ndarray:
    """HC1 sandwich covariance of [intercept, coef] of a fitted StructuredEstimator, with
    the weighted rows of its lift tests (if any) in bread and meat."""
    moments = list(regime_moments(estimator, data).values())
    lift = estimator._lift_moments(np.concatenate([[estimator.intercept_], estimator.coef_]))
    if lift is not None:
        moments.append(lift)
    bread = sum(b for b, _ in moments)
    meat = sum(m for _, m in moments)
    return sandwich_from_moments(np.asarray(bread), np.asarray(meat), estimator.alpha_)


def regime_moments(estimator: Any, data: RegimeData) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Per regime, Σ_i w_i w_iᵀ and Σ_i (e_i w_i − ḡ)(e_i w_i − ḡ)ᵀ (one streaming pass)."""
    theta = np.concatenate([[estimator.intercept_], estimator.coef_])
    p = len(theta)
    out = {}
    for regime, (X, y) in data.regimes.items():
        bread, meat, score = np.zeros((p, p)), np.zeros((p, p)), np.zeros(p)
        for part in row_chunks(len(y)):
            W = estimator._linear_rows(X[part], regime)
            e = y[part] - W @ theta
            bread += W.T @ W
            meat += (W * e[:, None] ** 2).T @ W
            score += W.T @ e
        out[regime] = (bread, meat - np.outer(score, score) / len(y))
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
