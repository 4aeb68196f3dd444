"""A fitted estimator as JSON and back: the ``estimator`` part of a model file.

Holds the estimator's kind, actions, outcome and regimes with their row counts; the rest
(hyper-parameters and the fitted learners or model) is the estimator's own state
(``_model_state`` / ``_from_model_state``).
"""

from __future__ import annotations

from typing import Any

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.registry import estimator_name, model_file_kinds
from jointeffects.estimate.estimators.state import read_regime
from jointeffects.jsonfield import Field

_COMMON = ("kind", "actions", "outcome", "regimes", "params")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def estimator_state(est: Any) -> dict[str, Any]:
    """The JSON-ready state of a fitted estimator (see the module docstring)."""
    kind = type(est).__name__
    kinds = model_file_kinds()
    if estimator_name(est) is None or kind not in kinds:
        raise DataError(
            f"cannot write {_article(kind)} {kind} to a model file; supported are {list(kinds)}"
        )
    if not hasattr(est, "actions_"):
        raise DataError(f"this {kind} is not fitted yet: call fit(...) first, then save it")
    return {
        "kind": kind,
        "actions": list(est.actions_),
        "outcome": est.outcome_,
        "regimes": [{"actions": list(r), "rows": int(n)} for r, n in est.n_rows_.items()],
        **est._model_state(),
    }


def read_estimator(f: Field) -> Any:
    """Validate an estimator's state (see :func:`estimator_state`) and rebuild it, fitted."""
    kinds = model_file_kinds()
    kind = f["kind"].string() if isinstance(f.value, dict) and "kind" in f.value else None
    if kind not in kinds:
        if kind is None:
            f.obj(_COMMON)  # names what is missing
        raise f["kind"].bad(f"one of {list(kinds)}")
    cls = kinds[str(kind)]
    f.obj((*_COMMON, *cls._model_keys))
    actions = f["actions"].strings()
    if not actions or len(set(actions)) != len(actions) or any("+" in a for a in actions):
        raise f["actions"].bad("distinct action names without '+'")
    est = cls._from_model_state(f, actions)
    est.actions_ = tuple(actions)
    est.outcome_ = f["outcome"].string()
    est.n_features_in_ = len(actions)
    est.n_rows_ = {}
    for r in f["regimes"].items():
        r.obj(("actions", "rows"))
        est.n_rows_[read_regime(r["actions"], actions)] = r["rows"].integer(1)
    return est
