"""The paper's estimator and its baselines on the paper's family: RMSE and fit time.

K = 5, ``--rows`` rows sampled per regime (80 % used for training, as in the experiments),
``--scms`` SCMs of ``sample_polynomial_scm``; every method sees the same SCM and the same joint
test set (one experiment task per SCM, run serially). Prints mean ± s.e. over SCMs of the RMSE
against the noisy Y of the joint test set (the paper's metric), the RMSE against the exact
joint effect, the relative error (÷ sd of the true effect) and the fit seconds per SCM.

    python benchmarks/bench_estimator.py --scms 20 --rows 10000
"""

from __future__ import annotations

import argparse

import pandas as pd

from jointeffects.experiments.methods import METHODS
from jointeffects.experiments.settings import Setting
from jointeffects.experiments.tasks import Task, run_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--K", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    setting = Setting(args.K, args.rows, args.rows, args.rows)
    rows = []
    for index in range(args.scms):
        task = Task("bench", setting, index, args.seed, tuple(args.methods))
        rows += [(index, *row) for row in run_task(task).rows]
    table = pd.DataFrame(rows, columns=["scm", "method", "metric", "value"])
    wide = table.pivot_table(index=["method", "scm"], columns="metric", values="value")
    metrics = ["rmse_noisy", "rmse_truth", "rel_error", "fit_seconds"]
    summary = wide.groupby("method")[metrics].agg(["mean", "sem"]).reindex(args.methods)
    print(
        f"K={args.K}, {args.rows} rows sampled per regime, {args.scms} SCMs of the paper's "
        f"family, seed {args.seed}: mean ± s.e. over SCMs"
    )
    out = pd.DataFrame(
        {
            m: [f"{r[(m, 'mean')]:.4g} ± {r[(m, 'sem')]:.2g}" for _, r in summary.iterrows()]
            for m in metrics
        },
        index=summary.index,
    )
    print(out.to_string())


if __name__ == "__main__":
    main()
