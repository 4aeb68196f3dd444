"""Agreement with the reference code on its own SCMs: the paper's estimator and baselines.

Loads the SCMs that the authors' code drew (``shared/ref/scms/seed_<seed>.json``), samples
``--rows`` rows of every regime with our simulator, splits them 80/20 as the reference code
does, fits the paper's estimator, the joint topline, the pooled and the observational-only
baselines (cubic ridge, alpha by 3-fold CV over 10^-8..10^-1) and scores them on the joint
test set. Prints, per method, our mean RMSE against noisy Y beside the reference code's
(``ref_rmse_N10000_seeds1000-1029.csv``), the difference in units of its standard error
(both samples' s.e. combined, and paired by SCM), and our RMSE against the exact effect and
relative error. Writes ``benchmarks/results/reference_agreement.json``.

    python benchmarks/bench_reference.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from stamp import write_result
from threadpoolctl import threadpool_limits

from jointeffects.experiments.settings import Setting
from jointeffects.experiments.tasks import Task, score_methods
from jointeffects.simulate import load_scm

REF = Path(__file__).resolve().parents[2] / "shared" / "ref"
#: Our method key → the reference file's column.
COLUMNS = {
    "paper": "rmse_method",
    "topline": "rmse_jint",
    "pooled": "rmse_pool",
    "observational": "rmse_obs",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", type=Path, default=REF, help="the shared/ref folder")
    parser.add_argument("--rows", type=int, default=10_000, help="rows sampled per regime")
    parser.add_argument("--seed", type=int, default=0, help="our sampling seed")
    args = parser.parse_args()
    reference = pd.read_csv(args.ref / "ref_rmse_N10000_seeds1000-1029.csv").set_index("seed")
    setting = Setting(5, args.rows, args.rows, args.rows)
    start = time.perf_counter()
    rows = []
    with threadpool_limits(limits=1):
        for index, seed in enumerate(reference.index):
            scm = load_scm(args.ref / "scms" / f"seed_{seed}.json")
            task = Task("reference", setting, index, args.seed, tuple(COLUMNS))
            rows += [(seed, *row) for row in score_methods(scm, task)]
    seconds = time.perf_counter() - start
    ours = pd.DataFrame(rows, columns=["seed", "method", "metric", "value"]).pivot_table(
        index="seed", columns=["method", "metric"], values="value"
    )
    n = len(reference)
    table = []
    for method, column in COLUMNS.items():
        mine, theirs = ours[(method, "rmse_noisy")], reference[column]
        diff = mine - theirs
        se = np.sqrt(mine.var() / n + theirs.var() / n)
        table.append(
            {
                "method": method,
                "ours_rmse_noisy": mine.mean(),
                "ours_se": mine.sem(),
                "ref_rmse_noisy": theirs.mean(),
                "ref_se": theirs.sem(),
                "diff_over_se": diff.mean() / se,
                "diff_over_paired_se": diff.mean() / diff.sem(),
                "ours_rmse_truth": ours[(method, "rmse_truth")].mean(),
                "ours_rel_error": ours[(method, "rel_error")].mean(),
                "ours_rel_error_se": ours[(method, "rel_error")].sem(),
            }
        )
    frame = pd.DataFrame(table).set_index("method")
    print(
        f"K=5, {args.rows} rows sampled per regime (80 % for training), the reference code's "
        f"SCMs seeds {reference.index.min()}-{reference.index.max()} ({n}); mean ± s.e. over "
        f"SCMs; {seconds:.0f} s on one BLAS thread"
    )
    shown = pd.DataFrame(
        {
            "ours rmse_noisy": [
                f"{r.ours_rmse_noisy:.3f} ± {r.ours_se:.3f}" for r in frame.itertuples()
            ],
            "reference rmse_noisy": [
                f"{r.ref_rmse_noisy:.3f} ± {r.ref_se:.3f}" for r in frame.itertuples()
            ],
            "diff / s.e.": [f"{r.diff_over_se:+.2f}" for r in frame.itertuples()],
            "diff / paired s.e.": [f"{r.diff_over_paired_se:+.2f}" for r in frame.itertuples()],
            "ours rmse_truth": [f"{r.ours_rmse_truth:.4f}" for r in frame.itertuples()],
            "ours rel_error": [
                f"{r.ours_rel_error:.2f} ± {r.ours_rel_error_se:.2f}" for r in frame.itertuples()
            ],
        },
        index=frame.index,
    )
    print(shown.to_string())
    within = (frame["diff_over_se"].abs() < 2).all()
    print(f"every method within 2 s.e. of the reference: {'yes' if within else 'NO'}")
    path = write_result(
        "reference_agreement",
        {
            "rows_per_regime": args.rows,
            "seconds": seconds,
            "table": frame.reset_index().to_dict(orient="records"),
            "per_scm": {
                f"{method}:{metric}": ours[(method, metric)].round(6).tolist()
                for method, metric in ours.columns
            },
            "within_2_se": bool(within),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
