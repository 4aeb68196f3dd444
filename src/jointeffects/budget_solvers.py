"""The grid solvers behind :mod:`jointeffects.budget` (validated input only).

Levels and bounds are arrays over the channels in order (a fixed channel has lo = hi), costs
are positive and every curve is vectorised; :func:`jointeffects.budget.allocate_budget`
checks all of this before calling in.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jointeffects.errors import DataError

Curve = Callable[[NDArray[np.float64]], ArrayLike]
FloatArray = NDArray[np.float64]

ZOOM_POINTS = 41  # points of each refinement window: its step is a tenth of the last one
ZOOM_ROUNDS = 4
_BISECTIONS = 200
_EXCHANGE_ROUNDS = 200


def evaluate(f: Curve, x: FloatArray, name: str) -> FloatArray:
    """``f(x)`` as a float array of x's shape; a DataError naming the channel otherwise."""
    out = np.asarray(f(x), dtype=float)
    if out.shape != x.shape:
        out = np.broadcast_to(out, x.shape) if out.size == 1 else out
    if out.shape != x.shape:
        raise DataError(
            f"curve of channel {name!r} returned shape {out.shape} for {x.shape[0]} levels; "
            "it must map an array of shape (n,) to values of shape (n,)"
        )
    if not np.all(np.isfinite(out)):
        raise DataError(f"curve of channel {name!r} returned non-finite values inside its bounds")
    return np.array(out, dtype=float)


def pick(xs: list[FloatArray], vs: list[FloatArray], cost: FloatArray, lam: float) -> list[int]:
    """Per channel, the grid index that maximises g_k(x) − λ·cost_k·x."""
    return [int(np.argmax(v - lam * c * x)) for x, v, c in zip(xs, vs, cost, strict=True)]


def lagrange(
    xs: list[FloatArray], vs: list[FloatArray], cost: FloatArray, budget: float, at_most: bool
) -> tuple[FloatArray, float]:
    """Levels and λ of the Lagrangian solution on grids, interpolated to meet the budget.

    Bisection brackets the λ at which the grid spend crosses the budget; the two grid
    solutions either side are then mixed, which is optimal for the concave hull of the grids.
    """

    def spend(idx: list[int]) -> float:
        return float(sum(c * x[i] for c, x, i in zip(cost, xs, idx, strict=True)))

    if at_most and spend(pick(xs, vs, cost, 0.0)) <= budget:
        return np.array([x[i] for x, i in zip(xs, pick(xs, vs, cost, 0.0), strict=True)]), 0.0
    slopes = [np.abs(np.diff(v) / np.diff(c * x)) for x, v, c in zip(xs, vs, cost, strict=True)]
    top = 1.0 + max((float(s.max()) for s in slopes if len(s)), default=0.0)
    low, high = (0.0 if at_most else -top), top
    for _ in range(_BISECTIONS):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if spend(pick(xs, vs, cost, mid)) >= budget:
            low = mid
        else:
            high = mid
    more, less = pick(xs, vs, cost, low), pick(xs, vs, cost, high)
    s_more, s_less = spend(more), spend(less)
    theta = 1.0 if s_more == s_less else (budget - s_less) / (s_more - s_less)
    theta = min(max(theta, 0.0), 1.0)
    a = np.array([x[j] + theta * (x[i] - x[j]) for x, i, j in zip(xs, more, less, strict=True)])
    return a, 0.5 * (low + high)


def dual(
    xs: list[FloatArray], vs: list[FloatArray], cost: FloatArray, budget: float, lam: float
) -> float:
    """The Lagrangian bound λ·B + Σ_k max_x (g_k(x) − λ·cost_k·x) over the grids."""
    inner = sum(float(np.max(v - lam * c * x)) for x, v, c in zip(xs, vs, cost, strict=True))
    return lam * budget + inner


def windows(
    funcs: list[Curve],
    names: tuple[str, ...],
    a: FloatArray,
    steps: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[list[tuple[FloatArray, FloatArray]], FloatArray]:
    """Grids of two steps either side of each level, a tenth as fine, with their values."""
    out, new = [], np.zeros_like(steps)
    for k, f in enumerate(funcs):
        if steps[k] == 0:
            x = np.array([a[k]])
        else:
            x = np.linspace(max(lo[k], a[k] - 2 * steps[k]), min(hi[k], a[k] + 2 * steps[k]),
                            ZOOM_POINTS)  # fmt: skip
            x = np.union1d(x, a[k])  # the current level stays feasible in the window
            new[k] = 4 * steps[k] / (ZOOM_POINTS - 1)
        out.append((x, evaluate(f, x, names[k])))
    return out, new


def dynamic_programme(
    funcs: list[Curve],
    names: tuple[str, ...],
    cost: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    budget: float,
    at_most: bool,
    grid: int,
) -> FloatArray:
    """The best allocation of (grid − 1) equal budget units above the lower bounds."""
    room = cost * (hi - lo)
    free_budget = min(budget, float(cost @ hi)) - float(cost @ lo)
    units = grid - 1
    unit = free_budget / units
    if unit <= 0:
        return lo.copy()
    caps = [min(units, int(math.floor(r / unit + 1e-9))) for r in room]
    gains = [
        evaluate(f, lo[k] + np.arange(caps[k] + 1) * unit / cost[k], names[k])
        for k, f in enumerate(funcs)
    ]
    best = np.full(units + 1, -np.inf)
    best[: caps[0] + 1] = gains[0]
    choice = [np.arange(units + 1)]
    m = np.arange(units + 1)[:, None]
    for k in range(1, len(funcs)):
        j = np.arange(caps[k] + 1)[None, :]
        table = np.where(m >= j, best[np.clip(m - j, 0, None)], -np.inf) + gains[k][None, :]
        choice.append(np.argmax(table, axis=1))
        best = table[np.arange(units + 1), choice[-1]]
    finite = np.flatnonzero(np.isfinite(best))
    at = int(finite[np.argmax(best[finite])]) if at_most else int(finite.max())
    take = np.zeros(len(funcs), dtype=int)
    for k in range(len(funcs) - 1, -1, -1):
        take[k] = choice[k][at]
        at -= take[k]
    return lo + take * unit / cost


def exchange(
    funcs: list[Curve],
    names: tuple[str, ...],
    cost: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    a: FloatArray,
    unit: float,
    budget: float,
    at_most: bool,
) -> FloatArray:
    """Greedy local search: move spend between two channels (or to/from the slack of an
    ``at_most`` budget) while some move of 2^-i budget units raises the total."""
    a = a.copy()
    deltas = max(unit, 1e-300) * 2.0 ** -np.arange(0, 40)
    now = np.array([evaluate(f, a[k : k + 1], names[k])[0] for k, f in enumerate(funcs)])
    for _ in range(_EXCHANGE_ROUNDS):
        up, down = np.full((len(a), len(deltas)), -np.inf), np.full((len(a), len(deltas)), -np.inf)
        for k, f in enumerate(funcs):
            x = np.r_[a[k] + deltas / cost[k], a[k] - deltas / cost[k]]
            v = evaluate(f, np.clip(x, lo[k], hi[k]), names[k]) - now[k]
            ok = (x >= lo[k]) & (x <= hi[k])
            v = np.where(ok, v, -np.inf)
            up[k], down[k] = v[: len(deltas)], v[len(deltas) :]
        gain = down[:, None, :] + up[None, :, :]
        gain[np.arange(len(a)), np.arange(len(a))] = -np.inf
        i, j, d = np.unravel_index(int(np.argmax(gain)), gain.shape)
        moves = [(float(gain[i, j, d]), {int(i): -deltas[d], int(j): deltas[d]})]
        if at_most:  # or spend less, or spend more out of the unused budget
            g, e = np.unravel_index(int(np.argmax(down)), down.shape)
            moves.append((float(down[g, e]), {int(g): -deltas[e]}))
            room = np.where(deltas <= budget - float(cost @ a), up, -np.inf)
            t, e = np.unravel_index(int(np.argmax(room)), room.shape)
            moves.append((float(room[t, e]), {int(t): deltas[e]}))
        best, move = max(moves, key=lambda m: m[0])
        if not best > 1e-13 * (np.abs(now).sum() + 1e-300):
            break
        for k, spend in move.items():
            a[k] = min(max(a[k] + spend / cost[k], lo[k]), hi[k])
            now[k] = evaluate(funcs[k], a[k : k + 1], names[k])[0]
    return a


def repair(
    a: FloatArray, cost: FloatArray, lo: FloatArray, hi: FloatArray, budget: float, at_most: bool
) -> FloatArray:
    """Move the rounding residue of the budget onto channels with room, so it holds exactly."""
    a = np.clip(a, lo, hi)
    for k in np.argsort(-(cost * (hi - lo))):
        diff = budget - float(cost @ a)
        if diff == 0 or (at_most and diff > 0):
            break
        a[k] = min(max(a[k] + diff / cost[k], lo[k]), hi[k])
    return a


def total(funcs: list[Curve], a: FloatArray, names: tuple[str, ...]) -> float:
    return sum(float(evaluate(f, a[k : k + 1], names[k])[0]) for k, f in enumerate(funcs))


def values_and_slopes(
    funcs: list[Curve],
    names: tuple[str, ...],
    a: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    grid: int,
) -> tuple[FloatArray, FloatArray]:
    """g_k(a_k) and the finite-difference slope g_k'(a_k), one call per channel."""
    values, slopes = np.empty(len(a)), np.empty(len(a))
    for k, f in enumerate(funcs):
        h = (hi[k] - lo[k]) / (grid - 1) if hi[k] > lo[k] else 1e-6 * max(abs(a[k]), 1.0)
        left = a[k] - h if (a[k] - h >= lo[k] or hi[k] == lo[k]) else a[k]
        right = a[k] + h if (a[k] + h <= hi[k] or hi[k] == lo[k]) else a[k]
        v = evaluate(f, np.array([left, a[k], right]), names[k])
        values[k] = v[1]
        slopes[k] = (v[2] - v[0]) / (right - left) if right > left else 0.0
    return values, slopes
