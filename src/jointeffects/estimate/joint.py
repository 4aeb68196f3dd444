"""The paper's Intervention Generalization estimator (Section 6, Appendices A–C)."""

from __future__ import annotations

from typing import Any

import numpy as np

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate.base import RegimeEstimator, require_regime
from jointeffects.estimate.data import Regime, RegimeData, regime_label


class JointEffectEstimator(RegimeEstimator):
    """One learner per regime, combined into joint and mixed interventional effects.

    With m_obs fitted on observational data and m_B on the experiment do(A_B) of each
    block B of a partition of the actions (single actions in the paper's main case),

        E[Y | do(a)] = Σ_B m_B(a) − (|blocks| − 1)·m_obs(a)                 (Thm. 1, Cor. 1)
        E[Y | do(a_int), a_obs] = m_obs(a) + Σ_{B ⊆ int} (m_B(a) − m_obs(a))  (Prop. 1)

    Valid under the paper's assumptions: an outcome additive over the blocks (Assumption 2 /
    Def. 2) and equal support of the actions across regimes (Assumption 1).

    Parameters
    ----------
    learner : scikit-learn regressor, optional
        Cloned once per regime. Default: ``PolynomialRidgeCV()`` (cubic polynomial ridge, alpha
        by 3-fold CV — the paper's learner).
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

    def __init__(self, learner: Any = None, random_state: int | None = None) -> None:
        self.learner = learner
        self.random_state = random_state

    def _fit_regimes(self, data: RegimeData) -> None:
        require_regime(data, (), type(self).__name__)
        blocks = [regime for regime in data.regimes if regime]
        if not blocks:
            raise DataError(
                "no experiment given: add at least one regime that intervenes on an action"
            )
        owner: dict[str, Regime] = {}
        for block in blocks:
            for action in block:
                if action in owner:
                    raise DataError(
                        f"experiments {regime_label(owner[action])} and {regime_label(block)} "
                        f"both intervene on '{action}'; blocks must be disjoint (pass one "
                        "experiment per action or per block of a partition)"
                    )
                owner[action] = block
        order = {a: j for j, a in enumerate(data.actions)}
        self.blocks_ = tuple(sorted(blocks, key=lambda b: order[b[0]]))
        self.models_ = {
            regime: self._fit_learner(*data.regimes[regime], index=i)
            for i, regime in enumerate(((), *self.blocks_))
        }

    def _blocks_of(self, intervened: Regime) -> list[Regime]:
        covered = {a for block in self.blocks_ for a in block}
        missing = [a for a in intervened if a not in covered]
        if missing:
            raise IdentificationError(
                f"no experiment intervenes on {missing}: the effect of intervening on them is "
                f"not identified; experiments cover {[regime_label(b) for b in self.blocks_]}"
            )
        chosen = [b for b in self.blocks_ if set(b) & set(intervened)]
        partial = [b for b in chosen if not set(b) <= set(intervened)]
        if partial:
            raise IdentificationError(
                f"intervening on {list(intervened)} splits the block experiment "
                f"{regime_label(partial[0])}; only unions of blocks are identified — intervene "
                f"on all of {list(partial[0])} or none"
            )
        return chosen

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        base = self.models_[()].predict(X)
        effect = base.copy()
        for block in self._blocks_of(regime):
            effect += self.models_[block].predict(X) - base
        return effect
