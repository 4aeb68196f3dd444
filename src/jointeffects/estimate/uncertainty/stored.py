"""What a fit stores for intervals: bootstrap refits, or a sandwich covariance with its bias
partners, so that a saved model gives the same bands and flags as the library's intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.regimes import RegimeData
from jointeffects.estimate.uncertainty.refits import bootstrap_partner, paired_refits, refit
from jointeffects.estimate.uncertainty.sandwich import misspecification_note, sandwich_covariance
from jointeffects.estimate.uncertainty.trust import SPEC_LEVEL, regression_misfit_note


@dataclass
class Uncertainty:
    """What a saved model needs for intervals.

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
        (:func:`~jointeffects.estimate.uncertainty.intervals.calibrated_bias`).
    misfit : str
        The specification test's note when it rejected at fit ("" otherwise): every interval
        of the model is then flagged as not trustworthy.
    lighter : StructuredEstimator or None, sandwich only
        The structured model refitted with the next smaller ridge penalty of its grid (None
        when its penalty is the grid's smallest, or in a file of format 3 or 4); its spread
        is the other half of the sandwich's bias term.
    mixed_misfit : str
        The note of :func:`~jointeffects.estimate.uncertainty.intervals.regression_misfit_note` at fit
        ("" if its test did not reject, or the model has no per-regime regressions): the
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


def fit_uncertainty(
    estimator: RegimeEstimator,
    data: RegimeData,
    n_boot: int = 100,
    rng: int | np.random.Generator | None = None,
) -> Uncertainty:
    """Intervals for a saved model (see :mod:`.intervals`).

    Every estimator gets ``n_boot`` refits on rows resampled within each regime. With
    polynomial ridge learners (the paper's estimator) also its fit with learners one degree
    richer and that fit's ``n_boot`` refits on the same resamples (the bias term of
    :func:`~jointeffects.estimate.uncertainty.intervals.bootstrap_intervals`). A StructuredEstimator's
    refits relearn its ancestor sets, degree and alpha, and no bias term is added (as
    ``bootstrap_intervals`` does for it); with ``n_boot=0`` it gets instead the fast sandwich
    of :func:`~jointeffects.estimate.uncertainty.intervals.sandwich_intervals` (covariance, the fits one
    degree richer and one penalty step lighter, and the specification test's verdict).
    """
    if estimator.capabilities().sandwich and n_boot < 1:
        return Uncertainty(
            "sandwich",
            covariance=sandwich_covariance(estimator, data),
            neighbour=estimator._richer_fit(data),
            misfit=misspecification_note(estimator, data, SPEC_LEVEL),
            lighter=estimator._lighter_fit(data),
        )
    partner = bootstrap_partner(estimator)
    models = [estimator] if partner is None else [estimator, partner]
    reps, *partner_reps = map(list, zip(*paired_refits(models, data, n_boot, rng), strict=True))
    mixed_misfit = regression_misfit_note(estimator, data)
    if partner is None:
        return Uncertainty("bootstrap", replicates=reps, mixed_misfit=mixed_misfit)
    return Uncertainty(
        "bootstrap",
        replicates=reps,
        neighbour=refit(partner, data),
        partner_replicates=partner_reps[0],
        mixed_misfit=mixed_misfit,
    )
