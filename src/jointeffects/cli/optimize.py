"""``jointeffects optimize``: the budget plan of a saved model, as a table and a summary.

The option parsers and :func:`make_plan` are shared with ``jointeffects report --budget``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from jointeffects.cli.io import model_option, out_option, read_table, write_table
from jointeffects.cli.paths import check_outputs
from jointeffects.errors import DataError

#: Printed when the model stores no uncertainty, so the plan has no intervals.
NO_INTERVALS = (
    "no intervals: the model stores no uncertainty (fit with --n-boot > 0, or with "
    "--estimator structured, whose sandwich a streamed fit stores too)"
)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{what}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{what}: '{text}' is not a finite number")
    return value


def _pairs(values: Iterable[str], option: str, example: str) -> list[tuple[str, str, str]]:
    """``("tv=1,search=2", "email=3")`` → ``[(name, text, item), ...]``; repeated options
    and comma-separated items are the same."""
    out: list[tuple[str, str, str]] = []
    seen: dict[str, str] = {}
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            name, sep, text = item.partition("=")
            name, text = name.strip(), text.strip()
            if not sep or not name or not text:
                raise DataError(f"{option} '{item}' is not NAME=VALUE, e.g. {option} {example}")
            if name in seen:
                raise DataError(
                    f"{option} names '{name}' twice ('{seen[name]}' and '{item}'); give it once"
                )
            seen[name] = item
            out.append((name, text, item))
    return out


def parse_levels(values: Iterable[str], option: str) -> dict[str, float]:
    """``--cost tv=1.5`` / ``--fix tv=3`` / ``--current tv=4,search=2.5`` → ``{name: float}``."""
    return {
        name: _number(text, f"{option} '{item}'")
        for name, text, item in _pairs(values, option, "tv=1.5")
    }


def parse_costs(values: Iterable[str]) -> dict[str, float]:
    """``--cost tv=1.5``: positive costs per unit."""
    costs = parse_levels(values, "--cost")
    bad = [f"{a}={c:g}" for a, c in costs.items() if c <= 0]
    if bad:
        raise DataError(f"--cost {', '.join(bad)}: costs per unit must be positive")
    return costs


def parse_bounds(values: Iterable[str]) -> dict[str, tuple[float, float]]:
    """``--bounds tv=0:50`` → ``{"tv": (0.0, 50.0)}``."""
    out = {}
    for name, text, item in _pairs(values, "--bounds", "tv=0:50"):
        lo, sep, hi = text.partition(":")
        if not sep or not lo.strip() or not hi.strip() or ":" in hi:
            raise DataError(f"--bounds '{item}' is not NAME=LOW:HIGH, e.g. --bounds tv=0:50")
        low, high = _number(lo, f"--bounds '{item}'"), _number(hi, f"--bounds '{item}'")
        if low > high:
            raise DataError(f"--bounds '{item}': the low end {low:g} exceeds the high end {high:g}")
        out[name] = (low, high)
    return out


def _current_file(value: str) -> Path | None:
    """The file of ``--current FILE``, None for ``--current tv=4,...``."""
    return None if "=" in value else Path(value)


def read_current(values: Sequence[str], actions: Sequence[str]) -> dict[str, float] | None:
    """``--current tv=4,search=2.5`` or ``--current current.csv`` (one row, a column per
    action); None when not given."""
    if not values:
        return None
    files = [v for v in values if _current_file(v) is not None]
    if files:
        if len(values) != 1:
            raise DataError("--current takes one file or NAME=VALUE items, not both")
        path = Path(files[0])
        frame = read_table(path)
        if len(frame) != 1:
            raise DataError(
                f"--current '{path}' has {len(frame)} rows; give one row with a column per "
                f"action ({', '.join(actions)})"
            )
        row = frame.iloc[0]
        current = {
            str(c): _number(str(row[c]), f"--current '{path}' column {c}") for c in frame.columns
        }
    else:
        current = parse_levels(values, "--current")
    check_names(current, "--current", actions)
    missing = [a for a in actions if a not in current]
    if missing:
        raise DataError(
            f"--current lacks action(s) {missing}; give a level for each of {list(actions)}"
        )
    return current


def current_inputs(values: Sequence[str]) -> list[tuple[str, Path]]:
    """The file of ``--current FILE``, as an input for :func:`check_outputs`."""
    return [("--current", p) for v in values if (p := _current_file(v)) is not None]


def check_names(given: Mapping[str, Any], option: str, actions: Sequence[str]) -> None:
    unknown = [name for name in given if name not in actions]
    if unknown:
        raise DataError(
            f"{option} names unknown action(s) {unknown}; the model's actions are {list(actions)}"
        )


def _check_request(
    model: Any,
    budget: float | None,
    bounds: dict[str, tuple[float, float]],
    costs: Mapping[str, float],
    fixed: Mapping[str, float],
    extrapolate: bool,
) -> dict[str, tuple[float, float]]:
    """Each action's range (a fixed one at its level), refused outside the support without
    ``--extrapolate``, and a budget the ranges can spend exactly."""
    from jointeffects.estimate.decisions import support_ranges

    actions = list(model.estimator.actions_)
    support = support_ranges(model.diagnostics)
    ranges = {}
    for a in actions:
        lo, hi = bounds.get(a, support[a])
        if a in fixed:
            if a in bounds and not lo <= fixed[a] <= hi:
                raise DataError(
                    f"--fix {a}={fixed[a]:g} lies outside --bounds {a}={lo:g}:{hi:g}; change one"
                )
            lo = hi = fixed[a]
        s_lo, s_hi = support[a]
        if not extrapolate and (lo < s_lo - 1e-12 or hi > s_hi + 1e-12):
            what = f"--fix {a}={lo:g}" if a in fixed else f"--bounds {a}={lo:g}:{hi:g}"
            raise DataError(
                f"{what} reaches outside the support every regime covered ({s_lo:.4g} to "
                f"{s_hi:.4g}); narrow it, or pass --extrapolate to trust the model beyond its data"
            )
        ranges[a] = (lo, hi)
    if budget is not None:
        least = sum(costs.get(a, 1.0) * ranges[a][0] for a in actions)
        most = sum(costs.get(a, 1.0) * ranges[a][1] for a in actions)
        slack = 1e-9 * max(abs(least), abs(most), 1.0)
        if not least - slack <= budget <= most + slack:
            raise DataError(
                f"--budget {budget:g} cannot be spent within the bounds: the spend Σ cost·level "
                f"ranges from {least:.6g} to {most:.6g} (fixed actions included); choose a budget "
                "in that range or change --bounds/--fix/--cost"
            )
    return ranges


def make_plan(
    model: Any,
    *,
    budget: float | None = None,
    value: float | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    costs: dict[str, float] | None = None,
    fixed: dict[str, float] | None = None,
    current: dict[str, float] | None = None,
    extrapolate: bool = False,
    level: float = 0.9,
    quantile: float | None = None,
    hint: str = " (pass --current to compare with your own)",
) -> tuple[Any, list[str]]:
    """The :class:`~jointeffects.estimate.decisions.BudgetPlan` of a saved model and the
    lines that say what it was compared with (ending in ``hint`` for the default) and whether
    it has intervals."""
    from jointeffects.estimate.decisions import optimize_budget

    if (budget is None) == (value is None):
        raise DataError("give exactly one of --budget B (spend B) and --value V (profit)")
    if value is not None and value <= 0:
        raise DataError(f"--value {value:g} must be positive: the worth of one unit of outcome")
    actions = list(model.estimator.actions_)
    bounds, costs, fixed = dict(bounds or {}), dict(costs or {}), dict(fixed or {})
    for option, given in (("--bounds", bounds), ("--cost", costs), ("--fix", fixed)):
        check_names(given, option, actions)
    uncertainty = model.uncertainty
    if quantile is not None and (uncertainty is None or uncertainty.replicates is None):
        stored = "no uncertainty" if uncertainty is None else f"a {uncertainty.method}"
        raise DataError(
            f"--quantile needs bootstrap replicates in the model, which stores {stored}; "
            "refit with 'jointeffects fit ... --n-boot 50' (not --estimator structured's "
            "sandwich at --n-boot 0)"
        )
    ranges = _check_request(model, budget, bounds, costs, fixed, extrapolate)
    lines = []
    if current is None:
        reference = model.diagnostics.reference
        current = {a: float(reference[a]) for a in actions}
        spend = sum(costs.get(a, 1.0) * current[a] for a in actions)
        if budget is not None and spend > 0:
            current = {a: x * budget / spend for a, x in current.items()}
            lines.append(
                "current allocation: the observational medians stored in the model, scaled to "
                f"spend the budget {budget:g}{hint}"
            )
        else:
            lines.append(f"current allocation: the observational medians stored in the model{hint}")
    plan = optimize_budget(
        model.estimator, budget, diagnostics=model.diagnostics, value=value,
        bounds={a: ranges[a] for a in bounds.keys() | fixed.keys()}, costs=costs, fixed=fixed,
        current=current, extrapolate=extrapolate, uncertainty=uncertainty, level=level,
        quantile=quantile,
    )  # fmt: skip
    if uncertainty is None:
        lines.append(NO_INTERVALS)
    return plan, lines


def _fraction(value: float | None, what: str) -> float | None:
    if value is not None and not 0 < value < 1:
        raise click.BadParameter(f"{value} is not {what} in (0, 1), e.g. 0.9")
    return value


#: Options shared with ``jointeffects report``.
def budget_option(help_text: str) -> Any:
    """The ``--budget B`` option."""
    return click.option("--budget", type=float, default=None, metavar="B", help=help_text)


bounds_option = click.option(
    "--bounds", multiple=True, metavar="NAME=LOW:HIGH",
    help="Range of an action's level, e.g. tv=0:50 (repeat, or join with commas). Default: "
    "the range every regime covered; beyond it needs --extrapolate.",
)  # fmt: skip
cost_option = click.option(
    "--cost", multiple=True, metavar="NAME=COST",
    help="Cost per unit of an action's level, e.g. tv=1.5 (repeat, or join with commas). "
    "Default: 1.",
)  # fmt: skip


def format_table(table: Any) -> str:
    return str(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


@click.command()
@model_option
@budget_option("Total spend Σ cost·level to allocate.")
@click.option(
    "--value", type=float, default=None, metavar="V",
    help="Instead of --budget: worth of one unit of outcome; maximise V·E[Y] − spend.",
)  # fmt: skip
@bounds_option
@cost_option
@click.option(
    "--fix", multiple=True, metavar="NAME=LEVEL",
    help="Hold an action at a level, e.g. tv=3 (repeat, or join with commas).",
)  # fmt: skip
@click.option(
    "--current", multiple=True, metavar="NAME=LEVEL,...|FILE",
    help="The allocation the plan is compared with: tv=4,search=2.5,... (every action) or a "
    "table with one row and a column per action. Default: the observational medians stored "
    "in the model, scaled to spend the budget (with --budget).",
)  # fmt: skip
@click.option(
    "--extrapolate", is_flag=True,
    help="Allow --bounds/--fix beyond the support every regime covered.",
)  # fmt: skip
@click.option(
    "--level", type=float, default=0.9, show_default=True,
    callback=lambda _c, _p, v: _fraction(v, "a coverage level"),
    help="Coverage of the intervals (when the model stores uncertainty).",
)  # fmt: skip
@click.option(
    "--quantile", type=float, default=None,
    callback=lambda _c, _p, v: _fraction(v, "a quantile"),
    help="Maximise this lower quantile of the outcome over the bootstrap replicates (e.g. "
    "0.1) instead of the estimate; needs a model fitted with --n-boot > 0.",
)  # fmt: skip
@out_option(
    "Plan file (CSV or Parquet): per action current, recommended, change, cost, spend, "
    "marginal_return, bounds, fixed, outside_support."
)
def optimize(
    model_path: Path,
    budget: float | None,
    value: float | None,
    bounds: tuple[str, ...],
    cost: tuple[str, ...],
    fix: tuple[str, ...],
    current: tuple[str, ...],
    extrapolate: bool,
    level: float,
    quantile: float | None,
    out: Path,
) -> None:
    """Recommend levels of the actions that maximise the outcome for a budget (or a value).

    Without --current the plan is compared with the observational medians stored in the
    model, scaled to spend the budget (with --budget). Intervals and the probability of
    beating the current allocation appear when the model stores uncertainty.
    """
    from jointeffects.estimate.modelfile.format import load_model

    check_outputs([("--out", out, "table")], [("--model", model_path), *current_inputs(current)])
    if (budget is None) == (value is None):
        raise DataError("give exactly one of --budget B (spend B) and --value V (profit)")
    for name, number in (("--budget", budget), ("--value", value)):
        if number is not None and not math.isfinite(number):
            raise DataError(f"{name} {number} is not a finite number")
    parsed_bounds, costs = parse_bounds(bounds), parse_costs(cost)
    fixed = parse_levels(fix, "--fix")
    model = load_model(model_path)
    now = read_current(current, list(model.estimator.actions_))
    plan, lines = make_plan(
        model, budget=budget, value=value, bounds=parsed_bounds, costs=costs, fixed=fixed,
        current=now, extrapolate=extrapolate, level=level, quantile=quantile,
    )  # fmt: skip
    write_table(plan.table, out)
    target = f"budget {budget:g}" if budget is not None else f"value {value:g} per unit"
    click.echo(f"plan for E[{model.estimator.outcome_}] at {target} ({plan.method}):")
    click.echo(format_table(plan.table))
    click.echo(f"total spend {float(plan.table['spend'].sum()):.6g}")
    for line in [*plan.summary().splitlines(), *lines]:
        click.echo(line)
    click.echo(f"wrote {out}")
