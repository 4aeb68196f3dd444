"""Structure-aware estimator vs the paper's estimator vs the joint toplines, on two families.

For K=5 SCMs and several sizes n (rows per regime), prints the relative error (RMSE against
the exact joint effect ÷ sd of the true effect; mean ± s.e. over SCMs) of

- paper:        the paper's estimator (one cubic ridge per regime, combined)
- paper+proj:   the same, projected onto additive functions (AdditiveProjection)
- structured:   StructuredEstimator with the ancestor sets learned (the library's default)
- tied:         the earlier configuration: one degree for φ and ψ, candidates 1–3
                (``degrees=(1, 2, 3), psi_degrees=None``)
- struct+dag:   StructuredEstimator given the true DAG
- topline-n:    cubic ridge on n joint-intervention rows
- topline-Kn:   cubic ridge on (K+1)·n joint rows (the same total rows as the others)

side by side in one run, on the SCMs the reference code drew (``shared/ref/scms``,
``--family ref``) and on SCMs of our ``sample_polynomial_scm`` (``--family ours``); also the
number of SCMs on which the structured estimator is worse than the paper's, and the mean fit
seconds. With ``--edges`` it also fits the structured estimator on a wrong DAG (the true one
with one edge removed or one false edge added). Writes ``benchmarks/results/structured.json``.

    python benchmarks/bench_structured.py --scms 20 --sizes 500 2000 10000 100000
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from stamp import write_result
from threadpoolctl import threadpool_limits

from jointeffects.estimate import JointEffectEstimator, JointTopline
from jointeffects.estimate.estimators.projection import AdditiveProjection
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.simulate import load_scm, sample_polynomial_scm

REF = Path(__file__).resolve().parents[2] / "shared" / "ref" / "scms"
METHODS = ["paper", "paper+proj", "structured", "tied", "struct+dag", "topline-n", "topline-Kn"]


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


def draw_scm(family: str, K: int, s: int, seed: int):
    if family == "ref":
        return load_scm(REF / f"seed_{1000 + s}.json")
    return sample_polynomial_scm(K, np.random.default_rng(np.random.SeedSequence(seed + s)))


def run_one(family: str, K: int, n: int, s: int, seed: int, edges: bool) -> dict:
    scm = draw_scm(family, K, s, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed + s, spawn_key=(n,)))
    data = {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
    joint = scm.sample((K + 1) * n, intervened=scm.actions, rng=rng)
    queries = scm.sample(20_000, intervened=scm.actions, rng=rng)[list(scm.actions)]
    truth = scm.joint_effect(queries)
    dag = {a: scm.parents(a) for a in scm.actions}
    methods = {
        "paper": (JointEffectEstimator(), data),
        "paper+proj": (AdditiveProjection(random_state=0), data),
        "structured": (StructuredEstimator(random_state=0), data),
        "tied": (StructuredEstimator(degrees=(1, 2, 3), psi_degrees=None, random_state=0), data),
        "struct+dag": (StructuredEstimator(dag=dag, random_state=0), data),
        "topline-n": (JointTopline(), {scm.actions: joint.iloc[:n]}),
        "topline-Kn": (JointTopline(), {scm.actions: joint}),
    }
    if edges:
        for name, wrong in wrong_dags(scm, np.random.default_rng(seed + s)).items():
            if wrong is not None:
                methods[name] = (StructuredEstimator(dag=wrong, random_state=0), data)
    out: dict = {"family": family, "n": n, "scm": s}
    for name, (est, train) in methods.items():
        start = time.perf_counter()
        est.fit(train)
        out[f"{name} s"] = time.perf_counter() - start
        out[name] = float(np.sqrt(np.mean((est.predict(queries) - truth) ** 2)) / truth.std())
        if name == "structured":
            true = {a: set(scm.ancestors(a)) for a in scm.actions}
            out["missed edges"] = sum(len(true[a] - set(est.ancestors_[a])) for a in true)
            out["added edges"] = sum(len(set(est.ancestors_[a]) - true[a]) for a in true)
            out["psi degree"] = est.psi_degree_
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=20)
    parser.add_argument("--K", type=int, default=5, help="K of --family ours (ref SCMs: 5)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10_000, 100_000])
    parser.add_argument("--families", nargs="+", default=["ref", "ours"], choices=["ref", "ours"])
    parser.add_argument("--seed", type=int, default=2025, help="seed of our SCMs and the data")
    parser.add_argument(
        "--edges", action="store_true", help="also fit on the true DAG minus/plus one edge"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    with threadpool_limits(limits=1):
        for family in args.families:
            for n in args.sizes:
                for s in range(args.scms):
                    rows.append(run_one(family, args.K, n, s, args.seed, args.edges))
                print(f"done {family} n={n}", flush=True)
    table = pd.DataFrame(rows)
    methods = METHODS + [m for m in ("miss-edge", "extra-edge") if m in table]
    groups = table.groupby(["family", "n"])
    summary = groups[methods].agg(["mean", "sem"])
    lines = []
    for (family, n), row in summary.iterrows():
        cells = [f"{row[(m, 'mean')]:.3f} ± {row[(m, 'sem')]:.3f}" for m in methods]
        lines.append([family, n, *cells])
    pd.set_option("display.width", 250)
    print(f"\nRelative error (RMSE vs exact truth / sd of truth), K=5, {args.scms} SCMs per cell")
    print("n = rows per regime; topline-n on n joint rows, topline-Kn on (K+1)·n\n")
    print(pd.DataFrame(lines, columns=["family", "n", *methods]).to_string(index=False))
    per_scm = groups.apply(
        lambda g: pd.Series(
            {
                "paper / structured": (g["paper"] / g["structured"]).mean(),
                "SCMs structured worse than paper": int((g["structured"] > g["paper"]).sum()),
                "SCMs structured worse than tied": int((g["structured"] > g["tied"]).sum()),
                "missed edges": g["missed edges"].mean(),
                "added edges": g["added edges"].mean(),
                "psi degree": g["psi degree"].mean(),
            }
        )
    )
    print("\nper SCM:")
    print(per_scm.round(2).to_string())
    times = groups[[f"{m} s" for m in methods]].mean()
    print("\nmean fit seconds per SCM:")
    print(times.round(3).to_string())
    path = write_result(
        "structured",
        {
            "settings": vars(args),
            "methods": methods,
            "summary": [
                {"family": family, "n": int(n)}
                | {f"{m}_{s}": float(row[(m, s)]) for m in methods for s in ("mean", "sem")}
                for (family, n), row in summary.iterrows()
            ],
            "per_scm": per_scm.reset_index().to_dict(orient="records"),
            "seconds": times.reset_index().to_dict(orient="records"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
