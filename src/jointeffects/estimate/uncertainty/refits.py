"""Refits on resampled regimes: the bootstrap's replicates, and the fitted estimator itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.regimes import RegimeData, as_regime_data


def bootstrap_partner(estimator: RegimeEstimator, misspecification: bool | str = "auto") -> Any:
    """The unfitted partner of the bootstrap's bias term (the estimator with learners one
    degree richer), or None. "auto": when it has polynomial ridge learners; True: required;
    False: None."""
    if misspecification not in (True, False, "auto"):
        raise DataError(f"misspecification={misspecification!r} must be True, False or 'auto'")
    if misspecification is False:
        return None
    return estimator._richer_partner(required=misspecification is True)


def regime_data(datasets: Any, outcome: str = "Y") -> RegimeData:
    """``datasets`` as validated :class:`RegimeData` (passed through if it already is)."""
    if isinstance(datasets, RegimeData):
        return datasets
    return as_regime_data(datasets, outcome=outcome)


def refit(estimator: Any, data: RegimeData) -> Any:
    """A clone of ``estimator`` fitted on ``data``."""
    return clone(estimator).fit(data)


def fitted_on(estimator: Any, data: RegimeData) -> Any:
    """``estimator`` if it is fitted (then on ``data``'s actions and outcome, else refused),
    or a clone fitted on ``data``."""
    if not hasattr(estimator, "actions_"):
        return refit(estimator, data)
    fitted = (tuple(estimator.actions_), getattr(estimator, "outcome_", data.outcome))
    if fitted != (data.actions, data.outcome):
        raise DataError(
            f"the estimator was fitted on actions {list(fitted[0])} and outcome '{fitted[1]}', "
            f"the data have {list(data.actions)} and '{data.outcome}': pass the data it was "
            "fitted on, or an unfitted estimator"
        )
    return estimator


def paired_refits(
    estimators: Sequence[Any],
    data: RegimeData,
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    resample: Callable[[RegimeData, np.random.Generator], RegimeData] | None = None,
) -> Iterator[list[Any]]:
    """``n_boot`` times: one resample of ``data`` (default :func:`resample_rows`) and a clone
    of every estimator fitted on it (``_refit_on``, which may redraw more, e.g. lift tests,
    from the same generator). Checks ``n_boot`` at the call, refits lazily."""
    if n_boot < 2:
        raise DataError(f"n_boot={n_boot} must be at least 2 bootstrap replicates")
    rng = np.random.default_rng(random_state)
    draw = resample_rows if resample is None else resample

    def replicates() -> Iterator[list[Any]]:
        for _ in range(n_boot):
            sample = draw(data, rng)
            yield [estimator._refit_on(sample, rng) for estimator in estimators]

    return replicates()


def resample_rows(data: RegimeData, rng: np.random.Generator) -> RegimeData:
    """Rows drawn with replacement within each regime (regime sizes are kept)."""
    regimes = {}
    for regime, (X, y) in data.regimes.items():
        idx = rng.integers(len(y), size=len(y))
        regimes[regime] = (X[idx], y[idx])
    return RegimeData(actions=data.actions, outcome=data.outcome, regimes=regimes)
