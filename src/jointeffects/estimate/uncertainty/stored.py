"""A model loaded from a file, ready to query: the estimator, its diagnostics and uncertainty.

Intervals of a saved model come from what was stored at fit: bootstrap refits (every
estimator; for polynomial ridge learners with their bias term) or, for a
:class:`StructuredEstimator` fitted with ``n_boot=0``, the sandwich covariance together with
the fits one degree richer and one penalty step lighter (the bias term) and the verdict of
the residual specification test, so a loaded model gives the same bands and flags as
:func:`~jointeffects.estimate.uncertainty.intervals.bootstrap_intervals` or
:func:`~jointeffects.estimate.uncertainty.intervals.sandwich_intervals`. :func:`fit_uncertainty`
computes them and this module also writes and reads them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.diagnostics import Diagnostics, extrapolation
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.learners.state import floats
from jointeffects.estimate.modelfile.estimators import estimator_state, read_estimator, read_models
from jointeffects.estimate.modelfile.fields import Field
from jointeffects.estimate.regimes import RegimeData, query_array
from jointeffects.estimate.uncertainty.bands import (
    calibrated_bias,
    check_level,
    largest_spread,
    normal_table,
    percentile_bounds,
    widen,
)
from jointeffects.estimate.uncertainty.refits import bootstrap_partner, paired_refits, refit
from jointeffects.estimate.uncertainty.trust import (
    MIN_TRUSTED_ROWS,
    SPEC_LEVEL,
    add_note,
    baseline_note,
    join_notes,
    mixed_effect_note,
    regression_misfit_note,
    tiny_regime_note,
)

_KEYS = (
    "method",
    "replicates",
    "covariance",
    "neighbour",
    "partner_replicates",
    "misfit",
    "lighter",
    "mixed_misfit",
)
#: The keys of each readable format, the current one last (serialize.FORMAT): files of
#: formats 3 and 4 have no "lighter" (their sandwich band has the degree spread only), files
#: of formats 3 to 5 no "mixed_misfit" (their mixed effects are not flagged for the
#: regressions' misfit, as then).
KEYS_BY_FORMAT = {
    "jointeffects.model/3": _KEYS[:-2],
    "jointeffects.model/4": _KEYS[:-2],
    "jointeffects.model/5": _KEYS[:-1],
    "jointeffects.model/6": _KEYS,
}


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
    estimator: Any,
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
    if isinstance(estimator, StructuredEstimator) and n_boot < 1:
        from jointeffects.estimate.uncertainty.sandwich import (
            misspecification_note,
            sandwich_covariance,
        )

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


def uncertainty_state(u: Uncertainty | None) -> dict[str, Any] | None:
    """The JSON-ready state of the uncertainty: each replicate's learners, or the covariance,
    the degree and penalty neighbours and the specification test's note."""
    if u is None:
        return None
    return {
        "method": u.method,
        "replicates": None if u.replicates is None else [_replicate_state(r) for r in u.replicates],
        "covariance": None if u.covariance is None else floats(u.covariance),
        "neighbour": None if u.neighbour is None else estimator_state(u.neighbour),
        "partner_replicates": None
        if u.partner_replicates is None
        else [estimator_state(r)["models"] for r in u.partner_replicates],
        "misfit": u.misfit,
        "lighter": None if u.lighter is None else estimator_state(u.lighter),
        "mixed_misfit": u.mixed_misfit,
    }


def _replicate_state(rep: Any) -> Any:
    """A bootstrap replicate's state: its learners, or the whole structured model (each
    replicate learned its own ancestor sets, degree and alpha)."""
    state = estimator_state(rep)
    return state if isinstance(rep, StructuredEstimator) else state["models"]


def read_uncertainty(f: Field, est: Any, fmt: str) -> Uncertainty | None:
    """Validate the stored uncertainty of the fitted ``est`` (see :func:`uncertainty_state`)
    in a file of format ``fmt`` (older ones lack keys, see :data:`KEYS_BY_FORMAT`)."""
    if f.value is None:
        return None
    keys = KEYS_BY_FORMAT[fmt]
    f.obj(keys)
    method = f["method"].string()
    misfit = f["misfit"].string()
    if method == "sandwich" and isinstance(est, StructuredEstimator):
        p = len(est.coef_) + 1
        neighbour = _read_structured(f["neighbour"], est)
        stored = f["lighter"] if "lighter" in keys else None
        lighter = None if stored is None or stored.value is None else _read_structured(stored, est)
        return Uncertainty(
            "sandwich",
            covariance=f["covariance"].array((p, p)),
            neighbour=neighbour,
            misfit=misfit,
            lighter=lighter,
        )
    if method == "bootstrap":
        reps = _read_replicates(f["replicates"], est)
        if len(reps) < 2:
            raise f["replicates"].bad("at least 2 bootstrap replicates")
        mixed_misfit = f["mixed_misfit"].string() if "mixed_misfit" in keys else ""
        if isinstance(est, StructuredEstimator) or f["neighbour"].value is None:
            return Uncertainty("bootstrap", replicates=reps, mixed_misfit=mixed_misfit)
        neighbour = read_estimator(f["neighbour"])
        if type(neighbour) is not type(est) or neighbour.actions_ != est.actions_:
            raise f["neighbour"].bad(f"a {type(est).__name__} on the actions {list(est.actions_)}")
        partners = _read_replicates(f["partner_replicates"], neighbour)
        if len(partners) != len(reps):
            raise f["partner_replicates"].bad(
                f"{len(reps)} replicates, one per bootstrap replicate"
            )
        return Uncertainty(
            "bootstrap",
            replicates=reps,
            neighbour=neighbour,
            partner_replicates=partners,
            mixed_misfit=mixed_misfit,
        )
    raise f["method"].bad(f"the method of a {type(est).__name__} ('bootstrap' or 'sandwich')")


def _read_structured(f: Field, est: Any) -> Any:
    """A stored partner of the sandwich: a StructuredEstimator on ``est``'s actions."""
    partner = read_estimator(f)
    if not isinstance(partner, StructuredEstimator) or partner.actions_ != est.actions_:
        raise f.bad(f"a StructuredEstimator on the actions {list(est.actions_)}")
    return partner


def _read_replicates(f: Field, est: Any) -> list[Any]:
    """Bootstrap replicates of ``est``: whole structured models (see
    :func:`_replicate_state`), or learners' states rebuilt as copies of ``est``."""
    if isinstance(est, StructuredEstimator):
        reps = []
        for item in f.items():
            rep = read_estimator(item)
            if not isinstance(rep, StructuredEstimator) or rep.actions_ != est.actions_:
                raise item.bad(f"a StructuredEstimator on the actions {list(est.actions_)}")
            reps.append(rep)
        return reps
    reps = []
    for r in f.items():
        rep = type(est)(random_state=est.random_state)
        rep.actions_, rep.outcome_ = est.actions_, est.outcome_
        if hasattr(est, "blocks_"):
            rep.blocks_ = est.blocks_
        read_models(r, rep, list(est.actions_))
        reps.append(rep)
    return reps


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
