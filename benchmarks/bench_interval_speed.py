"""Time of the structured estimator's intervals: analytic sandwich against bootstrap refits.

For one SCM of the paper's family (K actions) and each size, prints side by
side, in one run: the fit, the model-conditional sandwich (``misspecification=False``), the
default sandwich (its bias partners: one degree richer, one penalty step lighter; the
residual specification test), one bootstrap refit on resampled rows and the projected time
of ``--n-boot`` refits, with the bootstrap ÷ default-sandwich ratio. The sandwich columns
start from the fitted model (the fit is the column before); a refit is a whole fit.

    OMP_NUM_THREADS=1 python benchmarks/bench_interval_speed.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
from stamp import write_result

from jointeffects.errors import IntervalWarning
from jointeffects.estimate.estimators.structured import StructuredEstimator
from jointeffects.estimate.uncertainty.intervals import sandwich_intervals
from jointeffects.estimate.uncertainty.refits import refit, regime_data, resample_rows
from jointeffects.simulate import sample_polynomial_scm


def seconds(work: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Wall time of ``work(*args, **kwargs)`` and its result."""
    start = time.perf_counter()
    out = work(*args, **kwargs)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--n-boot", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore", IntervalWarning)
    print(f"K={args.K}, rows per regime; seconds on this machine (one run each)")
    header = "rows/regime     fit  sandwich(cond.)  sandwich(default)  1 refit  "
    print(header + f"{args.n_boot} refits  bootstrap/sandwich")
    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(n,)))
        scm = sample_polynomial_scm(args.K, rng, n_calibration=20_000)
        regimes = [(), *((a,) for a in scm.actions)]
        data = regime_data({r: scm.sample(n, intervened=r, rng=rng) for r in regimes})
        queries = scm.sample(200, intervened=scm.actions, rng=rng)[list(scm.actions)]
        est = StructuredEstimator(random_state=0)
        fit_s, fitted = seconds(refit, est, data)
        cond_s, _ = seconds(sandwich_intervals, fitted, data, queries, misspecification=False)
        default_s, _ = seconds(sandwich_intervals, fitted, data, queries)
        refit_s, _ = seconds(refit, est, resample_rows(data, rng))
        boot_s = args.n_boot * refit_s
        print(
            f"{n:>11,} {fit_s:>7.1f} {cond_s:>16.1f} {default_s:>18.1f} {refit_s:>8.1f} "
            f"{boot_s:>10.0f} {boot_s / default_s:>19.1f}",
            flush=True,
        )
        rows.append(
            {
                "rows_per_regime": n,
                "fit_s": fit_s,
                "sandwich_conditional_s": cond_s,
                "sandwich_default_s": default_s,
                "refit_s": refit_s,
                "bootstrap_s": boot_s,
                "bootstrap_over_sandwich": boot_s / default_s,
            }
        )
    print(f"wrote {write_result('interval_speed', {'settings': vars(args), 'rows': rows})}")


if __name__ == "__main__":
    main()
