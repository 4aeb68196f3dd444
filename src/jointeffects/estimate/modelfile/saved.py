"""A model loaded from a file, ready to query: the estimator, its diagnostics and uncertainty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.diagnostics import Diagnostics, extrapolation
from jointeffects.estimate.regimes import query_array
from jointeffects.estimate.uncertainty.bands import (
    calibrated_bias,
    check_level,
    largest_spread,
    normal_table,
    percentile_bounds,
    widen,
)
from jointeffects.estimate.uncertainty.stored import Uncertainty
from jointeffects.estimate.uncertainty.trust import (
    MIN_TRUSTED_ROWS,
    add_note,
    baseline_note,
    join_notes,
    mixed_effect_note,
    tiny_regime_note,
)


@dataclass
class SavedModel:
    """A model loaded from a file: the estimator plus what was checked and stored at fit.

    Attributes
    ----------
    estimator : RegimeEstimator
        Fitted; ``predict`` works as on the original.
    diagnostics : Diagnostics
    uncertainty : Uncertainty or None
    package_version : str
        The jointeffects version that wrote the file.
    """

    estimator: Any
    diagnostics: Diagnostics
    uncertainty: Uncertainty | None
    package_version: str

    def predict_table(
        self, X: Any, intervened: Any = None, level: float | None = None, base: Any = None
    ) -> pd.DataFrame:
        """Predictions (and, at ``level``, an interval with its trust flags) at query points X.

        With ``base`` (one query row) the contrast predict(X) − predict(base) is returned.

        Returns
        -------
        DataFrame with column ``prediction``; with ``level`` also ``lower``, ``upper``,
        ``trusted`` and ``note``. Intervals are widened by the bias term stored at fit (the
        spread to the fit one degree richer; for the bootstrap less its noise) as in
        :func:`~jointeffects.estimate.uncertainty.intervals.sandwich_intervals` and
        :func:`~jointeffects.estimate.uncertainty.intervals.bootstrap_intervals`. An interval is not
        trusted where a regime had fewer than 200 rows, the query (or ``base``) lies outside
        the common support of the training regimes, the structured model failed its
        specification test at fit, the model is a baseline that ignores confounding
        (:func:`~jointeffects.estimate.uncertainty.intervals.baseline_note`), or the query is a mixed
        effect of a structured model or of per-regime regressions whose misfit tests
        rejected at fit (:func:`~jointeffects.estimate.uncertainty.intervals.regression_misfit_note`,
        :func:`~jointeffects.estimate.uncertainty.intervals.mixed_effect_note`); ``note`` says which.
        """
        est = self.estimator
        points = query_array(X, est.actions_)
        Q = points if base is None else np.vstack([np.reshape(base, (1, -1)), points])
        estimate = est.predict(Q, intervened=intervened)

        def contrast(values: np.ndarray) -> np.ndarray:
            return values if base is None else values[..., 1:] - values[..., :1]

        table = pd.DataFrame({"prediction": contrast(estimate)})
        if level is None:
            return table
        check_level(level)
        u = self.uncertainty
        if u is None:
            raise DataError(
                "this model file holds no uncertainty; refit with --n-boot N (N >= 2) for "
                "intervals, or omit --interval"
            )
        bias = None
        if u.method == "bootstrap":
            assert u.replicates is not None
            raw = np.array([r.predict(Q, intervened=intervened) for r in u.replicates])
            draws = contrast(raw)
            lower, upper = percentile_bounds(draws, level)
            if u.neighbour is not None:
                assert u.partner_replicates is not None
                other = np.array(
                    [r.predict(Q, intervened=intervened) for r in u.partner_replicates]
                )
                spread = contrast(estimate - u.neighbour.predict(Q, intervened=intervened))
                bias = calibrated_bias(spread, contrast(raw - other))
        else:
            assert u.covariance is not None
            rows = contrast(est._linear_rows(Q, intervened).T).T
            se = np.sqrt(np.einsum("ij,jk,ik->i", rows, u.covariance, rows))
            band = normal_table(table["prediction"].to_numpy(), se, level)
            lower, upper = band["lower"], band["upper"]
            partners = [p for p in (u.neighbour, u.lighter) if p is not None]
            if partners:  # the raw spreads, as sandwich_intervals
                others = [contrast(p.predict(Q, intervened=intervened)) for p in partners]
                bias = largest_spread(contrast(estimate), others)
        if bias is not None:
            lower, upper = widen(table["prediction"], lower, upper, bias, level)
        table["lower"], table["upper"] = lower, upper
        notes = self._notes(Q, base is not None, intervened)
        table["trusted"], table["note"] = notes == "", notes
        return table

    def _notes(self, Q: np.ndarray, has_base: bool, intervened: Any) -> np.ndarray:
        """Why each interval is not trustworthy ("" if it is); see :meth:`predict_table`."""
        est = self.estimator
        outside = extrapolation(self.diagnostics, Q, est.actions_)
        if has_base:
            outside = outside[1:] | outside[0]
        notes = np.where(outside, "extrapolation (outside the common support)", "").astype(object)
        notes = add_note(notes, tiny_regime_note(est.n_rows_, MIN_TRUSTED_ROWS))
        u = self.uncertainty
        misfit, regression = ("", "") if u is None else (u.misfit, u.mixed_misfit)
        # The same model-level notes, in the same order, as the library's intervals.
        mixed = mixed_effect_note(est, intervened, regression)
        model = join_notes(misfit, baseline_note(est), mixed)
        return add_note(notes, model)
