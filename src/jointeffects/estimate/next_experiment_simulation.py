"""The pre-posterior simulation behind :func:`~jointeffects.recommend_experiment`.

Simulation s draws a "true" model θ* from the fit's uncertainty (:func:`draws`), simulates
each candidate's new data from it, refits, re-optimises the plan and scores the new plan under
θ* (:func:`simulate`); :func:`score_row`, :func:`with_gaps` and :func:`smallest_within_noise`
turn the per-simulation scores into the advice's table.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from jointeffects.estimate.decisions import optimize_budget
from jointeffects.estimate.regimes import Regime, RegimeData
from jointeffects.estimate.simulated import regime_means, regime_residuals, resampled_regime
from jointeffects.estimate.uncertainty.refits import resample_rows
from jointeffects.estimate.uncertainty.sandwich import sandwich_covariance


def simulate(
    estimator: Any,
    data: RegimeData,
    chosen: list[tuple[Any, Regime]],
    plan: dict[str, Any],
    score: Any,
    now: np.ndarray,
    n_sim: int,
    random_state: int | np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per simulation, the regret and the plan-value error of the current plan (n_sim,), and
    of each candidate's re-optimised plan (n_candidates, n_sim)."""
    residuals = regime_residuals(data, regime_means(estimator, data))
    regret_now, error_now = np.empty(n_sim), np.empty(n_sim)
    regret, error = np.empty((len(chosen), n_sim)), np.empty((len(chosen), n_sim))
    draw = draws(estimator, data)
    tests = getattr(estimator, "lift_tests_", None)
    for i, streams in enumerate(seeds(random_state).spawn(n_sim)):
        truth_seed, fit_seed, rows_seed, noise_seed = streams.spawn(4)
        truth = draw(np.random.default_rng(truth_seed), fold_seed(fit_seed))
        best = score(truth, plan_levels(optimize_budget(truth, **plan)))
        regret_now[i] = best - score(truth, now)
        error_now[i] = score(estimator, now) - score(truth, now)
        means: dict[Regime, np.ndarray] = {}
        # one standard normal per simulation for every lift test: common random numbers
        z = float(np.random.default_rng(noise_seed).standard_normal())
        for j, (candidate, block) in enumerate(chosen):
            seed = fold_seed(fit_seed)
            if candidate.kind == "lift_test":
                test = simulated_lift_test(truth, data.actions, now, candidate, z)
                fit = seeded_refit(estimator, data, seed, with_test(tests, test))
            else:
                if block not in means:
                    means[block] = truth.predict(data.regimes[block][0], intervened=block)
                new = resampled_regime(
                    data.regimes[block][0], means[block], residuals[block], candidate.rows,
                    np.random.default_rng(rows_seed), np.random.default_rng(noise_seed),
                )  # fmt: skip
                fit = seeded_refit(estimator, with_rows(data, block, new), seed, tests)
            levels = plan_levels(optimize_budget(fit, **plan))
            regret[j, i] = best - score(truth, levels)
            error[j, i] = score(fit, levels) - score(truth, levels)
    return regret_now, regret, error_now, error


def seeds(random_state: int | np.random.Generator | None) -> np.random.SeedSequence:
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence([int(x) for x in random_state.integers(2**63, size=4)])
    return np.random.SeedSequence(random_state)


def fold_seed(seed: np.random.SeedSequence) -> int:
    return int(seed.generate_state(1)[0])


def seeded_refit(
    estimator: Any, data: RegimeData, seed: int, lift_tests: pd.DataFrame | None = None
) -> Any:
    """A refit on ``data`` (and ``lift_tests``, if any); an unseeded estimator is seeded, so
    that results are reproducible and every candidate of a simulation gets the same folds."""
    model = clone(estimator)
    if estimator.get_params().get("random_state", 0) is None:
        model.set_params(random_state=seed)
    return model.fit(data) if lift_tests is None else model.fit(data, lift_tests=lift_tests)


def simulated_lift_test(
    truth: Any, actions: tuple[str, ...], levels: np.ndarray, candidate: Any, z: float
) -> dict[str, Any]:
    """The candidate's lift test under the model ``truth``: Δy = E[Y | do(x + Δx, others)] −
    E[Y | do(x, others)] + σ·z, the other channels at ``levels`` (under the additive model
    the difference does not depend on them)."""
    k = actions.index(candidate.channel)
    points = np.vstack([levels, levels]).astype(float)
    points[0, k], points[1, k] = candidate.x + candidate.delta_x, candidate.x
    high, low = truth.predict(points)
    return {
        "channel": candidate.channel, "x": float(candidate.x),
        "delta_x": float(candidate.delta_x), "delta_y": float(high - low + candidate.sigma * z),
        "sigma": float(candidate.sigma),
    }  # fmt: skip


def with_test(tests: pd.DataFrame | None, test: dict[str, Any]) -> pd.DataFrame:
    """The fit's lift tests (if any) plus one more."""
    new = pd.DataFrame([test])
    return new if tests is None else pd.concat([tests, new], ignore_index=True)


def draws(estimator: Any, data: RegimeData) -> Any:
    """A function (rng, seed) → a model drawn from the fit's uncertainty."""
    if estimator.capabilities().sandwich:
        theta = np.concatenate([[estimator.intercept_], estimator.coef_])
        cov = sandwich_covariance(estimator, data)

        def sandwich_draw(rng: np.random.Generator, seed: int) -> Any:
            draw = rng.multivariate_normal(theta, cov, method="eigh")
            model = copy.copy(estimator)
            model.intercept_, model.coef_ = float(draw[0]), draw[1:]
            return model

        return sandwich_draw

    def bootstrap_draw(rng: np.random.Generator, seed: int) -> Any:
        # the estimator's own replicate, which redraws what it resamples besides the rows
        # (e.g. each lift test's Δy from its σ)
        model = estimator
        if estimator.get_params().get("random_state", 0) is None:
            model = copy.copy(estimator).set_params(random_state=seed)
        return model._refit_on(resample_rows(data, rng), rng)

    return bootstrap_draw


def objective(value: float | None, costs: Mapping[str, float]) -> Any:
    """score(model, levels): E[Y | do(levels)], or value·E[Y | do(levels)] − spend."""
    price = np.array(list(costs.values()), dtype=float)

    def score(model: Any, levels: np.ndarray) -> float:
        expected = float(model.predict(levels[None, :])[0])
        return expected if value is None else float(value) * expected - float(price @ levels)

    return score


def plan_levels(plan: Any) -> np.ndarray:
    return plan.table["recommended"].to_numpy()


def with_rows(data: RegimeData, block: Regime, new: tuple[np.ndarray, np.ndarray]) -> RegimeData:
    X, y = data.regimes[block]
    regimes = {**data.regimes, block: (np.vstack([X, new[0]]), np.concatenate([y, new[1]]))}
    return RegimeData(data.actions, data.outcome, regimes)


def score_row(
    candidate: Any,
    block: Regime,
    regret_now: np.ndarray,
    regret: np.ndarray,
    error_now: np.ndarray,
    error: np.ndarray,
) -> dict[str, Any]:
    n = len(regret)
    sd_now, sd = np.sqrt(np.mean(error_now**2)), np.sqrt(np.mean(error**2))
    # sd_now − sd = (mean e_now² − mean e²) / (sd_now + sd): the s.e. of the paired mean
    # difference of squared errors, divided by that sum (delta method).
    squares = error_now**2 - error**2
    return {
        "kind": candidate.kind,
        "channel": "+".join(block),
        "rows": candidate.rows,
        **{
            k: np.nan if getattr(candidate, k) is None else getattr(candidate, k)
            for k in ("x", "delta_x", "sigma")
        },
        "regret_before": regret_now.mean(),
        "regret_after": regret.mean(),
        "regret_reduction": np.mean(regret_now - regret),
        "regret_se": np.std(regret_now - regret, ddof=1) / np.sqrt(n),
        "plan_sd_before": sd_now,
        "plan_sd_after": sd,
        "plan_sd_reduction": sd_now - sd,
        "plan_sd_se": np.std(squares, ddof=1) / np.sqrt(n) / max(sd_now + sd, 1e-300),
    }


def with_gaps(
    table: pd.DataFrame, criterion: str, regret: np.ndarray, error: np.ndarray
) -> pd.DataFrame:
    """``table`` (best first) with ``gap``, how far each candidate's reduction falls short
    of the best's, and ``gap_se``, its paired standard error (common random numbers)."""
    best = int(table.index[0])
    per_sim = regret if criterion == "regret" else error**2
    diff = per_sim[table.index.to_numpy()] - per_sim[best]
    se = diff.std(axis=1, ddof=1) / np.sqrt(diff.shape[1])
    after = table[f"{criterion}_after"].to_numpy()
    if criterion == "plan_sd":  # squared errors to sds, as for plan_sd_se
        se = se / np.maximum(after + after[0], 1e-300)
    return table.assign(gap=after - after[0], gap_se=se)


def smallest_within_noise(table: pd.DataFrame, chosen: list[tuple[Any, Regime]]) -> pd.Series:
    """On the best row's channel, the fewest rows whose gap to the best row is within one
    paired standard error; the best row itself if it is a lift test (whose size is its σ)."""
    top, block = chosen[int(table.index[0])]
    if top.kind == "lift_test":
        return table.iloc[0]
    close = [
        j
        for j, row in table.iterrows()
        if chosen[j][0].kind == top.kind and chosen[j][1] == block and row["gap"] <= row["gap_se"]
    ]
    return table.loc[min(close, key=lambda j: (chosen[j][0].rows, j))]
