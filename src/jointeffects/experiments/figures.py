"""Summary tables and figures, regenerated from the results store alone.

Tables give each metric as mean ± standard error over SCMs. Figures draw the mean over SCMs
with a 95 % interval of that mean: a shaded band around each line (:data:`BAND_NOTE`), an
error bar on each bar (:data:`BAR_NOTE`); each figure prints its note. All plotted metrics
are on log axes except the paper's RMSE against noisy Y in the bar chart; on a log axis the
interval is log-symmetric, mean·exp(∓1.96·s.e./mean) (the delta-method interval of
log(mean), always positive), on a linear axis it is mean ∓ 1.96·s.e.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.experiments.methods import METHODS
from jointeffects.experiments.settings import Figure
from jointeffects.experiments.tasks import METRICS
from jointeffects.fileio import atomic_path

#: Setting columns, in the order the table shows them.
SETTING_COLUMNS = ("K", "n_obs", "n_sint", "n_base", "ratio", "n_tot")
#: Metrics drawn as figure rows (fit time is only tabulated).
PLOTTED = ("rmse_noisy", "rmse_truth", "rel_error")
#: Normal quantile of the plotted intervals (95 % two-sided).
Z = 1.96
#: What the shaded bands of line figures are (printed as the legend's title).
BAND_NOTE = "shaded: 95% interval of the mean over SCMs, mean·exp(±1.96 s.e./mean)"
#: What the error bars of the bar chart are (printed under it).
BAR_NOTE = (
    "bars: mean over SCMs; error bars: its 95% interval, ±1.96 s.e. "
    "(log-symmetric, mean·exp(±1.96 s.e./mean), on log axes)"
)
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
    """Draw the figure and save it as ``stem.png`` and ``stem.pdf``.

    Lines (and bars) are means over SCMs; shaded bands around lines and error bars on bars
    are 95 % intervals of those means (see :func:`interval`), as the figure's note says.
    """
    from matplotlib.figure import Figure as MplFigure

    if figure.x is None:
        mpl = MplFigure(figsize=(4 * len(PLOTTED), 3.6), layout="constrained")
        axes = mpl.subplots(1, len(PLOTTED), squeeze=False)[0]
        _bars(axes, summary, figure.methods)
        mpl.supxlabel(BAR_NOTE, fontsize="small")
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
            title=BAND_NOTE,
            title_fontsize="small",
        )
    mpl.suptitle(figure.title)
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        with atomic_path(path) as tmp:
            mpl.savefig(tmp, dpi=150, format=path.suffix[1:])
    return paths


def interval(mean: Any, se: Any, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the plotted 95 % interval of a mean over SCMs.

    Parameters
    ----------
    mean, se : array-like of shape (n_points,)
        Means over SCMs and their standard errors.
    log : bool
        The axis is logarithmic: use mean·exp(∓Z·se/mean), symmetric on that axis and positive
        (mean ∓ Z·se would cross zero for noisy metrics). Otherwise mean ∓ Z·se.

    Returns
    -------
    lo, hi : ndarray of shape (n_points,)
        NaN where the standard error is (a single SCM).
    """
    mean, se = np.asarray(mean, dtype=float), np.asarray(se, dtype=float)
    if not log:
        return mean - Z * se, mean + Z * se
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factor = np.exp(Z * se / mean)
    return mean / factor, mean * factor


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


def _colour(method: str) -> str:
    return METHODS[method].colour if method in METHODS else "black"


def _bars(axes: Any, summary: pd.DataFrame, methods: tuple[str, ...]) -> None:
    present = [m for m in methods if m in set(summary["method"])]
    rows = summary.set_index("method").loc[present]
    for ax, metric in zip(axes, PLOTTED, strict=True):
        mean = rows[f"{metric}_mean"].to_numpy(dtype=float)
        lo, hi = interval(mean, rows[f"{metric}_se"], log=metric != "rmse_noisy")
        ax.bar(
            range(len(present)),
            mean,
            yerr=np.vstack([mean - lo, hi - mean]),
            capsize=4,
            color=[_colour(m) for m in present],
        )
        ax.set_xticks(range(len(present)), present, rotation=30, ha="right")
        ax.set_ylabel(_YLABELS[metric])
        if metric != "rmse_noisy":  # the paper's metric on a linear axis, as in Fig. 2(a)
            _log(ax, "y")
        if metric == "rel_error":
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)


def _lines(axes: Any, part: pd.DataFrame, figure: Figure, title: str) -> None:
    from matplotlib.ticker import NullFormatter

    assert figure.x is not None
    xs = sorted(part[figure.x].unique())
    for method in figure.methods:
        rows = part[part["method"] == method].sort_values(figure.x)
        x = rows[figure.x].to_numpy(dtype=float)
        for ax, metric in zip(axes, PLOTTED, strict=True):
            mean = rows[f"{metric}_mean"].to_numpy(dtype=float)
            lo, hi = interval(mean, rows[f"{metric}_se"], log=True)
            ax.plot(x, mean, marker="o", markersize=4, color=_colour(method), label=_label(method))
            if len(x) > 1:
                ax.fill_between(x, lo, hi, color=_colour(method), alpha=0.2, linewidth=0)
            else:  # a band needs two x values
                ax.errorbar(x, mean, yerr=np.vstack([mean - lo, hi - mean]), color=_colour(method))
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
