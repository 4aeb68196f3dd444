"""jointeffects: joint interventional effects from observational data plus single experiments.

Implements and extends Kekić, Garrido Mejia & Schölkopf (ICML 2025), "Learning Joint
Interventional Effects from Single-Variable Interventions in Additive Models".

The names below are loaded on first use (PEP 562), so that ``import jointeffects`` and the
command line start without importing scikit-learn, SciPy or pandas.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from jointeffects.errors import (
    DataError,
    IdentificationError,
    IntervalWarning,
    JointEffectsError,
    JointEffectsWarning,
    SpecError,
    StoreError,
    SupportWarning,
)

if TYPE_CHECKING:
    from jointeffects.estimate import (
        AdditiveProjection,
        GaussianNoiseJointEstimator,
        JointEffectEstimator,
        JointTopline,
        ObservationalBaseline,
        PolynomialRidgeCV,
        PooledBaseline,
        RegimeChunks,
        RegimeData,
        StructuredEstimator,
        additivity_check,
        bootstrap_intervals,
        fit_uncertainty,
        lift_test_candidates,
        load_model,
        optimize_budget,
        recommend_allocation,
        recommend_experiment,
        response_curves,
        sandwich_intervals,
        save_model,
        support_diagnostics,
    )
    from jointeffects.plotting import plot_response_curves
    from jointeffects.simulate import (
        AdditiveSCM,
        load_scm,
        marketing_example,
        sample_linear_scm,
        sample_marketing_scm,
        sample_polynomial_scm,
    )

try:
    __version__ = version("jointeffects")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

_LAZY = {
    **dict.fromkeys(
        (
            "AdditiveProjection",
            "GaussianNoiseJointEstimator",
            "JointEffectEstimator",
            "JointTopline",
            "ObservationalBaseline",
            "PolynomialRidgeCV",
            "PooledBaseline",
            "StructuredEstimator",
            "RegimeChunks",
            "RegimeData",
            "additivity_check",
            "bootstrap_intervals",
            "fit_uncertainty",
            "sandwich_intervals",
            "support_diagnostics",
            "lift_test_candidates",
            "load_model",
            "optimize_budget",
            "recommend_allocation",
            "recommend_experiment",
            "response_curves",
            "save_model",
        ),
        "jointeffects.estimate",
    ),
    "plot_response_curves": "jointeffects.plotting",
    **dict.fromkeys(
        (
            "AdditiveSCM",
            "load_scm",
            "marketing_example",
            "sample_linear_scm",
            "sample_marketing_scm",
            "sample_polynomial_scm",
        ),
        "jointeffects.simulate",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jointeffects' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AdditiveProjection",
    "GaussianNoiseJointEstimator",
    "JointEffectEstimator",
    "JointTopline",
    "ObservationalBaseline",
    "PolynomialRidgeCV",
    "PooledBaseline",
    "StructuredEstimator",
    "RegimeChunks",
    "RegimeData",
    "additivity_check",
    "bootstrap_intervals",
    "fit_uncertainty",
    "sandwich_intervals",
    "support_diagnostics",
    "lift_test_candidates",
    "load_model",
    "optimize_budget",
    "plot_response_curves",
    "recommend_allocation",
    "recommend_experiment",
    "response_curves",
    "save_model",
    "AdditiveSCM",
    "load_scm",
    "marketing_example",
    "sample_linear_scm",
    "sample_marketing_scm",
    "sample_polynomial_scm",
    "DataError",
    "IdentificationError",
    "IntervalWarning",
    "JointEffectsError",
    "JointEffectsWarning",
    "SpecError",
    "StoreError",
    "SupportWarning",
    "__version__",
]
