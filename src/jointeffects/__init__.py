"""jointeffects: joint interventional effects from observational data plus single experiments.

Implements and extends Kekić, Garrido Mejia & Schölkopf (ICML 2025), "Learning Joint
Interventional Effects from Single-Variable Interventions in Additive Models".
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from jointeffects.errors import (
    DataError,
    IdentificationError,
    JointEffectsError,
    SpecError,
    StoreError,
)
from jointeffects.estimate import (
    AdditiveProjection,
    GaussianNoiseJointEstimator,
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PolynomialRidgeCV,
    PooledBaseline,
    StructuredEstimator,
    load_model,
    recommend_allocation,
    response_curves,
    save_model,
)
from jointeffects.simulate import (
    AdditiveSCM,
    load_scm,
    marketing_example,
    sample_linear_scm,
    sample_polynomial_scm,
)

try:
    __version__ = version("jointeffects")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "AdditiveProjection",
    "GaussianNoiseJointEstimator",
    "JointEffectEstimator",
    "JointTopline",
    "ObservationalBaseline",
    "PolynomialRidgeCV",
    "PooledBaseline",
    "StructuredEstimator",
    "load_model",
    "recommend_allocation",
    "response_curves",
    "save_model",
    "AdditiveSCM",
    "load_scm",
    "marketing_example",
    "sample_linear_scm",
    "sample_polynomial_scm",
    "DataError",
    "IdentificationError",
    "JointEffectsError",
    "SpecError",
    "StoreError",
    "__version__",
]
