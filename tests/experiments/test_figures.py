"""Summary tables and figures from a long results table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jointeffects.experiments.figures import format_table, plot_figure, summarize
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
    long = _long([_setting(5)], ["observational", "ours"])
    table = summarize(long, ("ours", "observational"))
    assert list(table["method"]) == ["ours", "observational"]  # the figure's order
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
    table = summarize(_long(settings, ["ours", "topline"]), ("ours", "topline"))
    assert list(table["ratio"]) == [0.05, 0.05, 1.0, 1.0, 5.0, 5.0]
    assert list(table["method"]) == ["ours", "topline"] * 3


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
