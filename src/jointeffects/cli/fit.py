"""``jointeffects fit``: regime files in, a JSON model file and a fit summary out."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from jointeffects.cli.io import data_inputs, out_option, read_table, regime_files
from jointeffects.cli.lift import check_lift_options, lift_options, parse_shapes, read_lift_tests
from jointeffects.cli.paths import check_outputs
from jointeffects.cli.sizes import check_memory, design_bytes, n_monomials
from jointeffects.errors import DataError
from jointeffects.estimate.estimators.registry import SAVABLE, estimator_class

_OBS = "obs"


def _estimator(
    name: str,
    degree: int,
    psi_degree: int,
    cv: int,
    seed: int,
    structure_test: str,
    lift_shape: Any = None,
) -> Any:
    from jointeffects.estimate import PolynomialRidgeCV

    cls = estimator_class(name)
    if "learner" in cls().get_params():
        return cls(learner=PolynomialRidgeCV(degree=degree, cv=cv), random_state=seed)
    return cls(
        degrees=tuple(range(1, degree + 1)),
        psi_degrees=tuple(range(1, psi_degree + 1)),
        cv=cv,
        random_state=seed,
        structure_test=structure_test,
        lift_shape=lift_shape,
    )


def _stream_regimes(
    data: tuple[str, ...], regime_col: str | None, chunk_rows: int, scheduler: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The regime files as chunk streams (or dask frames with a scheduler), and the first
    file's columns."""
    from jointeffects.cli.chunks import dask_regimes, stream_regimes

    files = _data_files(data, regime_col)
    read = stream_regimes if scheduler is None else dask_regimes
    return read(files, regime_col, chunk_rows)


def _streamed_n_boot(n_boot: int | None) -> int:
    if n_boot:
        raise DataError(
            "--n-boot resamples rows, which a streamed fit (--stream, --scheduler) does not "
            "hold; drop it: --estimator structured then stores the sandwich, the others no "
            "intervals"
        )
    return 0


def _data_files(data: tuple[str, ...], regime_col: str | None) -> dict[str, Path]:
    """The ``--data`` files by regime, checked: one long table with ``--regime-col``, else
    the observational file among them."""
    files = regime_files(data, _OBS, "--data")
    if regime_col is not None and (len(files) != 1 or _OBS not in files):
        raise DataError(
            "--regime-col reads one long table: pass exactly one --data FILE (without REGIME=)"
        )
    if regime_col is None and _OBS not in files:
        raise DataError(
            f"no observational data: add --data FILE (without REGIME=); got regimes {list(files)}"
        )
    return files


def _read_regimes(data: tuple[str, ...], regime_col: str | None) -> Any:
    files = _data_files(data, regime_col)
    if regime_col is not None:
        return read_table(files[_OBS])
    return {name: read_table(path) for name, path in files.items()}


def _summary(est: Any, diagnostics: Any, uncertainty: Any, streamed: bool = False) -> list[str]:
    from jointeffects.estimate.regimes import regime_label

    kind = type(est).__name__
    lines = [
        f"fitted {kind} on {len(est.actions_)} actions {list(est.actions_)}, outcome "
        f"'{est.outcome_}'"
    ]
    details, model_lines = est._fit_summary()
    lines.append(f"  {'regime':<34} {'rows':>7}" + ("  learner" if details else ""))
    for regime, rows in est.n_rows_.items():
        detail = details.get(regime, "")
        lines.append(f"  {regime_label(regime):<34} {rows:>7}  {detail}".rstrip())
    lines.extend(f"  {line}" for line in model_lines)
    overlap = diagnostics.support["overlap"]
    worst = diagnostics.support.loc[overlap.idxmin()]
    lines.append(
        f"support (Assumption 1): lowest overlap with the observational 1–99 % range is "
        f"{worst['overlap']:.2f} ({worst['action']} in {worst['regime']}); "
        + ("OK" if not diagnostics.warnings else f"{len(diagnostics.warnings)} warning(s)")
    )
    if diagnostics.validation is not None:
        for row in diagnostics.validation.itertuples():
            lines.append(
                f"additivity check on held-out do({row.regime.replace('+', ', ')}), {row.rows} "
                f"rows: RMSE {row.rmse:.3g} vs {row.rmse_constant:.3g} for a constant "
                f"(relative {row.relative_rmse:.2f}; mean residual {row.mean_residual:+.3g})"
            )
    else:
        lines.append("additivity (Assumption 2): not checked; pass --validate-with JOINT_FILE")
    if uncertainty is None:
        why = "a streamed fit cannot bootstrap" if streamed else "--n-boot 0"
        lines.append(f"intervals: none stored ({why})")
    elif uncertainty.method == "bootstrap":
        line = f"intervals: {len(uncertainty.replicates)} bootstrap refits"
        if uncertainty.neighbour is not None:
            degree = uncertainty.neighbour.learner.degree
            line += f" and bias term (learners of degree {degree}, refitted on each resample)"
        lines.append(line + " stored")
        if uncertainty.mixed_misfit:
            lines.append(f"intervals of mixed effects will be flagged: {uncertainty.mixed_misfit}")
    else:
        lighter = uncertainty.lighter
        degree = uncertainty.neighbour.degree_
        fits = f"fit of degree {degree}"
        if lighter is not None:
            fits = f"fits of degree {degree} and of penalty {lighter.alpha_:.0e}"
        lines.append(
            f"intervals: sandwich covariance and bias term ({fits}) stored; specification test "
            + (f"REJECTS: {uncertainty.misfit}" if uncertainty.misfit else "passes")
        )
    return lines


def _check_design(estimator: str, n_actions: int, n_regimes: int, degree: int, cv: int) -> None:
    """Refuse a polynomial design too large for memory before fitting anything."""
    n_fits = n_regimes if estimator == "paper" else 1  # the others fit one pooled design
    need = design_bytes(n_actions, degree, cv, n_fits)
    check_memory(
        need,
        f"a degree-{degree} design on {n_actions} actions ({n_monomials(n_actions, degree)} "
        f"columns, {n_fits} fit(s))",
        "lower --degree, or fit fewer actions (drop columns that are not actions)",
    )


def _fit(
    est: Any,
    tables: Any,
    outcome: str,
    regime_col: str | None,
    streamed: bool,
    n_boot: int,
    lift: Any,
) -> tuple[Any, Any, Any]:
    """Fit ``est``, check the support, and compute the uncertainty the model file stores."""
    import numpy as np

    from jointeffects.estimate import as_regime_data
    from jointeffects.estimate.diagnostics import support_diagnostics
    from jointeffects.estimate.modelfile.format import fit_uncertainty

    data = tables if streamed else as_regime_data(tables, outcome=outcome, regime_col=regime_col)
    try:
        with np.errstate(all="ignore"):
            # validated: the support warnings are printed later
            est.fit(data, outcome=outcome, lift_tests=lift)
            diagnostics = support_diagnostics(data, outcome=outcome)
            uncertainty = None
            if est.capabilities().sandwich or n_boot > 0:
                uncertainty = fit_uncertainty(est, data, n_boot=n_boot, rng=est.random_state)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError) as exc:
        raise DataError(
            f"fitting failed numerically ({exc}); check the data for extreme values or lower "
            "--degree"
        ) from None
    return est, diagnostics, uncertainty


@click.command()
@click.option("--outcome", required=True, help="Outcome column, e.g. sales.")
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    metavar="[REGIME=]FILE",
    help="A regime's table (CSV or Parquet). Without REGIME= it is the observational data; "
    "REGIME names the intervened action(s), e.g. tv=tv_test.csv or tv+email=block.parquet. "
    "Repeat for each regime.",
)
@click.option(
    "--regime-col",
    default=None,
    help="Read one long table (a single --data FILE) whose column of this name labels each "
    "row's regime (obs, tv, tv+email, ...).",
)
@click.option(
    "--estimator",
    type=click.Choice(SAVABLE),
    default="paper",
    show_default=True,
    help="paper: one polynomial ridge per regime combined by the paper's formula; structured: "
    "one regime-gated additive model (lower variance); topline: a ridge on joint-experiment "
    "data (pass it as a regime of every action); observational/pooled: baselines that ignore "
    "confounding.",
)
@click.option(
    "--degree",
    type=click.IntRange(1, 6),
    default=None,
    help="Polynomial degree of the learners [default: 3]; --estimator structured: the "
    "largest candidate degree of the response curves [default: 2].",
)
@click.option(
    "--psi-degree",
    type=click.IntRange(1, 6),
    default=5,
    show_default=True,
    help="--estimator structured: the largest candidate degree of its observational terms "
    "(chosen by CV with --degree's).",
)
@click.option(
    "--structure-test",
    type=click.Choice(["auto", "ks", "binned"]),
    default="auto",
    show_default=True,
    help="--estimator structured: the two-sample tests that learn which actions drive which "
    "(auto: KS on held rows, binned chi-square when streamed).",
)
@click.option("--cv", type=click.IntRange(2, 20), default=3, show_default=True, help="CV folds.")
@click.option(
    "--n-boot",
    type=click.IntRange(min=0),
    default=None,
    help="Bootstrap refits stored for intervals [default: 50] (--estimator structured: each "
    "relearns the structure; with 0 it stores the fast analytic sandwich instead, which "
    "ignores that learning); 0 stores none for the other estimators. A streamed fit stores "
    "the sandwich or nothing.",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Read the files in chunks instead of whole, in memory bounded by the chunk and the "
    "model (for files larger than memory; a Parquet folder is one table).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=100),
    default=100_000,
    show_default=True,
    help="--stream: rows per chunk (with --scheduler: about that many per CSV partition).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Fit on a running Dask cluster, e.g. tcp://10.0.0.5:8786: its workers read the "
    "files (whose paths they must see) and reduce them to statistics.",
)
@click.option(
    "--validate-with",
    multiple=True,
    metavar="[REGIME=]FILE",
    help="Held-out joint or block experiment (not used for fitting): reports how well the "
    "additive prediction matches it. Without REGIME= the file is the joint experiment.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of CV and bootstrap.",
)
@lift_options
@out_option("Model file to write (JSON).")
def fit(
    outcome: str,
    data: tuple[str, ...],
    regime_col: str | None,
    estimator: str,
    degree: int | None,
    psi_degree: int,
    structure_test: str,
    cv: int,
    n_boot: int | None,
    stream: bool,
    chunk_rows: int,
    scheduler: str | None,
    validate_with: tuple[str, ...],
    seed: int,
    out: Path,
    lift_tests: Path | None,
    lift_shape: tuple[str, ...],
) -> None:
    """Fit a joint-effect model on observational data plus single-action experiments."""
    if degree is None:
        degree = 2 if estimator == "structured" else 3
    check_lift_options(estimator, lift_tests, lift_shape)
    shapes = parse_shapes(lift_shape)
    check_outputs(  # fail before the fit, not after it
        [("--out", out, "model")],
        data_inputs(data, "--data")
        + data_inputs(validate_with, "--validate-with")
        + ([] if lift_tests is None else [("--lift-tests", lift_tests)]),
    )
    from jointeffects.estimate.diagnostics import additivity_check
    from jointeffects.estimate.modelfile.format import save_model

    lift = read_lift_tests(lift_tests)
    held_files = regime_files(validate_with, "", "--validate-with")
    streamed = stream or scheduler is not None
    n_boot = _streamed_n_boot(n_boot) if streamed else 50 if n_boot is None else n_boot
    est = _estimator(estimator, degree, psi_degree, cv, seed, structure_test, shapes)
    if streamed and not est.can_stream():  # only the KS structure test holds rows
        raise DataError(
            "--structure-test ks compares held rows, which a streamed fit (--stream, "
            "--scheduler) does not hold; pass --structure-test binned (or auto)"
        )
    if streamed:
        tables, columns = _stream_regimes(data, regime_col, chunk_rows, scheduler)
        n_regimes = len(tables)
    else:
        tables = _read_regimes(data, regime_col)
        # the size check before the fit's validation: a refusal is immediate
        first = tables if regime_col is not None else next(iter(tables.values()))
        columns = [c for c in first.columns if c != regime_col]
        n_regimes = len(tables)
        if regime_col is not None:
            n_regimes = first[regime_col].nunique() if regime_col in first else 1
    n_actions = len([c for c in columns if c != outcome])
    largest = max(degree, psi_degree) if estimator == "structured" else degree
    _check_design(estimator, n_actions, int(n_regimes), largest, cv)
    with contextlib.ExitStack() as cluster:
        if scheduler is not None:
            from jointeffects.cli.chunks import dask_client

            cluster.enter_context(dask_client(scheduler))
        est, diagnostics, uncertainty = _fit(
            est, tables, outcome, regime_col, streamed, n_boot, lift
        )
    if held_files:
        joint = "+".join(est.actions_)
        held = {name or joint: read_table(path) for name, path in held_files.items()}
        diagnostics.validation = additivity_check(est, held)
    save_model(est, out, diagnostics, uncertainty)
    for line in _summary(est, diagnostics, uncertainty, streamed):
        click.echo(line)
    for warning in diagnostics.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {out}")
