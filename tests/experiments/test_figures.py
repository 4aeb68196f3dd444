"""Summary tables and figures from a long results table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jointeffects.experiments.figures import (
    BAND_NOTE,
    BAR_NOTE,
    format_table,
    interval,
    plot_figure,
    summarize,
)
from jointeffects.experiments.settings import FIGURES
from jointeffects.experiments.tasks import METRICS


def _long(settings, methods, n_scms=4, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        (json.dumps(s, sort_keys=True), i, m, metric, float(rng.uniform(0.1, 2)))
        for s in settings
        for i in range(n_scms)
        for m in methods
        for metric in METRICS
    ]
    return pd.DataFrame(rows, columns=["setting", "scm_index", "method", "metric", "value"])


def _setting(K, ratio=None, n_tot=None):
    return {"K": K, "n_obs": 10, "n_sint": 10, "n_base": 10, "ratio": ratio, "n_tot": n_tot}


def test_mean_and_standard_error_match_a_direct_computation():
    long = _long([_setting(5)], ["observational", "paper"])
    table = summarize(long, ("paper", "observational"))
    assert list(table["method"]) == ["paper", "observational"]  # the figure's order
    assert list(table.columns[:4]) == ["K", "n_obs", "n_sint", "n_base"]  # unused axes dropped
    for _, row in table.iterrows():
        for metric in METRICS:
            values = long[(long.method == row.method) & (long.metric == metric)]["value"]
            assert row[f"{metric}_mean"] == pytest.approx(values.mean())
            assert row[f"{metric}_se"] == pytest.approx(np.std(values, ddof=1) / 2)
        assert row["n_scms"] == 4
    text = format_table(table)
    mean, se = table.loc[0, "rel_error_mean"], table.loc[0, "rel_error_se"]
    assert f"{mean:.4g} ± {se:.2g}" in text.splitlines()[1]


def test_rows_are_sorted_along_the_x_axis():
    settings = [_setting(5, ratio=r, n_tot=60) for r in (5.0, 0.05, 1.0)]
    table = summarize(_long(settings, ["paper", "topline"]), ("paper", "topline"))
    assert list(table["ratio"]) == [0.05, 0.05, 1.0, 1.0, 5.0, 5.0]
    assert list(table["method"]) == ["paper", "topline"] * 3


@pytest.mark.parametrize("name", ["fig2a", "fig2b", "figB"])
def test_figures_are_written_as_png_and_pdf(tmp_path, name):
    figure = FIGURES[name]
    if name == "fig2a":
        settings = [_setting(5)]
    else:
        settings = [_setting(K, ratio=r, n_tot=n) for K in (2, 5) for n in (60,) for r in (0.1, 1)]
    table = summarize(_long(settings, list(figure.methods)), figure.methods)
    paths = plot_figure(figure, table, tmp_path / name)
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf"]
    png = paths[0].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert paths[1].read_bytes()[:5] == b"%PDF-"


@pytest.fixture()
def drawn(monkeypatch):
    """The matplotlib figures ``plot_figure`` saves, captured instead of written."""
    from matplotlib.figure import Figure as MplFigure

    figures: list = []
    monkeypatch.setattr(MplFigure, "savefig", lambda self, *a, **k: figures.append(self))
    return figures


@pytest.mark.parametrize("name", ["fig2c", "figB"])
def test_line_figures_draw_a_band_around_every_line(tmp_path, drawn, name):
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgb

    figure = FIGURES[name]
    settings = [_setting(K, ratio=r, n_tot=n) for K in (2, 5) for n in (60,) for r in (0.1, 1)]
    if name == "fig2c":
        settings = [_setting(5, n_tot=n) for n in (600, 6000, 60000)]
    table = summarize(_long(settings, list(figure.methods)), figure.methods)
    plot_figure(figure, table, tmp_path / name)
    mpl = drawn[0]
    for ax in mpl.axes:
        bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
        lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert len(bands) == len(lines) == len(figure.methods)
        for band, line in zip(bands, lines, strict=True):  # each band around its own line
            assert band.get_facecolor()[0][:3] == pytest.approx(to_rgb(line.get_color()))
            assert band.get_alpha() < 0.5  # low alpha: the lines stay readable
    ((legend),) = mpl.legends
    assert legend.get_title().get_text() == BAND_NOTE


def test_the_bar_chart_states_its_interval(tmp_path, drawn):
    figure = FIGURES["fig2a"]
    table = summarize(_long([_setting(5)], list(figure.methods)), figure.methods)
    plot_figure(figure, table, tmp_path / "fig2a")
    assert drawn[0]._supxlabel.get_text() == BAR_NOTE


def test_intervals_are_95_percent_and_log_symmetric_on_log_axes():
    mean, se = np.array([1.0, 0.2, 3.0]), np.array([0.1, 0.15, np.nan])
    lo, hi = interval(mean, se, log=False)
    np.testing.assert_allclose(hi - mean, mean - lo)
    np.testing.assert_allclose((hi - lo)[:2], 2 * 1.96 * se[:2])
    lo, hi = interval(mean, se, log=True)
    np.testing.assert_allclose((lo * hi)[:2], mean[:2] ** 2)  # symmetric on a log axis
    assert (lo[:2] > 0).all() and np.isnan(lo[2])  # positive; no interval from one SCM
    # The delta method: for a small relative s.e. the log band is the linear one.
    np.testing.assert_allclose(interval(1.0, 1e-4, log=True), interval(1.0, 1e-4, log=False))


def test_each_method_has_one_colour_in_every_figure():
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from jointeffects.experiments import figures

    colours = {}
    for name in ("fig2b", "fig2c"):  # different method subsets and orders
        figure = FIGURES[name]
        x = figure.x
        settings = [_setting(5, **{x: v}) for v in (0.5, 2.0)]
        summary = summarize(_long(settings, list(figure.methods)), figure.methods)
        axes = Figure().subplots(1, len(figures.PLOTTED), squeeze=False)[0]
        figures._lines(axes, summary, figure, "")
        for line in axes[0].get_lines():
            colours.setdefault(line.get_label(), set()).add(to_hex(line.get_color()))
    shared = set(FIGURES["fig2b"].methods) & set(FIGURES["fig2c"].methods)
    labels = {figures._label(m) for m in shared}
    assert labels <= set(colours)
    assert all(len(colours[label]) == 1 for label in colours)
    assert len({next(iter(c)) for c in colours.values()}) == len(colours)  # and distinct
