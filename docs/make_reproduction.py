"""Write docs/reproduction.md from the figures' result stores.

    python docs/make_reproduction.py RESULTS_DIR

RESULTS_DIR holds one folder per run, named ``<figure>-<scale>`` (as written by
``jointeffects reproduce FIG --scale SCALE --out RESULTS_DIR/FIG-SCALE``), and ``times.log``
with one ``<figure> <scale> <seconds> s`` line per run. Figures are copied to docs/figures/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from jointeffects.fileio import write_text

DOCS = Path(__file__).resolve().parent
TEXT = DOCS / "reproduction_text.md"
AXES = ["K", "n_obs", "n_sint", "n_tot", "ratio"]


def table(folder: Path) -> str:
    """The run's summary as a markdown table: rmse_noisy, rmse_truth, rel_error per method."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "summary.csv"
        subprocess.run(
            ["jointeffects", "results", str(folder), "--no-figures", "--csv", str(csv)],
            check=True,
            capture_output=True,
        )
        frame = pd.read_csv(csv)
    axes = [a for a in AXES if a in frame.columns]
    out = frame[axes + ["method", "n_scms"]].copy()
    for metric, digits in (("rmse_noisy", 3), ("rmse_truth", 4), ("rel_error", 2)):
        out[metric] = [
            f"{m:.{digits}f} ± {s:.{digits}f}"
            for m, s in zip(frame[f"{metric}_mean"], frame[f"{metric}_se"], strict=True)
        ]
    header = "| " + " | ".join(out.columns) + " |"
    rule = "|" + "---|" * len(out.columns)
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in out.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def agreement() -> str:
    """The agreement benchmark's table (ours vs the reference code's RMSE against noisy Y)."""
    path = DOCS.parent / "benchmarks" / "results" / "reference_agreement.json"
    result = json.loads(path.read_text())
    lines = [
        f"Measured by `{result['stamp']['command']}` at commit {result['stamp']['commit'][:10]}"
        f" on {result['stamp']['date'][:10]}.",
        "",
        "| method | ours rmse_noisy | reference rmse_noisy | diff / s.e. | diff / paired s.e. "
        "| ours rel_error |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["table"]:
        lines.append(
            f"| {r['method']} | {r['ours_rmse_noisy']:.3f} ± {r['ours_se']:.3f} "
            f"| {r['ref_rmse_noisy']:.3f} ± {r['ref_se']:.3f} | {r['diff_over_se']:+.2f} "
            f"| {r['diff_over_paired_se']:+.2f} "
            f"| {r['ours_rel_error']:.2f} ± {r['ours_rel_error_se']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    results = Path(sys.argv[1])
    times = {}
    for line in (results / "times.log").read_text().splitlines():
        fig, scale, seconds, *_ = line.split()
        times[(fig, scale)] = int(seconds)
    text = TEXT.read_text().replace("{{ agreement }}", agreement())
    for (fig, scale), seconds in times.items():
        folder = results / f"{fig}-{scale}"
        if not (folder / "results.sqlite").exists():
            continue
        png = sorted(folder.glob(f"{fig}-{scale}-*.png"))[-1]
        shutil.copyfile(png, DOCS / "figures" / f"{fig}-{scale}.png")
        block = (
            f"Wall time of `jointeffects reproduce {fig} --scale {scale}` on 2 cores: "
            f"{seconds} s.\n\n{table(folder)}\n\n![{fig}, {scale} scale](figures/{fig}-{scale}.png)"
        )
        text = text.replace(f"{{{{ {fig}-{scale} }}}}", block)
    write_text(text, DOCS / "reproduction.md")


if __name__ == "__main__":
    main()
