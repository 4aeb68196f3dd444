"""A fitted estimator as JSON and back: the ``estimator`` part of a model file.

Holds the estimator's kind, actions, outcome, regimes with their row counts and
hyper-parameters, and either one learner per regime (the paper's estimator), one learner (the
baselines) or the regime-gated additive model (the :class:`StructuredEstimator`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.baselines import (
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
)
from jointeffects.estimate.estimators.paper import JointEffectEstimator
from jointeffects.estimate.estimators.structured import StructuredEstimator, gated_design
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.learners.state import (
    MAX_DEGREE,
    MAX_MONOMIALS,
    floats,
    learner_state,
    read_learner,
)
from jointeffects.estimate.modelfile.fields import Field

#: The single-learner estimators (baselines) by name.
SINGLE = {c.__name__: c for c in (ObservationalBaseline, PooledBaseline, JointTopline)}

#: The estimators a model file can hold.
KINDS = ("JointEffectEstimator", *SINGLE, "StructuredEstimator")

_COMMON = ("kind", "actions", "outcome", "regimes", "params")
_STRUCTURED = ("blocks", "units", "ancestors", "identified", "design_degree", "x_mean",
               "x_scale", "degree", "alpha", "coef", "intercept")  # fmt: skip


# -- writing ----------------------------------------------------------------------------------


def estimator_state(est: Any) -> dict[str, Any]:
    """The JSON-ready state of a fitted estimator (see the module docstring)."""
    kind = type(est).__name__
    if kind not in KINDS or type(est).__module__.split(".")[0] != "jointeffects":
        raise DataError(f"cannot write a {kind} to a model file; supported are {list(KINDS)}")
    if not hasattr(est, "actions_"):
        raise DataError(f"this {kind} is not fitted yet: call fit(...) first, then save it")
    state: dict[str, Any] = {
        "kind": kind,
        "actions": list(est.actions_),
        "outcome": est.outcome_,
        "regimes": [{"actions": list(r), "rows": int(n)} for r, n in est.n_rows_.items()],
    }
    if kind == "StructuredEstimator":
        state["params"] = {
            "degrees": [int(d) for d in est.degrees],
            "alphas": None if est.alphas is None else floats(np.ravel(est.alphas)),
            "cv": int(est.cv),
            "level": float(est.level),
            "random_state": est.random_state,
        }
        state["structured"] = {
            "blocks": _lists(est.blocks_),
            "units": _lists(est.units_),
            "ancestors": {a: list(v) for a, v in est.ancestors_.items()},
            "identified": [unit in est.blocks_ for unit in est.units_],
            "design_degree": int(est.design_.degree),
            "x_mean": floats(est.x_mean_),
            "x_scale": floats(est.x_scale_),
            "degree": int(est.degree_),
            "alpha": float(est.alpha_),
            "coef": floats(est.coef_),
            "intercept": float(est.intercept_),
        }
        return state
    state["params"] = {"random_state": est.random_state}
    if kind == "JointEffectEstimator":
        state["blocks"] = _lists(est.blocks_)
        state["models"] = [
            {"regime": list(r), "learner": learner_state(m)} for r, m in est.models_.items()
        ]
    else:
        state["models"] = [{"regime": None, "learner": learner_state(est.model_)}]
    return state


def _lists(regimes: Any) -> list[list[str]]:
    return [list(r) for r in regimes]


# -- reading ----------------------------------------------------------------------------------


def read_regime(f: Field, actions: list[str]) -> tuple[str, ...]:
    """A regime (or block): known action names in the order of ``actions``."""
    names = tuple(f.strings())
    if any(a not in actions for a in names) or list(names) != [a for a in actions if a in names]:
        raise f.bad(f"action names in the order {actions}")
    return names


def _read_regimes(f: Field, actions: list[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(read_regime(r, actions) for r in f.items())


def read_models(f: Field, est: Any, actions: list[str]) -> None:
    """Set the learners of ``est`` (``models_`` or ``model_``) from a ``models`` list."""
    models = {}
    for m in f.items():
        m.obj(("regime", "learner"))
        regime = None if m["regime"].value is None else read_regime(m["regime"], actions)
        models[regime] = read_learner(m["learner"], len(actions))
    if isinstance(est, JointEffectEstimator):
        expected = {(), *est.blocks_}
        if set(models) != expected:
            raise f.bad(f"one learner per regime {sorted(expected)}")
        est.models_ = {r: models[r] for r in ((), *est.blocks_)}
    else:
        if list(models) != [None]:
            raise f.bad("one learner with regime null")
        est.model_ = models[None]
    first = next(iter(models.values()))
    est.learner = PolynomialRidgeCV(**first.get_params())


def read_estimator(f: Field) -> Any:
    """Validate an estimator's state (see :func:`estimator_state`) and rebuild it, fitted."""
    kind = f["kind"].string() if isinstance(f.value, dict) and "kind" in f.value else None
    if kind == "JointEffectEstimator":
        f.obj((*_COMMON, "blocks", "models"))
    elif kind in SINGLE:
        f.obj((*_COMMON, "models"))
    elif kind == "StructuredEstimator":
        f.obj((*_COMMON, "structured"))
    else:
        if kind is None:
            f.obj(_COMMON)  # names what is missing
        raise f["kind"].bad(f"one of {list(KINDS)}")
    actions = f["actions"].strings()
    if not actions or len(set(actions)) != len(actions) or any("+" in a for a in actions):
        raise f["actions"].bad("distinct action names without '+'")
    est: Any
    if kind == "StructuredEstimator":
        est = _read_structured(f, actions)
    else:
        p = f["params"].obj(("random_state",))
        cls = JointEffectEstimator if kind == "JointEffectEstimator" else SINGLE[str(kind)]
        est = cls(random_state=p["random_state"].optional_int())
        if kind == "JointEffectEstimator":
            est.blocks_ = _read_regimes(f["blocks"], actions)
        read_models(f["models"], est, actions)
    est.actions_ = tuple(actions)
    est.outcome_ = f["outcome"].string()
    est.n_features_in_ = len(actions)
    est.n_rows_ = {}
    for r in f["regimes"].items():
        r.obj(("actions", "rows"))
        est.n_rows_[read_regime(r["actions"], actions)] = r["rows"].integer(1)
    return est


def _read_structured(f: Field, actions: list[str]) -> StructuredEstimator:
    p = f["params"].obj(("degrees", "alphas", "cv", "level", "random_state"))
    alphas = p["alphas"]
    est = StructuredEstimator(
        degrees=tuple(d.integer(1, MAX_DEGREE) for d in p["degrees"].items()),
        alphas=None
        if alphas.value is None
        else alphas.array((len(alphas.items()),), positive=True).tolist(),
        cv=p["cv"].integer(2),
        level=p["level"].number(),
        random_state=p["random_state"].optional_int(),
    )
    s = f["structured"].obj(_STRUCTURED)
    K = len(actions)
    est.blocks_ = _read_regimes(s["blocks"], actions)
    est.units_ = _read_regimes(s["units"], actions)
    anc = s["ancestors"].obj(tuple(actions))
    est.ancestors_ = {a: read_regime(anc[a], actions) for a in actions}
    identified = tuple(bool(x.value) for x in s["identified"].items())
    if len(identified) != len(est.units_) or sorted(a for u in est.units_ for a in u) != sorted(
        actions
    ):
        raise s["units"].bad("a partition of the actions matching 'identified'")
    design_degree = s["design_degree"].integer(1, MAX_DEGREE)
    # bound the design's columns before building it
    inputs = [len(set(u).union(*(est.ancestors_[a] for a in u))) for u in est.units_]
    if 2 * sum(math.comb(n + design_degree, design_degree) for n in inputs) > MAX_MONOMIALS:
        raise s["design_degree"].bad(f"a degree whose design has at most {MAX_MONOMIALS} columns")
    est.design_ = gated_design(actions, est.units_, est.ancestors_, identified, design_degree)
    est.degree_ = s["degree"].integer(1, design_degree)
    keep = int(np.sum(est.design_.degrees <= est.degree_))
    est.coef_ = s["coef"].array((keep,))
    est.intercept_ = s["intercept"].number()
    est.alpha_ = s["alpha"].number(positive=True)
    est.x_mean_ = s["x_mean"].array((K,))
    est.x_scale_ = s["x_scale"].array((K,), positive=True)
    est.structure_tests_ = None
    return est
