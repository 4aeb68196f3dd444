"""Structure-aware estimator vs the paper's estimator vs the joint topline.

For SCMs of the paper's family (K=5) and several sizes, prints the relative error
(RMSE against the exact joint effect ÷ sd of the true effect; mean ± s.e. over SCMs) of

- paper:        the paper's estimator (one cubic ridge per regime, combined)
- paper+proj:   the same, projected onto additive functions (AdditiveProjection)
- structured:   StructuredEstimator with the ancestor sets learned from the data
- struct+dag:   StructuredEstimator given the true DAG
- topline:      cubic ridge on (K+1)·n joint-intervention rows (the same total rows)

and the data multiple the structure-aware estimator needs to match the topline's error.
With ``--edges`` it also fits the structured estimator on a wrong DAG — the true one with one
edge removed (``miss-edge``, SCMs with at least one edge) or with one false edge added
(``extra-edge``) — to show how the estimate degrades when discovery errs.
All methods see the same data in one run, side by side.

    python benchmarks/bench_structured.py --scms 30 --sizes 500 2000 10000 50000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from jointeffects.estimate import JointEffectEstimator, JointTopline
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.simulate import sample_polynomial_scm


def wrong_dags(scm, rng: np.random.Generator) -> dict[str, dict[str, list[str]] | None]:
    """The true DAG with one random edge removed, and with one random false edge added."""
    dag = {a: list(scm.parents(a)) for a in scm.actions}
    edges = [(p, a) for a in scm.actions for p in dag[a]]
    absent = [
        (scm.actions[j], scm.actions[k])
        for k in range(len(scm.actions))
        for j in range(k)
        if scm.actions[j] not in scm.ancestors(scm.actions[k])
    ]
    out: dict[str, dict[str, list[str]] | None] = {"miss-edge": None, "extra-edge": None}
    if edges:
        p, a = edges[rng.integers(len(edges))]
        out["miss-edge"] = {**dag, a: [x for x in dag[a] if x != p]}
    if absent:
        p, a = absent[rng.integers(len(absent))]
        out["extra-edge"] = {**dag, a: [*dag[a], p]}
    return out


def run_one(K: int, n: int, seed: int, edges: bool = False) -> dict[str, float]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n,)))
    scm = sample_polynomial_scm(K, rng)
    data = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    joint = {scm.actions: scm.sample((K + 1) * n, intervened=scm.actions, rng=rng)}
    queries = scm.sample(20_000, intervened=scm.actions, rng=rng)[list(scm.actions)]
    truth = scm.joint_effect(queries)
    methods = {
        "paper": (JointEffectEstimator(), data),
        "paper+proj": (AdditiveProjection(random_state=0), data),
        "structured": (StructuredEstimator(random_state=0), data),
        "struct+dag": (
            StructuredEstimator(dag={a: scm.parents(a) for a in scm.actions}, random_state=0),
            data,
        ),
        "topline": (JointTopline(), joint),
    }
    if edges:
        for name, dag in wrong_dags(scm, np.random.default_rng(seed)).items():
            if dag is not None:
                methods[name] = (StructuredEstimator(dag=dag, random_state=0), data)
    out: dict[str, float] = {}
    for name, (est, train) in methods.items():
        start = time.perf_counter()
        est.fit(train)
        out[f"{name} s"] = time.perf_counter() - start
        rmse = np.sqrt(np.mean((est.predict(queries) - truth) ** 2))
        out[name] = float(rmse / truth.std())
        if name == "structured":
            learned = est.ancestors_
            true = {a: set(scm.ancestors(a)) for a in scm.actions}
            out["missed edges"] = sum(len(true[a] - set(learned[a])) for a in scm.actions)
            out["added edges"] = sum(len(set(learned[a]) - true[a]) for a in scm.actions)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=30)
    parser.add_argument("--K", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000, 50_000])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--edges", action="store_true", help="also fit on the true DAG minus/plus one edge"
    )
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        for s in range(args.scms):
            rows.append({"n": n, "scm": s, **run_one(args.K, n, args.seed + s, args.edges)})
        print(f"done n={n}", flush=True)
    table = pd.DataFrame(rows)
    methods = ["paper", "paper+proj", "structured", "struct+dag", "topline"]
    if args.edges:
        methods += [m for m in ("miss-edge", "extra-edge") if m in table]
    summary = table.groupby("n")[methods].agg(["mean", "sem"])
    pd.set_option("display.width", 200)
    print(f"\nRelative error (RMSE vs exact truth / sd of truth), K={args.K}, {args.scms} SCMs")
    print("n = rows per regime; topline trained on (K+1)·n joint rows\n")
    lines = []
    for n, row in summary.iterrows():
        cells = [f"{row[(m, 'mean')]:.3f} ± {row[(m, 'sem')]:.3f}" for m in methods]
        lines.append([n, *cells])
    print(pd.DataFrame(lines, columns=["n", *methods]).to_string(index=False))
    ratio = table.groupby("n").apply(lambda g: (g["paper"] / g["structured"]).mean())
    print("\nmean per-SCM ratio paper / structured:", ratio.round(2).to_dict())
    for wrong in ("miss-edge", "extra-edge"):
        if args.edges and wrong in table:
            has = table.dropna(subset=[wrong])
            r = has.groupby("n").apply(lambda g, w=wrong: (g[w] / g["struct+dag"]).mean())
            print(
                f"mean per-SCM ratio {wrong} / struct+dag ({len(has) // len(args.sizes)} "
                f"SCMs per size):",
                r.round(2).to_dict(),
            )
    worse = table.groupby("n").apply(lambda g: int((g["structured"] > g["paper"]).sum()))
    print("SCMs where structured is worse than paper:", worse.to_dict())
    edges = table.groupby("n")[["missed edges", "added edges"]].mean()
    print("learned DAG, mean missed / added ancestor relations per SCM:")
    print(edges.round(2).to_string())
    times = table.groupby("n")[[f"{m} s" for m in methods]].mean()
    print("\nmean fit seconds per SCM:")
    print(times.round(3).to_string())
    # Data multiple: rows the structured estimator needs to reach the topline's error.
    means = summary.xs("mean", axis=1, level=1)
    sizes = np.array(means.index, dtype=float)
    log_struct = np.log(means["structured"].to_numpy())
    print("\nrows (total) structured needs to match the topline at each size, as a multiple:")
    for n, top in zip(sizes, means["topline"], strict=True):
        target = np.log(top)
        if target < log_struct.min():
            print(f"  topline at n={int(n)} ({top:.3f}): beyond the largest size measured")
            continue
        # log-log interpolation of structured error against size
        need = float(np.exp(np.interp(-target, -log_struct, np.log(sizes))))
        print(
            f"  topline at n={int(n)} ({top:.3f}): structured needs n≈{need:.0f}, "
            f"×{need / n:.1f} the topline's data"
        )


if __name__ == "__main__":
    main()
