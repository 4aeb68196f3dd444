"""Estimators of joint and mixed interventional effects, baselines and learners."""

from __future__ import annotations

from jointeffects.errors import IntervalWarning
from jointeffects.estimate.allocation import Allocation, recommend_allocation
from jointeffects.estimate.curves import response_curves
from jointeffects.estimate.decisions import BudgetPlan, optimize_budget
from jointeffects.estimate.diagnostics import Diagnostics, additivity_check, support_diagnostics
from jointeffects.estimate.estimators.baselines import (
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
)
from jointeffects.estimate.estimators.paper import JointEffectEstimator
from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.modelfile.format import (
    SavedModel,
    fit_uncertainty,
    load_model,
    save_model,
)
from jointeffects.estimate.next_experiment import (
    ExperimentAdvice,
    ExperimentCandidate,
    lift_test_candidates,
    recommend_experiment,
)
from jointeffects.estimate.regimes import RegimeChunks, RegimeData, as_regime_data
from jointeffects.estimate.uncertainty.intervals import bootstrap_intervals, sandwich_intervals

__all__ = [
    "Allocation",
    "BudgetPlan",
    "ExperimentAdvice",
    "ExperimentCandidate",
    "optimize_budget",
    "Diagnostics",
    "GaussianNoiseJointEstimator",
    "IntervalWarning",
    "SavedModel",
    "additivity_check",
    "bootstrap_intervals",
    "fit_uncertainty",
    "lift_test_candidates",
    "load_model",
    "recommend_allocation",
    "recommend_experiment",
    "response_curves",
    "sandwich_intervals",
    "save_model",
    "support_diagnostics",
    "AdditiveProjection",
    "StructuredEstimator",
    "JointEffectEstimator",
    "JointTopline",
    "ObservationalBaseline",
    "PolynomialRidgeCV",
    "PooledBaseline",
    "RegimeChunks",
    "RegimeData",
    "as_regime_data",
]
