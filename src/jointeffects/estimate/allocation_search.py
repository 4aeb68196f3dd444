"""Predicted errors of a split of rows between regimes, and the search for unequal
experiment sizes.

An error model maps regime sizes {regime: rows} to the predicted error of the joint effect at
those sizes: the structured sandwich's mean variance (one number, no noise), or the mean
squared error of refits on data simulated from a pilot fit (one number per simulation, with
common random numbers across sizes). :func:`~jointeffects.recommend_allocation` evaluates one
on a grid of equal splits and, with ``unequal=True``, hands the best of them to
:func:`unequal_sizes`, which moves rows between the experiments while the predicted error
falls by more than its noise.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.estimate.regimes import MIN_ROWS, Regime, RegimeData, regime_label
from jointeffects.estimate.simulated import regime_means, regime_residuals, resampled_regime
from jointeffects.estimate.uncertainty.refits import refit
from jointeffects.estimate.uncertainty.sandwich import regime_moments, sandwich_from_moments

#: An error model: regime sizes → predicted error (a float, or one value per simulation).
ErrorModel = Callable[[dict[Regime, int]], Any]

#: Step sizes of the unequal search, as fractions of the equal experiment size.
STEP_FRACTIONS = (1 / 4, 1 / 8, 1 / 16, 1 / 32)

#: Smallest relative fall of a noiseless predicted error that counts as an improvement.
RELATIVE_TOLERANCE = 1e-4


def split(K: int, budget: int, ratio: float) -> tuple[int, int]:
    """(n_obs, n_experiment) for a N_sint / N_obs ratio, as in the paper's Figure 2b."""
    n_exp = int(round(ratio * budget / (1 + K * ratio)))
    return budget - K * n_exp, n_exp


def grid_errors(
    blocks: tuple[Regime, ...], budget: int, ratios: np.ndarray, error: ErrorModel
) -> list[Any]:
    """``error(sizes)`` at every ratio of the grid (inf where a regime gets too few rows)."""
    out = []
    for ratio in ratios:
        n_obs, n_exp = split(len(blocks), budget, ratio)
        sizes = {(): n_obs, **{b: n_exp for b in blocks}}
        out.append(error(sizes) if min(n_obs, n_exp) >= MIN_ROWS else np.inf)
    return out


def sandwich_error(est: Any, data: RegimeData, queries: np.ndarray) -> ErrorModel:
    """Mean variance of the structured joint effect at ``queries``, from per-row moments of
    the fit ``est`` on the pilot ``data``: the sandwich A⁻¹MA⁻¹ with A = Σ_r n_r G_r."""
    moments = regime_moments(est, data)
    W = est._linear_rows(queries, None)

    def variance(sizes: dict[Regime, int]) -> float:
        # Sums over rows scale with the regime's size: rescale the pilot's moments.
        scale = {r: sizes[r] / data.rows(r) for r in moments}
        bread = sum(scale[r] * b for r, (b, _) in moments.items())
        meat = sum(scale[r] * m for r, (_, m) in moments.items())
        V = sandwich_from_moments(np.asarray(bread), np.asarray(meat), est.alpha_)
        return float(np.einsum("ij,jk,ik->i", W, V, W).mean())

    return variance


def simulated_error(
    estimator: Any, data: RegimeData, queries: np.ndarray, n_sim: int, rng: np.random.Generator
) -> ErrorModel:
    """Squared error against the pilot fit's joint effect (mean over queries) of refits on
    data simulated from that fit: an array of shape (n_sim,) per call, each call ``n_sim``
    refits."""
    pilot = refit(estimator, data)
    truth = pilot.predict(queries)
    means = regime_means(pilot, data)
    residuals = regime_residuals(data, means)
    seeds = rng.integers(2**63, size=n_sim)

    def mse(sizes: dict[Regime, int]) -> np.ndarray:
        out = np.empty(n_sim)
        for i, seed in enumerate(seeds):
            regimes = {}
            for k, (r, n) in enumerate(sizes.items()):
                # Common random numbers: simulation i draws a prefix of the same streams at
                # every split, so the comparison between splits is far less noisy.
                regimes[r] = resampled_regime(
                    data.regimes[r][0], means[r], residuals[r], n,
                    np.random.default_rng([seed, k, 0]), np.random.default_rng([seed, k, 1]),
                )  # fmt: skip
            fit = refit(estimator, RegimeData(data.actions, data.outcome, regimes))
            out[i] = np.mean((fit.predict(queries) - truth) ** 2)
        return out

    return mse


def unequal_sizes(
    error: ErrorModel, start: dict[Regime, int]
) -> tuple[dict[Regime, int], pd.DataFrame]:
    """Experiment sizes found by moving rows between the experiments of ``start``.

    From ``start`` (the best equal split; its observational rows stay), every move of
    ``step`` rows from one experiment to another is scored and the best one is kept if the
    error falls by more than its noise: one paired standard error over the simulations, or
    ``RELATIVE_TOLERANCE`` for a noiseless error. When no move helps, the step shrinks
    (``STEP_FRACTIONS`` of the equal size). Each round scores K(K − 1) moves.

    Returns
    -------
    sizes : dict
        Rows per regime (the observational regime's unchanged).
    trace : DataFrame
        One row for the start and one per kept move: ``move`` ("equal" or
        "from → to"), ``step``, ``relative_error`` (predicted RMSE ÷ the start's), ``se``
        (its Monte-Carlo standard error; 0 for a noiseless error) and the rows of every
        experiment after the move.
    """
    blocks = [r for r in start if r != ()]
    sizes = dict(start)
    base = np.atleast_1d(np.asarray(error(sizes), dtype=float))
    reference = float(base.mean())
    equal = min(sizes[b] for b in blocks)

    def row(move: str, step: int, values: np.ndarray) -> dict[str, Any]:
        rel = np.sqrt(values.mean() / reference)
        se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
        return {"move": move, "step": step, "relative_error": rel,
                "se": 0.5 * rel * se / values.mean(),
                **{regime_label(b): sizes[b] for b in blocks}}  # fmt: skip

    trace = [row("equal", 0, base)]
    for step in sorted({max(1, int(equal * f)) for f in STEP_FRACTIONS}, reverse=True):
        while True:
            best: tuple[float, dict[Regime, int], np.ndarray, str] | None = None
            for src, dst in permutations(blocks, 2):
                if sizes[src] - step < MIN_ROWS:
                    continue
                moved = {**sizes, src: sizes[src] - step, dst: sizes[dst] + step}
                values = np.atleast_1d(np.asarray(error(moved), dtype=float))
                gain = float(np.mean(base - values))
                if gain > _noise(base, values) and (best is None or gain > best[0]):
                    label = f"{regime_label(src)} → {regime_label(dst)}"
                    best = (gain, moved, values, label)
            if best is None:
                break
            _, sizes, base, label = best
            trace.append(row(label, step, base))
    return sizes, pd.DataFrame(trace)


def _noise(base: np.ndarray, values: np.ndarray) -> float:
    """The fall in error a move must beat: one paired standard error over simulations, or a
    relative tolerance for a noiseless error."""
    if len(base) < 2:
        return RELATIVE_TOLERANCE * float(base.mean())
    diff = base - values
    if not np.all(np.isfinite(diff)):
        return np.inf
    return max(float(diff.std(ddof=1) / np.sqrt(len(diff))), RELATIVE_TOLERANCE * base.mean())
