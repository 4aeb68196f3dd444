"""Record a figure run of ``jointeffects reproduce`` as a stamped result file.

    python benchmarks/record_reproduction.py STORE FIGURE SCALE --seconds N [--note TEXT]

Reads the run's summary from STORE (``jointeffects results STORE --csv``), copies its PNG to
``docs/figures/FIGURE-SCALE.png`` and writes ``benchmarks/results/reproduction/FIGURE-SCALE.json``
with the table (mean ± s.e. over SCMs per setting and method), the wall time the run took on
this machine and the run's command; ``docs/make_reproduction.py`` builds the page from these.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from stamp import write_result

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: The command installed beside this interpreter (the venv need not be activated).
COMMAND = str(Path(sys.executable).parent / "jointeffects")


def summary(store: Path) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "summary.csv"
        subprocess.run(
            [COMMAND, "results", str(store), "--no-figures", "--csv", str(csv)],
            check=True,
            capture_output=True,
        )
        return pd.read_csv(csv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("figure")
    parser.add_argument("scale")
    parser.add_argument("--seconds", type=int, required=True, help="wall time of the run")
    parser.add_argument("--note", default="", help="how the run differed from the default")
    args = parser.parse_args()
    frame = summary(args.store)
    pngs = sorted(args.store.glob(f"{args.figure}-{args.scale}-*.png"))
    if not pngs:
        sys.exit(f"no {args.figure}-{args.scale} figure in {args.store}")
    shutil.copyfile(pngs[-1], DOCS / "figures" / f"{args.figure}-{args.scale}.png")
    name = f"{args.figure}-{args.scale}"
    path = write_result(
        f"reproduction/{name}",
        {
            "figure": args.figure,
            "scale": args.scale,
            "run_command": f"jointeffects reproduce {args.figure} --scale {args.scale}",
            "wall_seconds": args.seconds,
            "note": args.note,
            "table": frame.to_dict(orient="records"),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
