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
    check_level,
)
from jointeffects.estimate.uncertainty.fitted import Uncertainty
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

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_queries, n_actions)
            Query points.
        intervened : sequence of str, optional
            Intervened actions; default all (the joint effect).
        level : float, optional
            Nominal coverage; None: predictions only.
        base : array-like of shape (n_actions,), optional
            With it, the contrast predict(X) − predict(base) is returned.

        Returns
        -------
        DataFrame
            Column ``prediction``; with ``level`` also ``lower``, ``upper``, ``trusted`` and
            ``note``. The intervals are those the library gives from the uncertainty stored at
            fit (:meth:`~jointeffects.estimate.uncertainty.fitted.Uncertainty.band`), flagged
            where a regime was tiny, the query (or ``base``) lies outside the training
            regimes' common support, or the model itself cannot support them.
        """
        est = self.estimator
        points = query_array(X, est.actions_)
        Q = points if base is None else np.vstack([np.reshape(base, (1, -1)), points])
        if level is None:
            estimate = est.predict(Q, intervened=intervened)
            return pd.DataFrame(
                {"prediction": estimate if base is None else estimate[1:] - estimate[0]}
            )
        check_level(level)
        u = self.uncertainty
        if u is None:
            raise DataError(
                "this model file holds no uncertainty; refit with --n-boot N (N >= 2) for "
                "intervals, or omit --interval"
            )
        band = u.band(est, points, intervened, level, base=None if base is None else Q[0])
        table = pd.DataFrame(
            {"prediction": band["estimate"], "lower": band["lower"], "upper": band["upper"]}
        )
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
