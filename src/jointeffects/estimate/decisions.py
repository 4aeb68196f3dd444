"""Budget plans from a fitted joint-effect model: the allocation that maximises E[Y | do(a)].

For an estimator whose joint effect is additive by construction (its ``additive``
capability), E[Y | do(a)] = c + Σ_k φ_k(a_k) and the plan is a separable problem solved to a
known tolerance by :mod:`jointeffects.budget`. For any other estimator a general optimiser
(SLSQP) searches the joint prediction, started from the separable solution of its one-action
slices and from the current allocation. By default the search stays inside the support that
every regime covered (Assumption 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from jointeffects.budget import Plan, allocate_budget, maximize_profit
from jointeffects.errors import DataError, SpecError
from jointeffects.estimate.diagnostics import Diagnostics, support_diagnostics
from jointeffects.estimate.regimes import RegimeData, as_regime_data


@dataclass
class BudgetPlan:
    """A recommended allocation with its uncertainty.

    Attributes
    ----------
    table : DataFrame
        One row per channel: ``current``, ``recommended``, ``change``, ``cost``, ``spend``,
        ``marginal_return`` (dE[Y]/da_k at the plan, per unit of cost), ``lower_bound``,
        ``upper_bound``, ``fixed`` and ``outside_support`` (the level lies outside the range
        every regime covered).
    expected : float
        The estimated E[Y | do(plan)].
    current_expected : float
        The estimated E[Y | do(current)].
    gain : float
        ``expected − current_expected``.
    interval : tuple of float or None
        Interval for E[Y | do(plan)] at ``level`` (None without uncertainty).
    gain_interval : tuple of float or None
        Interval for the gain over the current allocation.
    prob_better : float or None
        Probability that the plan beats the current allocation: the share of bootstrap
        replicates with a positive gain, or the normal approximation of the sandwich.
    level : float
        Nominal coverage of the intervals.
    method : str
        How the plan was found: "lagrangian" or "dynamic-programming" (separable), "slsqp"
        (general), with "+quantile" when a lower quantile was optimised.
    tolerance : float
        How far the plan's objective may be below the optimum (separable solver only; NaN
        otherwise).
    notes : list of str
        What the user should know: support, identification, uncertainty.
    """

    table: pd.DataFrame
    expected: float
    current_expected: float
    gain: float
    interval: tuple[float, float] | None
    gain_interval: tuple[float, float] | None
    prob_better: float | None
    level: float
    method: str
    tolerance: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for a terminal: the totals and the uncertainty."""
        lines = [
            f"expected outcome {self.expected:.4g} (current allocation {self.current_expected:.4g},"
            f" gain {self.gain:+.4g})"
        ]
        if self.interval is not None and self.gain_interval is not None:
            pct = f"{self.level:.0%}"
            lines.append(
                f"{pct} interval {self.interval[0]:.4g} to {self.interval[1]:.4g}; gain "
                f"{self.gain_interval[0]:+.4g} to {self.gain_interval[1]:+.4g}"
            )
        if self.prob_better is not None:
            lines.append(
                f"probability the plan beats the current allocation: {self.prob_better:.2f}"
            )
        return "\n".join(lines + self.notes)


def support_ranges(diagnostics: Diagnostics) -> dict[str, tuple[float, float]]:
    """Per action, the 1–99 % range that every regime's data cover (Assumption 1)."""
    table = diagnostics.support
    out = {}
    for action, rows in table.groupby("action", sort=False):
        lo, hi = float(rows["q01"].max()), float(rows["q99"].min())
        out[str(action)] = (lo, hi) if lo <= hi else (diagnostics.lower[action],) * 2
    return out


def optimize_budget(
    estimator: Any,
    budget: float | None = None,
    *,
    data: Any = None,
    diagnostics: Diagnostics | None = None,
    value: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    costs: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Mapping[str, float] | None = None,
    extrapolate: bool = False,
    uncertainty: Any = None,
    level: float = 0.9,
    quantile: float | None = None,
    grid: int = 2001,
) -> BudgetPlan:
    """The allocation of a budget across actions that maximises the estimated joint effect.

    Two objectives: with ``budget``, maximise E[Y | do(a)] subject to Σ_k cost_k·a_k =
    budget; with ``value`` instead, maximise value·E[Y | do(a)] − Σ_k cost_k·a_k (no fixed
    total). Read more in the :doc:`user guide </guide/design>`.

    Parameters
    ----------
    estimator : RegimeEstimator
        A fitted estimator of the joint effect.
    budget : float, optional
        The total Σ_k cost_k·a_k to spend. Give exactly one of ``budget`` and ``value``.
    data : dict or RegimeData, optional
        The training data; gives the support and the current allocation (observational
        means). Not needed when ``diagnostics`` (and ``current``) are given.
    diagnostics : Diagnostics, optional
        The support checked at fit (as stored in a model file), instead of ``data``.
    value : float, optional
        Value of one unit of the outcome, in the units of cost.
    bounds : mapping of str to (float, float), optional
        Per-action (low, high); default the range every regime covered. Bounds beyond it are
        refused unless ``extrapolate``.
    costs : mapping of str to float, optional
        Cost per unit of each action; default 1.
    fixed : mapping of str to float, optional
        Actions held at given levels.
    current : mapping of str to float, optional
        The allocation the plan is compared with; default the observational means, rescaled
        to spend the budget.
    extrapolate : bool, default=False
        Allow levels outside the support; such rows are marked ``outside_support``.
    uncertainty : Uncertainty, optional
        Bootstrap replicates or sandwich of the fit (:func:`~jointeffects.fit_uncertainty`),
        for the intervals, the probability of beating the current allocation, and
        ``quantile``.
    level : float, default=0.9
        Nominal coverage of the intervals.
    quantile : float, optional
        Maximise this lower quantile of the plan's expected outcome over the bootstrap
        replicates (e.g. 0.1) instead of its estimate; needs bootstrap ``uncertainty``.
    grid : int, default=2001
        Grid points per action of the separable solver.

    Returns
    -------
    BudgetPlan
    """
    actions = tuple(estimator.actions_)
    if (budget is None) == (value is None):
        raise SpecError("give a budget or a value per unit of outcome, not both or neither")
    if quantile is not None:
        if uncertainty is None or uncertainty.replicates is None:
            raise DataError(
                "quantile needs bootstrap uncertainty (fit_uncertainty with n_boot > 0)"
            )
        if not 0 < quantile < 1:
            raise SpecError(f"quantile must lie in (0, 1), got {quantile}")
    if data is not None and not isinstance(data, RegimeData):
        data = as_regime_data(data, outcome=estimator.outcome_)
    if data is not None:
        diagnostics = diagnostics or support_diagnostics(data)
    if diagnostics is None:
        raise DataError("optimize_budget needs the training data or their diagnostics")
    support = support_ranges(diagnostics)
    costs = {a: float((costs or {}).get(a, 1.0)) for a in actions}
    fixed = dict(fixed or {})
    chosen = _bounds(actions, support, bounds, fixed, extrapolate)
    now = _current(actions, data, current, costs, budget)
    reference = np.array([now[a] for a in actions])
    notes = _notes(estimator)
    if estimator.capabilities().additive:
        curves, c = _curves(estimator, reference, actions)
        plan = _separable(curves, budget, value, chosen, costs, fixed, intercept=c, grid=grid)
        levels, method, tolerance = plan.as_array(), plan.method, plan.tolerance
    else:
        levels = _general(estimator, actions, chosen, costs, fixed, budget, value, reference)
        method, tolerance = "slsqp", float("nan")
    if quantile is not None:
        levels = _quantile_plan(
            uncertainty, levels, actions, chosen, costs, fixed, budget, value, quantile
        )
        method += "+quantile"
    return _result(
        estimator, actions, levels, reference, chosen, support, costs, fixed, uncertainty,
        level, method, tolerance, notes,
    )  # fmt: skip


def _bounds(
    actions: tuple[str, ...],
    support: dict[str, tuple[float, float]],
    bounds: Mapping[str, tuple[float, float]] | None,
    fixed: Mapping[str, float],
    extrapolate: bool,
) -> dict[str, tuple[float, float]]:
    unknown = [a for a in [*(bounds or {}), *fixed] if a not in actions]
    if unknown:
        raise SpecError(f"unknown action(s) {unknown}; actions are {list(actions)}")
    out = {}
    for a in actions:
        lo, hi = (bounds or {}).get(a, support[a])
        lo, hi = float(lo), float(hi)
        s_lo, s_hi = support[a]
        outside = lo < s_lo - 1e-12 or hi > s_hi + 1e-12
        if a in fixed:
            outside = not s_lo - 1e-12 <= fixed[a] <= s_hi + 1e-12
        if outside and not extrapolate:
            raise SpecError(
                f"{a}: {(lo, hi) if a not in fixed else fixed[a]} reaches outside the support "
                f"every regime covered ({s_lo:.4g} to {s_hi:.4g}); narrow it or allow "
                "extrapolation"
            )
        out[a] = (lo, hi)
    return out


def _current(
    actions: tuple[str, ...],
    data: Any,
    current: Mapping[str, float] | None,
    costs: Mapping[str, float],
    budget: float | None,
) -> dict[str, float]:
    if current is not None:
        missing = [a for a in actions if a not in current]
        if missing:
            raise SpecError(f"current allocation lacks action(s) {missing}")
        return {a: float(current[a]) for a in actions}
    if data is None:
        raise DataError("give the current allocation (or the training data for its default)")
    means = data.regimes[()][0].mean(axis=0)
    if budget is not None:  # the observational mix, scaled to spend the same budget
        spend = float(sum(costs[a] * m for a, m in zip(actions, means, strict=True)))
        if spend > 0:
            means = means * budget / spend
    return dict(zip(actions, map(float, means), strict=True))


def _curves(
    estimator: Any, reference: np.ndarray, actions: tuple[str, ...]
) -> tuple[dict[str, Any], float]:
    """Each action's slice of the (additive) joint effect through ``reference``, minus its
    value there, and that value: summed, they reproduce the joint prediction."""
    base = float(estimator.predict(reference[None, :])[0])

    def curve(j: int) -> Any:
        def g(x: np.ndarray) -> np.ndarray:
            X = np.repeat(reference[None, :], len(x), axis=0)
            X[:, j] = x
            return estimator.predict(X) - base

        return g

    return {a: curve(j) for j, a in enumerate(actions)}, base


def _separable(
    curves: Mapping[str, Any],
    budget: float | None,
    value: float | None,
    bounds: Mapping[str, tuple[float, float]],
    costs: Mapping[str, float],
    fixed: Mapping[str, float],
    intercept: float = 0.0,
    grid: int = 2001,
) -> Plan:
    """The separable plan of ``curves`` for a budget, or for a value with no fixed total."""
    if budget is not None:
        return allocate_budget(curves, budget, bounds=bounds, costs=costs, fixed=fixed,
                               intercept=intercept, grid=grid)  # fmt: skip
    return maximize_profit(curves, value=float(value or 0.0), bounds=bounds, costs=costs,
                           fixed=fixed, intercept=intercept, grid=grid)  # fmt: skip


def _slsqp(outcome, starts, actions, bounds, costs, fixed, budget, value):
    """SLSQP from each start on ``outcome(x)`` (or value·outcome(x) − spend, with ``value``)
    under the budget and the fixed levels: the best feasible result (None if there is none)
    and the objective it minimised."""
    price = np.array([costs[a] for a in actions])
    cons = [
        {"type": "eq", "fun": lambda x, j=j, v=fixed[a]: x[j] - v}
        for j, a in enumerate(actions)
        if a in fixed
    ]
    if budget is not None:
        cons.append({"type": "eq", "fun": lambda x: price @ x - budget})
    box = [bounds[a] for a in actions]

    def objective(x: np.ndarray) -> float:
        out = outcome(x)
        return -(float(value) * out - price @ x) if value is not None else -out

    best = None
    for x0 in starts:
        res = optimize.minimize(objective, x0, method="SLSQP", bounds=box, constraints=cons)
        feasible = all(abs(c["fun"](res.x)) < 1e-6 * max(1.0, abs(budget or 1.0)) for c in cons)
        if feasible and (best is None or res.fun < best.fun):
            best = res
    return best, objective


def _general(estimator, actions, bounds, costs, fixed, budget, value, reference) -> np.ndarray:
    """SLSQP on the joint prediction from two starts: the separable plan of its slices and
    the current allocation (moved into the bounds)."""
    slices, _ = _curves(estimator, reference, actions)
    start = _separable(slices, budget, value, bounds, costs, fixed, grid=401).as_array()
    box = np.array([bounds[a] for a in actions])
    best, _ = _slsqp(
        lambda x: float(estimator.predict(x[None, :])[0]),
        (start, np.clip(reference, box[:, 0], box[:, 1])),
        actions, bounds, costs, fixed, budget, value,
    )  # fmt: skip
    return start if best is None else np.asarray(best.x)


def _quantile_plan(uncertainty, levels, actions, bounds, costs, fixed, budget, value, q):
    """The plan maximising the ``q`` quantile of the expected outcome over the bootstrap
    replicates, from ``levels`` (kept unless SLSQP finds a feasible improvement)."""
    models = uncertainty.replicates

    def quantile(x: np.ndarray) -> float:
        return float(np.quantile([float(m.predict(x[None, :])[0]) for m in models], q))

    best, objective = _slsqp(
        quantile, (levels,), actions, bounds, costs, fixed, budget, value
    )  # fmt: skip
    return np.asarray(best.x) if best is not None and best.fun <= objective(levels) else levels


def _notes(estimator: Any) -> list[str]:
    notes = []
    if not estimator.capabilities().causal:
        notes.append("note: this baseline ignores confounding; its plan optimises a regression")
    if len(estimator._identified_actions()) < len(estimator.actions_):
        missing = sorted(set(estimator.actions_) - set(estimator._identified_actions()))
        notes.append(f"note: no experiment on {missing}; their effect is not identified")
    if level := estimator._level_note():
        notes.append(
            f"note: {level}; the expected outcomes above are set by that convention, the gain "
            "is not"
        )
    return notes


def _result(
    estimator, actions, levels, reference, bounds, support, costs, fixed, uncertainty, level,
    method, tolerance, notes,
) -> BudgetPlan:  # fmt: skip
    Q = np.vstack([levels, reference])
    expected, current_expected = map(float, estimator.predict(Q))
    step = 1e-4 * np.maximum(1.0, np.abs(levels))
    marginal = []
    for j in range(len(actions)):
        up, down = levels.copy(), levels.copy()
        up[j] += step[j]
        down[j] -= step[j]
        pair = estimator.predict(np.vstack([up, down]))
        marginal.append(float(pair[0] - pair[1]) / (2 * step[j]) / costs[actions[j]])
    table = pd.DataFrame(
        {
            "action": actions,
            "current": reference,
            "recommended": levels,
            "change": levels - reference,
            "cost": [costs[a] for a in actions],
            "spend": [costs[a] * x for a, x in zip(actions, levels, strict=True)],
            "marginal_return": marginal,
            "lower_bound": [bounds[a][0] for a in actions],
            "upper_bound": [bounds[a][1] for a in actions],
            "fixed": [a in fixed for a in actions],
            "outside_support": [
                not support[a][0] - 1e-9 <= x <= support[a][1] + 1e-9
                for a, x in zip(actions, levels, strict=True)
            ],
        }
    )
    interval = gain_interval = prob = None
    if uncertainty is not None:
        band = uncertainty.band(estimator, levels[None, :], level=level)
        contrast = uncertainty.band(estimator, levels[None, :], level=level, base=reference)
        interval = (float(band["lower"].iloc[0]), float(band["upper"].iloc[0]))
        gain_interval = (float(contrast["lower"].iloc[0]), float(contrast["upper"].iloc[0]))
        if uncertainty.replicates is not None:
            gains = [float(np.diff(m.predict(Q[::-1]))[0]) for m in uncertainty.replicates]
            prob = float(np.mean(np.array(gains) > 0))
        else:
            se = float(contrast["se"].iloc[0])
            prob = float(stats.norm.cdf((expected - current_expected) / se)) if se > 0 else 1.0
    return BudgetPlan(
        table, expected, current_expected, expected - current_expected, interval,
        gain_interval, prob, level, method, tolerance, notes,
    )  # fmt: skip
