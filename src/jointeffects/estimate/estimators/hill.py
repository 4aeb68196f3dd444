"""A declared shape for a channel known from lift tests alone: the Hill curve.

φ(a) = β·a / (a + κ) for spend a ≥ 0, with β, κ > 0 (a Hill curve of exponent 1): zero at
zero spend, increasing, concave and saturating at β. No raw row involves the curve of a
channel without an experiment, so it is fitted on that channel's lift tests alone, by
weighted nonlinear least squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from jointeffects.errors import DataError


@dataclass(frozen=True)
class HillCurve:
    """A fitted Hill curve φ(a) = beta·a / (a + kappa); spend below 0 counts as 0.

    The declared shape of a channel known from lift tests alone
    (``StructuredEstimator(lift_shape="hill")``), kept in the fit's ``hill_``. It assumes a
    monotone, saturating curve that is zero at zero spend. Read more in the
    :ref:`user guide <lift-tests>`.

    Attributes
    ----------
    beta : float
        The saturation level (φ tends to beta as spend grows).
    kappa : float
        The half-saturation spend: φ(kappa) = beta / 2.
    covariance : ndarray of shape (2, 2)
        Covariance of (beta, kappa) from the fit's Jacobian and the tests' standard errors.
    """

    beta: float
    kappa: float
    covariance: np.ndarray

    def __call__(self, a: np.ndarray) -> np.ndarray:
        a = np.clip(np.asarray(a, dtype=float), 0.0, None)
        return self.beta * a / (a + self.kappa)

    def gradient(self, a: np.ndarray) -> np.ndarray:
        """∂φ/∂(beta, kappa) at the levels ``a``: shape (len(a), 2)."""
        a = np.clip(np.asarray(a, dtype=float), 0.0, None)
        return np.column_stack([a / (a + self.kappa), -self.beta * a / (a + self.kappa) ** 2])


def _shape(a: np.ndarray, kappa: float) -> np.ndarray:
    a = np.clip(a, 0.0, None)
    return a / (a + kappa)


def fit_hill(tests: pd.DataFrame, channel: str) -> HillCurve:
    """The Hill curve that best fits ``channel``'s lift tests, weighted by 1/σ².

    Parameters
    ----------
    tests : DataFrame
        Validated lift tests (:func:`~.lift.lift_table`); only ``channel``'s rows are used.
    channel : str
        The channel, with tests at two or more distinct levels.

    Returns
    -------
    HillCurve
    """
    mine = tests[tests["channel"] == channel]
    lo = mine["x"].to_numpy()
    hi = lo + mine["delta_x"].to_numpy()
    dy, sigma = mine["delta_y"].to_numpy(), mine["sigma"].to_numpy()

    def residuals(theta: np.ndarray) -> np.ndarray:
        beta, kappa = np.exp(theta)
        return (beta * (_shape(hi, kappa) - _shape(lo, kappa)) - dy) / sigma

    # start from the best κ of a grid, with β by weighted least squares given κ
    ends = np.concatenate([lo, hi])
    top = max(float(ends.max()), 1e-12)
    best, start = np.inf, None
    for kappa in np.geomspace(top * 1e-3, top * 1e3, 61):
        d = (_shape(hi, kappa) - _shape(lo, kappa)) / sigma
        beta = float(d @ (dy / sigma) / max(d @ d, 1e-300))
        if beta <= 0:
            continue
        loss = float(np.sum((beta * d - dy / sigma) ** 2))
        if loss < best:
            best, start = loss, np.log([beta, kappa])
    if start is None:
        raise DataError(
            f"the lift tests of '{channel}' show no increase of the outcome with spend, which "
            "a Hill curve (increasing) cannot fit; drop the declared shape"
        )
    fit = least_squares(residuals, start, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    beta, kappa = np.exp(fit.x)
    # the Jacobian in (β, κ) from the one in logs; residuals are scaled by the known σ
    J = fit.jac / np.exp(fit.x)[None, :]
    cov = np.linalg.pinv(J.T @ J)
    return HillCurve(float(beta), float(kappa), cov)
