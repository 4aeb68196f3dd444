"""The registry: every estimator by its one name, as the CLI, the figures, model files and
planning call it."""

from __future__ import annotations

from typing import Any

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.baselines import (
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
)
from jointeffects.estimate.estimators.paper import JointEffectEstimator
from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator

#: Every estimator class by its name (``cls.name``).
ESTIMATORS: dict[str, type[RegimeEstimator]] = {
    cls.name: cls
    for cls in (
        JointEffectEstimator,
        StructuredEstimator,
        AdditiveProjection,
        GaussianNoiseJointEstimator,
        JointTopline,
        PooledBaseline,
        ObservationalBaseline,
    )
}


def estimator_class(name: str) -> type[RegimeEstimator]:
    """The estimator class registered under ``name``."""
    if name not in ESTIMATORS:
        raise DataError(f"no estimator is named {name!r}; the estimators are {list(ESTIMATORS)}")
    return ESTIMATORS[name]


def estimator_name(estimator: Any) -> str | None:
    """The registered name of ``estimator``'s class (None for an estimator from elsewhere)."""
    name = getattr(type(estimator), "name", None)
    return name if ESTIMATORS.get(name) is type(estimator) else None


def model_file_kinds() -> dict[str, type[RegimeEstimator]]:
    """The estimators a model file can hold, by the ``kind`` a file names them with."""
    return {cls.__name__: cls for cls in ESTIMATORS.values() if cls._model_keys}
