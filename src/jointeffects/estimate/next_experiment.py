"""Which experiment to run next: a pre-posterior simulation of one more experiment.

Simulation s draws a "true" model from the fit's uncertainty: θ* ~ N(θ̂, Σ) with Σ the
sandwich covariance for an estimator that supports it (its ``sandwich`` capability), else a
bootstrap replicate (a refit on rows resampled within each regime). For each candidate,
m new rows of do(k) are simulated from that model (actions resampled from the existing
do(k) rows, outcome the model's mean in do(k) plus a resampled residual of the fit there,
:mod:`.simulated`), the estimator is refitted on the data plus the new rows, the budget plan
is re-optimised under the same constraints, and the new plan is scored under the drawn model.
A lift-test candidate (channel k, level x, change Δx, standard error σ) is simulated as one
more lift test, Δy ~ N(the drawn model's difference, σ²), refitted with the fit's lift tests:

- regret: the drawn model's value of its own optimum minus its value of the plan;
- plan-value error: the plan's estimated value minus the drawn model's value of it; its root
  mean square over the simulations is the sd of the plan's value.

"Before" scores the current fit's plan the same way. Every candidate of simulation s sees the
same drawn model and the same random numbers for its new rows (common random numbers), so
differences between candidates are paired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError, SpecError
from jointeffects.estimate.decisions import optimize_budget, support_ranges
from jointeffects.estimate.diagnostics import support_diagnostics
from jointeffects.estimate.estimators.blocks import experiment_blocks
from jointeffects.estimate.next_experiment_simulation import (
    objective,
    score_row,
    simulate,
    smallest_within_noise,
    with_gaps,
)
from jointeffects.estimate.regimes import Regime, RegimeData, parse_regime_key
from jointeffects.estimate.uncertainty.refits import fitted_on, regime_data

#: What a candidate's value is measured by (see :func:`recommend_experiment`).
CRITERIA = ("regret", "plan_sd")

#: Kinds of candidate that can be simulated.
KINDS = ("experiment", "lift_test")

#: What a lift-test candidate must give, and what each is.
LIFT_FIELDS = {"x": "the spend level", "delta_x": "its change", "sigma": "the standard error"}


@dataclass(frozen=True)
class ExperimentCandidate:
    """One experiment that could be run next: more rows of an experiment, or a lift test.

    Attributes
    ----------
    channel : str
        The experiment's action ("tv"), or its block of actions ("tv+email"): one of the
        experiments in the data. For a lift test, one action.
    rows : int, optional
        Rows of the new experiment; required for kind="experiment", unset for a lift test
        (whose size is its ``sigma``).
    kind : {"experiment", "lift_test"}, default="experiment"
        "experiment": more rows of do(channel), like those already collected. "lift_test":
        one lift test on ``channel``, spend moved from ``x`` to ``x + delta_x`` with the
        other channels at the plan, its effect measured with standard error ``sigma`` (one
        more row of the ``lift_tests`` table of ``fit``).
    x, delta_x, sigma : float, optional
        The lift test's spend level, its change (not 0) and the outcome's standard error
        (> 0); required for kind="lift_test", with ``x`` and ``x + delta_x`` inside the
        range every regime of the data covers. :func:`lift_test_candidates` makes them.
    """

    channel: str
    rows: int | None = None
    kind: str = "experiment"
    x: float | None = None
    delta_x: float | None = None
    sigma: float | None = None


@dataclass(frozen=True)
class ExperimentAdvice:
    """The candidate whose run is expected to improve the budget plan most.

    Attributes
    ----------
    channel : str
        The recommended experiment's channel.
    rows : int or None
        Its size: the smallest candidate size on that channel whose expected reduction is
        within one paired standard error of the channel's best (None for a lift test).
    kind : str
        The candidate's kind ("experiment" or "lift_test").
    criterion : {"regret", "plan_sd"}
        What was ranked.
    reduction, se : float
        The recommended candidate's expected reduction of the criterion, and its Monte-Carlo
        standard error.
    table : DataFrame
        One row per candidate, best first: ``kind``, ``channel``, ``rows`` (missing for lift
        tests), ``x``, ``delta_x``, ``sigma`` (NaN for more rows), ``regret_before``,
        ``regret_after``, ``regret_reduction``, ``regret_se``, ``plan_sd_before``,
        ``plan_sd_after``, ``plan_sd_reduction``, ``plan_sd_se``, and for the ranked
        criterion ``gap`` (how far the candidate's reduction falls short of the best one's)
        with ``gap_se``, its paired standard error.
    n_sim : int
        Simulations behind every row.
    notes : tuple of str
        What the user should know, e.g. that no candidate clearly improves the plan.
    x, delta_x, sigma : float or None
        For a lift test, its spend level, change and standard error; None for more rows.
    """

    channel: str
    rows: int | None
    kind: str
    criterion: str
    reduction: float
    se: float
    table: pd.DataFrame
    n_sim: int
    notes: tuple[str, ...] = ()
    x: float | None = None
    delta_x: float | None = None
    sigma: float | None = None


def lift_test_candidates(
    channels: str | Sequence[str],
    *,
    levels: Sequence[float] | Mapping[str, Sequence[float]],
    delta_x: float | Mapping[str, float],
    sigma: float | Mapping[str, float],
) -> list[ExperimentCandidate]:
    """Lift-test candidates on some channels at some spend levels, for
    :func:`recommend_experiment`: "which channel, at which level, for one more lift test?".

    Parameters
    ----------
    channels : str or sequence of str
        The channels to test, each an action of the data.
    levels : sequence of float, or mapping of str to sequence of float
        The spend levels ``x`` before the test: the same for every channel, or per channel.
    delta_x : float or mapping of str to float
        The spend change of each test (in the channel's units), for every channel or per
        channel.
    sigma : float or mapping of str to float
        The standard error of each test's measured outcome change (in the outcome's units).

    Returns
    -------
    list of ExperimentCandidate
        One candidate of kind "lift_test" per channel and level, in that order; they are
        validated against the fit and its data by :func:`recommend_experiment`.

    Examples
    --------
    >>> from jointeffects.estimate import lift_test_candidates
    >>> [c.x for c in lift_test_candidates(["tv", "search"], levels=[8.0, 10.0],
    ...                                    delta_x=1.0, sigma=0.5)]
    [8.0, 10.0, 8.0, 10.0]

    Read more in the :doc:`user guide </guide/design>`.
    """
    names = [channels] if isinstance(channels, str) else list(channels)
    if not names:
        raise DataError("lift_test_candidates: channels is empty; give at least one channel")
    given: dict[str, Any] = {"levels": levels, "delta_x": delta_x, "sigma": sigma}
    for what, value in given.items():
        missing = [c for c in names if isinstance(value, Mapping) and c not in value]
        if missing:
            raise DataError(
                f"{what} has no entry for channel {missing[0]!r}; give one for each of {names}"
            )
    per = {c: {k: v[c] if isinstance(v, Mapping) else v for k, v in given.items()} for c in names}
    return [
        ExperimentCandidate(
            c, kind="lift_test", x=x, delta_x=per[c]["delta_x"], sigma=per[c]["sigma"]
        )
        for c in names
        for x in per[c]["levels"]
    ]


def recommend_experiment(
    estimator: Any,
    data: Any,
    *,
    budget: float | None = None,
    value: float | None = None,
    sizes: Sequence[int] = (250, 1000),
    channels: Sequence[str] | None = None,
    candidates: Sequence[ExperimentCandidate] | None = None,
    n_sim: int = 20,
    criterion: str = "regret",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    costs: Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Mapping[str, float] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> ExperimentAdvice:
    """Rank the experiments that could be run next by how much they would improve a plan.

    Use it when one more experiment can be afforded and the question is which channel it
    should randomise: the channel whose response is least certain where the budget plan
    depends on it. Each candidate costs ``n_sim`` refits and plan optimisations. Read more in
    the :doc:`user guide </guide/design>`.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``data``. Estimators with the sandwich capability draw the true models
        from their sandwich; the others from bootstrap refits (one more refit per
        simulation).
    data : dict or RegimeData
        The training data, as for ``fit``.
    budget, value : float
        The plan's objective, as for :func:`~jointeffects.optimize_budget` (exactly one).
    sizes : sequence of int, default=(250, 1000)
        Candidate rows of the new experiment.
    channels : sequence of str, optional
        The experiments to consider ("tv", or "tv+email" for a block); default every
        experiment in ``data``.
    candidates : sequence of ExperimentCandidate, optional
        The candidates themselves, instead of ``channels`` × ``sizes``: more rows of
        experiments, or lift tests (:func:`lift_test_candidates`), which need an estimator
        with the ``lift_tests`` capability.
    n_sim : int, default=20
        Simulations (drawn true models) per candidate, shared by all candidates.
    criterion : {"regret", "plan_sd"}, default="regret"
        Rank by the expected regret of the plan under the drawn models, or by the sd of the
        plan's value.
    bounds, costs, fixed, current
        The plan's constraints and reference allocation, as for
        :func:`~jointeffects.optimize_budget`; every plan (before, after, and each drawn
        model's optimum) is found under the same ones.
    random_state : int, Generator or None
        Seeds the simulations (one ``SeedSequence`` child each); refits of an estimator
        whose own ``random_state`` is None get one from the simulation's stream.

    Returns
    -------
    ExperimentAdvice
    """
    estimator._check_fitted()
    data = regime_data(data, estimator.outcome_)
    fitted_on(estimator, data)
    if criterion not in CRITERIA:
        raise DataError(f"criterion={criterion!r} is not one of {list(CRITERIA)}")
    if isinstance(n_sim, bool) or not isinstance(n_sim, int | np.integer) or n_sim < 2:
        raise DataError(f"n_sim={n_sim!r} must be at least 2 simulations (for the s.e.)")
    blocks = experiment_blocks(data)
    if candidates is None:
        sizes = list(sizes)
        if not sizes or any(not isinstance(m, int | np.integer) or m <= 0 for m in sizes):
            raise DataError(f"sizes must be positive numbers of rows, got {sizes}")
        names = [_name(b) for b in blocks] if channels is None else list(channels)
        candidates = [ExperimentCandidate(c, int(m)) for c in names for m in sizes]
    diagnostics = support_diagnostics(data)
    support = support_ranges(diagnostics)
    chosen = [(c, _check(c, data, blocks, estimator, support)) for c in candidates]
    plan: dict[str, Any] = dict(budget=budget, value=value, costs=costs, fixed=fixed)
    first = optimize_budget(estimator, data=data, bounds=bounds, current=current, **plan)
    table = first.table.set_index("action")
    # Every later plan under the same bounds, reference and support as the first one.
    plan.update(
        diagnostics=diagnostics,
        current=table["current"].to_dict(),
        bounds={a: (r["lower_bound"], r["upper_bound"]) for a, r in table.iterrows()},
    )
    score = objective(value, {a: table.loc[a, "cost"] for a in data.actions})
    now = table["recommended"].to_numpy()
    regret_now, regret, error_now, error = simulate(
        estimator, data, chosen, plan, score, now, n_sim, random_state
    )
    rows = [
        score_row(c, block, regret_now, regret[j], error_now, error[j])
        for j, (c, block) in enumerate(chosen)
    ]
    out = pd.DataFrame(rows).sort_values(f"{criterion}_reduction", ascending=False, kind="stable")
    if out["rows"].isna().any():
        out["rows"] = out["rows"].astype("Int64")
    out = with_gaps(out, criterion, regret, error)
    pick = smallest_within_noise(out, chosen)
    top = out.iloc[0]
    notes: tuple[str, ...] = ()
    if not top[f"{criterion}_reduction"] > top[f"{criterion}_se"]:
        notes = (
            f"no candidate reduces the {criterion} by more than one standard error (best "
            f"{top[f'{criterion}_reduction']:+.3g} ± {top[f'{criterion}_se']:.2g}): the plan "
            "hardly depends on these experiments, or n_sim is too small to tell",
        )
    lift = pick["kind"] == "lift_test"
    return ExperimentAdvice(
        str(pick["channel"]), None if lift else int(pick["rows"]), str(pick["kind"]),
        criterion, float(pick[f"{criterion}_reduction"]), float(pick[f"{criterion}_se"]),
        out.reset_index(drop=True), int(n_sim), notes,
        *((float(pick[k]) if lift else None) for k in LIFT_FIELDS),
    )  # fmt: skip


def _name(block: Regime) -> str:
    return "+".join(block)


def _check(
    candidate: ExperimentCandidate,
    data: RegimeData,
    blocks: tuple[Regime, ...],
    estimator: Any,
    support: Mapping[str, tuple[float, float]],
) -> Regime:
    """The experiment's regime (a lift test's channel), after checking the candidate can be
    simulated."""
    if candidate.kind not in KINDS:
        raise DataError(f"kind={candidate.kind!r} is not one of {list(KINDS)}")
    names = parse_regime_key(candidate.channel)
    unknown = [a for a in names if a not in data.actions]
    if unknown:
        raise SpecError(
            f"channel {candidate.channel!r} names unknown action(s) {unknown}; actions are "
            f"{list(data.actions)}"
        )
    block = tuple(a for a in data.actions if a in names)
    if candidate.kind == "lift_test":
        _check_lift(candidate, blocks, estimator, support)
        return block
    rows = candidate.rows
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows <= 0:
        raise DataError(
            f"rows={rows!r} of the candidate on {candidate.channel!r} must be a positive "
            "number of rows"
        )
    if block not in blocks:
        raise DataError(
            f"channel {candidate.channel!r} has no experiment in the data to simulate more "
            f"rows from; experiments are {[_name(b) for b in blocks]}"
        )
    return block


def _check_lift(
    candidate: ExperimentCandidate,
    blocks: tuple[Regime, ...],
    estimator: Any,
    support: Mapping[str, tuple[float, float]],
) -> None:
    """Refuse a lift-test candidate that the estimator or the data cannot take."""
    channel = candidate.channel
    where = f"lift-test candidate on {channel!r}"
    if not estimator.capabilities().lift_tests:
        raise DataError(
            f"{type(estimator).__name__} does not take lift tests, so the {where} cannot be "
            "simulated: fit StructuredEstimator (CLI --estimator structured), or use "
            "candidates of kind 'experiment'"
        )
    if "+" in channel or any(channel in b and len(b) > 1 for b in blocks):
        raise DataError(
            f"{where}: a lift test is on one channel with its own experiment or none, not on "
            f"a block of actions; experiments are {[_name(b) for b in blocks]}"
        )
    if candidate.rows is not None:
        raise DataError(
            f"{where}: rows={candidate.rows!r} is for kind='experiment'; a lift test's size "
            "is its sigma, leave rows unset"
        )
    values = {}
    for name, what in LIFT_FIELDS.items():
        value = getattr(candidate, name)
        if value is None:
            raise DataError(
                f"{where} lacks {name} ({what}); a lift test needs x, delta_x and sigma"
            )
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise DataError(f"{where}: {name}={value!r} must be a number ({what})")
        if not np.isfinite(value):
            raise DataError(f"{where}: {name}={value!r} must be a finite number ({what})")
        values[name] = float(value)
    if values["sigma"] <= 0:
        raise DataError(f"{where}: sigma={values['sigma']:g} must be positive")
    if values["delta_x"] == 0:
        raise DataError(f"{where}: delta_x=0 must not be 0 (a test changes the level)")
    lo, hi = support[channel]
    for label, level in (("x", values["x"]), ("x + delta_x", values["x"] + values["delta_x"])):
        if level < lo or level > hi:
            side, bound = ("below the lower", lo) if level < lo else ("above the upper", hi)
            raise DataError(
                f"{where}: {label} = {level:g} is {side} bound {bound:g} of the support "
                f"[{lo:g}, {hi:g}] (the range every regime of the data covers); choose levels "
                "inside it"
            )
