"""Additive projection of any joint-effect estimate.

Under the paper's assumptions the true joint effect is additive over the experiments'
blocks: E[Y | do(a)] = Σ_B φ_B(a_B). An estimate that is not additive by construction (the
paper's estimator, a black-box learner) can therefore be projected onto additive functions in
L2(μ), μ = the distribution of joint queries; the projection is a contraction onto a set
that holds the truth, so it can only reduce the L2(μ) error. Here μ is by default the
product of the experiments' intervention marginals, and the additive functions are
polynomials of the given degree in each block's actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.blocks import experiment_blocks
from jointeffects.estimate.estimators.paper import JointEffectEstimator
from jointeffects.estimate.learners.basis import polynomial_columns
from jointeffects.estimate.regimes import Regime, RegimeData


class AdditiveProjection(RegimeEstimator):
    """Wraps an estimator and projects its joint effect onto additive functions.

    Use it to make a non-additive estimate additive. Read more in the
    :doc:`user guide </guide/estimators>`.

    Parameters
    ----------
    estimator : RegimeEstimator, optional
        The estimator to project; default: the paper's ``JointEffectEstimator()``.
    degree : int, default=3
        Degree of the polynomial in each block's actions.
    n_points : int, default=50_000
        Monte-Carlo points drawn from μ to compute the projection.
    random_state : int, optional
        Seeds the draw of the points.

    Notes
    -----
    Only joint queries (``intervened=None``) are projected; mixed effects are not additive
    in the observed actions and are delegated to the wrapped estimator unchanged.
    """

    _additive = True

    def __init__(
        self,
        estimator: Any = None,
        degree: int = 3,
        n_points: int = 50_000,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.degree = degree
        self.n_points = n_points
        self.random_state = random_state

    def _fit_regimes(self, data: RegimeData) -> None:
        base = self._inner()
        self.estimator_ = base.fit(data)
        self.blocks_ = experiment_blocks(data)
        rng = np.random.default_rng(self.random_state)
        index = {a: j for j, a in enumerate(data.actions)}
        points = np.empty((self.n_points, len(data.actions)))
        for block in self.blocks_:
            cols = [index[a] for a in block]
            values = data.regimes[block][0][:, cols]  # the block's intervention distribution
            points[:, cols] = values[rng.integers(len(values), size=self.n_points)]
        self._units = [tuple(index[a] for a in block) for block in self.blocks_]
        design = self._design(points)
        target = self.estimator_.predict(points)
        self.coef_, *_ = np.linalg.lstsq(design, target, rcond=None)

    def _design(self, X: np.ndarray) -> np.ndarray:
        columns = [polynomial_columns(X, unit, self.degree) for unit in self._units]
        return np.column_stack([np.ones(len(X)), *columns])

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        if regime != self.actions_:
            return self.estimator_.predict(X, intervened=regime)
        return self._design(X) @ self.coef_

    def _inner(self) -> RegimeEstimator:
        """An unfitted copy of the wrapped estimator (its default too)."""
        return JointEffectEstimator() if self.estimator is None else clone(self.estimator)

    def _identified_actions(self) -> tuple[str, ...]:
        return self.estimator_._identified_actions()

    def _regressions(self) -> dict[Any, Any]:
        return self.estimator_._regressions()

    def _richer_partner(self, required: bool = False) -> Any:
        richer = self._inner()._richer_partner(required)
        if richer is None:
            return None
        return clone(self).set_params(estimator=richer, degree=self.degree + 1)
