"""A fitted :class:`PolynomialRidgeCV` as JSON and back, bit-identically.

The state is the hyper-parameters, the chosen ``alpha``, the input scaling (``center``,
``scale``) and the coefficients ``v``, ``b`` on the scaled monomials; the coefficients on the
raw monomials are recomputed from them on reading, exactly as ``fit`` computes them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jointeffects.errors import DataError
from jointeffects.estimate.learners.polystats import PolynomialStats, binomial_map
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.jsonfield import Field

LEARNER_KEYS = ("kind", "params", "alpha", "center", "scale", "v", "b", "cv_scores")

#: Limits of a learner read from a file, checked before anything is allocated: the basis map
#: is n_monomials × n_monomials, so these bound it to a few GiB.
MAX_DEGREE = 12
MAX_MONOMIALS = 20_000


def floats(a: Any) -> Any:
    """An array-like as (nested) lists of Python floats, ready for ``json.dumps``."""
    return np.asarray(a, dtype=float).tolist()


def learner_state(learner: Any) -> dict[str, Any]:
    """The JSON-ready state of a fitted learner; DataError for a learner other than
    :class:`PolynomialRidgeCV`, naming the alternatives."""
    if type(learner) is not PolynomialRidgeCV:
        raise DataError(
            f"learner {type(learner).__name__} cannot be written to a JSON model file; use "
            "PolynomialRidgeCV (the default, any degree) with the paper's estimator or a "
            "baseline, or the StructuredEstimator"
        )
    template = learner._template
    return {
        "kind": "PolynomialRidgeCV",
        "params": {
            "degree": int(learner.degree),
            "alphas": floats(np.ravel(learner.alphas)),
            "cv": int(learner.cv),
            "chunk_size": int(learner.chunk_size),
        },
        "alpha": float(learner.alpha_),
        "center": floats(template.center),
        "scale": floats(template.scale),
        "v": floats(learner._v),
        "b": float(learner._b),
        "cv_scores": floats(learner.cv_scores_),
    }


def read_learner(f: Field, n_features: int) -> PolynomialRidgeCV:
    """Validate a learner's state (see :func:`learner_state`) and rebuild the fitted learner."""
    f.obj(LEARNER_KEYS)
    if f["kind"].string() != "PolynomialRidgeCV":
        raise f["kind"].bad("'PolynomialRidgeCV'")
    p = f["params"].obj(("degree", "alphas", "cv", "chunk_size"))
    alphas = p["alphas"].array((len(p["alphas"].items()),), positive=True)
    degree = p["degree"].integer(1, MAX_DEGREE)
    n_mono = math.comb(n_features + degree, degree) - 1
    if n_mono > MAX_MONOMIALS:
        raise p["degree"].bad(
            f"at most a degree whose {n_features} inputs give {MAX_MONOMIALS} monomials "
            f"(this one gives {n_mono})"
        )
    v = f["v"].array((n_mono,))
    learner = PolynomialRidgeCV(
        degree=degree,
        alphas=alphas,
        cv=p["cv"].integer(2),
        chunk_size=p["chunk_size"].integer(1),
    )
    template = PolynomialStats(
        learner.degree,
        f["center"].array((n_features,)),
        f["scale"].array((n_features,), positive=True),
    )
    learner._template = template
    learner._v = v
    learner._b = f["b"].number()
    learner.alpha_ = f["alpha"].number(positive=True)
    learner.cv_scores_ = f["cv_scores"].array((len(alphas),))
    try:
        with np.errstate(all="ignore"):
            T, t0 = binomial_map(template.powers, template.center, template.scale)
            learner.coef_ = np.linalg.solve(T.T, learner._v)
            learner.intercept_ = learner._b - float(t0 @ learner.coef_)
        ok = bool(np.all(np.isfinite(learner.coef_))) and np.isfinite(learner.intercept_)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:  # e.g. a scale of 1e-300: positive, but no fit produces it
        raise f["scale"].bad("input scales whose coefficients are finite")
    learner.powers_ = template.powers
    learner.n_features_in_ = n_features
    return learner
