"""Pointwise intervals for joint and mixed effects: a regime bootstrap for every estimator and
a one-pass sandwich for the structured one.

Both widen for an estimated bias and flag (``trusted`` False, a ``note``, an
:class:`~jointeffects.errors.IntervalWarning`) what they cannot support: tiny regimes,
extrapolation, a rejected model, mixed effects whose learners' misfit shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.regimes import query_array
from jointeffects.estimate.uncertainty.bands import METHODS, check_level
from jointeffects.estimate.uncertainty.fitted import bootstrap_uncertainty, sandwich_uncertainty
from jointeffects.estimate.uncertainty.refits import bootstrap_partner, fitted_on, regime_data
from jointeffects.estimate.uncertainty.sandwich import structured_fit
from jointeffects.estimate.uncertainty.trust import (
    MIN_TRUSTED_ROWS,
    SPEC_LEVEL,
    flag_untrusted,
    is_mixed,
    join_notes,
    mixed_effect_note,
    model_note,
    regression_misfit_note,
)


def bootstrap_intervals(
    estimator: Any,
    datasets: Any,
    X: Any,
    intervened: Sequence[str] | None = None,
    level: float = 0.9,
    n_boot: int = 200,
    method: str = "percentile",
    random_state: int | np.random.Generator | None = None,
    outcome: str = "Y",
    min_rows: int = MIN_TRUSTED_ROWS,
    misspecification: bool | str = "auto",
) -> pd.DataFrame:
    """Bootstrap intervals for E[Y | do(a_int), a_obs] at query points.

    Read more in the :doc:`user guide </guide/uncertainty>`.

    Resamples rows with replacement within each regime, refits a clone of ``estimator`` on
    each resample and reads pointwise intervals off the replicates. Works for any estimator;
    for a :class:`StructuredEstimator`, :func:`sandwich_intervals` is the fast alternative.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``datasets`` (giving the point estimates) or unfitted (a clone is fitted).
    datasets : dict or RegimeData
        The training data, as for ``estimator.fit``.
    X : DataFrame or array-like of shape (n_queries, n_actions)
        Query points.
    intervened : sequence of str, optional
        Intervened actions; default all (the joint effect).
    level : float, default=0.9
        Nominal coverage of each pointwise interval.
    n_boot : int, default=200
        Bootstrap replicates.
    method : {"percentile", "basic", "normal"}, default="percentile"
        Percentile, basic (reflected percentile) or estimate ± z·bootstrap sd.
    random_state : int, Generator or None
        Randomness of the resampling.
    outcome : str, default="Y"
        Outcome column.
    min_rows : int, default=200
        Regimes smaller than this flag every interval as not trusted.
    misspecification : bool or "auto", default="auto"
        Widen for the learners' approximation bias, estimated from the spread to the
        estimator with :class:`PolynomialRidgeCV` learners one degree richer, refitted on the
        same resamples. "auto": when the estimator has such learners (not a
        :class:`StructuredEstimator`, whose refits relearn it all).

    Returns
    -------
    DataFrame
        One row per query: ``estimate``, ``lower``, ``upper``, ``se`` (bootstrap sd),
        ``trusted``, ``note`` (why not) and, with ``misspecification``, ``bias``.
    """
    data = regime_data(datasets, outcome)
    points = query_array(X, data.actions)
    check_level(level)
    if method not in METHODS:
        raise DataError(f"method={method!r} is not one of {list(METHODS)}")
    bootstrap_partner(estimator, misspecification)  # refuse a bad option before any work
    fitted = fitted_on(estimator, data)
    u = bootstrap_uncertainty(fitted, data, n_boot, random_state, misspecification)
    table = u.band(fitted, points, intervened, level, method=method)
    regression = regression_misfit_note(fitted, data) if is_mixed(fitted, intervened) else ""
    note = join_notes(model_note(fitted, data), mixed_effect_note(fitted, intervened, regression))
    return flag_untrusted(table, fitted._trusted_data(data), points, min_rows, extra_note=note)


def sandwich_intervals(
    estimator: Any,
    datasets: Any,
    X: Any,
    intervened: Sequence[str] | None = None,
    level: float = 0.9,
    outcome: str = "Y",
    min_rows: int = MIN_TRUSTED_ROWS,
    misspecification: bool = True,
    spec_level: float = SPEC_LEVEL,
) -> pd.DataFrame:
    """Sandwich intervals for a ``StructuredEstimator``, widened for and flagged on misfit.

    Read more in the :doc:`user guide </guide/uncertainty>`.

    The estimator is a ridge regression on a fixed design w(x, regime): with A = Σ_i w_i w_iᵀ
    + Λ and the per-regime centred score covariance M, Var(θ̂) ≈ A⁻¹ M A⁻¹ · n/(n − p),
    computed in one pass, O(n p²). The band is conditional on the learned structure, degree
    and alpha. Use it when the bootstrap's refits are too slow.

    Parameters
    ----------
    estimator : StructuredEstimator
        Fitted on ``datasets``, or unfitted (then fitted first).
    datasets, X, intervened, level, outcome, min_rows
        As for :func:`bootstrap_intervals`.
    misspecification : bool, default=True
        Add a bias term, the largest change of the prediction with the degree one higher
        or the penalty one grid step lower, and flag every interval when the residual
        specification test rejects. False: the plain sandwich
        (valid when the model is right, e.g. a linear SCM with its ``dag``, ``degrees=(1,)`` and
        ``psi_degrees=(1,)``).
    spec_level : float, default=0.05
        Level of the specification test.

    Returns
    -------
    DataFrame
        One row per query: ``estimate``, ``lower``, ``upper``, ``se``, ``bias``, ``trusted``,
        ``note``.
    """
    data = regime_data(datasets, outcome)
    fitted = structured_fit(estimator, data)
    points = query_array(X, data.actions)
    check_level(level)
    u = sandwich_uncertainty(fitted, data, misspecification, spec_level)
    table = u.band(fitted, points, intervened, level)
    if "bias" not in table:
        table["bias"] = np.zeros(len(points))
    note = join_notes(u.misfit, mixed_effect_note(fitted, intervened))
    return flag_untrusted(table, data, points, min_rows, extra_note=note)
