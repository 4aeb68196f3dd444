"""Lift tests in the structure-aware fit: weighted rows of its Gram statistics, their part of
the sandwich, the declared shapes, and what a fit summary says about them.

A lift test on channel k is the row [0, Z_φk(x + Δx) − Z_φk(x), Δy] of the regime-gated
design (the intercept and every other column cancel in the difference) with weight s²/σ²,
s² being the residual variance per raw row of the fit without the tests: raw rows (weight 1)
and summaries are then on one scale, a summary counting as s²/σ² raw rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from jointeffects.estimate.estimators.blocks import experiment_blocks
from jointeffects.estimate.estimators.hill import HillCurve, fit_hill
from jointeffects.estimate.estimators.lift import (
    SHAPES,
    difference_rows,
    lift_channels,
    lift_gram,
)
from jointeffects.estimate.learners.gram_ridge import moments, ridge, select, sse
from jointeffects.estimate.learners.state import floats
from jointeffects.estimate.regimes import Regime
from jointeffects.jsonfield import Field

if TYPE_CHECKING:
    import pandas as pd

    from jointeffects.estimate.estimators.structured import StructuredEstimator


def lift_units(est: StructuredEstimator, streams: Any, degree: int) -> tuple[Regime, ...]:
    """Set the fit's blocks and units, lift-only channels with their shapes, and the lift
    tests per channel; return the experiments' blocks. A channel with lift tests and no
    experiment is a block of its own, identified for differences (``degree``: the largest
    candidate, at which its tests must identify its curve)."""
    tests, actions = est.lift_tests_, streams.actions
    experiments = experiment_blocks(streams) if tests is None or len(streams.regimes) > 1 else ()
    est.lift_only_, est.lift_shapes_ = lift_channels(
        tests, experiments, actions, est.lift_shape, degree, not est._lift_partner
    )
    order = {a: j for j, a in enumerate(actions)}
    lifted = tuple((a,) for a in est.lift_only_)
    est.blocks_ = tuple(sorted((*experiments, *lifted), key=lambda b: order[b[0]]))
    known = {a for b in est.blocks_ for a in b}
    est.units_ = (*est.blocks_, *((a,) for a in actions if a not in known))
    counts = {} if tests is None else tests["channel"].value_counts(sort=False).to_dict()
    est.lift_counts_ = {a: int(counts[a]) for a in actions if a in counts}
    est.level_identified_ = not est.lift_only_
    return experiments


def lift_only_ancestors(
    ancestors: dict[str, tuple[str, ...]], lift_only: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Learned ancestor sets widened for channels without an experiment: the experiments
    show which actions are ancestors of such a channel, but not whose ancestor it is, so it
    is taken as a possible ancestor of every other action (a spare ancestor costs variance
    in ψ, a missing one biases the fit)."""
    actions = tuple(ancestors)
    out = dict(ancestors)
    for channel in lift_only:
        for action in actions:
            if action != channel and action not in ancestors[channel]:
                out[action] = tuple(a for a in actions if a in {*out[action], channel})
    return out


def phi_units(est: StructuredEstimator) -> tuple[bool, ...]:
    """Whether each unit has φ columns in the design: those an experiment or lift tests
    inform, except curves of a declared shape (fitted apart from the design)."""
    shaped = {(c,) for c, kind in est.lift_shapes_.items() if kind != "polynomial"}
    return tuple(u in est.blocks_ and u not in shaped for u in est.units_)


def redrawn_tests(est: StructuredEstimator, rng: np.random.Generator) -> pd.DataFrame | None:
    """The fit's lift tests with each Δy redrawn from N(Δy, σ²), for a bootstrap replicate
    (the raw rows are resampled; a summary can only be redrawn from its standard error)."""
    tests = getattr(est, "lift_tests_", None)
    if tests is None:
        return None
    noise = rng.standard_normal(len(tests)) * tests["sigma"].to_numpy()
    return tests.assign(delta_y=tests["delta_y"].to_numpy() + noise)


def polynomial_tests(est: StructuredEstimator) -> pd.DataFrame | None:
    """The fit's lift tests on channels whose curve is in the Gram (None if there are none)."""
    tests = est.lift_tests_
    if tests is None:
        return None
    mine = tests[~tests["channel"].isin(list(est.hill_))].reset_index(drop=True)
    return mine if len(mine) else None


def _rows(est: StructuredEstimator, tests: pd.DataFrame) -> np.ndarray:
    return difference_rows(
        est.design_, est.x_mean_, est.x_scale_, est.actions_, len(est.units_), tests
    )


def fit_with_lift_tests(est: StructuredEstimator, stats: np.ndarray, alphas: np.ndarray) -> None:
    """Select and solve the ridge on the raw fold ``stats`` plus the lift tests' rows.

    The first fit, on the raw rows alone, gives the residual variance s² that weighs the
    tests; then CV and the final ridge run again with the tests dealt to the folds.
    """
    est.hill_ = {
        c: fit_hill(est.lift_tests_, c) for c, s in est.lift_shapes_.items() if s == "hill"
    }
    tests = polynomial_tests(est)
    est.lift_variance_ = None
    if tests is None:
        return
    total = stats.sum(axis=0)
    keep = est._keep()
    n, *_, syy = moments(total, keep)
    residual = sse(total, keep, est.coef_, est.intercept_) / max(n - 1 - keep.sum(), 1.0)
    # a noise-free fit would give the tests no weight at all
    est.lift_variance_ = float(max(residual, 1e-12 * syy / n, 1e-300))
    weights = est.lift_variance_ / tests["sigma"].to_numpy() ** 2
    stats = stats + lift_gram(_rows(est, tests), tests, weights, int(est.cv))
    est.cv_mse_, est.degree_, est.psi_degree_, est.alpha_ = select(
        stats, est.design_, est._pairs_, alphas
    )
    est.coef_, est.intercept_ = ridge(stats.sum(axis=0), est._keep(), est.alpha_)


def lift_moments(est: StructuredEstimator, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sandwich's bread Σ w·z zᵀ and meat Σ w²·σ²·z zᵀ of the lift rows z = [0, Z_kept]
    (w = s²/σ²; the tests' variance is their reported σ², not a residual). Tests of Hill
    channels are not rows of the ridge: see :func:`shape_rows`."""
    p = len(theta)
    tests = polynomial_tests(est)
    if tests is None or est.lift_variance_ is None:
        return np.zeros((p, p)), np.zeros((p, p))
    W = np.column_stack([np.zeros(len(tests)), _rows(est, tests)[:, est._keep()]])
    w = est.lift_variance_ / tests["sigma"].to_numpy() ** 2
    bread = (W * w[:, None]).T @ W
    meat = (W * (w**2 * tests["sigma"].to_numpy() ** 2)[:, None]).T @ W
    return bread, meat


def shape_terms(est: StructuredEstimator, X: np.ndarray, regime: tuple[str, ...]) -> np.ndarray:
    """The intervened Hill channels' curves at X, each set to 0 at its observational mean."""
    out = np.zeros(len(X))
    for channel, curve in est.hill_.items():
        if channel in regime:
            k = est.actions_.index(channel)
            out += curve(X[:, k]) - curve(np.array([est.x_mean_[k]]))[0]
    return out


def shape_rows(
    est: StructuredEstimator, X: np.ndarray, regime: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The gradients of :func:`shape_terms` with respect to each Hill curve's (beta, kappa),
    shape (n, 2·n_curves), and the block-diagonal covariance of those parameters (the
    curves are fitted on their tests alone, apart from the ridge)."""
    J = np.zeros((len(X), 2 * len(est.hill_)))
    cov = np.zeros((2 * len(est.hill_), 2 * len(est.hill_)))
    for j, (channel, curve) in enumerate(est.hill_.items()):
        cov[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = curve.covariance
        if channel in regime:
            k = est.actions_.index(channel)
            at_mean = curve.gradient(est.x_mean_[k : k + 1])
            J[:, 2 * j : 2 * j + 2] = curve.gradient(X[:, k]) - at_mean
    return J, cov


def lift_summary(est: StructuredEstimator) -> list[str]:
    """The fit summary's lines on lift tests: the tests per channel, and the level note."""
    if not est.lift_counts_:
        return []
    parts = []
    for channel, count in est.lift_counts_.items():
        kind = est.lift_shapes_.get(channel)
        where = "with its experiment" if kind is None else f"only; {kind} curve"
        parts.append(f"{channel} {count} ({where})")
    lines = [f"lift tests used: {', '.join(parts)}"]
    note = level_note(est)
    return lines + ([note] if note else [])


def level_note(est: StructuredEstimator) -> str:
    """The note that the joint effect's level is set by convention ("" if identified)."""
    if est.level_identified_:
        return ""
    means = ", ".join(f"{c} {est.x_mean_[est.actions_.index(c)]:.4g}" for c in est.lift_shapes_)
    return (
        "level not identified: lift tests give differences only, so each lift-only curve is set "
        f"to 0 at its channel's observational mean ({means}); joint predictions are right up to "
        "a constant, differences (curves, gains, budget plans) are identified"
    )


def lift_state(est: StructuredEstimator) -> dict[str, Any]:
    """The lift part of the structured state in a model file."""
    return {
        "lift_counts": {c: int(n) for c, n in est.lift_counts_.items()},
        "lift_shapes": dict(est.lift_shapes_),
        "hill": {
            c: {"beta": h.beta, "kappa": h.kappa, "covariance": floats(h.covariance)}
            for c, h in est.hill_.items()
        },
    }


def read_shape_param(f: Field, actions: list[str]) -> str | dict[str, str] | None:
    """The ``lift_shape`` parameter from a model file: None, a shape or {channel: shape}."""
    if f.value is None or isinstance(f.value, str):
        if f.value is not None and f.value not in SHAPES:
            raise f.bad(f"one of {list(SHAPES)}")
        return f.value
    if not isinstance(f.value, dict) or not set(f.value) <= set(actions):
        raise f.bad(f"null, a shape or an object of shapes by action {actions}")
    return {a: _shape(f[a]) for a in f.value}


def _shape(f: Field) -> str:
    if f.value not in SHAPES:
        raise f.bad(f"one of {list(SHAPES)}")
    return str(f.value)


def read_lift_state(est: StructuredEstimator, f: Field | None, actions: list[str]) -> None:
    """Set the lift attributes of a fit read from a model file (``f`` None: a file from
    before lift tests, whose fits used none)."""
    est.lift_tests_ = None
    est.lift_variance_ = None
    est.lift_counts_, est.lift_shapes_, est.hill_ = {}, {}, {}
    if f is not None:
        counts = f["lift_counts"]
        names = counts.obj(tuple(a for a in actions if a in (counts.value or {}))).value
        est.lift_counts_ = {a: counts[a].integer(1) for a in names}
        shapes = f["lift_shapes"]
        names = shapes.obj(tuple(a for a in est.lift_counts_ if a in (shapes.value or {}))).value
        est.lift_shapes_ = {a: _shape(shapes[a]) for a in names}
        hill = f["hill"]
        wanted = tuple(a for a, kind in est.lift_shapes_.items() if kind == "hill")
        for a in hill.obj(wanted).value:
            curve = hill[a].obj(("beta", "kappa", "covariance"))
            est.hill_[a] = HillCurve(
                curve["beta"].number(positive=True),
                curve["kappa"].number(positive=True),
                curve["covariance"].array((2, 2)),
            )
    est.lift_only_ = tuple(est.lift_shapes_)
    est.level_identified_ = not est.lift_only_
