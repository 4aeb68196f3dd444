"""Separable budget allocation: the levels that maximise a sum of one-variable curves.

An additive model's joint effect is c + Σ_k φ_k(a_k), so the best plan under a total budget,

    maximise  c + Σ_k g_k(a_k)   subject to  Σ_k cost_k·a_k = B (or <= B),  lo_k <= a_k <= hi_k,

is a separable resource-allocation problem. :func:`allocate_budget` solves it on a fine grid
per channel: a Lagrangian search on the multiplier λ (each channel maximises
g_k(a) − λ·cost_k·a on its grid; bisection on λ meets the budget), refined on ever finer
windows around the solution. The duality gap certifies the result: for concave curves it is
zero up to the grid's resolution. A non-concave curve can leave a gap (the Lagrangian only
sees the concave hull); the budget is then allocated by dynamic programming over budget units
and polished by pairwise exchanges. :func:`maximize_profit` solves the objective without a
fixed total, value·(c + Σ_k g_k(a_k)) − Σ_k cost_k·a_k, channel by channel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from jointeffects import budget_solvers as bs
from jointeffects.budget_solvers import Curve, FloatArray
from jointeffects.errors import SpecError

#: How the total spend is constrained: exactly the budget, or at most the budget.
TOTALS = ("equal", "at_most")


@dataclass(frozen=True)
class Plan:
    """An allocation of spend across channels, as returned by the solvers.

    Attributes
    ----------
    levels : mapping of str to float
        The level a_k of every channel, fixed ones included, in channel order.
    value : float
        The objective at ``levels``: c + Σ_k g_k(a_k) for a budget, value·(c + Σ_k g_k(a_k))
        − Σ_k cost_k·a_k for :func:`maximize_profit`.
    spend : float
        Σ_k cost_k·a_k.
    multiplier : float
        The marginal return per unit cost at the optimum: λ of the budget constraint (0 when
        an ``at_most`` budget does not bind); 1 / value for :func:`maximize_profit`. A free
        channel strictly inside its bounds has ``marginal[k] / cost_k`` close to it. NaN
        for a dynamic programme's plan without any channel strictly inside its bounds.
    marginal : mapping of str to float
        g_k'(a_k), a central finite difference with the coarse grid's step (one-sided at a
        bound).
    method : {"lagrangian", "dynamic-programming", "grid"}
        How the plan was found.
    tolerance : float
        How far ``value`` may be below the optimum. For a budget, the duality gap (Lagrangian
        bound minus value): accurate to the finest grid's resolution for concave curves; for
        the dynamic programme, the gap to the bound of the curves' concave hulls on the coarse
        grid, which is loose when they are far from concave. For :func:`maximize_profit`, the
        gain of the last refinement, an estimate.
    fixed : tuple of str
        The channels that were held at given levels.
    """

    levels: Mapping[str, float]
    value: float
    spend: float
    multiplier: float
    marginal: Mapping[str, float]
    method: str
    tolerance: float
    fixed: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names, in the order of the curves."""
        return tuple(self.levels)

    def as_array(self) -> FloatArray:
        """The levels as an array of shape (n_channels,), in channel order."""
        return np.array(list(self.levels.values()), dtype=float)


def allocate_budget(
    curves: Mapping[str, Curve],
    budget: float,
    *,
    bounds: Mapping[str, tuple[float, float]],
    costs: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    total: str = "equal",
    intercept: float = 0.0,
    grid: int = 2001,
) -> Plan:
    """Maximise c + Σ_k g_k(a_k) subject to Σ_k cost_k·a_k = B and lo_k <= a_k <= hi_k.

    Use it to turn per-channel response curves (estimated or true) into a media plan. The
    result is optimal to ``Plan.tolerance`` when every curve is concave, and the best plan
    found by a dynamic programme over 1/(grid − 1) budget units otherwise.

    Parameters
    ----------
    curves : mapping of str to callable
        One vectorised curve per channel: ``g(x)`` maps an array of levels of shape (n,) to
        values of shape (n,). Their order is the channel order of the plan.
    budget : float
        The total B, in the units of cost·level.
    bounds : mapping of str to (float, float)
        (lo_k, hi_k) for every channel that is not fixed.
    costs : mapping of str to float, optional
        Positive cost per unit level; missing channels cost 1.
    fixed : mapping of str to float, optional
        Channels held at a given level (within their bounds, if any are given); their spend
        counts against the budget.
    total : {"equal", "at_most"}, default "equal"
        Spend exactly the budget, or at most the budget.
    intercept : float, default 0.0
        The constant c, added to the plan's value.
    grid : int, default 2001
        Points of the coarse grid per channel.

    Returns
    -------
    Plan

    Raises
    ------
    SpecError
        For an infeasible budget, non-positive costs, bounds with lo > hi, or channel names
        in ``bounds``, ``costs`` or ``fixed`` that have no curve.
    DataError
        If a curve returns values of the wrong shape or non-finite values.
    """
    if total not in TOTALS:
        raise SpecError(f"total={total!r} must be one of {list(TOTALS)}")
    names, funcs, cost, lo, hi, held = _validate(curves, bounds, costs, fixed, grid)
    budget = _finite(budget, "budget")
    least, most = float(cost @ lo), float(cost @ hi)
    slack = 1e-12 * max(abs(least), abs(most), 1.0)
    if budget < least - slack:
        raise SpecError(
            f"budget {budget:g} is below the least spend the bounds allow, Σ cost·lo = "
            f"{least:g} (fixed channels included); raise the budget or lower the bounds"
        )
    if total == "equal" and budget > most + slack:
        raise SpecError(
            f"budget {budget:g} exceeds the most the bounds allow, Σ cost·hi = {most:g}; lower "
            "the budget, raise the bounds or pass total='at_most'"
        )
    at_most = total == "at_most"
    xs = [np.linspace(lo[k], hi[k], grid if hi[k] > lo[k] else 1) for k in range(len(names))]
    vs = [bs.evaluate(f, x, name) for f, x, name in zip(funcs, xs, names, strict=True)]
    a, lam = bs.lagrange(xs, vs, cost, budget, at_most)
    primal = bs.total(funcs, a, names)
    scale = sum(float(np.ptp(v)) for v in vs) + abs(lam) * abs(budget) + 1e-300
    gap = bs.dual(xs, vs, cost, budget, lam) - primal
    if gap <= 1e-9 * scale:
        method = "lagrangian"
        wins = [(x, v) for x, v in zip(xs, vs, strict=True)]
        steps = np.array([x[1] - x[0] if len(x) > 1 else 0.0 for x in xs])
        for _ in range(bs.ZOOM_ROUNDS):
            wins, steps = bs.windows(funcs, names, a, steps, lo, hi)
            a, lam = bs.lagrange([w[0] for w in wins], [w[1] for w in wins], cost, budget, at_most)
        grids = [(np.r_[x, w[0]], np.r_[v, w[1]]) for x, v, w in zip(xs, vs, wins, strict=True)]
    else:
        method = "dynamic-programming"
        best = a
        a = bs.dynamic_programme(funcs, names, cost, lo, hi, budget, at_most, grid)
        unit = (min(budget, most) - least) / (grid - 1)
        a = bs.exchange(funcs, names, cost, lo, hi, a, unit, budget, at_most)
        if bs.total(funcs, best, names) > bs.total(funcs, a, names):
            a = best
        grids = list(zip(xs, vs, strict=True))
    a = bs.repair(a, cost, lo, hi, budget, at_most)
    values, marginal = bs.values_and_slopes(funcs, names, a, lo, hi, grid)
    value = intercept + float(values.sum())
    # The plan's own levels join the grids, so that the bound is never below the value.
    grids = [(np.r_[x, a[k]], np.r_[v, values[k]]) for k, (x, v) in enumerate(grids)]
    bound = bs.dual([g[0] for g in grids], [g[1] for g in grids], cost, budget, lam)
    # Read λ off the channels strictly inside their bounds (g_k' = λ·cost_k there): the
    # bisection's λ is only known to a chord of the finest grid, and the hull's λ of a
    # dynamic programme is not the plan's.
    inside = (lo < a) & (a < hi)
    if inside.any() and lam != 0.0:
        lam = float(np.mean(marginal[inside] / cost[inside]))
    elif method == "dynamic-programming":
        lam = math.nan
    return Plan(
        levels=dict(zip(names, a.tolist(), strict=True)),
        value=value,
        spend=float(cost @ a),
        multiplier=float(lam),
        marginal=dict(zip(names, marginal.tolist(), strict=True)),
        method=method,
        tolerance=max(bound + intercept - value, 0.0),
        fixed=held,
    )


def maximize_profit(
    curves: Mapping[str, Curve],
    *,
    value: float = 1.0,
    bounds: Mapping[str, tuple[float, float]],
    costs: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    intercept: float = 0.0,
    grid: int = 2001,
) -> Plan:
    """Maximise value·(c + Σ_k g_k(a_k)) − Σ_k cost_k·a_k with lo_k <= a_k <= hi_k.

    Use it when there is no fixed total: each unit of outcome is worth ``value`` and every
    channel is pushed to where its marginal return per unit cost is 1 / value (or to a
    bound). The problem separates into one grid search per channel, refined around the best
    grid point, so non-concave curves are handled as well.

    Parameters
    ----------
    curves, bounds, costs, fixed, intercept, grid
        As for :func:`allocate_budget`.
    value : float, default 1.0
        Worth of one unit of the outcome, in the units of cost·level; must be positive.

    Returns
    -------
    Plan
        ``method`` is ``"grid"`` and ``multiplier`` is 1 / value.
    """
    names, funcs, cost, lo, hi, held = _validate(curves, bounds, costs, fixed, grid)
    value = _finite(value, "value")
    if value <= 0:
        raise SpecError(f"value={value!r} must be positive: the worth of one unit of outcome")
    a = np.empty(len(names))
    gain = 0.0  # of the last refinement, summed over channels
    for k, (f, name) in enumerate(zip(funcs, names, strict=True)):
        x = np.linspace(lo[k], hi[k], grid if hi[k] > lo[k] else 1)
        step = x[1] - x[0] if len(x) > 1 else 0.0
        best, last = -math.inf, 0.0
        for _ in range(bs.ZOOM_ROUNDS + 1):
            score = value * bs.evaluate(f, x, name) - cost[k] * x
            i = int(np.argmax(score))
            last, best, a[k] = float(score[i]) - best, float(score[i]), x[i]
            near = (max(lo[k], a[k] - 2 * step), min(hi[k], a[k] + 2 * step))
            step = (near[1] - near[0]) / (bs.ZOOM_POINTS - 1)
            x = np.union1d(np.linspace(*near, bs.ZOOM_POINTS), a[k])  # never worse than a[k]
        gain += last
    values, marginal = bs.values_and_slopes(funcs, names, a, lo, hi, grid)
    return Plan(
        levels=dict(zip(names, a.tolist(), strict=True)),
        value=value * (intercept + float(values.sum())) - float(cost @ a),
        spend=float(cost @ a),
        multiplier=1.0 / value,
        marginal=dict(zip(names, marginal.tolist(), strict=True)),
        method="grid",
        tolerance=max(gain, 0.0),
        fixed=held,
    )


# -- validation -------------------------------------------------------------------------------


def _validate(
    curves: Mapping[str, Curve],
    bounds: Mapping[str, tuple[float, float]],
    costs: Mapping[str, float] | None,
    fixed: Mapping[str, float] | None,
    grid: int,
) -> tuple[tuple[str, ...], list[Curve], FloatArray, FloatArray, FloatArray, tuple[str, ...]]:
    """Channel names, curves, costs and (lo, hi) per channel (lo = hi for fixed channels)."""
    if not isinstance(curves, Mapping) or not curves:
        raise SpecError("curves must be a non-empty mapping of channel name -> callable")
    names = tuple(curves)
    for name, f in curves.items():
        if not callable(f):
            raise SpecError(f"curve of channel {name!r} is not callable: {type(f).__name__}")
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or grid < 3:
        raise SpecError(f"grid={grid!r} must be an integer number of points >= 3")
    costs, fixed = dict(costs or {}), dict(fixed or {})
    for what, table in (("bounds", bounds), ("costs", costs), ("fixed", fixed)):
        unknown = [c for c in table if c not in curves]
        if unknown:
            raise SpecError(
                f"{what} names unknown channel(s) {unknown}; channels are {list(names)}"
            )
    cost = np.array([_finite(costs.get(c, 1.0), f"cost of {c!r}") for c in names])
    bad = [c for c, v in zip(names, cost, strict=True) if v <= 0]
    if bad:
        raise SpecError(f"costs must be positive; channel(s) {bad} have {cost[cost <= 0].tolist()}")
    lo, hi = np.empty(len(names)), np.empty(len(names))
    for k, c in enumerate(names):
        if c in bounds:
            pair = tuple(bounds[c])
            if len(pair) != 2:
                raise SpecError(f"bounds of {c!r} must be a pair (lo, hi), got {bounds[c]!r}")
            lo[k], hi[k] = (
                _finite(pair[0], f"lower bound of {c!r}"),
                _finite(pair[1], f"upper bound of {c!r}"),
            )
            if lo[k] > hi[k]:
                raise SpecError(f"bounds of {c!r} have lo = {lo[k]:g} > hi = {hi[k]:g}")
        elif c not in fixed:
            raise SpecError(f"channel {c!r} has no bounds; give bounds[{c!r}] = (lo, hi) or fix it")
        if c in fixed:
            level = _finite(fixed[c], f"fixed level of {c!r}")
            if c in bounds and not lo[k] <= level <= hi[k]:
                raise SpecError(
                    f"fixed {c}={level:g} lies outside its bounds [{lo[k]:g}, {hi[k]:g}]; "
                    "change the level or the bounds"
                )
            lo[k] = hi[k] = level
    return names, list(curves.values()), cost, lo, hi, tuple(c for c in names if c in fixed)


def _finite(x: object, what: str) -> float:
    try:
        out = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SpecError(f"{what} must be a number, got {x!r}") from None
    if not math.isfinite(out):
        raise SpecError(f"{what} must be finite, got {out!r}")
    return out
