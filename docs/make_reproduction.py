"""Write docs/reproduction.md from the recorded figure runs and the agreement benchmark.

    python docs/make_reproduction.py

Each figure run is a stamped file ``benchmarks/results/reproduction/<figure>-<scale>.json``
(written by ``benchmarks/record_reproduction.py``); its PNG is ``docs/figures/``. The text
around the tables is ``docs/reproduction_text.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from jointeffects.fileio import write_text

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS.parent / "benchmarks" / "results"
TEXT = DOCS / "reproduction_text.md"
AXES = ["K", "n_obs", "n_sint", "n_tot", "ratio"]


def table(records: list[dict]) -> str:
    """A run's summary as a markdown table: rmse_noisy, rmse_truth, rel_error per method."""
    axes = [a for a in AXES if any(r.get(a) == r.get(a) and r.get(a) is not None for r in records)]
    columns = [*axes, "method", "n_scms", "rmse_noisy", "rmse_truth", "rel_error"]
    rows = []
    for r in records:
        cells = [_axis(r.get(a)) for a in axes] + [r["method"], str(r["n_scms"])]
        for metric, digits in (("rmse_noisy", 3), ("rmse_truth", 4), ("rel_error", 2)):
            cells.append(f"{r[f'{metric}_mean']:.{digits}f} ± {r[f'{metric}_se']:.{digits}f}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns), *rows])


def _axis(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None or value != value else str(value)


def agreement() -> str:
    """The agreement benchmark's table (ours vs the reference code's RMSE against noisy Y)."""
    path = RESULTS / "reference_agreement.json"
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


def run_block(result: dict) -> str:
    """The wall time, the table and the figure of one recorded run."""
    fig, scale = result["figure"], result["scale"]
    note = f" {result['note']}" if result.get("note") else ""
    return (
        f"Wall time of `{result['run_command']}` on this 2-core machine: "
        f"{result['wall_seconds']} s.{note} Recorded at commit "
        f"{result['stamp']['commit'][:10]} on {result['stamp']['date'][:10]}.\n\n"
        f"{table(result['table'])}\n\n![{fig}, {scale} scale](figures/{fig}-{scale}.png)"
    )


def build() -> str:
    """The page's text from the template and the recorded runs."""
    text = TEXT.read_text().replace("{{ agreement }}", agreement())
    for path in sorted((RESULTS / "reproduction").glob("*.json")):
        text = text.replace(f"{{{{ {path.stem} }}}}", run_block(json.loads(path.read_text())))
    return text


def main() -> None:
    write_text(build(), DOCS / "reproduction.md")


if __name__ == "__main__":
    main()
