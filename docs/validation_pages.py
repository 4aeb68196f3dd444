"""Write the validation pages of the documentation from the benchmark result files.

    python docs/validation_pages.py

``docs/conf.py`` calls :func:`write_all` before every build, so the pages always show what
the files in ``benchmarks/results/`` hold: each page quotes the command, commit and date the
file was stamped with. The pages are generated and not committed; ``docs/validation/index.md``
is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jointeffects.fileio import write_text

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS.parent / "benchmarks" / "results"
PAGES = DOCS / "validation"


def stamp_line(stamp: dict[str, str]) -> str:
    """One sentence saying how, where and when a result file was measured."""
    return (
        f"Measured by `{stamp['command']}` at commit `{stamp['commit'][:10]}` on "
        f"{stamp['date'][:10]} ({stamp['machine']})."
    )


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; floats are shown with three significant decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.3g}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def load(name: str) -> dict[str, Any]:
    """A result file; a missing one is an error, so the docs never show a stale page."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: run the benchmark that writes it (see docs/validation_pages.py)"
        )
    return json.loads(path.read_text())


def coverage_page() -> str:
    parts = [
        "# Coverage of the intervals",
        "",
        "Share of joint-effect queries whose nominal 90 % interval holds the exact effect, "
        "for SCMs of the paper's family (`cover`), the same over the queries the `trusted` "
        "flag keeps (`cover_trusted`; `trusted` is their share), and the median width in "
        "units of the true effect's sd. Coverage clumps by SCM (one fit per SCM), so cells "
        "of few SCMs are noisy. Written by `benchmarks/bench_coverage.py`.",
    ]
    files = sorted(RESULTS.glob("coverage*.json"))
    if not files:
        load("coverage")  # raises: no coverage file at all
    for path in files:
        result = json.loads(path.read_text())
        settings = result["settings"]
        rows = [
            [
                r["estimator"],
                r["family"],
                r["n"],
                r["scms"],
                r["cover"],
                r["cover_trusted"],
                r["trusted"],
                r["width"],
                r["seconds"],
            ]
            for r in result["summary"]
        ]
        parts += [
            "",
            f"## {result['target'].capitalize()}, {result['kind']} SCMs, K = {settings['K']}",
            "",
            stamp_line(result["stamp"])
            + f" {settings['queries']} queries per SCM, level {settings['level']}, "
            f"{settings['n_boot']} bootstrap replicates.",
            "",
            markdown_table(
                [
                    "method",
                    "noise",
                    "rows per regime",
                    "SCMs",
                    "cover",
                    "cover_trusted",
                    "trusted",
                    "width",
                    "seconds",
                ],
                rows,
            ),
        ]
    return "\n".join(parts) + "\n"


def allocation_page() -> str:
    result = load("allocation")
    settings, grid = result["settings"], result["grid"]
    means = [
        [c["K"], c["method"], *(c[str(g)] for g in grid), c["advised"]]
        for c in result["mean_rel_error"]
    ]
    verdicts = [
        [
            v["K"],
            v["method"],
            v["advised ratio"],
            v["best grid ratio"],
            v["err / best err"],
            v["within best 20%"],
            v["gap / paired SE"],
        ]
        for v in result["verdicts"]
    ]
    return "\n".join(
        [
            "# Allocation advice",
            "",
            "How good is the split of a row budget that `recommend_allocation` advises? For "
            f"{settings['scms']} SCMs of the paper's family and a budget of (K + 1)·"
            f"{settings['per_regime']} rows, each estimator is fitted at every ratio "
            "N_sint / N_obs of the paper's Figure 2(b) grid and at the advised split. The "
            "advice passes if its mean relative error is within the best 20 % of the grid. "
            "Written by `benchmarks/bench_allocation.py`.",
            "",
            stamp_line(result["stamp"]),
            "",
            "## Mean relative error by N_sint / N_obs",
            "",
            markdown_table(["K", "method", *(str(g) for g in grid), "advised"], means),
            "",
            "## Verdict",
            "",
            "`gap / paired SE` is the advice's error minus the best grid point's, in units of "
            "its paired standard error over SCMs; the error curve is flat near its minimum, "
            "so |gap| < 2 is within noise.",
            "",
            markdown_table(
                [
                    "K",
                    "method",
                    "advised ratio",
                    "best grid ratio",
                    "error ÷ best",
                    "within best 20 %",
                    "gap / paired SE",
                ],
                verdicts,
            ),
            "",
        ]
    )


def section(title: str, intro: str, result: dict[str, Any], table: str, level: int = 2) -> str:
    """A page section: heading, what was measured, the result file's stamp, the table."""
    return "\n".join(["#" * level + " " + title, "", intro, "", stamp_line(result["stamp"]), "",
                      table, ""])  # fmt: skip


def speed_page() -> str:
    result = load("interval_speed")
    settings = result["settings"]
    rows = [
        [
            r["rows_per_regime"],
            r["fit_s"],
            r["sandwich_conditional_s"],
            r["sandwich_default_s"],
            r["refit_s"],
            r["bootstrap_s"],
            r["bootstrap_over_sandwich"],
        ]
        for r in result["rows"]
    ]
    columns = ["rows per regime", "fit", "sandwich (conditional)", "sandwich (default)",
               "one refit", f"{settings['n_boot']} refits", "bootstrap ÷ sandwich"]  # fmt: skip
    intervals = section(
        "Intervals",
        "Seconds for the structure-aware estimator's intervals on one SCM of the paper's "
        f"family with K = {settings['K']}, measured side by side in one run: the fit, the "
        "model-conditional sandwich, the default sandwich (with its bias partners and "
        f"specification test), one bootstrap refit and the projected {settings['n_boot']} "
        "refits of a bootstrap. Written by `benchmarks/bench_interval_speed.py`.",
        result,
        markdown_table(columns, rows),
    )
    fits = load("fit_speed")
    fit_rows = [[r["rows"], r["input"], r["method"], r["seconds"], r["ratio_to_paper"]]
                for r in fits["rows"]]  # fmt: skip
    fit_section = section(
        "Fits",
        f"Seconds of one fit on one SCM of the paper's family with K = {fits['K']} (no "
        "intervals, no file reading), held in memory or streamed in chunks of "
        f"{fits['chunk_rows']:,} rows, and the ratio to the paper's estimator on the same "
        "input. Written by `benchmarks/bench_fit_speed.py`.",
        fits,
        markdown_table(["rows per regime", "input", "method", "seconds", "÷ paper"], fit_rows),
    )
    memory = load("stream_memory")
    mem_rows = [[r["rows"], r["estimator"], r["input"], r["mode"], r["peak_mib"], r["seconds"]]
                for r in memory["rows"]]  # fmt: skip
    ratios = memory["summary"]["peak_ratio"]
    memory_section = section(
        "Memory of `jointeffects fit` on big files",
        f"Peak resident memory (MiB) and wall time of one `jointeffects fit` process on one "
        f"SCM of the paper's family with K = {memory['K']}, written as Parquet (and CSV) files, "
        "streamed (`--stream`) or read whole. A command's time includes reading, the "
        "diagnostics and, for the structured estimator, its sandwich. The streamed peak at the "
        "largest size over that at the smallest: "
        + ", ".join(f"{name} {ratio}" for name, ratio in ratios.items())
        + ". Written by `benchmarks/bench_stream_memory.py`.",
        memory,
        markdown_table(
            ["rows per regime", "estimator", "input", "mode", "peak MiB", "seconds"], mem_rows
        ),  # fmt: skip
    )
    return "\n".join(["# Speed and memory", "", intervals, fit_section, memory_section])


def decisions_page() -> str:
    result = load("decisions")
    settings = result["settings"]
    rows = [
        [r["n"], r["method"], r["median_regret"], r["mean_regret"], r["worse_than_current"],
         r["coverage"], r["median_true_gain"]]
        for r in result["summary"]
    ]  # fmt: skip
    columns = ["rows per experiment", "method", "median regret", "mean regret",
               "worse than current", "plan-value coverage", "median true gain"]  # fmt: skip
    return "\n".join(
        [
            "# Budget decisions",
            "",
            section(
                "Regret of the plans",
                f"On {settings['scms']} random marketing mixes (K = {settings['K']}: saturating "
                "channels, demand confounders, tv → search), each method is fitted on the "
                "observational regime (2.5× the rows) plus one experiment per channel, and "
                "`optimize_budget` spends the current allocation's budget. Regret is the share "
                "of the exact optimum's gain over the current allocation that the plan misses "
                "(0 = the optimum, 1 = no better than the current allocation); coverage is that "
                f"of the plan-value interval at nominal {settings['level']:.0%}. 'lift tests' "
                "plans from the observational data plus three lift-test summaries per channel; "
                "'topline' from one joint experiment as large as all regimes together. Written "
                "by `benchmarks/bench_decisions.py`.",
                result,
                markdown_table(columns, rows),
                level=2,
            ),
        ]
    )


def efficiency_page() -> str:
    result = load("structured")
    methods = result["methods"]
    rows = [
        [r["family"], r["n"], *(f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_sem']:.3f}" for m in methods)]
        for r in result["summary"]
    ]
    per_scm = [
        [
            r["family"],
            r["n"],
            r["paper / structured"],
            r["SCMs structured worse than paper"],
            r["SCMs structured worse than tied"],
            r["missed edges"],
            r["added edges"],
        ]
        for r in result["per_scm"]
    ]
    seconds = [[r["family"], r["n"], *(r[f"{m} s"] for m in methods)] for r in result["seconds"]]
    return "\n".join(
        [
            "# Efficiency of the structure-aware estimator",
            "",
            "Relative error (RMSE against the exact joint effect ÷ sd of the true effect; mean "
            f"± s.e. over {result['settings']['scms']} SCMs per cell, K = 5) on the SCMs the "
            "reference code drew (`ref`) and on SCMs of `sample_polynomial_scm` (`ours`), with "
            "n rows per regime. `structured` is the default (ψ with its own degree), `tied` "
            "the earlier configuration (`psi_degrees=None`), `struct+dag` the default given "
            "the true DAG; `topline-n` and `topline-Kn` are cubic ridges on n and on (K + 1)·n "
            "joint-experiment rows. Written by `benchmarks/bench_structured.py`.",
            "",
            stamp_line(result["stamp"]),
            "",
            markdown_table(["family", "n", *methods], rows),
            "",
            "## Per SCM",
            "",
            markdown_table(
                [
                    "family",
                    "n",
                    "paper ÷ structured (mean)",
                    "SCMs worse than paper",
                    "SCMs worse than tied",
                    "missed ancestor relations",
                    "added ancestor relations",
                ],
                per_scm,
            ),
            "",
            "## Fit seconds (mean per SCM, one BLAS thread)",
            "",
            markdown_table(["family", "n", *methods], seconds),
            "",
        ]
    )


PAGES_BY_NAME: dict[str, Callable[[], str]] = {
    "efficiency": efficiency_page,
    "coverage": coverage_page,
    "allocation": allocation_page,
    "speed": speed_page,
    "decisions": decisions_page,
}


def write_all() -> None:
    """Write one page per result file beside ``docs/validation/index.md``."""
    for name, make in PAGES_BY_NAME.items():
        text = make()
        target = PAGES / f"{name}.md"
        if not target.exists() or target.read_text() != text:
            write_text(text, target)


if __name__ == "__main__":
    write_all()
