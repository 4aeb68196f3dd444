"""Summary tables and figures, regenerated from the results store alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.experiments.methods import METHODS
from jointeffects.experiments.settings import Figure
from jointeffects.experiments.tasks import METRICS

#: Setting columns, in the order the table shows them.
SETTING_COLUMNS = ("K", "n_obs", "n_sint", "n_base", "ratio", "n_tot")
#: Metrics drawn as figure rows (fit time is only tabulated).
PLOTTED = ("rmse_noisy", "rmse_truth", "rel_error")
_YLABELS = {
    "rmse_noisy": "RMSE vs noisy Y",
    "rmse_truth": "RMSE vs true effect",
    "rel_error": "relative error",
}


def summarize(long: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    """Mean and standard error over SCMs of every metric, one row per setting and method.

    Parameters
    ----------
    long : DataFrame
        Columns ``setting`` (JSON), ``scm_index``, ``method``, ``metric``, ``value``.
    methods : tuple of str
        Methods in the order of the table.

    Returns
    -------
    DataFrame
        Setting columns, ``method``, ``n_scms`` and ``<metric>_mean`` / ``<metric>_se``.
    """
    stats = long.groupby(["setting", "method", "metric"])["value"].agg(
        mean="mean", se=lambda v: v.std(ddof=1) / np.sqrt(v.count()), n="count"
    )
    wide = stats.unstack("metric")
    rows = []
    for (setting, method), row in wide.iterrows():
        record: dict[str, Any] = json.loads(str(setting))
        record["method"] = method
        record["n_scms"] = int(row[("n", "rmse_truth")])
        for metric in METRICS:
            record[f"{metric}_mean"] = row[("mean", metric)]
            record[f"{metric}_se"] = row[("se", metric)]
        rows.append(record)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    order = {m: i for i, m in enumerate(methods)}
    table["_order"] = table["method"].map(order)
    sort_by = [c for c in ("K", "n_tot", "ratio", "n_base") if table[c].notna().any()]
    table = table.sort_values([*sort_by, "_order"], kind="stable").drop(columns="_order")
    keep = [c for c in SETTING_COLUMNS if table[c].notna().any()]
    metrics = [c for c in table.columns if c.endswith(("_mean", "_se"))]
    return table[[*keep, "method", "n_scms", *metrics]].reset_index(drop=True)


def format_table(summary: pd.DataFrame) -> str:
    """The summary as text, each metric as ``mean ± s.e.``."""
    if summary.empty:
        return "(no finished tasks yet)"
    shown = summary[[c for c in summary.columns if not c.endswith(("_mean", "_se"))]].copy()
    for metric in METRICS:
        mean, se = summary[f"{metric}_mean"], summary[f"{metric}_se"]
        shown[metric] = [f"{m:.4g} ± {s:.2g}" for m, s in zip(mean, se, strict=True)]
    return shown.to_string(index=False)


def plot_figure(figure: Figure, summary: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Draw the figure (error bars = s.e.) and save it as ``stem.png`` and ``stem.pdf``."""
    from matplotlib.figure import Figure as MplFigure

    if figure.x is None:
        mpl = MplFigure(figsize=(4 * len(PLOTTED), 3.6), layout="constrained")
        axes = mpl.subplots(1, len(PLOTTED), squeeze=False)[0]
        _bars(axes, summary, figure.methods)
    else:
        facets = (
            [()]
            if not figure.facets
            else list(summary[list(figure.facets)].drop_duplicates().itertuples(index=False))
        )
        mpl = MplFigure(figsize=(3.8 * len(facets) + 1, 2.9 * len(PLOTTED)), layout="constrained")
        grid = mpl.subplots(len(PLOTTED), len(facets), squeeze=False)
        for column, values in enumerate(facets):
            part = summary
            for name, value in zip(figure.facets, values, strict=True):
                part = part[part[name] == value]
            title = ", ".join(f"{n}={v:g}" for n, v in zip(figure.facets, values, strict=True))
            _lines(grid[:, column], part, figure, title)
        handles, labels = grid[0, 0].get_legend_handles_labels()
        mpl.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=len(labels) if len(facets) > 1 else 1,
            fontsize="small",
        )
    mpl.suptitle(figure.title)
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        mpl.savefig(path, dpi=150)
    return paths


def _log(ax: Any, axis: str) -> None:
    """Log scale with plain tick labels ("0.3"); minor ticks labelled at 2 and 5 only."""
    from matplotlib.ticker import FuncFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(_minor_label))


def _minor_label(value: float, _: Any) -> str:
    leading = value / 10 ** np.floor(np.log10(value)) if value > 0 else 0.0
    return f"{value:g}" if np.isclose(leading, 2) or np.isclose(leading, 5) else ""


def _label(method: str) -> str:
    return METHODS[method].label if method in METHODS else method


def _bars(axes: Any, summary: pd.DataFrame, methods: tuple[str, ...]) -> None:
    present = [m for m in methods if m in set(summary["method"])]
    rows = summary.set_index("method").loc[present]
    for ax, metric in zip(axes, PLOTTED, strict=True):
        ax.bar(
            range(len(present)),
            rows[f"{metric}_mean"],
            yerr=rows[f"{metric}_se"],
            capsize=4,
            color=[f"C{i}" for i in range(len(present))],
        )
        ax.set_xticks(range(len(present)), present, rotation=20)
        ax.set_ylabel(_YLABELS[metric])
        if metric != "rmse_noisy":  # the paper's metric on a linear axis, as in Fig. 2(a)
            _log(ax, "y")
        if metric == "rel_error":
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)


def _lines(axes: Any, part: pd.DataFrame, figure: Figure, title: str) -> None:
    from matplotlib.ticker import NullFormatter

    assert figure.x is not None
    xs = sorted(part[figure.x].unique())
    for i, method in enumerate(figure.methods):
        rows = part[part["method"] == method].sort_values(figure.x)
        for ax, metric in zip(axes, PLOTTED, strict=True):
            ax.errorbar(
                rows[figure.x],
                rows[f"{metric}_mean"],
                yerr=rows[f"{metric}_se"],
                marker="o",
                capsize=3,
                color=f"C{i}",
                label=_label(method),
            )
    for ax, metric in zip(axes, PLOTTED, strict=True):
        _log(ax, "y")
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:g}" for v in xs])  # label the settings themselves
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(_YLABELS[metric])
        if metric == "rel_error":
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    axes[0].set_title(title)
    axes[-1].set_xlabel("N_sint / N_obs" if figure.x == "ratio" else "N_tot")
