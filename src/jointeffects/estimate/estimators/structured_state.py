"""The structure-aware estimator's fitted state in a model file, written and read back."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from jointeffects.estimate.estimators.state import lists, read_regime, read_regimes
from jointeffects.estimate.estimators.structured_lift import (
    lift_state,
    phi_units,
    read_lift_state,
    read_shape_param,
)
from jointeffects.estimate.estimators.structured_stats import gated_design
from jointeffects.estimate.learners.state import MAX_DEGREE, MAX_MONOMIALS, floats
from jointeffects.jsonfield import Field

if TYPE_CHECKING:
    from jointeffects.estimate.estimators.structured import StructuredEstimator

#: Keys of the fitted model in a model file (files before format 7 lack "psi_degree", files
#: before format 8 the lift tests' keys).
_STATE_KEYS = ("blocks", "units", "ancestors", "identified", "design_degree", "x_mean",
               "x_scale", "degree", "alpha", "coef", "intercept", "psi_degree")  # fmt: skip
_LIFT_KEYS = ("lift_counts", "lift_shapes", "hill")
_PARAM_KEYS = ("degrees", "alphas", "cv", "level", "random_state", "psi_degrees", "lift_shape")


def structured_state(est: StructuredEstimator) -> dict[str, Any]:
    """The fit's JSON-ready ``params`` and ``structured`` state."""
    return {
        "params": {
            "degrees": [int(d) for d in est.degrees],
            "alphas": None if est.alphas is None else floats(np.ravel(est.alphas)),
            "cv": int(est.cv),
            "level": float(est.level),
            "random_state": est.random_state,
            "psi_degrees": None if est.psi_degrees is None else [int(d) for d in est.psi_degrees],
            "lift_shape": est.lift_shape
            if est.lift_shape is None or isinstance(est.lift_shape, str)
            else dict(est.lift_shape),
        },
        "structured": {
            "blocks": lists(est.blocks_),
            "units": lists(est.units_),
            "ancestors": {a: list(v) for a, v in est.ancestors_.items()},
            "identified": list(phi_units(est)),
            "design_degree": int(est.design_.degree),
            "x_mean": floats(est.x_mean_),
            "x_scale": floats(est.x_scale_),
            "degree": int(est.degree_),
            "alpha": float(est.alpha_),
            "coef": floats(est.coef_),
            "intercept": float(est.intercept_),
            "psi_degree": int(est.psi_degree_),
            **lift_state(est),
        },
    }


def read_structured_state(
    cls: type[StructuredEstimator], f: Field, actions: list[str]
) -> StructuredEstimator:
    """The fit of class ``cls`` rebuilt from a model file's validated state."""
    p = f["params"]
    p.obj(_PARAM_KEYS[: 5 + ("psi_degrees" in p.value) + ("lift_shape" in p.value)])
    alphas = p["alphas"]
    psi = p["psi_degrees"].value if "psi_degrees" in p.value else None
    est = cls(
        degrees=tuple(d.integer(1, MAX_DEGREE) for d in p["degrees"].items()),
        alphas=None
        if alphas.value is None
        else alphas.array((len(alphas.items()),), positive=True).tolist(),
        cv=p["cv"].integer(2),
        level=p["level"].number(),
        random_state=p["random_state"].optional_int(),
        psi_degrees=None
        if psi is None
        else tuple(d.integer(1, MAX_DEGREE) for d in p["psi_degrees"].items()),
    )
    if "lift_shape" in p.value:
        est.lift_shape = read_shape_param(p["lift_shape"], actions)
    s = f["structured"]
    lift = _LIFT_KEYS if "lift_counts" in s.value else ()
    s.obj((*(_STATE_KEYS if "psi_degree" in s.value else _STATE_KEYS[:-1]), *lift))
    K = len(actions)
    est.blocks_ = read_regimes(s["blocks"], actions)
    est.units_ = read_regimes(s["units"], actions)
    anc = s["ancestors"].obj(tuple(actions))
    est.ancestors_ = {a: read_regime(anc[a], actions) for a in actions}
    identified = tuple(bool(x.value) for x in s["identified"].items())
    units = sorted(a for u in est.units_ for a in u)
    if len(identified) != len(est.units_) or units != sorted(actions):
        raise s["units"].bad("a partition of the actions matching 'identified'")
    design_degree = s["design_degree"].integer(1, MAX_DEGREE)
    # bound the design's columns before building it
    inputs = [len(set(u).union(*(est.ancestors_[a] for a in u))) for u in est.units_]
    if 2 * sum(math.comb(n + design_degree, design_degree) for n in inputs) > MAX_MONOMIALS:
        raise s["design_degree"].bad(f"a degree whose design has at most {MAX_MONOMIALS} columns")
    est.design_ = gated_design(actions, est.units_, est.ancestors_, identified, design_degree)
    est.degree_ = s["degree"].integer(1, design_degree)
    est.psi_degree_ = (
        s["psi_degree"].integer(1, design_degree) if "psi_degree" in s.value else est.degree_
    )
    est.coef_ = s["coef"].array((int(np.sum(est.design_.keep(est.degree_, est.psi_degree_))),))
    est.intercept_ = s["intercept"].number()
    est.alpha_ = s["alpha"].number(positive=True)
    est.x_mean_ = s["x_mean"].array((K,))
    est.x_scale_ = s["x_scale"].array((K,), positive=True)
    est.structure_tests_ = None
    read_lift_state(est, s if lift else None, actions)
    return est
