"""``jointeffects reproduce`` and ``jointeffects results``: the paper's figures on Dask."""

from __future__ import annotations

from pathlib import Path

import click

from jointeffects.cli.io import file_option
from jointeffects.errors import StoreError
from jointeffects.experiments.settings import FIGURES, SCALES, scale_summary


def _scale_help() -> str:
    # \b keeps click from re-wrapping the per-figure lines.
    return "\n\n\b\n" + scale_summary()


@click.command(
    help=(
        "Reproduce a figure of the paper (Section 7, Appendix E) on Dask.\n\n"
        "Samples random SCMs of the paper's family, fits every method on each SCM's regimes "
        "(80/20 split) and scores it on the joint-intervention test set: RMSE against the "
        "noisy Y (the paper's metric), RMSE against the exact joint effect, and relative "
        "error = that RMSE / sd of the true effect (below 1 = better than a constant). "
        "Results are committed to OUT/results.sqlite as each task finishes; re-running the "
        "same command resumes. Prints the table (mean ± s.e. over SCMs) and writes the "
        "figure as PNG and PDF to OUT.\n\n"
        "Sizes are rows sampled per regime; tiny is a seconds-long smoke test." + _scale_help()
    )
)
@click.argument("figure", type=click.Choice(list(FIGURES)))
@click.option(
    "--scale",
    type=click.Choice(list(SCALES)),
    default="quick",
    show_default=True,
    help="Sizes and number of SCMs (see above).",
)
@click.option(
    "--runs", type=int, default=None, help="Number of SCMs per setting [default: the scale's]."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Output folder: results.sqlite and the figure files.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786); default: start a "
    "local cluster.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Worker processes of the local cluster [default: one per core].",
)
@click.option(
    "--dashboard",
    default=None,
    metavar="HOST:PORT",
    help="Where the local cluster's Dask dashboard listens [default: 127.0.0.1 on a free "
    "port, this machine only]. Its pages show workers, memory and addresses: expose it to "
    "the network only on purpose, e.g. --dashboard 0.0.0.0:8787.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Root seed of all tasks.",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def reproduce(
    figure: str,
    scale: str,
    runs: int | None,
    out: Path,
    scheduler: str | None,
    workers: int | None,
    dashboard: str | None,
    seed: int,
    progress: bool,
) -> None:
    from jointeffects.experiments.report import summarize_store
    from jointeffects.experiments.runner import reproduce as run

    report = run(
        figure,
        out,
        scale=scale,
        runs=runs,
        seed=seed,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        dashboard=dashboard,
    )
    click.echo(
        f"{report.computed} tasks computed, {report.skipped} already in the store, "
        f"{report.seconds:.1f} s"
    )
    for summary in summarize_store(out, only=report.config_hash):
        click.echo(summary.text)
        click.echo("figure: " + ", ".join(str(p) for p in summary.figures))


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@file_option(
    "--csv",
    "csv_path",
    help_text="Also write every run's summary (mean and s.e. columns) to this CSV file.",
)
@click.option("--no-figures", is_flag=True, help="Only print the tables.")
def results(folder: Path, csv_path: Path | None, no_figures: bool) -> None:
    """Print the summary tables of the runs stored in FOLDER and redraw their figures."""
    import pandas as pd

    from jointeffects.cli.io import write_table
    from jointeffects.cli.paths import check_outputs
    from jointeffects.experiments.report import summarize_store
    from jointeffects.experiments.store import STORE_NAME

    store = folder / STORE_NAME
    check_outputs(
        [("--csv", csv_path, "csv")],
        [("FOLDER", Path(f"{store}{end}")) for end in ("", "-wal", "-shm", "-journal")],
    )
    summaries = summarize_store(folder, plot=not no_figures)
    for summary in summaries:
        click.echo(summary.text)
        if summary.figures:
            click.echo("figure: " + ", ".join(str(p) for p in summary.figures))
        click.echo("")
    if csv_path is not None and not summaries:
        raise StoreError(f"the store in '{folder}' holds no runs; nothing to write to {csv_path}")
    if csv_path is not None:
        frames = [s.table.assign(run=s.config_hash) for s in summaries]
        write_table(pd.concat(frames, ignore_index=True), csv_path)
        click.echo(f"wrote {csv_path}")
