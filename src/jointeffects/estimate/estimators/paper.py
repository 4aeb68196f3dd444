"""The paper's Intervention Generalization estimator (Section 6, Appendices A–C)."""

from __future__ import annotations

from typing import Any

import numpy as np

from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.blocks import (
    blocks_for_query,
    check_regime,
    experiment_blocks,
    require_regime,
)
from jointeffects.estimate.estimators.state import lists, models_state, read_models, read_regimes
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.regimes import Regime, RegimeData, RegimeStreams
from jointeffects.jsonfield import Field


class JointEffectEstimator(RegimeEstimator):
    """One learner per regime, combined into joint and mixed interventional effects.

    The paper's estimator, for any scikit-learn learner and for data that must be streamed.
    Read more in the :doc:`user guide </guide/estimators>`.

    With m_obs fitted on observational data and m_B on the experiment do(A_B) of each
    block B of a partition of the actions (single actions in the paper's main case)::

        E[Y | do(a)] = Σ_B m_B(a) − (|blocks| − 1)·m_obs(a)                 (Thm. 1, Cor. 1)
        E[Y | do(a_int), a_obs] = m_obs(a) + Σ_{B ⊆ int} (m_B(a) − m_obs(a))  (Prop. 1)

    Valid under the paper's assumptions: an outcome additive over the blocks (Assumption 2 /
    Def. 2) and equal support of the actions across regimes (Assumption 1).

    Parameters
    ----------
    learner : scikit-learn regressor, optional
        Cloned once per regime. Default: ``PolynomialRidgeCV()`` (cubic polynomial ridge, alpha
        by 3-fold CV — the paper's learner), which also fits streamed and dask regimes
        without holding their rows (see :meth:`fit`).
    random_state : int, optional
        Seeds learners that have a ``random_state`` parameter (a different stream per regime).

    Attributes
    ----------
    actions_ : tuple of str
    blocks_ : tuple of tuple of str
        The experiments' blocks (disjoint), in the order of their first action.
    models_ : dict
        Fitted learner per regime (``()`` for the observational one).
    n_rows_ : dict
        Training rows per regime.
    """

    _model_keys = ("blocks", "models")

    def __init__(self, learner: Any = None, random_state: int | None = None) -> None:
        self.learner = learner
        self.random_state = random_state

    def _fit_regimes(self, data: RegimeData) -> None:
        require_regime(data, (), type(self).__name__)
        self.blocks_ = experiment_blocks(data)
        self.models_ = {
            regime: self._fit_learner(*data.regimes[regime], index=i)
            for i, regime in enumerate(((), *self.blocks_))
        }

    def _fit_streams(self, data: RegimeStreams) -> None:
        check_regime(data, (), type(self).__name__)
        self.blocks_ = experiment_blocks(data)
        self.models_ = {
            regime: self._fit_sources([data.regimes[regime]], index=i)
            for i, regime in enumerate(((), *self.blocks_))
        }

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        base = self.models_[()].predict(X)
        effect = base.copy()
        for block in blocks_for_query(self.blocks_, regime):
            effect += self.models_[block].predict(X) - base
        return effect

    def _identified_actions(self) -> tuple[str, ...]:
        covered = {a for block in self.blocks_ for a in block}
        return tuple(a for a in self.actions_ if a in covered)

    def _fit_summary(self) -> tuple[dict[Regime, str], list[str]]:
        details = {
            regime: f"degree {m.degree}, alpha {m.alpha_:.0e}, CV R² {m.cv_scores_.max():.3f}"
            for regime, m in self.models_.items()
        }
        return details, []

    def _regressions(self) -> dict[Any, Any]:
        return dict(self.models_)

    def _model_state(self) -> dict[str, Any]:
        return {
            "params": {"random_state": self.random_state},
            "blocks": lists(self.blocks_),
            "models": models_state(self.models_),
        }

    @classmethod
    def _from_model_state(cls, f: Field, actions: list[str]) -> JointEffectEstimator:
        p = f["params"].obj(("random_state",))
        est = cls(random_state=p["random_state"].optional_int())
        est.blocks_ = read_regimes(f["blocks"], actions)
        est._set_models(f["models"], actions)
        return est

    def _replicate(self, f: Field) -> JointEffectEstimator:
        rep = type(self)(random_state=self.random_state)
        rep.actions_, rep.outcome_, rep.blocks_ = self.actions_, self.outcome_, self.blocks_
        rep._set_models(f, list(self.actions_))
        return rep

    def _set_models(self, f: Field, actions: list[str]) -> None:
        models = read_models(f, actions)
        expected = {(), *self.blocks_}
        if set(models) != expected:
            raise f.bad(f"one learner per regime {sorted(expected)}")
        self.models_ = {r: models[r] for r in ((), *self.blocks_)}
        self.learner = PolynomialRidgeCV(**next(iter(models.values())).get_params())
