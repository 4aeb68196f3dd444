"""``jointeffects fit``: regime files in, a JSON model file and a fit summary out."""

from __future__ import annotations

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
    name: str, degree: int, psi_degree: int, cv: int, seed: int, lift_shape: Any = None
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
        lift_shape=lift_shape,
    )


def _read_regimes(data: tuple[str, ...], regime_col: str | None) -> Any:
    files = regime_files(data, _OBS, "--data")
    if regime_col is not None:
        if len(files) != 1 or _OBS not in files:
            raise DataError(
                "--regime-col reads one long table: pass exactly one --data FILE (without REGIME=)"
            )
        return read_table(files[_OBS])
    if _OBS not in files:
        raise DataError(
            f"no observational data: add --data FILE (without REGIME=); got regimes {list(files)}"
        )
    return {name: read_table(path) for name, path in files.items()}


def _summary(est: Any, diagnostics: Any, uncertainty: Any) -> list[str]:
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
        lines.append("intervals: none stored (--n-boot 0)")
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
@click.option("--cv", type=click.IntRange(2, 20), default=3, show_default=True, help="CV folds.")
@click.option(
    "--n-boot",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Bootstrap refits stored for intervals (--estimator structured: each relearns the "
    "structure; with 0 it stores the fast analytic sandwich instead, which ignores that "
    "learning); 0 stores none for the other estimators.",
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
    cv: int,
    n_boot: int,
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
    lift = read_lift_tests(lift_tests)
    held_files = regime_files(validate_with, "", "--validate-with")
    tables = _read_regimes(data, regime_col)
    # the size check before the estimators' imports and validation: a refusal is immediate
    first = tables if regime_col is not None else next(iter(tables.values()))
    n_actions = len([c for c in first.columns if c not in (outcome, regime_col)])
    n_regimes = len(tables)
    if regime_col is not None:
        n_regimes = first[regime_col].nunique() if regime_col in first else 1
    largest = max(degree, psi_degree) if estimator == "structured" else degree
    _check_design(estimator, n_actions, int(n_regimes), largest, cv)

    import numpy as np

    from jointeffects.estimate import as_regime_data
    from jointeffects.estimate.diagnostics import additivity_check, support_diagnostics
    from jointeffects.estimate.modelfile.format import fit_uncertainty, save_model

    regimes = as_regime_data(tables, outcome=outcome, regime_col=regime_col)
    est = _estimator(estimator, degree, psi_degree, cv, seed, shapes)
    try:
        with np.errstate(all="ignore"):
            est.fit(regimes, lift_tests=lift)  # validated: the support warnings are printed below
            diagnostics = support_diagnostics(regimes)
            uncertainty = None
            if estimator == "structured" or n_boot > 0:
                uncertainty = fit_uncertainty(est, regimes, n_boot=n_boot, rng=seed)
    except (np.linalg.LinAlgError, FloatingPointError, OverflowError) as exc:
        raise DataError(
            f"fitting failed numerically ({exc}); check the data for extreme values or lower "
            "--degree"
        ) from None
    if held_files:
        joint = "+".join(regimes.actions)
        held = {name or joint: read_table(path) for name, path in held_files.items()}
        diagnostics.validation = additivity_check(est, held)
    save_model(est, out, diagnostics, uncertainty)
    for line in _summary(est, diagnostics, uncertainty):
        click.echo(line)
    for warning in diagnostics.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {out}")
