"""A stored run's report: header, summary table and figure files, from the store alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jointeffects.experiments.figures import format_table, plot_figure, summarize
from jointeffects.experiments.settings import get_figure
from jointeffects.experiments.store import ResultsStore

#: Keys of every run configuration (see :func:`~jointeffects.experiments.runner.plan`).
CONFIG_KEYS = {"figure", "scale", "n_scms", "seed", "methods", "settings"}


@dataclass(frozen=True)
class RunSummary:
    """One run's report.

    Attributes
    ----------
    config_hash : str
    header : str
        Figure, scale, SCMs, seed, progress, package version and commit.
    table : DataFrame
        :func:`~jointeffects.experiments.figures.summarize` of its finished tasks.
    text : str
        Header plus the formatted table.
    figures : list of Path
        The PNG and PDF written (empty when nothing has finished yet).
    """

    config_hash: str
    header: str
    table: pd.DataFrame
    text: str
    figures: list[Path]


def figure_stem(folder: Path, config: dict[str, Any], key: str) -> Path:
    """File name (without suffix) of a run's figure: ``fig2a-quick-<hash8>``."""
    return folder / f"{config['figure']}-{config['scale']}-{key[:8]}"


def summarize_run(store: ResultsStore, run: Any, plot: bool = True) -> RunSummary:
    """Summarise one row of ``store.runs()`` and (re)draw its figure into the store's folder."""
    config, key = run.config, run.config_hash
    missing = sorted(CONFIG_KEYS - set(config))
    if missing:
        raise store.damaged(f"run {key}: its config lacks {missing}")
    figure = get_figure(config["figure"])
    expected = config["n_scms"] * len(config["settings"])
    header = (
        f"{figure.title} — scale {config['scale']}, {config['n_scms']} SCMs per setting, "
        f"seed {config['seed']}; {len(store.finished(key))}/{expected} tasks finished "
        f"(run {key}, jointeffects {run.package_version}, commit {run.git_commit or 'unknown'})"
    )
    table = summarize(store.results(key), figure.methods)
    paths = []
    if plot and not table.empty:
        paths = plot_figure(figure, table, figure_stem(store.folder, config, key))
    text = f"{header}\n{format_table(table)}"
    return RunSummary(key, header, table, text, paths)


def summarize_store(
    folder: str | Path, plot: bool = True, only: str | None = None
) -> list[RunSummary]:
    """Reports of every run in ``folder/results.sqlite`` (StoreError if there is none).

    ``only`` restricts the reports to the run with that configuration hash.
    """
    with ResultsStore(folder, create=False) as store:
        return [
            summarize_run(store, run, plot)
            for run in store.runs().itertuples(index=False)
            if only is None or run.config_hash == only
        ]
