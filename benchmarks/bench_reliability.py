"""Benchmark: wall time and peak memory of ``fit`` and ``predict`` at 10^6 rows, and the time
the memory check needs to refuse a 40-action cubic design.

Run ``python benchmarks/bench_reliability.py [--rows 1000000]``.

- Data: the marketing example's SCM (4 actions), --rows rows of the observational regime and
  of each single-action experiment (Parquet), and --rows query rows.
- ``jointeffects fit --n-boot 0`` and ``jointeffects predict`` each run in a fresh process:
  wall time, and peak resident memory from the child's own ``getrusage`` (``os.wait4``).
- The memory check: a 40-action table (observational + 40 experiments, 30 rows each) given to
  ``fit`` at degree 3; it must exit 2 naming the design's size. Timed as the whole command in a
  fresh process (interpreter start and imports included) and as the check alone in-process.

The results, stamped with the command line, git commit and date, go to
``benchmarks/results/reliability.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stamp import write_result

from jointeffects.simulate.examples import marketing_example

#: The ``jointeffects`` command, in this interpreter.
CLI = [sys.executable, "-c", "import sys; from jointeffects.cli.main import main; main()"]


def run_measured(args: list[str]) -> dict[str, Any]:
    """Run a CLI command in a fresh process: exit status, wall seconds, peak RSS (MiB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([*CLI, *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().strip(), err.read().strip()
    return {
        "command": " ".join(["jointeffects", *args]),
        "exit": proc.returncode,
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "stderr": stderr.splitlines()[-1:],
        "stdout_last": stdout.splitlines()[-1:],
    }


def write_regimes(folder: Path, rows: int, seed: int) -> list[str]:
    """The marketing SCM's observational data and single-action experiments as Parquet."""
    scm = marketing_example()
    seeds = np.random.SeedSequence(seed).spawn(len(scm.actions) + 2)
    args = []
    for j, regime in enumerate(((), *((a,) for a in scm.actions))):
        frame = scm.sample(rows, regime, rng=np.random.default_rng(seeds[j]))
        name = "obs" if not regime else regime[0]
        path = folder / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        args += ["--data", str(path) if not regime else f"{name}={path}"]
    queries = scm.sample(rows, scm.actions, rng=np.random.default_rng(seeds[-1]))
    queries[list(scm.actions)].to_parquet(folder / "queries.parquet", index=False)
    return args


def wide_regimes(folder: Path, n_actions: int = 40, rows: int = 30) -> list[str]:
    rng = np.random.default_rng(0)
    names = [f"a{j}" for j in range(n_actions)]
    args = []
    for regime in ["obs", *names]:
        frame = pd.DataFrame(rng.normal(size=(rows, n_actions)), columns=names)
        frame["y"] = frame.sum(axis=1)
        path = folder / f"{regime}.csv"
        frame.to_csv(path, index=False)
        args += ["--data", str(path) if regime == "obs" else f"{regime}={path}"]
    return args


def check_alone(n_actions: int, n_regimes: int) -> tuple[float, str]:
    """Seconds the design check takes in-process, and its message."""
    from jointeffects.cli.fit import _check_design
    from jointeffects.errors import SizeError

    started = time.perf_counter()
    try:
        _check_design("paper", n_actions, n_regimes, 3, 3)
    except SizeError as exc:
        return time.perf_counter() - started, str(exc)
    return time.perf_counter() - started, "not refused"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per regime and queries")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()

    results: dict[str, Any] = {"rows_per_regime": opts.rows}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = write_regimes(folder, opts.rows, opts.seed)
        model = folder / "model.json"
        fit = run_measured(["fit", "--outcome", "sales", *data, "--n-boot", "0",
                            "--out", str(model)])  # fmt: skip
        predict = run_measured(["predict", "--model", str(model), "--at",
                                str(folder / "queries.parquet"), "--out",
                                str(folder / "pred.parquet")])  # fmt: skip
        wide = folder / "wide"
        wide.mkdir()
        refuse = run_measured(["fit", "--outcome", "y", *wide_regimes(wide), "--out",
                               str(wide / "m.json")])  # fmt: skip
    seconds, message = check_alone(40, 41)
    results.update(fit=fit, predict=predict, refuse_40_actions=refuse)
    results["refuse_40_actions"]["check_alone_seconds"] = round(seconds, 6)
    results["refuse_40_actions"]["message"] = message

    print(f"{'command':<10} {'rows':>9} {'exit':>4} {'wall s':>8} {'peak RSS MiB':>13}")
    for name in ("fit", "predict"):
        r = results[name]
        print(f"{name:<10} {opts.rows:>9} {r['exit']:>4} {r['seconds']:>8.2f} "
              f"{r['peak_rss_mib']:>13.1f}")  # fmt: skip
    r = results["refuse_40_actions"]
    print(f"40-action cubic fit: exit {r['exit']} in {r['seconds']:.2f} s as a fresh process "
          f"(check alone {r['check_alone_seconds'] * 1e3:.2f} ms), peak RSS "
          f"{r['peak_rss_mib']:.0f} MiB")  # fmt: skip
    print(f"  {r['stderr'][0] if r['stderr'] else message}")
    ok = r["exit"] == 2 and r["seconds"] < 1.0 and fit["exit"] == 0 and predict["exit"] == 0
    print("refused in under a second: " + ("yes" if r["seconds"] < 1.0 else "NO"))

    path = write_result("reliability", results)
    print(f"wrote {path}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
