"""What a fit's intervals are computed from, and the band every interval is read off."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.regimes import RegimeData, has_streams
from jointeffects.estimate.uncertainty.bands import (
    calibrated_bias,
    interval_table,
    largest_spread,
    normal_table,
    widen,
)
from jointeffects.estimate.uncertainty.refits import bootstrap_partner, paired_refits, refit
from jointeffects.estimate.uncertainty.sandwich import misspecification_note, sandwich_covariance
from jointeffects.estimate.uncertainty.trust import SPEC_LEVEL, regression_misfit_note


@dataclass
class Uncertainty:
    """What a fit's intervals are computed from: bootstrap refits, or a sandwich covariance.

    The library's intervals, the response curves and saved models all read their bands off
    one of these with :meth:`band`; :func:`fit_uncertainty` computes it for a model file.

    Attributes
    ----------
    method : {"bootstrap", "sandwich"}
    replicates : list of fitted estimators, bootstrap only
    covariance : ndarray, sandwich only
        Covariance of the structured model's [intercept, coef].
    neighbour : estimator or None
        The same model refitted one degree richer (the structured model's degree, or the
        polynomial ridge learners'); the spread of the two predictions is the interval's
        bias term.
    partner_replicates : list of fitted estimators or None
        Bootstrap with a neighbour only: the neighbour refitted on each replicate's
        resample, whose spreads give the noise subtracted from the bias term
        (:func:`~jointeffects.estimate.uncertainty.bands.calibrated_bias`).
    misfit : str
        The specification test's note when it rejected at fit ("" otherwise): every interval
        of the model is then flagged as not trustworthy.
    lighter : StructuredEstimator or None, sandwich only
        The structured model refitted with the next smaller ridge penalty of its grid (None
        when its penalty is the grid's smallest, or in a file of format 3 or 4); its spread
        is the other half of the sandwich's bias term.
    mixed_misfit : str
        The note of :func:`~jointeffects.estimate.uncertainty.trust.regression_misfit_note` at
        fit ("" if its test did not reject, or the model has no per-regime regressions): the
        intervals of mixed effects are then flagged.
    """

    method: str
    replicates: list[Any] | None = None
    covariance: np.ndarray | None = None
    neighbour: Any = None
    partner_replicates: list[Any] | None = None
    misfit: str = ""
    lighter: Any = None
    mixed_misfit: str = ""

    def band(
        self,
        estimator: RegimeEstimator,
        X: np.ndarray,
        intervened: Sequence[str] | None = None,
        level: float = 0.9,
        base: np.ndarray | None = None,
        method: str = "percentile",
    ) -> pd.DataFrame:
        """Pointwise intervals of ``estimator`` (the fit this uncertainty belongs to) at X.

        Parameters
        ----------
        estimator : RegimeEstimator
            The fitted estimator.
        X : ndarray of shape (n_queries, n_actions)
            Validated query points.
        intervened : sequence of str, optional
            Intervened actions; default all (the joint effect).
        level : float, default=0.9
            Nominal coverage of each interval.
        base : ndarray of shape (n_actions,), optional
            With it, the intervals are of the contrast prediction(X) − prediction(base).
        method : {"percentile", "basic", "normal"}, default="percentile"
            How bootstrap bounds are read off the replicates (the sandwich is normal).

        Returns
        -------
        DataFrame
            ``estimate``, ``lower``, ``upper``, ``se`` and, when a bias term is stored,
            ``bias`` (the intervals are then widened for it).
        """
        Q = X if base is None else np.vstack([np.reshape(base, (1, -1)), X])

        def contrast(values: np.ndarray) -> np.ndarray:
            return values if base is None else values[..., 1:] - values[..., :1]

        def predictions(models: list[Any]) -> np.ndarray:
            return np.array([m.predict(Q, intervened=intervened) for m in models])

        estimate = estimator.predict(Q, intervened=intervened)
        point = contrast(estimate)
        bias = None
        if self.method == "bootstrap":
            assert self.replicates is not None
            raw = predictions(self.replicates)
            table = interval_table(point, contrast(raw), level, method)
            if self.neighbour is not None:
                assert self.partner_replicates is not None
                spread = contrast(estimate - self.neighbour.predict(Q, intervened=intervened))
                other = predictions(self.partner_replicates)
                bias = calibrated_bias(spread, contrast(raw - other))
        else:
            assert self.covariance is not None
            rows = contrast(estimator._linear_rows(Q, intervened).T).T
            variance = np.einsum("ij,jk,ik->i", rows, self.covariance, rows)
            shapes = estimator._shape_rows(Q, intervened)
            if shapes is not None:  # curves fitted apart from the ridge: independent terms
                J = contrast(shapes[0].T).T
                variance = variance + np.einsum("ij,jk,ik->i", J, shapes[1], J)
            se = np.sqrt(variance)
            table = normal_table(point, se, level)
            partners = [p for p in (self.neighbour, self.lighter) if p is not None]
            if partners:  # the raw spreads: the sandwich has no replicates to calibrate them
                bias = largest_spread(point, [contrast(p.predict(Q, intervened)) for p in partners])
        if bias is not None:
            table["lower"], table["upper"] = widen(
                point, table["lower"], table["upper"], bias, level
            )
            table["bias"] = bias
        return table


def bootstrap_uncertainty(
    fitted: RegimeEstimator,
    data: RegimeData,
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    misspecification: bool | str = "auto",
) -> Uncertainty:
    """``n_boot`` refits of ``fitted`` on rows resampled within each regime and, with a bias
    term (``misspecification``, see :func:`~.refits.bootstrap_partner`), the fit with learners
    one degree richer and its refits on the same resamples."""
    partner = bootstrap_partner(fitted, misspecification)
    models = [fitted] if partner is None else [fitted, partner]
    reps, *partner_reps = map(
        list, zip(*paired_refits(models, data, n_boot, random_state), strict=True)
    )
    if partner is None:
        return Uncertainty("bootstrap", replicates=reps)
    return Uncertainty(
        "bootstrap",
        replicates=reps,
        neighbour=refit(partner, data),
        partner_replicates=partner_reps[0],
    )


def sandwich_uncertainty(
    fitted: RegimeEstimator,
    data: RegimeData,
    misspecification: bool = True,
    spec_level: float = SPEC_LEVEL,
) -> Uncertainty:
    """The sandwich covariance of ``fitted`` (which must support it) and, with
    ``misspecification``, its bias partners (one degree richer, one penalty step lighter)
    and the specification test's verdict."""
    if not misspecification:
        return Uncertainty("sandwich", covariance=sandwich_covariance(fitted, data))
    return Uncertainty(
        "sandwich",
        covariance=sandwich_covariance(fitted, data),
        neighbour=fitted._richer_fit(data),
        misfit=misspecification_note(fitted, data, spec_level),
        lighter=fitted._lighter_fit(data),
    )


def fit_uncertainty(
    estimator: RegimeEstimator,
    data: RegimeData,
    n_boot: int = 100,
    rng: int | np.random.Generator | None = None,
) -> Uncertainty:
    """The uncertainty a model file stores for intervals.

    ``n_boot`` bootstrap refits (with the bias term for polynomial ridge learners), or for an
    estimator that supports the sandwich and ``n_boot=0`` its sandwich. Also the verdict of
    the misfit tests of the per-regime regressions, which flags mixed effects.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``data``.
    data : RegimeData or dict
        The training data; streamed regimes (chunks, dask frames) only for the sandwich.
    n_boot : int, default=100
        Bootstrap refits; 0 for the sandwich.
    rng : int, Generator or None
        Randomness of the resampling.

    Returns
    -------
    Uncertainty
    """
    if estimator.capabilities().sandwich and n_boot < 1:
        return sandwich_uncertainty(estimator, data)
    if has_streams(data):
        raise DataError(
            "bootstrap intervals resample rows, which streamed data does not hold; use "
            "n_boot=0 for the sandwich (StructuredEstimator), or fit in memory"
        )
    u = bootstrap_uncertainty(estimator, data, n_boot, rng)
    u.mixed_misfit = regression_misfit_note(estimator, data)
    return u
