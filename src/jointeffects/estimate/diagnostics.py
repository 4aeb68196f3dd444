"""Checks of the paper's assumptions on the data at hand.

*Assumption 1 (equal support)*: every action has the same support in every regime. The
estimator evaluates the model of each regime at the query, so a query outside the range one
regime saw is an extrapolation of that regime's learner. :func:`support_diagnostics`
compares each action's quantiles across regimes and scores their overlap; rows of a query
outside the *common support* (the range every regime covers) are flagged by
:func:`extrapolation`.

*Assumption 2 (additivity)* cannot be checked from the observational and single-action
regimes alone (it is what makes the joint effect identified), but a held-out joint or block
experiment can falsify it: :func:`additivity_check` scores the additive prediction against
the held-out outcomes and against the best constant.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError, SupportWarning
from jointeffects.estimate.estimators.structured_stats import regime_key
from jointeffects.estimate.regimes import (
    Regime,
    RegimeData,
    as_regime_data,
    as_regime_streams,
    has_streams,
    query_array,
    regime_label,
)
from jointeffects.estimate.regimes.passes import RowSample, SampleRows, compute, measured_readers

#: Quantiles reported per action and regime; the overlap score uses the outer pair.
QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)

#: Overlap scores below this raise a support warning at fit.
OVERLAP_THRESHOLD = 0.8

#: Rows per streamed regime whose quantiles the support diagnostics report.
SAMPLE_ROWS = 200_000

SUPPORT_COLUMNS = ("action", "regime", "rows", "min", "q01", "q25", "q50", "q75", "q99", "max")
VALIDATION_COLUMNS = ("regime", "rows", "rmse", "rmse_constant", "relative_rmse", "mean_residual")


@dataclass
class Diagnostics:
    """What was checked at fit, stored in the model file.

    Attributes
    ----------
    support : DataFrame
        One row per (action, regime): rows, min, quantiles, max and ``overlap`` (see
        :func:`support_diagnostics`).
    lower, upper : dict
        Common support per action: the largest regime minimum and the smallest maximum.
    reference : dict
        Observational median per action (the response curves' reference point).
    grid : dict
        Per action ``(low, high)``: the 2.5–97.5 % range of the action in its own experiment
        (the observational one without an experiment), the default range of its curve.
    warnings : list of str
        Support warnings raised at fit.
    validation : DataFrame or None
        The additivity check against held-out experiments (:func:`additivity_check`).
    """

    support: pd.DataFrame
    lower: dict[str, float]
    upper: dict[str, float]
    reference: dict[str, float]
    grid: dict[str, tuple[float, float]]
    warnings: list[str] = field(default_factory=list)
    validation: pd.DataFrame | None = None


def _overlap(lo: float, hi: float, lo_ref: float, hi_ref: float) -> float:
    """Jaccard index of two intervals (1 = equal; a point interval counts as width 0)."""
    union = max(hi, hi_ref) - min(lo, lo_ref)
    if union <= 0:
        return 1.0
    return max(0.0, min(hi, hi_ref) - max(lo, lo_ref)) / union


def support_diagnostics(
    data: Any,
    threshold: float = OVERLAP_THRESHOLD,
    *,
    outcome: str = "Y",
    sample_rows: int = SAMPLE_ROWS,
) -> Diagnostics:
    """Compare every action's distribution across regimes (Assumption 1).

    The ``overlap`` of an action in a regime is the Jaccard index of its central 98 % range
    (1–99 % quantiles) with that of the observational regime: 1 when the ranges coincide,
    0 when they are disjoint. Scores below ``threshold`` produce a warning.

    Parameters
    ----------
    data : dict or RegimeData
        The training data (with an observational regime), as for ``fit``. Streamed and dask
        regimes are read in one pass; their quantiles come from a uniform sample of
        ``sample_rows`` rows (their row counts, minima and maxima are exact).
    threshold : float, default=0.8
        Overlap below which a warning is issued.
    outcome : str, default="Y"
        The outcome column of tables (a :class:`RegimeData` names its own).
    sample_rows : int, default=200_000
        Rows per streamed regime the quantiles are computed from.

    Returns
    -------
    Diagnostics
    """
    if has_streams(data):
        streams = as_regime_streams(data, outcome=outcome)
        actions = streams.actions
        samples = _streamed_samples(streams, sample_rows)
    else:
        if not isinstance(data, RegimeData):
            data = as_regime_data(data, outcome=outcome)
        actions = data.actions
        samples = {
            regime: RowSample(len(X), X.min(axis=0), X.max(axis=0), np.empty(0), X, len(X))
            for regime, (X, _) in data.regimes.items()
        }
    if () not in samples:
        raise DataError("support diagnostics need the observational regime")
    return _from_samples(actions, samples, threshold)


def _streamed_samples(streams: Any, sample_rows: int) -> dict[Regime, RowSample]:
    readers = measured_readers(streams)
    # keys seeded by the regime's bit mask: the same sample whatever the regimes' order
    tasks = {r: SampleRows(sample_rows, (regime_key(r, streams.actions),)) for r in readers}
    return compute({r: reader.reduce(tasks[r]) for r, reader in readers.items()})


def _from_samples(
    actions: tuple[str, ...], samples: dict[Regime, RowSample], threshold: float
) -> Diagnostics:
    obs = samples[()].X
    obs_q = np.quantile(obs, [QUANTILES[0], QUANTILES[-1]], axis=0)
    records, messages = [], []
    for j, action in enumerate(actions):
        for regime, sample in samples.items():
            q = np.quantile(sample.X[:, j], QUANTILES)
            score = _overlap(q[0], q[-1], obs_q[0, j], obs_q[1, j])
            records.append(
                {
                    "action": action,
                    "regime": "+".join(regime) or "obs",
                    "rows": sample.rows,
                    "min": float(sample.low[j]),
                    **{c: float(v) for c, v in zip(SUPPORT_COLUMNS[4:9], q, strict=True)},
                    "max": float(sample.high[j]),
                    "overlap": score,
                }
            )
            if score < threshold:
                messages.append(
                    f"'{action}' in {regime_label(regime)} covers [{q[0]:.4g}, {q[-1]:.4g}] "
                    f"but observationally [{obs_q[0, j]:.4g}, {obs_q[1, j]:.4g}] (overlap "
                    f"{score:.2f} < {threshold}); predictions outside the common support "
                    "extrapolate"
                )
    support = pd.DataFrame(records, columns=[*SUPPORT_COLUMNS, "overlap"])
    mins = np.max([s.low for s in samples.values()], axis=0)
    maxs = np.min([s.high for s in samples.values()], axis=0)
    grid = {}
    for j, action in enumerate(actions):
        regime = next((r for r in samples if action in r), ())
        lo, hi = np.quantile(samples[regime].X[:, j], [0.025, 0.975])
        grid[action] = (float(lo), float(hi))
    return Diagnostics(
        support=support,
        lower=dict(zip(actions, map(float, mins), strict=True)),
        upper=dict(zip(actions, map(float, maxs), strict=True)),
        reference=dict(zip(actions, map(float, np.median(obs, axis=0)), strict=True)),
        grid=grid,
        warnings=messages,
    )


#: Rows per regime the support check of ``fit`` reads at most (evenly spaced ones beyond).
CHECK_ROWS = 100_000


def warn_outside_support(data: RegimeData, threshold: float = OVERLAP_THRESHOLD) -> None:
    """Warn (:class:`~jointeffects.errors.SupportWarning`) when some regime's actions reach
    outside the observational support, as :func:`support_diagnostics` reports it."""
    if () not in data.regimes or len(data.regimes) < 2:
        return
    thinned = {
        regime: (X[:: -(-len(X) // CHECK_ROWS)], y[:: -(-len(X) // CHECK_ROWS)])
        for regime, (X, y) in data.regimes.items()
    }
    messages = support_diagnostics(RegimeData(data.actions, data.outcome, thinned), threshold)
    if messages.warnings:
        more = f" (and {len(messages.warnings) - 1} more)" if len(messages.warnings) > 1 else ""
        warnings.warn(
            f"support (Assumption 1): {messages.warnings[0]}{more}; see support_diagnostics",
            SupportWarning,
            stacklevel=3,
        )


def extrapolation(diagnostics: Diagnostics, X: Any, actions: tuple[str, ...]) -> np.ndarray:
    """Whether each query row lies outside the common support of the training regimes.

    Parameters
    ----------
    diagnostics : Diagnostics
    X : DataFrame or array-like of shape (n_queries, n_actions)
    actions : tuple of str

    Returns
    -------
    ndarray of bool of shape (n_queries,)
    """
    points = query_array(X, actions)
    lower = np.array([diagnostics.lower[a] for a in actions])
    upper = np.array([diagnostics.upper[a] for a in actions])
    return np.any((points < lower) | (points > upper), axis=1)


def additivity_check(estimator: Any, held_out: Mapping[Any, Any] | RegimeData) -> pd.DataFrame:
    """Score the fitted (additive) estimator on held-out joint or block experiments.

    For each held-out regime the estimator predicts E[Y | do(a_regime), a_rest] at the
    held-out rows (the joint effect for the joint regime). If the outcome is additive over
    the experiments' blocks (Assumption 2) its RMSE against the held-out outcomes is close to
    the outcome's noise level and clearly below ``rmse_constant``, the RMSE of the held-out
    mean; a ``relative_rmse`` near or above 1 falsifies additivity (or Assumption 1).

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted.
    held_out : mapping or RegimeData
        ``{regime: table}`` as for ``fit``, over the estimator's actions and outcome.

    Returns
    -------
    DataFrame with columns ``regime``, ``rows``, ``rmse``, ``rmse_constant``,
    ``relative_rmse`` (rmse / rmse_constant) and ``mean_residual``.
    """
    data = (
        held_out
        if isinstance(held_out, RegimeData)
        else as_regime_data(held_out, outcome=estimator.outcome_)
    )
    if tuple(data.actions) != tuple(estimator.actions_):
        raise DataError(
            f"held-out data has actions {list(data.actions)}; the model has "
            f"{list(estimator.actions_)}"
        )
    records = []
    for regime, (X, y) in data.regimes.items():
        if not regime:
            raise DataError(
                "held-out data must come from a joint or block experiment, not the "
                "observational regime; name it like tv+search=FILE"
            )
        residual = y - estimator.predict(X, intervened=regime)
        rmse = float(np.sqrt(np.mean(residual**2)))
        constant = float(np.std(y))
        records.append(
            {
                "regime": "+".join(regime),
                "rows": len(y),
                "rmse": rmse,
                "rmse_constant": constant,
                "relative_rmse": rmse / constant if constant > 0 else float("inf"),
                "mean_residual": float(residual.mean()),
            }
        )
    return pd.DataFrame(records, columns=list(VALIDATION_COLUMNS))
