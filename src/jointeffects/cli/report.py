"""``jointeffects report``: one self-contained HTML page about a saved model."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jointeffects.cli.io import model_option, out_option, write_text
from jointeffects.cli.optimize import (
    bounds_option,
    budget_option,
    cost_option,
    make_plan,
    parse_bounds,
    parse_costs,
)
from jointeffects.cli.paths import check_outputs
from jointeffects.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } img { max-width: 100%; } .warn { color: #a40; }
.ok { color: #070; } code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)


def _assumptions(model: Any) -> str:
    diag = model.diagnostics
    worst = float(diag.support["overlap"].min())
    support = (
        f'<p class="ok">Checked: every action\'s 1–99 % range overlaps the observational one '
        f"by at least {worst:.2f} (Jaccard index; warnings below 0.8).</p>"
        if not diag.warnings
        else '<p class="warn">Checked, with warnings:</p><ul>'
        + "".join(f'<li class="warn">{html.escape(w)}</li>' for w in diag.warnings)
        + "</ul>"
    )
    common = ", ".join(
        f"{html.escape(a)} ∈ [{diag.lower[a]:.4g}, {diag.upper[a]:.4g}]" for a in diag.lower
    )
    if diag.validation is None:
        additivity = (
            '<p class="warn">Not checked: no held-out joint or block experiment was given. '
            "Refit with <code>--validate-with joint.csv</code> to test it.</p>"
        )
    else:
        rel = diag.validation["relative_rmse"].max()
        verdict = (
            '<p class="ok">Not contradicted: the additive prediction beats a constant on the '
            "held-out outcomes (relative RMSE < 0.8; the rest includes the outcome's noise).</p>"
            if rel < 0.8
            else '<p class="warn">Questionable: the additive prediction is little better than a '
            "constant on held-out data (relative RMSE ≥ 0.8); additivity or support may fail, "
            "or the outcome is mostly noise.</p>"
        )
        additivity = (
            "<p>Checked against held-out experiments (not used for fitting): RMSE of the "
            "prediction vs the RMSE of the held-out mean.</p>" + _table(diag.validation) + verdict
        )
    return f"""
<h3>Assumption 1: equal support of the actions across regimes</h3>
<p>Each regime's learner is evaluated at every query, so a query outside the range some
regime saw is an extrapolation.</p>
{support}
<p>Common support (the range every regime covers): {common}.
<code>jointeffects predict</code> flags queries outside it in its <code>extrapolation</code>
column.</p>
<h3>Assumption 2: outcome additive over the actions (blocks) and their confounders</h3>
<p>This is what identifies the joint effect from single-action experiments; it cannot be
tested from those data alone, only falsified with a joint or block experiment.</p>
{additivity}
<h3>Not checkable from the data</h3>
<p>Each experiment intervenes on exactly the actions it is named after (a perfect, randomised
intervention), the experiments' blocks are disjoint, and all regimes come from the same
system (no drift between the observational period and the tests).</p>
"""


def _plan_section(plan: Any, lines: list[str], budget: float) -> str:
    summary = [*plan.summary().splitlines(), *lines]
    return f"""<h2>Budget plan</h2>
<p>The levels that maximise the estimated E[Y | do(a)] for a budget of {budget:g}
(Σ cost·level), inside the support every regime covered unless bounds say otherwise
(<code>jointeffects optimize</code> writes the same table).</p>
{_table(plan.table)}
<ul>{"".join(f"<li>{html.escape(line)}</li>" for line in summary)}</ul>
"""


def render_report(model: Any, pair: tuple[str, str] | None, source: str, plan: str = "") -> str:
    """The report page as an HTML string (figures embedded as base64 PNG); ``plan`` is an
    HTML section placed before the assumptions."""
    import pandas as pd

    from jointeffects.cli.plots import curves_figure, heatmap_figure, model_curves, support_figure
    from jointeffects.estimate.regimes import regime_label

    est, diag = model.estimator, model.diagnostics
    actions = list(est.actions_)
    covered = list(est._identified_actions())
    if pair is None and len(covered) >= 2:
        pair = (covered[0], covered[1])
    rows = pd.DataFrame(
        [(regime_label(r), n) for r, n in est.n_rows_.items()], columns=["regime", "rows"]
    )
    overlap = diag.support.pivot(index="regime", columns="action", values="overlap")
    overlap = overlap.loc[list(dict.fromkeys(diag.support["regime"])), actions]
    overlap = overlap.rename_axis(columns=None).reset_index()
    curves = model_curves(model)
    heat = (
        "<p>(fewer than two actions with an experiment: no heat map)</p>"
        if pair is None
        else _png(heatmap_figure(model, pair))
    )
    missing = "".join(
        f'<p class="warn">{html.escape(note)}.</p>' for note in curves.attrs["not_identified"]
    )
    params = {
        k: v
        for k, v in est.get_params(deep=False).items()
        if k not in ("learner", "dag", "ancestors")
    }
    learner = getattr(est, "learner", None)
    if learner is not None:
        params["learner"] = f"PolynomialRidgeCV(degree={learner.degree}, cv={learner.cv})"
    outcome = html.escape(est.outcome_)
    title = f"Joint effects on {outcome}: {html.escape(type(est).__name__)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_STYLE}</style></head><body>
<h1>{title}</h1>
<p>Model file <code>{html.escape(source)}</code>, written by jointeffects
{html.escape(model.package_version)}. Actions: {html.escape(", ".join(actions))}; outcome:
{outcome}. Hyper-parameters: <code>{html.escape(str(params))}</code>.</p>
<h2>Data per regime</h2>
{_table(rows)}
{_png(support_figure(model))}
<h2>Support diagnostics</h2>
<p>Overlap of each action's 1–99 % range in each regime with its observational range
(1 = identical, 0 = disjoint):</p>
{_table(overlap)}
<h2>Response curves</h2>
<p>Estimated change of E[{outcome} | do(a)] as one action varies over its experimental range
(2.5–97.5 %) with the others held at their observational medians; 0 at the median. Bands:
90 % pointwise intervals ({
        html.escape(model.uncertainty.method if model.uncertainty else "none stored")
    }).</p>
{missing}
{_png(curves_figure(curves, model))}
<h2>Joint effect of {html.escape(" and ".join(pair or actions))}</h2>
{heat}
{plan}<h2>Assumptions and what was checked</h2>
{_assumptions(model)}
</body></html>
"""


@click.command()
@model_option
@click.option(
    "--pair",
    default=None,
    metavar="A,B",
    help="Two actions for the joint-effect heat map [default: the first two].",
)
@budget_option(
    "Add a budget plan section: the levels that spend B and maximise the outcome (as "
    "'jointeffects optimize'), compared with the observational medians scaled to spend B."
)
@cost_option
@bounds_option
@out_option("HTML file to write.")
def report(
    model_path: Path,
    pair: str | None,
    budget: float | None,
    cost: tuple[str, ...],
    bounds: tuple[str, ...],
    out: Path,
) -> None:
    """Write a self-contained HTML report: data, support, curves, heat map, assumptions."""
    from jointeffects.estimate.modelfile.format import load_model

    check_outputs([("--out", out, "report")], [("--model", model_path)])
    if budget is None and (cost or bounds):
        raise DataError("--cost and --bounds shape the budget plan: give --budget too")
    if budget is not None and not math.isfinite(budget):
        raise DataError(f"--budget {budget} is not a finite number")
    parsed_bounds, costs = parse_bounds(bounds), parse_costs(cost)
    model = load_model(model_path)
    chosen = None
    if pair is not None:
        parts = [p.strip() for p in pair.split(",")]
        if len(parts) != 2:
            raise DataError(f"--pair '{pair}' must name two actions like tv,search")
        chosen = (parts[0], parts[1])
    section = ""
    if budget is not None:
        plan, lines = make_plan(model, budget=budget, bounds=parsed_bounds, costs=costs, hint="")
        section = _plan_section(plan, lines, budget)
    page = render_report(model, chosen, str(model_path), section)
    write_text(page, out)
    n_img = page.count("data:image/png;base64,")
    click.echo(f"wrote {out} ({len(page) // 1024} KiB, {n_img} embedded figures)")
