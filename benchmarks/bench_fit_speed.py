"""Fit time of the structure-aware estimator against the paper's, in memory and streamed.

For one SCM of the paper's family (K actions) and each size (rows per regime) it times, side
by side in one run, the fits alone (no intervals, no file reading): the paper's estimator,
the structured estimator with its in-memory default (KS structure tests) and with the binned
tests, each on held data and on the same rows as chunk streams (the paper's and the binned
structured fit; the KS tests need held rows). It prints each time and its ratio to the
paper's fit on the same input.

    OMP_NUM_THREADS=1 python benchmarks/bench_fit_speed.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
from stamp import write_result

from jointeffects.errors import SupportWarning
from jointeffects.estimate import JointEffectEstimator, StructuredEstimator, as_regime_data
from jointeffects.estimate.regimes import RegimeChunks
from jointeffects.simulate import sample_polynomial_scm

#: Rows per chunk of the streamed fits.
CHUNK = 100_000

METHODS = {
    "paper": lambda: JointEffectEstimator(random_state=0),
    "structured (KS)": lambda: StructuredEstimator(random_state=0, structure_test="ks"),
    "structured (binned)": lambda: StructuredEstimator(random_state=0, structure_test="binned"),
}


def seconds(work: Any, *args: Any) -> float:
    start = time.perf_counter()
    work(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore", SupportWarning)
    scm = sample_polynomial_scm(K=args.K, rng=np.random.default_rng(args.seed))
    regimes = [(), *((a,) for a in scm.actions)]
    print(f"K={args.K}; seconds of one fit each, and ÷ the paper's fit on the same input")
    print(f"{'rows/regime':>12} {'input':>8} {'method':>20} {'s':>8} {'÷ paper':>8}")
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(n,)))
        frames = {r: scm.sample(n, intervened=r, rng=rng) for r in regimes}
        held = as_regime_data(frames)
        streams = {
            r: RegimeChunks([f.iloc[a : a + CHUNK] for a in range(0, n, CHUNK)], n)
            for r, f in frames.items()
        }
        for kind, data in (("memory", held), ("stream", streams)):
            paper = None
            for name, make in METHODS.items():
                if kind == "stream" and name == "structured (KS)":
                    continue
                took = seconds(make().fit, data)
                paper = paper or took
                print(f"{n:>12} {kind:>8} {name:>20} {took:>8.1f} {took / paper:>8.2f}")
                rows.append(
                    {"rows": n, "input": kind, "method": name, "seconds": round(took, 2),
                     "ratio_to_paper": round(took / paper, 2)}
                )  # fmt: skip
    write_result("fit_speed", {"K": args.K, "chunk_rows": CHUNK, "rows": rows})


if __name__ == "__main__":
    main()
