"""Size and power of the structure tests: Kolmogorov–Smirnov against the binned chi-square.

For SCMs of the paper's family (``sample_polynomial_scm``) and several sizes (rows per
regime: the observational regime and one experiment per action), every pair (experiment
do(A_j), action A_m ≠ A_j) is a test of "A_m is downstream of A_j"; the truth is whether
A_j is in ``scm.ancestors(A_m)``. Prints side by side, per test and size,

- size:  share of non-ancestor pairs whose two-sample test alone rejects at ``--alpha``
         (the null holds exactly there: do(A_j) leaves A_m's law unchanged);
- power: share of ancestor pairs whose two-sample test alone rejects at ``--alpha``;
- fp-rate, found: the full discovery the estimator runs (two-sample test combined with the
  dependence F-test by Bonferroni, Benjamini–Hochberg at ``--level`` over the pairs): share
  of non-ancestor pairs declared descendants, share of true ancestor relations found;
- seconds: time of the whole discovery per SCM.

Both tests see the same data in one run. The result is written to
``benchmarks/results/structure_tests.json``.

    python benchmarks/bench_structure_tests.py --scms 40 --sizes 2000 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats
from stamp import write_result

from jointeffects.estimate.estimators.ancestors import discover_ancestors
from jointeffects.estimate.estimators.binned import (
    PILOT_ROWS,
    bin_counts,
    bin_edges,
    binned_pvalue,
    discover_binned,
    summarise,
)
from jointeffects.estimate.regimes import RegimeStreams, as_regime_data
from jointeffects.estimate.regimes.passes import SourceReader
from jointeffects.simulate import sample_polynomial_scm


def run_one(K: int, n: int, seed: int, index: int, alpha: float, level: float) -> list[dict]:
    """Every pair's outcome under both tests, for SCM ``index`` at ``n`` rows per regime."""
    scm = sample_polynomial_scm(
        K, rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, n)))
    regimes = [(), *((a,) for a in scm.actions)]
    data = as_regime_data({r: scm.sample(n, intervened=r, rng=rng) for r in regimes})
    blocks = tuple((a,) for a in scm.actions)
    actions = data.actions
    X_obs = data.regimes[()][0]
    edges = bin_edges(X_obs[:PILOT_ROWS])
    obs_counts = bin_counts(X_obs, edges)

    start = time.perf_counter()
    _, ks_tests = discover_ancestors(data, blocks, level=level)
    ks_seconds = time.perf_counter() - start
    start = time.perf_counter()
    streams = RegimeStreams.from_data(data)
    readers = {r: SourceReader(s) for r, s in streams.regimes.items()}
    _, binned_tests = discover_binned(summarise(readers, actions), blocks, actions, level)
    binned_seconds = time.perf_counter() - start

    rows = []
    for block in blocks:
        X_int = data.regimes[block][0]
        int_counts = bin_counts(X_int, edges)
        for m, action in enumerate(actions):
            if action in block:
                continue
            truth = block[0] in scm.ancestors(action)
            p_ks = float(stats.ks_2samp(X_obs[:, m], X_int[:, m], method="asymp").pvalue)
            p_binned = binned_pvalue(obs_counts[m], int_counts[m])
            for test, p, table, seconds in (
                ("ks", p_ks, ks_tests, ks_seconds),
                ("binned", p_binned, binned_tests, binned_seconds),
            ):
                hit = table[
                    (table["experiment"] == f"do({block[0]})") & (table["action"] == action)
                ]
                rows.append(
                    {
                        "test": test,
                        "n": n,
                        "scm": index,
                        "ancestor": truth,
                        "rejects": p <= alpha,
                        "declared": bool(hit["descendant"].iloc[0]),
                        "seconds": seconds / len(blocks) / (K - 1),
                    }
                )
    return rows


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Size, power, discovery false-positive rate and recall per (n, test)."""
    out = []
    for (n, test), group in rows.groupby(["n", "test"], sort=True):
        null, alt = group[~group["ancestor"]], group[group["ancestor"]]
        out.append(
            {
                "n": int(n),
                "test": test,
                "null_pairs": len(null),
                "ancestor_pairs": len(alt),
                "size": float(null["rejects"].mean()),
                "power": float(alt["rejects"].mean()),
                "fp_rate": float(null["declared"].mean()),
                "found": float(alt["declared"].mean()),
                "seconds_per_scm": float(group["seconds"].sum() / group["scm"].nunique()),
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scms", type=int, default=40, help="SCMs per size (default 40)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--K", type=int, default=5, help="actions per SCM (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.05, help="level of a single test")
    parser.add_argument("--level", type=float, default=0.05, help="FDR of the discovery")
    args = parser.parse_args()
    rows = pd.DataFrame(
        [
            row
            for n in args.sizes
            for i in range(args.scms)
            for row in run_one(args.K, n, args.seed, i, args.alpha, args.level)
        ]
    )
    table = summary(rows)
    with pd.option_context("display.width", 120, "display.float_format", "{:.3f}".format):
        print(
            f"K={args.K}, {args.scms} SCMs per size, single tests at alpha={args.alpha}, "
            f"discovery at FDR level {args.level}"
        )
        print(table.to_string(index=False))
    path = write_result(
        "structure_tests",
        {
            "settings": vars(args),
            "table": table.to_dict(orient="records"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
