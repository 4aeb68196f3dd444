"""Empirical coverage of nominal pointwise intervals for the joint effect (issue 7).

For SCMs of the paper's polynomial family (or linear ones with --linear), one noise family
at a time, and several sizes (rows per regime), prints per estimator and interval method the
share of joint queries whose interval holds the exact ``scm.joint_effect``:

- paper/percentile, paper/basic: JointEffectEstimator (the paper's cubic ridge per regime),
  regime bootstrap (rows resampled within each regime), percentile and basic intervals;
  paper/percentile+bias: widened by the degree-spread bias term (``misspecification=True``)
- structured/sandwich: StructuredEstimator (ancestors learned), analytic HC1 sandwich widened
  by the degree-spread bias term and flagged when the residual specification test rejects
  (``sandwich_intervals`` defaults)
- structured/conditional: the plain model-conditional sandwich (``misspecification=False``)
- structured/boot: the same estimator, bootstrap percentile (small sizes only: slow)

``cover`` is over all queries, ``cover_trusted`` over those the ``trusted`` flag keeps
(``trusted`` = their share), ``width`` the median interval width ÷ sd of the true effect.
Queries are drawn from the joint intervention distribution.

    python benchmarks/bench_coverage.py --scms 10 --sizes 500 2000 10000 100000 \
        --boot-max 10000 --n-boot 100

The structured sandwich alone (issue 7's table for it, ~8 minutes on one core):

    OMP_NUM_THREADS=1 python benchmarks/bench_coverage.py --K 5 --scms 12 \
        --sizes 500 2000 10000 100000 --boot-max 0 --boot-max-structured 0

Coverage clumps by SCM (one fit per SCM, its error shared by all its queries: the plain
sandwich's per-SCM coverage ranged 0.13-1.0 at 2000 rows), so a cell of 12 SCMs is noisy:
read differences below ~0.1 as noise and compare runs with another --seed.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from jointeffects.estimate import JointEffectEstimator
from jointeffects.estimate.intervals import (
    IntervalWarning,
    bootstrap_intervals,
    sandwich_intervals,
)
from jointeffects.estimate.structured import StructuredEstimator
from jointeffects.simulate import sample_linear_scm, sample_polynomial_scm


def run_one(args: argparse.Namespace, family: str, n: int, s: int) -> list[dict]:
    rng = np.random.default_rng(np.random.SeedSequence(args.seed + s, spawn_key=(n,)))
    draw = sample_linear_scm if args.linear else sample_polynomial_scm
    scm = draw(args.K, rng, families=(family,), n_calibration=20_000)
    data = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    queries = scm.sample(args.queries, intervened=scm.actions, rng=rng)[list(scm.actions)]
    truth = scm.joint_effect(queries)
    scale = scm.joint_effect(scm.sample(20_000, intervened=scm.actions, rng=rng)).std()
    runs: dict = (
        {}
        if args.no_structured
        else {
            "structured/sandwich": lambda: sandwich_intervals(
                StructuredEstimator(random_state=0), data, queries, level=args.level
            ),
            "structured/conditional": lambda: sandwich_intervals(
                StructuredEstimator(random_state=0),
                data,
                queries,
                level=args.level,
                misspecification=False,
            ),
        }
    )
    if n <= args.boot_max:
        for name in args.paper_methods:
            method, _, bias = name.partition("+")
            runs[f"paper/{name}"] = lambda method=method, bias=bias: bootstrap_intervals(
                JointEffectEstimator(),
                data,
                queries,
                level=args.level,
                n_boot=args.n_boot,
                method=method,
                random_state=s,
                misspecification=bias == "bias",
            )
    if n <= args.boot_max_structured and not args.no_structured:
        runs["structured/boot"] = lambda: bootstrap_intervals(
            StructuredEstimator(random_state=0),
            data,
            queries,
            level=args.level,
            n_boot=args.n_boot,
            random_state=s,
        )
    rows = []
    for name, run in runs.items():
        start = time.perf_counter()
        table = run()
        inside = ((table["lower"] <= truth) & (truth <= table["upper"])).to_numpy()
        trusted = table["trusted"].to_numpy()
        rows.append(
            {
                "estimator": name,
                "family": family,
                "n": n,
                "scm": s,
                "cover": inside.mean(),
                "cover_trusted": inside[trusted].mean() if trusted.any() else np.nan,
                "trusted": trusted.mean(),
                "width": float(np.median(table["upper"] - table["lower"]) / scale),
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=10)
    parser.add_argument("--K", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=["gaussian", "uniform", "logistic"])
    parser.add_argument("--linear", action="store_true", help="linear SCMs instead")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--boot-max", type=int, default=10_000, help="largest n bootstrapped")
    parser.add_argument("--boot-max-structured", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--paper-methods",
        nargs="+",
        default=["percentile", "basic", "percentile+bias"],
        help="bootstrap interval methods of the paper's estimator; '+bias' adds the "
        "degree-spread bias term (misspecification=True)",
    )
    parser.add_argument(
        "--no-structured", action="store_true", help="skip the structured estimator's rows"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", IntervalWarning)
    rows = []
    for family in args.families:
        for n in args.sizes:
            for s in range(args.scms):
                rows += run_one(args, family, n, s)
            print(f"done {family} n={n}", flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["estimator", "family", "n"])[
        ["cover", "cover_trusted", "trusted", "width", "seconds"]
    ].mean()
    summary["scms"] = table.groupby(["estimator", "family", "n"]).size()
    pd.set_option("display.width", 200)
    kind = "linear" if args.linear else "polynomial"
    print(
        f"\nCoverage of nominal {args.level:.0%} intervals of the joint effect, {kind} SCMs, "
        f"K={args.K}, {args.queries} joint queries per SCM, n_boot={args.n_boot}"
    )
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
