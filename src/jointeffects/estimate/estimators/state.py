"""Helpers of the estimators' model-file states: regimes and per-regime learners as JSON."""

from __future__ import annotations

from typing import Any

from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.learners.state import learner_state, read_learner
from jointeffects.jsonfield import Field


def lists(regimes: Any) -> list[list[str]]:
    """Regimes (tuples of action names) as JSON lists."""
    return [list(r) for r in regimes]


def read_regime(f: Field, actions: list[str]) -> tuple[str, ...]:
    """A regime (or block): known action names in the order of ``actions``."""
    names = tuple(f.strings())
    if any(a not in actions for a in names) or list(names) != [a for a in actions if a in names]:
        raise f.bad(f"action names in the order {actions}")
    return names


def read_regimes(f: Field, actions: list[str]) -> tuple[tuple[str, ...], ...]:
    """A list of regimes (see :func:`read_regime`)."""
    return tuple(read_regime(r, actions) for r in f.items())


def models_state(models: dict[Any, Any]) -> list[dict[str, Any]]:
    """Learners keyed by regime (None: one learner for every query) as a ``models`` list."""
    return [
        {"regime": None if r is None else list(r), "learner": learner_state(m)}
        for r, m in models.items()
    ]


def read_models(f: Field, actions: list[str]) -> dict[Any, PolynomialRidgeCV]:
    """A ``models`` list (see :func:`models_state`) as learners keyed by regime."""
    models = {}
    for m in f.items():
        m.obj(("regime", "learner"))
        regime = None if m["regime"].value is None else read_regime(m["regime"], actions)
        models[regime] = read_learner(m["learner"], len(actions))
    return models
