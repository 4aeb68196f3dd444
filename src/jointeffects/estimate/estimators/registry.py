"""The registry: every estimator by its one name, as the CLI, the figures, model files and
planning call it.

Classes are imported on first use, so that the command line can list the names without
loading scikit-learn.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from jointeffects.errors import DataError


@dataclass(frozen=True)
class Entry:
    """One registered estimator: its name, where its class lives, and whether a model file
    can hold it (as its class declares; a test keeps the two in step)."""

    name: str
    module: str
    cls: str
    model_file: bool


_PACKAGE = "jointeffects.estimate.estimators"

#: Every estimator, by name.
REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("paper", f"{_PACKAGE}.paper", "JointEffectEstimator", True),
        Entry("structured", f"{_PACKAGE}.structured", "StructuredEstimator", True),
        Entry("projected", f"{_PACKAGE}.projection", "AdditiveProjection", False),
        Entry("prior", f"{_PACKAGE}.prior", "GaussianNoiseJointEstimator", False),
        Entry("topline", f"{_PACKAGE}.baselines", "JointTopline", True),
        Entry("pooled", f"{_PACKAGE}.baselines", "PooledBaseline", True),
        Entry("observational", f"{_PACKAGE}.baselines", "ObservationalBaseline", True),
    )
}

#: The names of estimators a model file can hold.
SAVABLE = tuple(name for name, e in REGISTRY.items() if e.model_file)


def estimator_class(name: str) -> Any:
    """The estimator class registered under ``name``."""
    if name not in REGISTRY:
        raise DataError(f"no estimator is named {name!r}; the estimators are {list(REGISTRY)}")
    entry = REGISTRY[name]
    return getattr(importlib.import_module(entry.module), entry.cls)


def estimator_name(estimator: Any) -> str | None:
    """The registered name of ``estimator``'s class (None for a class from elsewhere)."""
    cls = type(estimator)
    for name, e in REGISTRY.items():
        if (cls.__module__, cls.__name__) == (e.module, e.cls):
            return name
    return None


def model_file_kinds() -> dict[str, Any]:
    """The estimators a model file can hold, by the ``kind`` a file names them with."""
    return {REGISTRY[name].cls: estimator_class(name) for name in SAVABLE}
