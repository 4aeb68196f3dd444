"""Regimes simulated from a fitted model: what data planning asks "what if we had more rows?".

A regime is simulated at any size by resampling its actions and adding, to the model's mean
in that regime, a residual resampled from a fit in the same regime. Data plans
(:func:`~jointeffects.recommend_allocation`) simulate every regime from a pilot fit; the
choice of the next experiment (:func:`~jointeffects.recommend_experiment`) simulates one more
experiment from a model drawn from the fit's uncertainty.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jointeffects.estimate.regimes import Regime, RegimeData


def regime_means(model: Any, data: RegimeData) -> dict[Regime, np.ndarray]:
    """Per regime, ``model``'s mean E[Y | regime, a] at each of the regime's rows."""
    return {r: model.predict(X, intervened=r) for r, (X, _) in data.regimes.items()}


def regime_residuals(data: RegimeData, means: dict[Regime, np.ndarray]) -> dict[Regime, np.ndarray]:
    """Per regime, the outcomes minus ``means`` (as from :func:`regime_means`)."""
    return {r: y - means[r] for r, (_, y) in data.regimes.items()}


def resampled_regime(
    X: np.ndarray,
    mean: np.ndarray,
    residual: np.ndarray,
    n: int,
    rows: np.random.Generator,
    noise: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` simulated rows of a regime: actions X[i] with i drawn from ``rows``, outcome
    mean[i] plus a residual drawn from ``noise``.

    The two draws come from separate streams so that a larger ``n`` extends a smaller one's
    rows (a prefix of the same streams): comparisons between sizes then share their random
    numbers.
    """
    idx = rows.integers(len(X), size=n)
    jdx = noise.integers(len(residual), size=n)
    return X[idx], mean[idx] + residual[jdx]
