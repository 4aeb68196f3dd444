"""Regret of budget plans from each estimator on random marketing mixes, side by side.

For SCMs of ``sample_marketing_scm`` (K channels, demand confounders, tv → search) and
several experiment sizes, fits each estimator on the observational regime (2.5× the rows)
plus one experiment per channel, asks ``optimize_budget`` for the plan that spends the
current allocation's budget, and scores it against the simulator's exact optimum under the
same bounds:

    regret = (E[Y | do(optimum)] − E[Y | do(plan)]) / (E[Y | do(optimum)] − E[Y | do(current)])

(0 = the optimum; 1 = no better than the current allocation). Methods:

- structured:     StructuredEstimator, intervals from its sandwich
- paper:          JointEffectEstimator, intervals from --n-boot bootstrap refits
- observational:  ObservationalBaseline, what a media-mix model that treats spend as
                  unconfounded does (its bootstrap intervals are for its regression)
- lift tests:     StructuredEstimator on the observational regime plus lift-test summaries
                  alone (three per channel, at its 20/50/80 % observational spend, Δx = its
                  spend sd, each with the s.e. of a two-arm test on a third of the channel's
                  experiment rows, Δy drawn around the exact difference): its level is not
                  identified, so its plan-value coverage is not scored
- topline:        JointTopline on one joint experiment with as many rows as all the regimes
                  together: what an ideal randomised design would give (bootstrap intervals)
- true:           the exact optimum (regret 0 by construction; its gain is shown)

Also the share of SCMs whose plan is worse than the current allocation, and the coverage of
the plan-value interval (does it hold the plan's exact expected outcome?) at nominal 90 %.
Writes ``benchmarks/results/decisions.json``.

    python benchmarks/bench_decisions.py --scms 30 --sizes 500 2000 10000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from stamp import write_result
from threadpoolctl import threadpool_limits

from jointeffects import (
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    StructuredEstimator,
    fit_uncertainty,
    optimize_budget,
)
from jointeffects.estimate import RegimeData, as_regime_data
from jointeffects.estimate.regimes import frame_to_arrays
from jointeffects.simulate.marketing import current_plan, sample_marketing_scm, true_optimal_plan

METHODS = ("structured", "paper", "observational", "lift tests", "topline")


def make(name: str):
    if name in ("structured", "lift tests"):
        return StructuredEstimator(random_state=0)
    if name == "paper":
        return JointEffectEstimator()
    if name == "topline":
        return JointTopline()
    return ObservationalBaseline()


def est_level(est) -> bool:
    """Whether the fit identifies the outcome's level (not with lift-only channels)."""
    return bool(getattr(est, "level_identified_", True))


def truth(scm, levels) -> float:
    return float(scm.joint_effect(np.asarray(levels, dtype=float)[None, :])[0])


def lift_tests(scm, data: RegimeData, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Three lift tests per channel, as a geo test of n/3 rows would report them."""
    obs = data.regimes[()][0]
    centre = obs.mean(axis=0)
    rows = []
    for j, channel in enumerate(scm.actions):
        spread = obs[:, j].std()
        noise = data.regimes[(channel,)][1].std()
        sigma = 2 * noise / np.sqrt(n / 3)  # difference of two arms of n/6 rows each
        for x in np.quantile(obs[:, j], [0.2, 0.5, 0.8]):
            low, high = centre.copy(), centre.copy()
            low[j], high[j] = x, x + spread
            delta = truth(scm, high) - truth(scm, low)
            rows.append([channel, x, spread, delta + sigma * rng.standard_normal(), sigma])
    return pd.DataFrame(rows, columns=["channel", "x", "delta_x", "delta_y", "sigma"])


def run_one(K: int, n: int, s: int, args: argparse.Namespace) -> list[dict]:
    rng = np.random.default_rng(np.random.SeedSequence(args.seed + s, spawn_key=(n,)))
    scm = sample_marketing_scm(K, np.random.default_rng(np.random.SeedSequence(args.seed + s)))
    regimes = [(), *((a,) for a in scm.actions)]
    sizes = {r: (int(2.5 * n) if not r else n) for r in regimes}
    data = as_regime_data(
        {r: scm.sample(sizes[r], intervened=r, rng=rng) for r in regimes}, outcome=scm.outcome
    )
    # the observational regime only for the support diagnostics; the topline fits the joint one
    X, y = frame_to_arrays(
        scm.sample(sum(sizes.values()), scm.actions, rng), data.actions, data.outcome, "joint"
    )
    joint = RegimeData(data.actions, data.outcome, {(): data.regimes[()], scm.actions: (X, y)})
    observed = RegimeData(data.actions, data.outcome, {(): data.regimes[()]})
    inputs = {"topline": (joint, None), "lift tests": (observed, lift_tests(scm, data, n, rng))}
    current = current_plan(scm)
    budget = sum(current.values())
    base = truth(scm, [current[a] for a in scm.actions])
    rows, optimum, bounds = [], None, None
    for name in METHODS:
        start = time.perf_counter()
        train, lift = inputs.get(name, (data, None))
        est = make(name).fit(train, lift_tests=lift)
        n_boot = 0 if est.capabilities().sandwich else args.n_boot
        uncertainty = fit_uncertainty(est, train, n_boot=n_boot, rng=s)
        plan = optimize_budget(
            est,
            budget,
            data=train,
            current=current,
            uncertainty=uncertainty,
            level=args.level,
            bounds=bounds,
            # the first method's bounds for all, though other inputs may cover a bit less
            extrapolate=bounds is not None,
        )  # fmt: skip
        table = plan.table.set_index("action")
        if optimum is None:  # every method plans within the first one's support bounds
            bounds = {a: (r["lower_bound"], r["upper_bound"]) for a, r in table.iterrows()}
            optimum = true_optimal_plan(scm, budget, bounds=bounds).value
        value = truth(scm, table.loc[list(scm.actions), "recommended"].to_numpy())
        lo, hi = plan.interval
        rows.append(
            {
                "method": name,
                "n": n,
                "scm": s,
                "regret": (optimum - value) / (optimum - base),
                "worse_than_current": value < base,
                # a plan's value without an identified level has no interval to score
                "covered": lo <= value <= hi if est_level(est) else np.nan,
                "prob_better": plan.prob_better,
                "true_gain": optimum - base,
                "seconds": time.perf_counter() - start,
            }
        )
    rows.append(
        {"method": "true", "n": n, "scm": s, "regret": 0.0, "worse_than_current": False,
         "covered": np.nan, "prob_better": np.nan, "true_gain": optimum - base, "seconds": 0.0}
    )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=30)
    parser.add_argument("--K", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--n-boot", type=int, default=30, help="refits of the paper's and baseline")
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    with threadpool_limits(limits=1):
        for n in args.sizes:
            for s in range(args.scms):
                rows += run_one(args.K, n, s, args)
            print(f"done n={n}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["n", "method"], sort=False).agg(
        median_regret=("regret", "median"),
        mean_regret=("regret", "mean"),
        worse_than_current=("worse_than_current", "mean"),
        coverage=("covered", "mean"),
        median_true_gain=("true_gain", "median"),
        seconds=("seconds", "mean"),
    )
    pd.set_option("display.width", 200)
    print(
        f"\nBudget plans on {args.scms} marketing SCMs (K={args.K}); n rows per experiment, "
        f"2.5·n observational; plan-value interval at nominal {args.level:.0%}"
    )
    print(summary.round(3).to_string())
    path = write_result(
        "decisions",
        {"settings": vars(args), "summary": summary.reset_index().to_dict(orient="records")},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
