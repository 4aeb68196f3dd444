"""``jointeffects predict`` and ``jointeffects curves``: query a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from jointeffects.cli.io import (
    file_option,
    model_option,
    out_option,
    read_scm,
    read_table,
    save_figure,
    write_table,
)
from jointeffects.cli.paths import check_outputs
from jointeffects.errors import DataError

if TYPE_CHECKING:  # pandas loads on first use: `jointeffects --help` stays fast
    import pandas as pd


def _level(value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise click.BadParameter(f"{value} is not a coverage level in (0, 1), e.g. 0.9")
    return value


@click.command()
@model_option
@file_option(
    "--at",
    help_text="Query table (CSV or Parquet) with a column per action; other columns are "
    "ignored, with a note.",
    required=True,
)
@click.option(
    "--intervened",
    default=None,
    metavar="A,B,...",
    help="Actions set by intervention; the others are taken as observed at the query's "
    "values. Default: all (the joint effect E[Y | do(a)]).",
)
@click.option(
    "--interval",
    type=float,
    default=None,
    callback=lambda _c, _p, v: _level(v),
    help="Add lower/upper columns of a pointwise interval at this level, e.g. 0.9.",
)
@out_option(
    "Predictions file (CSV or Parquet): the query columns, prediction, [lower, upper, "
    "trusted, note,] extrapolation."
)
def predict(
    model_path: Path, at: Path, intervened: str | None, interval: float | None, out: Path
) -> None:
    """Predict interventional means at query points, flagging extrapolation."""
    from jointeffects.estimate.diagnostics import extrapolation
    from jointeffects.estimate.modelfile.format import load_model

    check_outputs([("--out", out, "table")], [("--model", model_path), ("--at", at)])
    model = load_model(model_path)
    est = model.estimator
    queries = read_table(at)
    extra = [str(c) for c in queries.columns if str(c) not in est.actions_]
    missing = [a for a in est.actions_ if a not in {str(c) for c in queries.columns}]
    if extra and not missing:
        queries = queries[[c for c in queries.columns if str(c) in est.actions_]]
    names = None if intervened is None else [n.strip() for n in intervened.split(",") if n.strip()]
    if names == []:
        raise DataError(
            f"--intervened '{intervened}' names no action; give actions like "
            f"'{','.join(est.actions_[:2])}', or omit --intervened for the joint effect"
        )
    import numpy as np

    with np.errstate(all="ignore"):  # an overflow is reported once, below or by the learner
        table = model.predict_table(queries, intervened=names, level=interval)
    flags = extrapolation(model.diagnostics, queries, est.actions_)
    result = queries[list(est.actions_)].reset_index(drop=True)
    result = result.join(table)
    result["extrapolation"] = flags
    _check_finite(result, at)
    write_table(result, out)
    if extra and not missing:
        click.echo(f"note: ignored columns {extra} of {at}: not actions of the model", err=True)
    what = (
        "joint effect E[{0} | do({1})]" if names is None else "E[{0} | do({1}), others observed]"
    ).format(est.outcome_, ", ".join(names or est.actions_))
    click.echo(f"{len(result)} predictions of the {what}")
    click.echo(
        f"{int(flags.sum())} row(s) outside the common support of the training regimes "
        "(column 'extrapolation'): "
        + ", ".join(
            f"{a} in [{model.diagnostics.lower[a]:.3g}, {model.diagnostics.upper[a]:.3g}]"
            for a in est.actions_
        )
    )
    if interval is not None:
        _echo_untrusted(result)
    click.echo(f"wrote {out}")


def _check_finite(table: pd.DataFrame, at: Path) -> None:
    """Refuse to write predictions or bounds that overflowed."""
    import numpy as np

    for column in ("prediction", "lower", "upper"):
        if column in table:
            bad = ~np.isfinite(table[column].to_numpy(dtype=float))
            if bad.any():
                row = int(np.argmax(bad))
                raise DataError(
                    f"the {column} for row {row + 1} of '{at}' is not finite: the query lies "
                    "far outside the data's range (or the model file was edited); drop that row"
                )


def _echo_untrusted(table: pd.DataFrame) -> None:
    """One line on the intervals flagged as not trustworthy (columns trusted/note), if any."""
    bad = ~table["trusted"].to_numpy(dtype=bool)
    if bad.any():
        parts = (part for note in table.loc[bad, "note"] for part in note.split("; "))
        reasons = "; ".join(dict.fromkeys(parts))
        click.echo(
            f"{int(bad.sum())} of {len(table)} intervals are not trustworthy (column 'note'): "
            + reasons
        )


@click.command()
@model_option
@click.option("--points", type=click.IntRange(2, 1000), default=41, show_default=True,
              help="Grid points per action.")  # fmt: skip
@click.option(
    "--interval",
    type=float,
    default=0.9,
    show_default=True,
    callback=lambda _c, _p, v: _level(v),
    help="Level of the pointwise bands (from the model's stored uncertainty).",
)
@file_option(
    "--truth",
    help_text="SCM spec (JSON) whose true curves are drawn for comparison (simulated data only).",
)
@file_option("--csv", "csv_path", help_text="Also write the curves as a table (CSV or Parquet).")
@out_option("Figure file (.png, .pdf or .svg).")
def curves(
    model_path: Path,
    points: int,
    interval: float,
    truth: Path | None,
    csv_path: Path | None,
    out: Path,
) -> None:
    """Per-action response curves: effect of each action, others at their medians."""
    from jointeffects.cli.plots import curves_figure, model_curves
    from jointeffects.estimate.modelfile.format import load_model

    check_outputs(
        [("--out", out, "figure"), ("--csv", csv_path, "table")],
        [("--model", model_path), ("--truth", truth)],
    )
    model = load_model(model_path)
    scm = None if truth is None else read_scm(truth)
    if scm is not None and tuple(scm.actions) != tuple(model.estimator.actions_):
        raise DataError(
            f"--truth has actions {list(scm.actions)}; the model has "
            f"{list(model.estimator.actions_)}"
        )
    table = model_curves(model, points, interval)
    for note in table.attrs["not_identified"]:
        click.echo(f"note: {note}", err=True)
    if csv_path is not None:
        write_table(table, csv_path)
    save_figure(curves_figure(table, model, scm), out, dpi=110)
    for action, part in table.groupby("action", sort=False):
        change, level = part["effect_change"], part["level"]
        top = part.loc[change.idxmax()]
        click.echo(
            f"{action}: effect from {change.iloc[0]:+.3g} at {level.iloc[0]:.3g} "
            f"to {change.iloc[-1]:+.3g} at {level.iloc[-1]:.3g} "
            f"(max {top['effect_change']:+.3g} at {top['level']:.3g})"
        )
    if "trusted" in table:
        _echo_untrusted(table)
    click.echo(f"wrote {out}" + (f" and {csv_path}" if csv_path else ""))
