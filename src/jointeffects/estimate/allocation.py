"""How to split a row budget between observational data and the experiments.

**The paper's estimator.** Ĵ(a) = Σ_j m̂_j(a) − (K−1)·m̂_obs(a) combines K + 1 independently
fitted regressions. If each regime's fit has variance v_r / n_r at the query, then

    Var Ĵ(a) ≈ Σ_j v_j / n_j + (K−1)² v_obs / n_obs,

and minimising under the budget n_obs + Σ_j n_j = N gives n_r ∝ c_r·√v_r with c_obs = K−1
and c_j = 1. With equal v_r: n_obs / N = (K−1) / (2K−1), i.e. N_sint / N_obs = 1 / (K−1).
With a pilot sample the v_r are estimated (bootstrap of each regime's learner at joint
queries) and the weighted rule is used.

**The structure-aware estimator**: N_sint / N_obs = c/√(K−1) (``STRUCTURED_C``). Its
observational rows inform the K−1 roughly uncorrelated nuisance terms ψ_k rather than one
regression multiplied by K−1, so they enter as (K−1)·v_obs / n_obs, which gives the
1/√(K−1) scaling. The constant c is empirical, not derived: the experiments' rows also
inform the ψ terms of the actions they leave alone, which favours them.

**Any other estimator** (``how="simulation"``): each regime is re-sampled at its allocated
size from a pilot fit (actions resampled, outcome = the pilot's fitted regime mean plus a
resampled pilot residual), the estimator is refitted, and its error against the pilot's
joint effect is averaged over ``n_sim`` simulations with common random numbers. The advice
stays at the analytic ratio unless a split beats it by more than one paired standard error.

**The structure-aware estimator, analytically** (``how="sandwich"``): its variance at an
allocation (n_r) is the sandwich A⁻¹ M A⁻¹ with A = Σ_r n_r G_r and M = Σ_r n_r H_r, from
per-row moments of a pilot fit (``uncertainty.sandwich.regime_moments``); no refits. It ignores
structure learning, the degree choice and the bias, and so pushes the observational share
towards zero; prefer the analytic rule.

**Unequal experiments** (``unequal=True``, with "sandwich" or "simulation"): from the best
equal split, rows move between the experiments (the observational rows stay) while the
predicted error falls by more than its noise (:mod:`.allocation_search`). An experiment whose
outcome is noisier, or whose action the others inform less, then gets more rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from jointeffects.errors import DataError
from jointeffects.estimate.allocation_search import (
    ErrorModel,
    grid_errors,
    sandwich_error,
    simulated_error,
    split,
    unequal_sizes,
)
from jointeffects.estimate.estimators.blocks import experiment_blocks
from jointeffects.estimate.estimators.registry import estimator_class, estimator_name
from jointeffects.estimate.learners.fitting import default_learner
from jointeffects.estimate.regimes import MIN_ROWS, Regime, RegimeData, regime_label
from jointeffects.estimate.uncertainty.refits import regime_data
from jointeffects.estimate.uncertainty.sandwich import structured_fit

#: Ways to derive the advice (see ``recommend_allocation``).
HOW = ("auto", "analytic", "sandwich", "simulation")

#: Default grid of N_sint / N_obs ratios (that of the paper's Figure 2b, refined).
RATIOS = tuple(np.round(np.geomspace(0.02, 20.0, 19), 4))


@dataclass(frozen=True)
class Allocation:
    """A recommended split of a row budget.

    Attributes
    ----------
    n_obs : int
        Observational rows.
    n_experiment : int
        Rows of each experiment in the equal split; with ``unequal=True``, that of the equal
        split the search started from (the experiments' mean size: the total is kept).
    obs_share : float
        n_obs / budget.
    ratio : float
        n_experiment / n_obs (the x axis of the paper's Figure 2b).
    method : str
        "analytic", "pilot variance", "sandwich" or "simulation" (with ", unequal" when
        ``unequal=True``).
    table : DataFrame
        The grid: ``ratio``, ``obs_share``, ``n_obs``, ``n_experiment`` and
        ``relative_error`` (predicted RMSE ÷ the best grid point's).
    n_experiments : dict of str to int
        Rows per experiment, keyed by regime label ("tv", "tv+email"); all equal to
        ``n_experiment`` unless ``unequal=True`` moved rows. Empty without a pilot (the
        analytic rules do not know the experiments' names).
    search : DataFrame or None
        With ``unequal=True``, the unequal search's trace: the equal start and each kept move
        (``move``, ``step``, ``relative_error`` = predicted RMSE ÷ the equal start's, ``se``
        and the rows of every experiment after it). None otherwise.
    """

    n_obs: int
    n_experiment: int
    obs_share: float
    ratio: float
    method: str
    table: pd.DataFrame
    n_experiments: dict[str, int] = field(default_factory=dict)
    search: pd.DataFrame | None = None


def recommend_allocation(
    K: int,
    budget: int,
    estimator: Any = "paper",
    pilot: Any = None,
    grid: Any = RATIOS,
    *,
    n_queries: int = 2000,
    n_boot: int = 20,
    n_sim: int = 20,
    random_state: int | np.random.Generator | None = None,
    outcome: str = "Y",
    how: str = "auto",
    unequal: bool = False,
) -> Allocation:
    """Split ``budget`` rows into observational rows and K experiments.

    Use it to plan how many observational and how many rows per experiment to collect for a
    fixed total; with a pilot sample of every regime the advice adapts to the data. Read more
    in the :doc:`user guide </guide/design>`.

    Parameters
    ----------
    K : int
        Number of experiments (single actions, or blocks).
    budget : int
        Total rows N = n_obs + K·n_experiment.
    estimator : {"paper", "structured"} or RegimeEstimator, default="paper"
        "paper" = ``JointEffectEstimator``, "structured" = a default ``StructuredEstimator``,
        or any fitted-or-not estimator.
    pilot : dict or RegimeData, optional
        A small sample of every regime (observational + the K experiments). Needed by
        "simulation" and "sandwich", and by "auto" for estimators other than the paper's
        and the structured one.
    grid : sequence of float, default=RATIOS
        Candidate N_sint / N_obs ratios of "simulation" and "sandwich".
    n_queries : int, default=2000
        Joint queries (from the product of the pilot's experiment marginals).
    n_boot, n_sim : int
        Bootstrap fits per regime (the paper's estimator with a pilot); simulated fits per
        grid point ("simulation").
    random_state : int, Generator or None
    outcome : str, default="Y"
    how : {"auto", "analytic", "sandwich", "simulation"}, default="auto"
        - "analytic": a closed form, no pilot needed: N_sint / N_obs = 1.7/√(K−1) for the
          structured estimator (an empirical constant), the paper's 1/(K−1) for any other.
        - "simulation": refits on data simulated from the pilot fit (``len(grid)·n_sim``
          fits at the budget's size), staying at the analytic ratio unless a split is
          clearly better.
        - "sandwich": ``StructuredEstimator`` only, its analytic variance from the pilot's
          moments (no refits; blind to structure learning and bias: not recommended).
        - "auto": the paper's estimator: "analytic", or with a pilot the rule weighted by
          the estimated per-regime variances; the structured estimator: "analytic"; any
          other: "simulation".
    unequal : bool, default=False
        Let the experiments differ in size: from the best equal split, move rows between
        them while the predicted error of "sandwich" or "simulation" falls by more than its
        noise (each round scores K(K − 1) moves; with "simulation", ``n_sim`` refits each).
        Needs a pilot and one of those two methods.

    Returns
    -------
    Allocation
    """
    if isinstance(K, bool) or not isinstance(K, int | np.integer) or K < 1:
        raise DataError(f"K={K!r} must be a positive number of experiments")
    if budget < (K + 1) * MIN_ROWS:
        raise DataError(
            f"budget={budget} leaves fewer than {MIN_ROWS} rows for some of the K + 1 regimes"
        )
    if how not in HOW:
        raise DataError(f"how={how!r} is not one of {list(HOW)}")
    rng = np.random.default_rng(random_state)
    kind = _kind(estimator)
    if how == "auto" and (kind == "structured" or (kind == "paper" and pilot is None)):
        how = "analytic"
    if unequal and (pilot is None or how == "analytic" or (kind == "paper" and how == "auto")):
        raise DataError(
            "unequal=True searches the predicted error of how='sandwich' or 'simulation', "
            f"which need a pilot; got how={how!r}" + ("" if pilot is not None else " and no pilot")
        )
    if how == "analytic":
        return _paper_rule(K, budget, np.ones(K + 1), "analytic", _obs_weight(K, kind))
    if pilot is None:
        raise DataError(
            f"estimator {estimator!r} needs a pilot sample of every regime: pass pilot="
        )
    if isinstance(estimator, str):
        estimator = estimator_class(estimator)()
    data = regime_data(pilot, outcome)
    blocks = experiment_blocks(data)
    if len(blocks) != K or () not in data.regimes:
        raise DataError(f"the pilot must hold the observational regime and {K} experiments")
    queries = _joint_queries(data, blocks, n_queries, rng)
    if kind == "paper" and how == "auto":
        learner = getattr(estimator, "learner", None)
        v = _regime_variances(data, ((), *blocks), learner, queries, n_boot, rng)
        return _labelled(_paper_rule(K, budget, v, "pilot variance", _obs_weight(K, kind)), blocks)
    ratios = np.asarray(grid, dtype=float)
    error: ErrorModel
    if how == "sandwich":
        error = sandwich_error(structured_fit(estimator, data), data, queries)
        advice = _best(K, budget, ratios, grid_errors(blocks, budget, ratios, error), how)
    else:
        error = simulated_error(estimator, data, queries, n_sim, rng)
        rows = grid_errors(blocks, budget, ratios, error)
        per_sim = np.array([np.broadcast_to(r, (n_sim,)) for r in rows], dtype=float)
        pick = _closest_within_noise(ratios, per_sim, _analytic_ratio(K, kind))
        advice = _best(K, budget, ratios, per_sim.mean(axis=1), "simulation", pick)
    if not unequal:
        return _labelled(advice, blocks)
    sizes, trace = unequal_sizes(
        error, {(): advice.n_obs, **dict.fromkeys(blocks, advice.n_experiment)}
    )
    return replace(
        advice,
        n_experiments={regime_label(b): sizes[b] for b in blocks},
        search=trace,
        method=f"{advice.method}, unequal",
    )


def _labelled(advice: Allocation, blocks: tuple[Regime, ...]) -> Allocation:
    """``advice`` with its equal experiment sizes named by the pilot's experiments."""
    return replace(
        advice, n_experiments=dict.fromkeys(map(regime_label, blocks), advice.n_experiment)
    )


def _closest_within_noise(ratios: np.ndarray, per_sim: np.ndarray, prior: float) -> int:
    """Among the grid points whose simulated error is within one paired standard error of the
    best one's, the one closest to ``prior`` (the analytic ratio, on a log scale).

    Neighbouring splits' simulated errors often differ by less than their noise; the noisy
    minimum would then land on extreme splits, which cost the most when the pilot misleads."""
    mean = per_sim.mean(axis=1)
    best = int(np.argmin(mean))
    with np.errstate(invalid="ignore"):
        diff = per_sim - per_sim[best]
        se = diff.std(axis=1, ddof=1) / np.sqrt(per_sim.shape[1])
        close = np.flatnonzero(np.isfinite(mean) & (diff.mean(axis=1) <= se))
    return int(close[np.argmin(np.abs(np.log(ratios[close] / prior)))])


def _kind(estimator: Any) -> str:
    """The rule an estimator gets: "paper", "structured" or "other" (any other estimator)."""
    if isinstance(estimator, str):
        if estimator not in ("paper", "structured"):
            raise DataError(
                f"estimator={estimator!r} is not 'paper' or 'structured'; or pass an estimator"
            )
        return estimator
    name = estimator_name(estimator)
    return name if name in ("paper", "structured") else "other"


#: c of the structured rule N_sint / N_obs = c/√(K−1): empirical, not derived (module docstring).
STRUCTURED_C = 1.7


def _analytic_ratio(K: int, kind: str = "paper") -> float:
    """The closed-form N_sint / N_obs: 1/(K−1) for the paper's estimator (and any other),
    c/√(K−1) for the structured one. (K = 1 needs no observational rows; 1 is returned as a
    neutral prior for the simulation.)"""
    return 1.0 / np.sqrt(_obs_weight(K, kind)) if K > 1 else 1.0


def _obs_weight(K: int, kind: str) -> float:
    """The weight w of the observational variance, Var Ĵ ≈ Σ_j v_j/n_j + w·v_obs/n_obs, whose
    optimum is N_sint / N_obs = 1/√w: (K−1)² for the paper's combination, (K−1)/c² for the
    structured estimator (module docstring)."""
    if kind == "structured":
        return float(K - 1) / STRUCTURED_C**2
    return float((K - 1) ** 2)


def _paper_rule(K: int, budget: int, v: np.ndarray, method: str, w: float) -> Allocation:
    # n_r ∝ √(w_r·v_r) with w_obs = w (see _obs_weight) and w_j = 1; experiments share equally.
    weight_obs = np.sqrt(w * v[0])
    weight_exp = np.sqrt(v[1:]).sum()
    share = weight_obs / (weight_obs + weight_exp) if K > 1 else 0.0
    n_obs = max(int(round(share * budget)), MIN_ROWS)
    n_exp = (budget - n_obs) // K
    ratios = np.asarray(RATIOS)
    table = _table(K, budget, ratios, [_paper_variance(K, budget, r, v, w) for r in ratios])
    return Allocation(n_obs, n_exp, n_obs / budget, n_exp / n_obs, method, table)


def _paper_variance(K: int, budget: int, ratio: float, v: np.ndarray, w: float) -> float:
    n_obs, n_exp = split(K, budget, ratio)
    if min(n_obs, n_exp) < 1:
        return np.inf
    return float(v[1:].sum() / n_exp + w * v[0] / n_obs)


def _table(K: int, budget: int, ratios: np.ndarray, variances: Any) -> pd.DataFrame:
    rmse = np.sqrt(np.asarray(variances, dtype=float))
    sizes = np.array([split(K, budget, r) for r in ratios])
    return pd.DataFrame(
        {
            "ratio": ratios,
            "obs_share": sizes[:, 0] / budget,
            "n_obs": sizes[:, 0],
            "n_experiment": sizes[:, 1],
            "relative_error": rmse / np.min(rmse),
        }
    )


def _best(
    K: int, budget: int, ratios: np.ndarray, errors: Any, method: str, pick: int | None = None
) -> Allocation:
    """The allocation at grid point ``pick`` (default: the smallest error) with the table."""
    table = _table(K, budget, ratios, errors)
    best = table.iloc[pick] if pick is not None else table.loc[table["relative_error"].idxmin()]
    n_obs, n_exp = int(best["n_obs"]), int(best["n_experiment"])
    return Allocation(n_obs, n_exp, n_obs / budget, n_exp / n_obs, method, table)


def _joint_queries(
    data: RegimeData, blocks: tuple[Regime, ...], n: int, rng: np.random.Generator
) -> np.ndarray:
    """Draws from the product of the experiments' intervention marginals (fig. 2's queries)."""
    index = {a: j for j, a in enumerate(data.actions)}
    Q = data.regimes[()][0][rng.integers(data.rows(()), size=n)].copy()
    for block in blocks:
        cols = [index[a] for a in block]
        X = data.regimes[block][0]
        Q[:, cols] = X[rng.integers(len(X), size=n)][:, cols]
    return Q


def _regime_variances(
    data: RegimeData,
    regimes: tuple[Regime, ...],
    learner: Any,
    queries: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """v_r = n_r · mean over queries of the bootstrap variance of regime r's fit."""
    out = []
    for regime in regimes:
        X, y = data.regimes[regime]
        preds = []
        for _ in range(n_boot):
            idx = rng.integers(len(y), size=len(y))
            model = (default_learner() if learner is None else clone(learner)).fit(X[idx], y[idx])
            preds.append(model.predict(queries))
        out.append(len(y) * np.var(preds, axis=0, ddof=1).mean())
    return np.array(out)
