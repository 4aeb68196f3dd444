"""Empirical coverage of nominal pointwise intervals for the joint (or a mixed) effect.

For SCMs of the paper's polynomial family (or linear ones with --linear), one noise family
at a time, and several sizes (rows per regime), prints per estimator and interval method the
share of joint queries whose interval holds the exact ``scm.joint_effect``:

- paper/percentile, paper/basic: JointEffectEstimator (the paper's cubic ridge per regime),
  regime bootstrap (rows resampled within each regime), percentile and basic intervals;
  paper/percentile+bias: the library's default, widened by the degree-spread bias term less
  its bootstrap noise (``misspecification=True``); for comparison (--paper-methods)
  +bias-raw (the raw spread, same widening) and +bias-quadrature (the raw spread added in
  quadrature, √(h² + (z·bias)²))
- structured/sandwich: StructuredEstimator (ancestors learned), analytic HC1 sandwich widened
  by its bias term (spreads to the fits one degree richer and one penalty step lighter) and
  flagged when the residual specification test rejects (``sandwich_intervals`` defaults);
  structured/sandwich-quadrature: the same spreads added in quadrature
- structured/conditional: the plain model-conditional sandwich (``misspecification=False``)
- structured/boot: the same estimator, bootstrap percentile (small sizes only: slow)
- projected/default, prior/default (--others): ``bootstrap_intervals`` defaults for
  AdditiveProjection (with its bias term) and the prior method (true DAG); with
  --comparison on the prior method's own Gaussian families; topline/default,
  observational/default, pooled/default: the baselines (the topline fitted on a joint
  experiment of n rows drawn for it; the other two flagged as ignoring confounding)

With ``--intervened A0 A1`` the target is the mixed effect E[Y | do(a_0, a_1), a_rest]
instead: queries are drawn from do(A0, A1) and the truth is ``scm.mixed_effect``
(closed form for blocks linear-Gaussian in their confounders, quadrature over a lone
confounder, otherwise importance sampling with ``--n-mc`` draws; queries it cannot explain
are dropped).

``cover`` is over all queries, ``cover_trusted`` over those the ``trusted`` flag keeps
(``trusted`` = their share), ``width`` the median interval width ÷ sd of the true effect.
Joint-effect queries are drawn from the joint intervention distribution.

    python benchmarks/bench_coverage.py --scms 10 --sizes 500 2000 10000 100000 \
        --boot-max 10000 --n-boot 100

The structured sandwich alone (several seeds pool their SCMs per cell; --out keeps the
per-SCM rows):

    OMP_NUM_THREADS=1 python benchmarks/bench_coverage.py --K 5 --scms 12 \
        --sizes 500 2000 10000 100000 --boot-max 0 --boot-max-structured 0 \
        --seed 1 2 3 4 --families gaussian --out sandwich-gaussian.csv

Coverage clumps by SCM (one fit per SCM, its error shared by all its queries), so a cell of
few SCMs is noisy: pool several seeds (--seed takes several) before reading differences.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from stamp import write_result

from jointeffects.errors import IntervalWarning
from jointeffects.estimate import (
    AdditiveProjection,
    GaussianNoiseJointEstimator,
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
)
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.uncertainty.bands import widen
from jointeffects.estimate.uncertainty.intervals import bootstrap_intervals, sandwich_intervals
from jointeffects.estimate.uncertainty.refits import refit, regime_data
from jointeffects.simulate import sample_linear_scm, sample_polynomial_scm
from jointeffects.simulate.comparison import sample_gaussian_additive_scm, sample_interaction_scm
from jointeffects.simulate.noise import FAMILIES

COMPARISON = {"additive": sample_gaussian_additive_scm, "interaction": sample_interaction_scm}
OTHERS = {
    "projected": lambda scm: AdditiveProjection(),
    "prior": lambda scm: GaussianNoiseJointEstimator(dag={a: scm.parents(a) for a in scm.actions}),
    "topline": lambda scm: JointTopline(),
    "observational": lambda scm: ObservationalBaseline(),
    "pooled": lambda scm: PooledBaseline(),
}


def run_one(args: argparse.Namespace, family: str, n: int, seed: int, s: int) -> list[dict]:
    rng = np.random.default_rng(np.random.SeedSequence(seed + s, spawn_key=(n,)))
    if args.comparison:  # the prior method's own Gaussian families (noise family ignored)
        draw = COMPARISON[args.comparison]
        scm = draw(args.K, rng, n_calibration=20_000)
    else:
        draw = sample_linear_scm if args.linear else sample_polynomial_scm
        # "paper": the paper's mix of noise families; otherwise one family for every variable
        families = FAMILIES if family == "paper" else (family,)
        scm = draw(args.K, rng, families=families, n_calibration=20_000)
    data = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    queries = scm.sample(args.queries, intervened=scm.actions, rng=rng)[list(scm.actions)]
    truth = scm.joint_effect(queries)
    scale = scm.joint_effect(scm.sample(20_000, intervened=scm.actions, rng=rng)).std()
    mixed = tuple(args.intervened) if args.intervened else None
    if mixed:  # mixed-effect queries from do(mixed) and their truth (own stream)
        mixed_rng = np.random.default_rng(np.random.SeedSequence(seed + s, spawn_key=(n, 2)))
        queries = scm.sample(args.queries, intervened=mixed, rng=mixed_rng)[list(scm.actions)]
        truth, _ = scm.mixed_effect(queries, mixed, rng=mixed_rng, n_mc=args.n_mc)
        queries, truth = queries[np.isfinite(truth)], truth[np.isfinite(truth)]
        scale = truth.std()
    runs: dict = {}
    if not args.no_structured:
        runs["structured/sandwich"] = lambda: sandwich_intervals(
            StructuredEstimator(random_state=0), data, queries, mixed, level=args.level
        )
        runs["structured/conditional"] = lambda: sandwich_intervals(
            StructuredEstimator(random_state=0),
            data,
            queries,
            mixed,
            level=args.level,
            misspecification=False,
        )
    if n <= args.boot_max_structured and not args.no_structured:
        runs["structured/boot"] = lambda: bootstrap_intervals(
            StructuredEstimator(random_state=0),
            data,
            queries,
            mixed,
            level=args.level,
            n_boot=args.n_boot,
            random_state=s,
        )
    tables = {}
    for name, run in runs.items():
        start = time.perf_counter()
        tables[name] = (run(), time.perf_counter() - start)
    if "structured/sandwich" in tables:
        table, seconds = tables["structured/sandwich"]
        half = stats.norm.ppf(0.5 + args.level / 2) * table["se"]
        plain = table.assign(lower=table["estimate"] - half, upper=table["estimate"] + half)
        tables["structured/sandwich-quadrature"] = (
            quadrature(plain, table["bias"], args.level),
            seconds,
        )
    if n <= args.boot_max:
        tables.update(paper_tables(args, data, queries, s, mixed))
    for name in args.others:
        est, train = OTHERS[name](scm), data
        if name == "topline":  # its own joint-experiment sample of n rows (own stream)
            joint_rng = np.random.default_rng(np.random.SeedSequence(seed + s, spawn_key=(n, 1)))
            train = data | {scm.actions: scm.sample(n, intervened=scm.actions, rng=joint_rng)}
        start = time.perf_counter()
        table = bootstrap_intervals(
            est, train, queries, mixed, level=args.level, n_boot=args.n_boot, random_state=s
        )
        tables[f"{name}/default"] = (table, time.perf_counter() - start)
    return [
        score(name, *pair, truth, scale) | {"family": family, "n": n, "seed": seed, "scm": s}
        for name, pair in tables.items()
    ]


def paper_tables(
    args: argparse.Namespace,
    data: dict,
    queries: pd.DataFrame,
    s: int,
    mixed: tuple[str, ...] | None = None,
) -> dict:
    """The paper's estimator, per interval method: the plain bootstrap, the library's
    bias-aware one (``+bias``: the spread to learners one degree richer less its bootstrap
    noise, :func:`calibrated_bias`), and for comparison the raw spread with the same
    widening (``+bias-raw``) and the raw spread in quadrature (``+bias-quadrature``). One
    seed per SCM, so all rows share the same resamples."""
    tables = {}
    for method in dict.fromkeys(name.partition("+")[0] for name in args.paper_methods):
        variants = [name for name in args.paper_methods if name.partition("+")[0] == method]
        kwargs = dict(
            intervened=mixed, level=args.level, n_boot=args.n_boot, method=method, random_state=s
        )
        start = time.perf_counter()
        plain = bootstrap_intervals(
            JointEffectEstimator(), data, queries, misspecification=False, **kwargs
        )
        seconds = time.perf_counter() - start
        if method in variants:
            tables[f"paper/{method}"] = (plain, seconds)
        if f"{method}+bias" in variants:
            start = time.perf_counter()
            tables[f"paper/{method}+bias"] = (
                bootstrap_intervals(JointEffectEstimator(), data, queries, **kwargs),
                time.perf_counter() - start,
            )
        if any(name.endswith(("+bias-raw", "+bias-quadrature")) for name in variants):
            richer = refit(JointEffectEstimator()._richer_partner(required=True), regime_data(data))
            raw = np.abs(plain["estimate"] - richer.predict(queries.to_numpy(), intervened=mixed))
            widened = plain.copy()
            widened["lower"], widened["upper"] = widen(
                plain["estimate"], plain["lower"], plain["upper"], raw, args.level
            )
            tables[f"paper/{method}+bias-raw"] = (widened, seconds)
            tables[f"paper/{method}+bias-quadrature"] = (
                quadrature(plain, raw, args.level),
                seconds,
            )
    return {k: v for k, v in tables.items() if k.partition("/")[2] in args.paper_methods}


def quadrature(plain: pd.DataFrame, bias: Any, level: float) -> pd.DataFrame:
    """The quadrature widening, each half-width h made √(h² + (z·bias)²), for comparison."""
    z, est = stats.norm.ppf(0.5 + level / 2), plain["estimate"]
    extra = (z * np.asarray(bias)) ** 2
    return plain.assign(
        lower=est - np.sqrt((est - plain["lower"]) ** 2 + extra),
        upper=est + np.sqrt((plain["upper"] - est) ** 2 + extra),
    )


def score(name: str, table: pd.DataFrame, seconds: float, truth: np.ndarray, scale: float) -> dict:
    inside = ((table["lower"] <= truth) & (truth <= table["upper"])).to_numpy()
    trusted = table["trusted"].to_numpy()
    return {
        "estimator": name,
        "cover": inside.mean(),
        "cover_trusted": inside[trusted].mean() if trusted.any() else np.nan,
        "trusted": trusted.mean(),
        "width": float(np.median(table["upper"] - table["lower"]) / scale),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=10)
    parser.add_argument("--K", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000, 100_000])
    parser.add_argument(
        "--families",
        nargs="+",
        default=["paper"],
        help="noise families, one cell each: 'paper' (the paper's mix) or one of "
        f"{', '.join(FAMILIES)} for every variable",
    )
    parser.add_argument("--linear", action="store_true", help="linear SCMs instead")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--level", type=float, default=0.9)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--boot-max", type=int, default=10_000, help="largest n bootstrapped")
    parser.add_argument("--boot-max-structured", type=int, default=2000)
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[2025], help="one or more; cells pool their SCMs"
    )
    parser.add_argument("--out", help="also write the per-SCM rows to this CSV file")
    parser.add_argument(
        "--intervened",
        nargs="+",
        help="mixed effects instead: these actions intervened, the others observed (queries "
        "drawn from that regime; truth by scm.mixed_effect); not with topline",
    )
    parser.add_argument(
        "--n-mc", type=int, default=100_000, help="draws of the mixed truth where it is sampled"
    )
    parser.add_argument(
        "--paper-methods",
        nargs="+",
        default=["percentile", "percentile+bias"],
        help="bootstrap interval methods of the paper's estimator (percentile, basic, "
        "normal); '+bias' is the library's bias-aware interval (misspecification=True), "
        "'+bias-raw' the same widening by the raw degree spread (its noise not subtracted), "
        "'+bias-quadrature' the raw spread added in quadrature, √(h² + (z·bias)²)",
    )
    parser.add_argument(
        "--no-structured", action="store_true", help="skip the structured estimator's rows"
    )
    parser.add_argument(
        "--others",
        nargs="*",
        default=[],
        choices=sorted(OTHERS),
        help="also bootstrap_intervals' defaults for AdditiveProjection (bias term), the "
        "prior method (GaussianNoiseJointEstimator with the true DAG; flagged when its "
        "residual normality test rejects) and the baselines (JointTopline on its own joint "
        "sample of the same size; ObservationalBaseline and PooledBaseline, flagged)",
    )
    parser.add_argument(
        "--comparison",
        choices=sorted(COMPARISON),
        help="SCMs of the prior method's own Gaussian families instead (simulate.comparison)",
    )
    parser.add_argument(
        "--result",
        help="name suffix of the result file (benchmarks/results/coverage-NAME.json); "
        "default coverage.json",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", IntervalWarning)
    rows = []
    for family in args.families:
        for n in args.sizes:
            for seed in args.seed:
                for s in range(args.scms):
                    rows += run_one(args, family, n, seed, s)
            print(f"done {family} n={n}", flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    summary = table.groupby(["estimator", "family", "n"])[
        ["cover", "cover_trusted", "trusted", "width", "seconds"]
    ].mean()
    summary["scms"] = table.groupby(["estimator", "family", "n"]).size()
    pd.set_option("display.width", 200)
    kind = (
        f"{args.comparison} comparison"
        if args.comparison
        else ("linear" if args.linear else "polynomial")
    )
    target = f"mixed effect do({', '.join(args.intervened)})" if args.intervened else "joint effect"
    print(
        f"\nCoverage of nominal {args.level:.0%} intervals of the {target}, {kind} SCMs, "
        f"K={args.K}, {args.queries} queries per SCM, n_boot={args.n_boot}"
    )
    print(summary.round(3).to_string())
    path = write_result(
        "coverage" if args.result is None else f"coverage-{args.result}",
        {
            "settings": vars(args),
            "target": target,
            "kind": kind,
            "summary": summary.reset_index().to_dict(orient="records"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
