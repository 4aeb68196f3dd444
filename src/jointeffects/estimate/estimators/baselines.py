"""The paper's comparison methods (Section 7): observational-only, pooled, joint topline."""

from __future__ import annotations

from typing import Any

import numpy as np

from jointeffects.errors import IdentificationError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.blocks import check_regime, require_regime
from jointeffects.estimate.estimators.state import models_state, read_models
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.regimes import Regime, RegimeData, RegimeStreams
from jointeffects.jsonfield import Field


class _SingleModel(RegimeEstimator):
    """A baseline that fits one learner and answers every query with it."""

    def __init__(self, learner: Any = None, random_state: int | None = None) -> None:
        self.learner = learner
        self.random_state = random_state

    _model_keys = ("models",)

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        return np.asarray(self.model_.predict(X), dtype=float)

    def _fit_summary(self) -> tuple[dict[Regime, str], list[str]]:
        m = self.model_
        return {}, [f"one learner: degree {m.degree}, alpha {m.alpha_:.0e}"]

    def _model_state(self) -> dict[str, Any]:
        return {
            "params": {"random_state": self.random_state},
            "models": models_state({None: self.model_}),
        }

    @classmethod
    def _from_model_state(cls, f: Field, actions: list[str]) -> _SingleModel:
        p = f["params"].obj(("random_state",))
        est = cls(random_state=p["random_state"].optional_int())
        est._set_models(f["models"], actions)
        return est

    def _replicate(self, f: Field) -> _SingleModel:
        rep = type(self)(random_state=self.random_state)
        rep.actions_, rep.outcome_ = self.actions_, self.outcome_
        rep._set_models(f, list(self.actions_))
        return rep

    def _set_models(self, f: Field, actions: list[str]) -> None:
        models = read_models(f, actions)
        if list(models) != [None]:
            raise f.bad("one learner with regime null")
        self.model_ = models[None]
        self.learner = PolynomialRidgeCV(**self.model_.get_params())


class ObservationalBaseline(_SingleModel):
    """E[Y | a] fitted on observational data and used as if it were causal.

    Biased under confounding; it predicts the same numbers whatever ``intervened`` says.
    Streamed input: only the observational regime is read.
    """

    _causal = False

    def _trusted_data(self, data: RegimeData) -> RegimeData:
        return RegimeData(data.actions, data.outcome, {(): data.regimes[()]})

    def _fit_regimes(self, data: RegimeData) -> None:
        self.model_ = self._fit_learner(*require_regime(data, (), type(self).__name__))

    def _fit_streams(self, data: RegimeStreams) -> None:
        check_regime(data, (), type(self).__name__)
        self.model_ = self._fit_sources([data.regimes[()]])


class PooledBaseline(_SingleModel):
    """One learner fitted on the union of all given regimes' rows, ignoring regime labels.

    With a learner that fits from statistics (the default), the regimes' per-fold statistics
    are accumulated into one pooled set (the folds those of the concatenated rows), so the
    rows are never concatenated; other learners get the concatenated rows.
    """

    _causal = False

    def _fit_regimes(self, data: RegimeData) -> None:
        if self.can_stream():
            self._fit_streams(RegimeStreams.from_data(data))
            return
        X = np.concatenate([X for X, _ in data.regimes.values()])
        y = np.concatenate([y for _, y in data.regimes.values()])
        self.model_ = self._fit_learner(X, y)

    def _fit_streams(self, data: RegimeStreams) -> None:
        self.model_ = self._fit_sources(list(data.regimes.values()))


class JointTopline(_SingleModel):
    """One learner fitted on data of the joint intervention do(all actions).

    The paper's topline: what a joint experiment would give. Answers joint queries only.
    Streamed input: only the joint regime is read.
    """

    def _trusted_data(self, data: RegimeData) -> RegimeData:
        return RegimeData(data.actions, data.outcome, {data.actions: data.regimes[data.actions]})

    def _fit_regimes(self, data: RegimeData) -> None:
        self.model_ = self._fit_learner(*require_regime(data, data.actions, type(self).__name__))

    def _fit_streams(self, data: RegimeStreams) -> None:
        check_regime(data, data.actions, type(self).__name__)
        self.model_ = self._fit_sources([data.regimes[data.actions]])

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        if regime != self.actions_:
            raise IdentificationError(
                "JointTopline is fitted on the joint intervention and answers only joint "
                "queries (intervened=None)"
            )
        return super()._predict(X, regime)
