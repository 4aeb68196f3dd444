"""The paper's comparison methods (Section 7): observational-only, pooled, joint topline."""

from __future__ import annotations

from typing import Any

import numpy as np

from jointeffects.errors import IdentificationError
from jointeffects.estimate.base import RegimeEstimator, require_regime
from jointeffects.estimate.data import Regime, RegimeData


class _SingleModel(RegimeEstimator):
    """A baseline that fits one learner and answers every query with it."""

    def __init__(self, learner: Any = None, random_state: int | None = None) -> None:
        self.learner = learner
        self.random_state = random_state

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        return np.asarray(self.model_.predict(X), dtype=float)


class ObservationalBaseline(_SingleModel):
    """E[Y | a] fitted on observational data and used as if it were causal.

    Biased under confounding; it predicts the same numbers whatever ``intervened`` says.
    """

    def _fit_regimes(self, data: RegimeData) -> None:
        self.model_ = self._fit_learner(*require_regime(data, (), type(self).__name__))


class PooledBaseline(_SingleModel):
    """One learner fitted on the union of all given regimes' rows, ignoring regime labels."""

    def _fit_regimes(self, data: RegimeData) -> None:
        X = np.concatenate([X for X, _ in data.regimes.values()])
        y = np.concatenate([y for _, y in data.regimes.values()])
        self.model_ = self._fit_learner(X, y)


class JointTopline(_SingleModel):
    """One learner fitted on data of the joint intervention do(all actions).

    The paper's topline: what a joint experiment would give. Answers joint queries only.
    """

    def _fit_regimes(self, data: RegimeData) -> None:
        self.model_ = self._fit_learner(*require_regime(data, data.actions, type(self).__name__))

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        if regime != self.actions_:
            raise IdentificationError(
                "JointTopline is fitted on the joint intervention and answers only joint "
                "queries (intervened=None)"
            )
        return super()._predict(X, regime)
