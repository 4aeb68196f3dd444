"""Estimators of joint and mixed interventional effects, baselines and learners."""

from __future__ import annotations

from typing import Any

from jointeffects.estimate.baselines import JointTopline, ObservationalBaseline, PooledBaseline
from jointeffects.estimate.data import RegimeData, as_regime_data
from jointeffects.estimate.joint import JointEffectEstimator

__all__ = [
    "JointEffectEstimator",
    "JointTopline",
    "ObservationalBaseline",
    "PolynomialRidgeCV",
    "PooledBaseline",
    "RegimeData",
    "as_regime_data",
]


def __getattr__(name: str) -> Any:  # the learner module is imported on first use
    if name == "PolynomialRidgeCV":
        from jointeffects.estimate.ridge import PolynomialRidgeCV

        return PolynomialRidgeCV
    raise AttributeError(name)
