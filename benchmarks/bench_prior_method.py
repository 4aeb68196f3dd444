"""Ours vs the closest prior method (Saengkyongam & Silva, 2020) where each assumption fails.

For each comparison family (:mod:`jointeffects.simulate.comparison`: ``additive`` = the paper's,
``interaction`` = linear-Gaussian with action interactions and shared confounders,
``gaussian_additive`` = both assumptions hold), K and N (rows per regime), fits on the
observational regime plus one experiment per action and scores the joint effect against the
exact truth on 10^4 query points drawn from the joint regime:

- RMSE     — sqrt(mean((prediction − E[Y | do(a)])²)). The truth is exact, so this is the
             *excess* RMSE: what the method adds to the irreducible noise of Y.
- rel      — RMSE ÷ sd of the true effect over the queries (scale-free; 1 ≈ useless).

Methods: ``ours`` (JointEffectEstimator, the paper's cubic ridge per regime), ``ours-struct``
(StructuredEstimator given the true DAG), ``prior`` (GaussianNoiseJointEstimator given the
true DAG), ``topline`` (cubic ridge on (K + 1)·N joint-intervention rows) and ``observational``
(cubic ridge on (K + 1)·N observational rows). Each SCM is shared by all sizes and methods.

    python benchmarks/bench_prior_method.py                       # the full grid (slow)
    python benchmarks/bench_prior_method.py --scms 10 --sizes 1000 10000 --K 3
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.estimate import JointEffectEstimator, JointTopline, ObservationalBaseline
from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.simulate.comparison import COMPARISON_FAMILIES

METHODS = ("ours", "ours-struct", "prior", "topline", "observational")
N_QUERIES = 10_000


def make(method: str, scm: Any) -> Any:
    """An unfitted estimator; the DAG-based ones get the SCM's true DAG."""
    dag = {a: scm.parents(a) for a in scm.actions}
    return {
        "ours": lambda: JointEffectEstimator(random_state=0),
        "ours-struct": lambda: StructuredEstimator(dag=dag, random_state=0),
        "prior": lambda: GaussianNoiseJointEstimator(dag=dag),
        "topline": lambda: JointTopline(random_state=0),
        "observational": lambda: ObservationalBaseline(random_state=0),
    }[method]()


def run_one(family: str, K: int, n: int, s: int, seed: int, methods: tuple[str, ...]) -> list:
    family_key = list(COMPARISON_FAMILIES).index(family)
    scm_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(family_key, K, s)))
    scm = COMPARISON_FAMILIES[family](K, scm_rng)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(family_key, K, s, n)))
    singles = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    queries = scm.sample(N_QUERIES, intervened=scm.actions, rng=rng)[list(scm.actions)]
    truth = scm.joint_effect(queries)
    rows = []
    for method in methods:
        if method == "topline":
            train = {scm.actions: scm.sample((K + 1) * n, intervened=scm.actions, rng=rng)}
        elif method == "observational":
            train = {(): scm.sample((K + 1) * n, rng=rng)}
        else:
            train = singles
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings are counted in the error
            prediction = make(method, scm).fit(train).predict(queries)
        rmse = float(np.sqrt(np.mean((prediction - truth) ** 2)))
        rows.append(
            {
                "family": family,
                "K": K,
                "N": n,
                "scm": s,
                "method": method,
                "rmse": rmse,
                "rel": rmse / float(truth.std()),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean ± s.e. of rel and mean RMSE per (family, K, N, method), methods as columns."""
    groups = table.groupby(["family", "K", "N", "method"], sort=False)
    stats = groups.agg(
        rel=("rel", "mean"),
        se=("rel", "sem"),
        median=("rel", "median"),
        rmse=("rmse", "mean"),
        seconds=("seconds", "mean"),
    )
    cell = stats.apply(
        lambda r: f"{r['rel']:.3f} ± {r['se']:.3f} ({r['median']:.3f}) [{r['rmse']:.3g}]", axis=1
    )
    return cell.unstack("method")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=30, help="SCMs per (family, K)")
    parser.add_argument("--K", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=list(COMPARISON_FAMILIES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--csv", help="also write the per-SCM rows to this file")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for family in args.families:
        for K in args.K:
            for n in args.sizes:
                for s in range(args.scms):
                    rows += run_one(family, K, n, s, args.seed, tuple(args.methods))
                print(
                    f"done {family} K={K} N={n} ({time.perf_counter() - start:.0f} s)", flush=True
                )
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)
    print(
        f"\nJoint effect vs exact truth, {args.scms} SCMs per cell: relative error "
        "(RMSE / sd of truth) mean ± s.e. (median) [mean excess RMSE]"
    )
    print(summarise(table)[list(args.methods)].to_string())
    seconds = table.groupby("method")["seconds"].mean()
    print("\nMean fit+predict seconds:", seconds.round(2).to_dict())


if __name__ == "__main__":
    main()
