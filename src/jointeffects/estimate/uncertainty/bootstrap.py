"""The regime bootstrap: intervals for any estimator from refits on resampled rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.estimate.regimes import query_array
from jointeffects.estimate.uncertainty.bands import calibrated_bias, interval_table, widen
from jointeffects.estimate.uncertainty.refits import (
    bootstrap_partner,
    fitted_on,
    paired_draws,
    regime_data,
)
from jointeffects.estimate.uncertainty.trust import (
    MIN_TRUSTED_ROWS,
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
        Widen for the learners' approximation bias (:func:`widen`), estimated from the
        spread to the estimator with :class:`PolynomialRidgeCV` learners one degree richer,
        refitted on the same resamples (:func:`calibrated_bias`). "auto": when the estimator
        has such learners (not a :class:`StructuredEstimator`, whose refits relearn it all).

    Returns
    -------
    DataFrame
        One row per query: ``estimate``, ``lower``, ``upper``, ``se`` (bootstrap sd),
        ``trusted``, ``note`` (why not) and, with ``misspecification``, ``bias``.
    """
    data = regime_data(datasets, outcome)
    points = query_array(X, data.actions)
    queries = [(points, intervened)]
    partner = bootstrap_partner(estimator, misspecification)  # before any bootstrap work
    fitted = fitted_on(estimator, data)
    models = [fitted] if partner is None else [fitted, partner]
    (estimate, draws), *richer = paired_draws(models, data, queries, n_boot, random_state)
    table = interval_table(estimate, draws, level, method)
    if richer:
        ((other, other_draws),) = richer
        table["bias"] = bias = calibrated_bias(estimate - other, draws - other_draws)
        table["lower"], table["upper"] = widen(
            estimate, table["lower"], table["upper"], bias, level
        )
    regression = regression_misfit_note(fitted, data) if is_mixed(fitted, intervened) else ""
    note = join_notes(model_note(fitted, data), mixed_effect_note(fitted, intervened, regression))
    return flag_untrusted(table, fitted._trusted_data(data), points, min_rows, extra_note=note)
