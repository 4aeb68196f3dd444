"""A model loaded from a file, ready to query: the estimator, its diagnostics and uncertainty.

Intervals of a saved model come from what was stored at fit: bootstrap refits (the paper's
estimator and the baselines) or the sandwich covariance (the :class:`StructuredEstimator`);
:func:`fit_uncertainty` computes them and this module also writes and reads them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.errors import DataError
from jointeffects.estimate.data import RegimeData, query_array
from jointeffects.estimate.diagnostics import Diagnostics
from jointeffects.estimate.estimator_state import estimator_state, read_models
from jointeffects.estimate.intervals import check_level, refit, resample_rows
from jointeffects.estimate.jsonfield import Field
from jointeffects.estimate.learner_state import floats
from jointeffects.estimate.structured import StructuredEstimator


@dataclass
class Uncertainty:
    """What a saved model needs for intervals: bootstrap refits or a sandwich covariance."""

    method: str  # "bootstrap" or "sandwich"
    replicates: list[Any] | None = None
    covariance: np.ndarray | None = None


def fit_uncertainty(
    estimator: Any,
    data: RegimeData,
    n_boot: int = 100,
    rng: int | np.random.Generator | None = None,
) -> Uncertainty:
    """Intervals for a saved model: the sandwich covariance of a StructuredEstimator, else
    ``n_boot`` refits on rows resampled within each regime (see :mod:`.intervals`)."""
    if isinstance(estimator, StructuredEstimator):
        from jointeffects.estimate.intervals import sandwich_covariance

        return Uncertainty("sandwich", covariance=sandwich_covariance(estimator, data))
    if n_boot < 2:
        raise DataError(f"n_boot={n_boot} must be at least 2 bootstrap replicates")
    generator = np.random.default_rng(rng)
    reps = [refit(estimator, resample_rows(data, generator)) for _ in range(n_boot)]
    return Uncertainty("bootstrap", replicates=reps)


def uncertainty_state(u: Uncertainty | None) -> dict[str, Any] | None:
    """The JSON-ready state of the uncertainty: each replicate's learners, or the covariance."""
    if u is None:
        return None
    return {
        "method": u.method,
        "replicates": None
        if u.replicates is None
        else [estimator_state(r)["models"] for r in u.replicates],
        "covariance": None if u.covariance is None else floats(u.covariance),
    }


def read_uncertainty(f: Field, est: Any) -> Uncertainty | None:
    """Validate the stored uncertainty of the fitted ``est`` (see :func:`uncertainty_state`)."""
    if f.value is None:
        return None
    f.obj(("method", "replicates", "covariance"))
    method = f["method"].string()
    if method == "sandwich" and isinstance(est, StructuredEstimator):
        p = len(est.coef_) + 1
        return Uncertainty("sandwich", covariance=f["covariance"].array((p, p)))
    if method == "bootstrap" and not isinstance(est, StructuredEstimator):
        reps = []
        for r in f["replicates"].items():
            rep = type(est)(random_state=est.random_state)
            rep.actions_, rep.outcome_ = est.actions_, est.outcome_
            if hasattr(est, "blocks_"):
                rep.blocks_ = est.blocks_
            read_models(r, rep, list(est.actions_))
            reps.append(rep)
        if len(reps) < 2:
            raise f["replicates"].bad("at least 2 bootstrap replicates")
        return Uncertainty("bootstrap", replicates=reps)
    raise f["method"].bad(f"the method of a {type(est).__name__} ('bootstrap' or 'sandwich')")


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
        """Predictions (and ``lower``/``upper`` at ``level``) at query points X.

        With ``base`` (one query row) the contrast predict(X) − predict(base) is returned.
        """
        est = self.estimator
        points = query_array(X, est.actions_)
        Q = points if base is None else np.vstack([np.reshape(base, (1, -1)), points])
        estimate = est.predict(Q, intervened=intervened)
        if base is not None:
            estimate = estimate[1:] - estimate[0]
        table = pd.DataFrame({"prediction": estimate})
        if level is None:
            return table
        check_level(level)
        u = self.uncertainty
        if u is None:
            raise DataError(
                "this model file holds no uncertainty; refit with --n-boot N (N >= 2) for "
                "intervals, or omit --interval"
            )
        if u.method == "bootstrap":
            assert u.replicates is not None
            draws = np.array([r.predict(Q, intervened=intervened) for r in u.replicates])
            if base is not None:
                draws = draws[:, 1:] - draws[:, :1]
            tail = (1 - level) / 2
            table["lower"], table["upper"] = np.quantile(draws, [tail, 1 - tail], axis=0)
        else:
            from jointeffects.estimate.intervals import linear_rows

            assert u.covariance is not None
            rows = linear_rows(est, Q, intervened)
            if base is not None:
                rows = rows[1:] - rows[:1]
            se = np.sqrt(np.einsum("ij,jk,ik->i", rows, u.covariance, rows))
            half = stats.norm.ppf(0.5 + level / 2) * se
            table["lower"], table["upper"] = estimate - half, estimate + half
        return table
