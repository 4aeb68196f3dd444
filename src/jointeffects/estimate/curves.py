"""Per-action response curves φ_k(a_k) with pointwise intervals.

Under the paper's assumptions the joint effect is additive over the experiments' blocks,
E[Y | do(a)] = Σ_B φ_B(a_B) with φ_B(a_B) = E_{C_B}[f_B(a_B, C_B)] (+ E[U]), so any
estimator's joint predictions determine each φ_B up to an additive constant: varying a_B
with the other actions held at a reference point changes the prediction by
φ_B(a_B) − φ_B(reference). The curves are identified only up to constants whose sum is
fixed (the joint effect at the reference point).

Convention: each curve is centred to be 0 at the action's observational median, with the
other actions held at their observational medians (the default reference point). So
``effect_change`` = Ê[Y | do(a_k = level, a_-k = med_-k)] − Ê[Y | do(a = med)], and the joint
effect at the medians (column ``reference_effect``) plus the sum of the curves is the joint
effect. For a block of several actions, each action's curve holds the block's other actions
at their medians too.

An action without an experiment has no identified curve. The other curves are then mixed
effects: that action is held *observed* at its reference level, not set by intervention.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError, IdentificationWarning
from jointeffects.estimate.uncertainty.fitted import bootstrap_uncertainty, sandwich_uncertainty
from jointeffects.estimate.uncertainty.refits import fitted_on, regime_data
from jointeffects.estimate.uncertainty.sandwich import structured_fit
from jointeffects.estimate.uncertainty.trust import (
    MIN_TRUSTED_ROWS,
    add_note,
    model_note,
    untrusted_notes,
    warn_untrusted,
)

COLUMNS = (
    "action",
    "level",
    "effect_change",
    "lower",
    "upper",
    "trusted",
    "note",
    "reference_level",
    "reference_effect",
)


def response_curves(
    estimator: Any,
    datasets: Any = None,
    grid: Mapping[str, Sequence[float]] | int = 41,
    *,
    reference: Mapping[str, float] | None = None,
    intervals: str | None = "auto",
    level: float = 0.9,
    n_boot: int = 200,
    random_state: int | np.random.Generator | None = None,
    outcome: str = "Y",
    min_rows: int = MIN_TRUSTED_ROWS,
    misspecification: bool = True,
) -> pd.DataFrame:
    """Response curves φ_k(a_k) of a fitted estimator, centred at the observational medians.

    Read more in the :doc:`user guide </guide/uncertainty>`.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``datasets`` (or unfitted: fitted first).
    datasets : dict or RegimeData, optional
        The training data: gives the default grid (the 2.5–97.5 % range of each action in its
        experiment), the reference point (observational medians) and the intervals. Without
        it pass ``grid`` as a mapping and ``reference``; the intervals are then NaN.
    grid : int or mapping, default=41
        Points per action, or ``{action: values}`` (actions left out get no curve).
    reference : mapping, optional
        The point each curve is centred at and the other actions are held at; default the
        observational medians.
    intervals : {"auto", "bootstrap", "sandwich", None}, default="auto"
        "auto": the bootstrap (for a StructuredEstimator its refits relearn the structure);
        "sandwich": the fast analytic band of a StructuredEstimator, conditional on its
        learned structure (see :func:`~jointeffects.sandwich_intervals`).
    level, n_boot, random_state, outcome, min_rows
        As for :func:`~jointeffects.bootstrap_intervals`.
    misspecification : bool, default=True
        Widen by the bias term, as :func:`~jointeffects.sandwich_intervals` and (for
        polynomial ridge learners) :func:`~jointeffects.bootstrap_intervals` do; the sandwich
        also flags every row when the residual specification test rejects.

    Returns
    -------
    DataFrame
        One row per (action, grid level): ``action``, ``level`` (the action's value),
        ``effect_change`` (the change of the effect from the reference point), ``lower``,
        ``upper``, ``trusted``, ``note``, ``reference_level`` (the action's value at the
        reference point) and ``reference_effect`` (the estimated effect at the reference
        point, the same on every row). An action without an experiment gets no rows, with
        an :class:`~jointeffects.errors.IdentificationWarning`.

    Examples
    --------
    >>> curves = response_curves(est, data)                     # doctest: +SKIP
    >>> plot_response_curves(curves, truth_scm=scm)             # doctest: +SKIP
    """
    data = None if datasets is None else regime_data(datasets, outcome)
    if data is None:
        if not isinstance(grid, Mapping) or reference is None:
            raise DataError("without datasets pass grid as {action: values} and reference")
        if intervals not in (None, "auto"):
            raise DataError(f"intervals={intervals!r} needs the training data: pass datasets")
        intervals = None
    elif intervals == "auto":
        intervals = "bootstrap"
    if intervals not in (None, "bootstrap", "sandwich"):
        raise DataError(f"intervals={intervals!r} is not one of 'auto', 'bootstrap', 'sandwich'")
    fitted = estimator
    if data is not None:
        fitted = fitted_on(estimator, data)
    elif not hasattr(estimator, "actions_"):
        raise DataError("the estimator is not fitted: pass datasets or fit it first")
    if intervals == "sandwich" and data is not None:
        structured_fit(fitted, data)  # refuses other estimators
    actions = tuple(fitted.actions_)
    covered = fitted._identified_actions()
    intervened = None if covered == actions else covered
    values = _grid(grid, data, actions)
    ref = _reference(reference, data, actions)
    left_out = [a for a in values if a not in covered]
    if left_out:
        warnings.warn(
            f"no experiment intervenes on {left_out}: their curves are not identified and are "
            f"left out; the curves of {list(covered)} hold them observed at their reference "
            "levels (mixed effects)",
            IdentificationWarning,
            stacklevel=2,
        )
        values = {a: v for a, v in values.items() if a in covered}
    # Query matrix: the reference point first, then every action's grid with the others at ref.
    blocks = [ref[None, :]]
    labels: list[str] = []
    for action, points in values.items():
        Q = np.repeat(ref[None, :], len(points), axis=0)
        Q[:, actions.index(action)] = points
        blocks.append(Q)
        labels += [action] * len(points)
    Q = np.concatenate(blocks)
    joint = fitted.predict(Q, intervened=intervened)
    misfit = ""
    if intervals is None or data is None:
        nan = np.full(len(Q) - 1, np.nan)
        table = pd.DataFrame({"estimate": joint[1:] - joint[0], "lower": nan, "upper": nan})
    else:
        if intervals == "bootstrap":
            # the bias term as bootstrap_intervals adds it ("auto": polynomial ridge learners)
            option = "auto" if misspecification else False
            u = bootstrap_uncertainty(fitted, data, n_boot, random_state, option)
            misfit = model_note(fitted, data)
        else:
            u = sandwich_uncertainty(fitted, data, misspecification)
            misfit = u.misfit
        table = u.band(fitted, Q[1:], intervened, level, base=Q[0])
    notes = untrusted_notes(data, Q[1:], min_rows) if data is not None else np.full(len(Q) - 1, "")
    notes = add_note(notes, misfit)
    out = pd.DataFrame(
        {
            "action": labels,
            "level": np.concatenate(list(values.values())),
            "effect_change": table["estimate"].to_numpy(),
            "lower": table["lower"].to_numpy(),
            "upper": table["upper"].to_numpy(),
            "trusted": notes == "",
            "note": notes,
            "reference_level": ref[[actions.index(a) for a in labels]],
            "reference_effect": joint[0],
        },
        columns=list(COLUMNS),
    )
    out.attrs["reference"] = dict(zip(actions, ref.tolist(), strict=True))
    out.attrs["intervened"] = covered
    warn_untrusted(out)
    return out


def _grid(
    grid: Mapping[str, Sequence[float]] | int, data: Any, actions: tuple[str, ...]
) -> dict[str, np.ndarray]:
    if isinstance(grid, Mapping):
        unknown = [a for a in grid if a not in actions]
        if unknown:
            raise DataError(f"grid names unknown action(s) {unknown}; actions are {list(actions)}")
        return {a: np.asarray(grid[a], dtype=float).ravel() for a in actions if a in grid}
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or grid < 2:
        raise DataError(f"grid={grid!r} must be a number of points >= 2 or {{action: values}}")
    out = {}
    for j, action in enumerate(actions):
        # An action's own experiment shows its intervention range; else the observational one.
        regime = next((r for r in data.regimes if action in r), ())
        lo, hi = np.quantile(data.regimes[regime][0][:, j], [0.025, 0.975])
        out[action] = np.linspace(lo, hi, int(grid))
    return out


def _reference(
    reference: Mapping[str, float] | None, data: Any, actions: tuple[str, ...]
) -> np.ndarray:
    if reference is None:
        return np.median(data.regimes[()][0], axis=0)
    missing = [a for a in actions if a not in reference]
    if missing:
        raise DataError(f"reference lacks action(s) {missing}; give a value for every action")
    return np.array([float(reference[a]) for a in actions])


def true_curves(
    scm: Any, curves: pd.DataFrame, reference: Mapping[str, float] | None = None
) -> np.ndarray:
    """The simulator's φ_k at the curves' rows, centred the same way (0 at the reference).

    Parameters
    ----------
    scm : AdditiveSCM
    curves : DataFrame
        Output of :func:`response_curves`.
    reference : mapping, optional
        The point the curves were centred at; default ``curves.attrs["reference"]``, else
        the table's ``reference_level`` column.

    Returns
    -------
    ndarray of shape (len(curves),)
    """
    actions = tuple(scm.actions)
    reference = _stored_reference(curves, reference)
    missing = [a for a in actions if a not in reference]
    if missing:
        raise DataError(f"the curves' reference point lacks {missing}: pass reference=")
    ref = np.array([float(reference[a]) for a in actions])
    Q = np.repeat(ref[None, :], len(curves), axis=0)
    for action in curves["action"].unique():
        mask = (curves["action"] == action).to_numpy()
        Q[mask, actions.index(action)] = curves.loc[mask, "level"].to_numpy()
    # Only a_k varies along a curve, so the difference is that of its block's E_C[f_B].
    return (scm.block_effects(Q) - scm.block_effects(ref[None, :])).sum(axis=1)


def _stored_reference(
    curves: pd.DataFrame, reference: Mapping[str, float] | None
) -> Mapping[str, float]:
    if reference is None:
        reference = curves.attrs.get("reference")
    if reference is None and "reference_level" in curves:
        reference = curves.groupby("action", sort=False)["reference_level"].first().to_dict()
    if reference is None:
        raise DataError("the curves carry no reference point: pass reference=")
    return reference
