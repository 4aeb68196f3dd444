"""A random family of marketing-mix SCMs, and the plans a decision is compared with.

:func:`sample_marketing_scm` draws weekly spend on K channels (in money units) and the
resulting sales, with saturating channels, a hidden demand signal per channel that drives
both its spend and sales, and channels whose spend follows other channels' (tv → search).
Because every mechanism is a polynomial, the simulator knows each channel's exact response
curve, and :func:`true_optimal_plan` turns those into the best plan for a budget;
:func:`current_plan` gives the observational mean spend, the allocation a plan is measured
against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jointeffects.budget import Plan, allocate_budget, maximize_profit
from jointeffects.errors import SpecError
from jointeffects.simulate.families import check_family_arguments
from jointeffects.simulate.noise import Noise
from jointeffects.simulate.scm import AdditiveSCM
from jointeffects.simulate.spec import FORMAT, parse_variable

#: Channel names used in order; channels beyond these are named ``channel<k>``.
CHANNEL_NAMES = ("tv", "search", "social", "display", "email", "radio", "print", "video")

_Z99 = 2.3263478740408408  # the standard normal's 99 % quantile
FloatArray = NDArray[np.float64]


def sample_marketing_scm(
    K: int = 4,
    rng: int | np.random.Generator | None = None,
    *,
    channels: Sequence[str] | None = None,
    edge_prob: float = 0.3,
    spend_range: tuple[float, float] = (2.0, 50.0),
    spend_cv: tuple[float, float] = (0.15, 0.3),
    roi_range: tuple[float, float] = (0.5, 3.0),
    saturation: tuple[float, float] = (1.0, 1.3),
    degree: int = 2,
    confounding: float = 1.0,
    interaction: float = 0.1,
    noise: float = 1.0,
) -> AdditiveSCM:
    """Draw a marketing-mix SCM: weekly spend (in $k) on K channels and the week's sales.

    Spend on channel k is linear-Gaussian, A_k := b_k + w_k·C_k + Σ_{j ∈ pa(k)} β_kj·A_j + V_k,
    where C_k ~ N(0, 1) is a hidden demand signal for that channel. Each edge j → k (j < k)
    is present with probability ``edge_prob``, and the first channel always feeds the second
    (tv spend raises search spend); edge weights are positive. The coefficients are set so
    that A_k has a mean μ_k drawn log-uniformly from ``spend_range`` and a std σ_k = cv·μ_k,
    with the confounder, the parents and the own noise explaining random shares of its
    variance. Sales are additive over the channels,

        sales = U + Σ_k (φ_k(A_k) + δ_k·C_k + ε_k·A_k·C_k),

    so the demand signal raises spend and sales together and the observational data are
    confounded. Each experiment randomises one channel's spend from N(μ_k, σ_k²), the exact
    mean and spread of its observational spend (so every regime has the same support).

    Saturation is represented by a concave increasing polynomial,
    φ_k(a) = α_k·a − γ_k·a² − κ_k·a³ (κ_k = 0 for ``degree=2``), whose slope falls to zero
    at a vertex placed at or just beyond the 99 % point of the channel's spend: returns
    diminish over the whole support and are nearly flat at its top. The marginal return at
    the mean spend, φ_k'(μ_k), is drawn log-uniformly from ``roi_range``. This assumes that
    no decision looks far beyond the spend ever observed: past its vertex a polynomial turns
    down, which a real saturating curve does not, so the family is meant to be queried
    inside the support (as the estimators are, Assumption 1).

    Parameters
    ----------
    K : int, default 4
        Number of channels.
    rng : int, Generator or None
        Randomness for the structure and every coefficient.
    channels : sequence of str, optional
        K channel names; by default ``tv``, ``search``, ``social``, … in that order.
    edge_prob : float, default 0.3
        Probability of each edge between channels (besides the first → second one).
    spend_range : (float, float), default (2.0, 50.0)
        Range of the channels' mean weekly spend, drawn log-uniformly.
    spend_cv : (float, float), default (0.15, 0.3)
        Range of each channel's coefficient of variation σ_k / μ_k; at most 0.3 keeps spend
        positive in all but about 0.1 % of weeks.
    roi_range : (float, float), default (0.5, 3.0)
        Range of the marginal return φ_k'(μ_k) (sales per unit of spend), log-uniform.
    saturation : (float, float), default (1.0, 1.3)
        The vertex of φ_k as a multiple of the 99 % point of the channel's spend.
    degree : {2, 3}, default 2
        Degree of the response curves; cubic curves mix the quadratic and cubic shapes.
    confounding : float, default 1.0
        Scale of the demand effect δ_k on sales, in units of φ_k'(μ_k)·σ_k.
    interaction : float, default 0.1
        Largest ε_k / φ_k'(μ_k): how much demand shifts a channel's marginal return.
    noise : float, default 1.0
        Std of the sales noise U relative to the spread the channels cause,
        √(Σ_k (φ_k'(μ_k)·σ_k)²).

    Returns
    -------
    AdditiveSCM
        Actions named by ``channels``, outcome ``sales``, singleton blocks.
    """
    check_family_arguments(K, 1, edge_prob, 2)
    if degree not in (2, 3):
        raise SpecError(f"degree={degree!r} must be 2 (quadratic) or 3 (cubic) curves")
    names = _channel_names(K, channels)
    for what, pair, low in (
        ("spend_range", spend_range, 0.0),
        ("spend_cv", spend_cv, 0.0),
        ("roi_range", roi_range, 0.0),
        ("saturation", saturation, 1.0),
    ):
        if not (len(pair) == 2 and low <= pair[0] <= pair[1] and math.isfinite(pair[1])):
            raise SpecError(f"{what}={pair!r} must be a range (lo, hi) with {low} <= lo <= hi")
        if low == 0.0 and pair[0] == 0.0:
            raise SpecError(f"{what}={pair!r} must be a range of positive numbers")
    if spend_cv[1] > 0.5:
        raise SpecError(f"spend_cv={spend_cv!r}: a cv above 0.5 makes spend often negative")
    for what, x in (("confounding", confounding), ("interaction", interaction), ("noise", noise)):
        if not (math.isfinite(x) and x >= 0):
            raise SpecError(f"{what}={x!r} must be a finite number >= 0")
    gen = np.random.default_rng(rng)
    mean = np.exp(gen.uniform(math.log(spend_range[0]), math.log(spend_range[1]), size=K))
    std = mean * gen.uniform(*spend_cv, size=K)
    cov = np.zeros((K, K))  # exact covariance of the spend, filled in topological order
    mechanisms, outcome_terms, v_std, spread, typical = [], [], [], [], []
    for k in range(K):
        parents = [j for j in range(k) if (j, k) == (0, 1) or gen.random() < edge_prob]
        share_c = gen.uniform(0.3, 0.6)
        share_p = gen.uniform(0.15, 0.3) if parents else 0.0
        weights = gen.uniform(0.5, 1.5, size=len(parents))
        if parents:
            sub = cov[np.ix_(parents, parents)]
            weights *= math.sqrt(share_p * std[k] ** 2 / float(weights @ sub @ weights))
        w = math.sqrt(share_c) * std[k]
        v_std.append(math.sqrt(1.0 - share_c - share_p) * std[k])
        base = mean[k] - float(weights @ mean[parents]) if parents else mean[k]
        terms = [_term(base), _term(w, **{f"C{k}": 1}), _term(1.0, V=1)]
        terms += [_term(b, **{f"A{j}": 1}) for j, b in zip(parents, weights, strict=True)]
        mechanisms.append({"terms": terms})
        cov[k, :k] = cov[:k, k] = weights @ cov[parents, :k] if parents else 0.0
        cov[k, k] = std[k] ** 2
        # The response: slope m at the mean, zero at the vertex beyond the 99 % point.
        m = math.exp(gen.uniform(math.log(roi_range[0]), math.log(roi_range[1])))
        vertex = (mean[k] + _Z99 * std[k]) * gen.uniform(*saturation)
        theta = gen.uniform() if degree == 3 else 0.0
        gamma = (1 - theta) * m / (2 * (vertex - mean[k]))
        kappa = theta * m / (3 * (vertex**2 - mean[k] ** 2))
        alpha = 2 * gamma * vertex + 3 * kappa * vertex**2
        delta = confounding * gen.uniform(0.5, 1.5) * m * std[k]
        eps = interaction * gen.uniform() * m
        a, c = f"A{k}", f"C{k}"
        terms = [_term(alpha, **{a: 1}), _term(-gamma, **{a: 2})]
        terms += [_term(-kappa, **{a: 3})] if degree == 3 else []
        terms += [_term(delta, **{c: 1}), _term(eps, **{a: 1, c: 1})]
        outcome_terms.append({"block": [k], "terms": terms})
        spread.append(m * std[k])
        typical.append(alpha * mean[k] - gamma * mean[k] ** 2 - kappa * mean[k] ** 3)
    organic = sum(typical)  # sales without any spend: about what the channels add in a week
    gaussian = {"dist": "gaussian", "mean": 0.0}
    spec: dict[str, Any] = {
        "format": FORMAT,
        "actions": list(names),
        "outcome": "sales",
        "noise": {
            "U": {
                **gaussian,
                "mean": float(organic),
                "std": float(noise * np.hypot.reduce(spread)),
            },
            "V": [{**gaussian, "std": float(s)} for s in v_std],
            "W": [{**gaussian, "std": 1.0} for _ in range(K)],
        },
        "outcome_terms": outcome_terms,
        "action_mechanisms": mechanisms,
        "interventions": [
            {**gaussian, "mean": float(mu), "std": float(s)}
            for mu, s in zip(mean, std, strict=True)
        ],
    }
    return AdditiveSCM(spec)


def true_optimal_plan(
    scm: AdditiveSCM,
    budget: float | None,
    costs: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    *,
    fixed: Mapping[str, float] | None = None,
    total: str = "equal",
    value: float | None = None,
    grid: int = 2001,
) -> Plan:
    """The best plan for a budget under the SCM's exact response curves.

    The joint effect is c + Σ_k φ_k(a_k) with φ_k the channel's exact curve
    (:meth:`AdditiveSCM.block_effects`), so this is :func:`jointeffects.budget.allocate_budget`
    on those curves. Use it as the reference a plan from estimated curves is scored against.

    Parameters
    ----------
    scm : AdditiveSCM
        An SCM with one block per action (as drawn by :func:`sample_marketing_scm`).
    budget : float or None
        Total spend B = Σ_k cost_k·a_k. ``None`` with ``value`` maximises
        value·E[Y | do(a)] − Σ_k cost_k·a_k instead (:func:`~jointeffects.budget.maximize_profit`).
    costs : mapping of str to float, optional
        Cost per unit of each action; 1 by default (spend already in money units).
    bounds : mapping of str to (float, float), optional
        Per-action (lo, hi); by default the 1 % and 99 % points of each experiment's
        intervention distribution, the range the experiments cover.
    fixed, total, grid
        As for :func:`~jointeffects.budget.allocate_budget`.
    value : float, optional
        Worth of one unit of outcome, for ``budget=None``.

    Returns
    -------
    Plan
        ``value`` is the exact E[Y | do(levels)] (minus the spend for the profit objective),
        optimal to within ``tolerance``.
    """
    if any(len(b) != 1 for b in scm.blocks):
        raise SpecError(
            f"the SCM's blocks {[list(b) for b in scm.blocks]} are not one action each; "
            "a plan needs one response curve per action"
        )
    ref = np.array([scm.intervention(a).mean for a in scm.actions])
    intercept = float(scm.joint_effect(ref)[0] - scm.block_effects(ref).sum())
    curves = {a: _curve(scm, ref, k) for k, a in enumerate(scm.actions)}
    if bounds is None:  # a fixed channel may sit outside the support
        box = {a: r for a, r in support_bounds(scm).items() if a not in (fixed or {})}
    else:
        box = dict(bounds)
    if budget is not None and value is None:
        return allocate_budget(
            curves, budget, bounds=box, costs=costs, fixed=fixed, total=total,
            intercept=intercept, grid=grid,
        )  # fmt: skip
    if budget is None and value is not None:
        return maximize_profit(
            curves, value=value, bounds=box, costs=costs, fixed=fixed, intercept=intercept,
            grid=grid,
        )  # fmt: skip
    raise SpecError("give a budget, or budget=None with value= for the profit objective")


def support_bounds(scm: AdditiveSCM, level: float = 0.98) -> dict[str, tuple[float, float]]:
    """The central ``level`` range of each action's intervention distribution.

    With the default, the 1 % and 99 % points: the spend the experiments cover, where the
    estimated curves can be trusted (Assumption 1).
    """
    if not 0.0 < level < 1.0:
        raise SpecError(f"level={level!r} must be a probability in (0, 1)")
    return {a: _central_range(scm.intervention(a), level) for a in scm.actions}


def current_plan(
    scm: AdditiveSCM, rng: int | np.random.Generator | None = None, n_mc: int = 200_000
) -> dict[str, float]:
    """The observational mean of each action: the current allocation a plan is compared with.

    Exact when every action mechanism is linear in its inputs (as in
    :func:`sample_marketing_scm` and :func:`~jointeffects.simulate.marketing_example`);
    otherwise the mean of ``n_mc`` observational rows drawn with ``rng``.

    Returns
    -------
    dict of str to float
        Mean level per action, in action order.
    """
    spec = scm.to_dict()
    mechanisms = spec["action_mechanisms"]
    if all(sum(t["powers"].values()) <= 1 for m in mechanisms for t in m["terms"]):
        means: list[float] = []
        for k, mech in enumerate(mechanisms):
            total = 0.0
            for t in mech["terms"]:
                moment = 1.0
                for v, p in t["powers"].items():  # at most one variable, to the power 1
                    kind, j = parse_variable(v)
                    if p and kind == "A":
                        moment = means[j]
                    elif p:
                        noise = spec["noise"]["W"][j] if kind == "C" else spec["noise"]["V"][k]
                        moment = noise["mean"]
                total += t["coef"] * moment
            means.append(total)
        return dict(zip(scm.actions, means, strict=True))
    rows = scm.sample(n_mc, rng=rng)
    return {a: float(rows[a].mean()) for a in scm.actions}


def _curve(scm: AdditiveSCM, ref: FloatArray, k: int) -> Callable[[FloatArray], FloatArray]:
    def curve(x: FloatArray) -> FloatArray:
        table = np.repeat(ref[None, :], len(x), axis=0)
        table[:, k] = x
        return scm.block_effects(table)[:, k]

    return curve


def _central_range(noise: Noise, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2
    if noise.dist == "gaussian":
        half = -NormalDist().inv_cdf(tail) * noise.std
    elif noise.dist == "uniform":
        half = noise.scale * level
    else:
        half = noise.scale * math.log((1 - tail) / tail)
    return noise.mean - half, noise.mean + half


def _channel_names(K: int, channels: Sequence[str] | None) -> tuple[str, ...]:
    if channels is None:
        return tuple(
            CHANNEL_NAMES[k] if k < len(CHANNEL_NAMES) else f"channel{k}" for k in range(K)
        )
    names = tuple(channels)
    if len(names) != K:
        raise SpecError(f"channels={list(names)} names {len(names)} channels; K = {K}")
    return names


def _term(coef: float, **powers: int) -> dict[str, Any]:
    return {"coef": float(coef), "powers": powers}
