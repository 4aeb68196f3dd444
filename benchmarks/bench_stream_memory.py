"""Peak memory and time of ``jointeffects fit`` on big files: streamed against in memory.

For one SCM of the paper's family (K actions) it writes the observational regime and the K
experiments at each size (rows per regime) as Parquet files (and CSV at the sizes given to
``--csv-sizes``), then runs ``jointeffects fit`` in a fresh process per configuration and
prints, side by side in one run, its peak resident memory (the process's ``ru_maxrss``) and
wall time: the structured and the paper's estimator, streamed (``--stream``) and, at the
sizes given to ``--memory-sizes``, in memory. It ends with the streamed peaks at the largest
size divided by those at the smallest, and the structured ÷ paper time ratio per size. The
times are whole commands: reading, fitting, the diagnostics and, for the structured estimator,
its sandwich (three more fits and two passes); ``bench_fit_speed.py`` times the fits alone.

    python benchmarks/bench_stream_memory.py --sizes 1000000 10000000 --csv-sizes 1000000 \
        --memory-sizes 1000000
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
from stamp import write_result

from jointeffects.simulate import sample_polynomial_scm

#: Rows drawn and written at a time, so that writing the files stays in bounded memory.
WRITE_ROWS = 500_000

#: Runs the CLI in a child process and prints the child's peak RSS in KiB (Linux units).
MEASURE = (
    "import resource, subprocess, sys; "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "sys.stderr.write(r.stderr[-2000:] if r.returncode else ''); "
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def write_regimes(scm: Any, n: int, folder: Path, csv: bool, seed: int) -> list[str]:
    """Write every regime's ``n`` rows (Parquet, and CSV if asked); the ``--data`` options."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    regimes = [(), *((a,) for a in scm.actions)]
    options = []
    for i, regime in enumerate(regimes):
        name = "+".join(regime) or "obs"
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(n, i)))
        parquet, text = folder / f"{name}.parquet", folder / f"{name}.csv"
        writer = text_writer = None
        for start in range(0, n, WRITE_ROWS):
            frame = scm.sample(min(WRITE_ROWS, n - start), intervened=regime, rng=rng)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table)
            if csv:
                text_writer = text_writer or pcsv.CSVWriter(text, table.schema)
                text_writer.write_table(table)
        assert writer is not None
        writer.close()
        if text_writer is not None:
            text_writer.close()
        options.append(name if not regime else f"{name}={folder / name}")
    return options


def data_args(options: list[str], folder: Path, suffix: str) -> list[str]:
    out = []
    for option in options:
        out += ["--data", (f"{option}{suffix}" if "=" in option else str(folder / option) + suffix)]
    return out


def run_fit(args: list[str]) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of ``jointeffects fit ARGS`` in a fresh process."""
    cli = [sys.executable, "-c", "from jointeffects.cli.main import main; main()", "fit"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *cli, *args], capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    code, kib = done.stdout.split()
    if code != "0":
        raise SystemExit(f"jointeffects fit {' '.join(args)} failed:\n{done.stderr}")
    return int(kib) / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--K", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--csv-sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--memory-sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="Where the files go.")
    args = parser.parse_args()
    scm = sample_polynomial_scm(K=args.K, rng=np.random.default_rng(args.seed))
    common = ["--outcome", "Y", "--seed", "0"]
    estimators = {"structured": ["--estimator", "structured"], "paper": ["--estimator", "paper"]}
    print(f"K={args.K}; peak RSS (MiB) and wall seconds of one `jointeffects fit` process each")
    print(f"{'rows/regime':>12} {'estimator':>10} {'input':>8} {'mode':>7} {'MiB':>8} {'s':>8}")
    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            options = write_regimes(scm, n, folder, n in args.csv_sizes, args.seed)
            inputs = [".parquet"] + ([".csv"] if n in args.csv_sizes else [])
            for name, chosen in estimators.items():
                for suffix in inputs:
                    modes = ["stream"] + (["memory"] if n in args.memory_sizes else [])
                    for mode in modes:
                        out = folder / f"{name}{suffix}.{mode}.json"
                        extra = ["--stream"] if mode == "stream" else ["--n-boot", "0"]
                        fit_args = [*common, *chosen, *data_args(options, folder, suffix)]
                        mib, secs = run_fit([*fit_args, *extra, "--out", str(out)])
                        out.unlink()
                        kind = suffix.lstrip(".")
                        print(f"{n:>12} {name:>10} {kind:>8} {mode:>7} {mib:>8.0f} {secs:>8.1f}")
                        rows.append(
                            {"rows": n, "estimator": name, "input": kind, "mode": mode,
                             "peak_mib": round(mib, 1), "seconds": round(secs, 2)}
                        )  # fmt: skip
            for path in folder.iterdir():  # free the disk before the next size
                path.unlink()
    summary = summarise(rows, args.sizes)
    for line in summary["lines"]:
        print(line)
    write_result("stream_memory", {"K": args.K, "rows": rows, "summary": summary["values"]})


def summarise(rows: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    """Streamed peak at the largest size ÷ at the smallest, per estimator (Parquet), and the
    structured ÷ paper time of streamed Parquet fits per size."""

    def pick(n: int, name: str) -> dict[str, Any]:
        return next(
            r for r in rows
            if (r["rows"], r["estimator"], r["input"], r["mode"]) == (n, name, "parquet", "stream")
        )  # fmt: skip

    values: dict[str, Any] = {"peak_ratio": {}, "time_ratio": {}}
    lines = []
    small, large = min(sizes), max(sizes)
    for name in ("structured", "paper"):
        ratio = pick(large, name)["peak_mib"] / pick(small, name)["peak_mib"]
        values["peak_ratio"][name] = round(ratio, 2)
        lines.append(f"{name}: streamed peak at {large} rows ÷ at {small} rows = {ratio:.2f}")
    for n in sizes:
        ratio = pick(n, "structured")["seconds"] / pick(n, "paper")["seconds"]
        values["time_ratio"][str(n)] = round(ratio, 2)
        lines.append(f"{n} rows: structured ÷ paper streamed fit time = {ratio:.2f}")
    return {"values": values, "lines": lines}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
