"""Figures of a saved model: response curves, support per regime, a joint-effect heat map."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError, IdentificationWarning

if TYPE_CHECKING:
    from jointeffects.estimate.modelfile.saved import SavedModel


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    # labels are user data (action names): '$' must not start mathtext
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def model_curves(model: SavedModel, points: int = 41, level: float | None = 0.9) -> pd.DataFrame:
    """Response curves of a saved model, with intervals from its stored uncertainty.

    Uses :func:`~jointeffects.estimate.curves.response_curves` (curves centred at the
    observational medians, the other actions held there) on the grid stored at fit (each
    action's 2.5–97.5 % range in its experiment); intervals come from the model file's
    bootstrap refits or sandwich covariance (none if it holds no uncertainty).

    Returns
    -------
    DataFrame with columns action, level, effect_change, lower, upper, extrapolation,
    reference_level, reference_effect (see ``response_curves``), and with intervals also
    trusted and note (see :meth:`~jointeffects.estimate.modelfile.saved.SavedModel.predict_table`).
    """
    from jointeffects.estimate.curves import response_curves

    if points < 2:
        raise DataError(f"--points {points}: need at least 2 points per curve")
    est, diag = model.estimator, model.diagnostics
    grid = {a: np.linspace(*diag.grid[a], points).tolist() for a in est.actions_}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IdentificationWarning)
        curves = response_curves(est, None, grid, reference=diag.reference, intervals=None)
    notes = [str(w.message) for w in caught if issubclass(w.category, IdentificationWarning)]
    intervened = curves.attrs["intervened"]
    curves = curves.drop(columns=["trusted", "note"])
    ref = np.array([diag.reference[a] for a in est.actions_])
    Q = np.repeat(ref[None, :], len(curves), axis=0)
    for j, action in enumerate(est.actions_):
        mask = (curves["action"] == action).to_numpy()
        Q[mask, j] = curves.loc[mask, "level"].to_numpy()
    from jointeffects.estimate.diagnostics import extrapolation

    curves.insert(5, "extrapolation", extrapolation(diag, Q, est.actions_))
    if level is not None and model.uncertainty is not None:
        mixed = None if tuple(intervened) == tuple(est.actions_) else list(intervened)
        table = model.predict_table(Q, intervened=mixed, level=level, base=ref)
        for column in ("lower", "upper", "trusted", "note"):
            curves[column] = table[column].to_numpy()
    curves.attrs["intervened"], curves.attrs["not_identified"] = intervened, notes
    return curves


def curves_figure(curves: pd.DataFrame, model: SavedModel, truth: Any = None) -> Any:
    """One panel per action: the curve, its interval band and (optionally) the true curve."""
    from jointeffects.plotting import plot_response_curves

    plt = _pyplot()
    actions = list(dict.fromkeys(curves["action"]))
    fig, ax = plt.subplots(1, len(actions), figsize=(3.2 * len(actions), 3.2), squeeze=False)
    plot_response_curves(curves, truth_scm=truth, ax=ax)
    outcome = model.estimator.outcome_
    ax[0, 0].set_ylabel(f"effect on {outcome} vs the median")
    if truth is not None:
        ax[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Response curves of {outcome}, other actions at their observational medians")
    fig.tight_layout()
    return fig


def support_figure(model: SavedModel) -> Any:
    """Per action, each regime's 1–99 % range (line), quartiles (box) and median (tick)."""
    plt = _pyplot()
    table = model.diagnostics.support
    actions = list(dict.fromkeys(table["action"]))
    regimes = list(dict.fromkeys(table["regime"]))
    fig, axes = plt.subplots(
        1, len(actions), figsize=(3.2 * len(actions), 0.5 * len(regimes) + 1.2), squeeze=False
    )
    for ax, action in zip(axes[0], actions, strict=True):
        part = table[table["action"] == action].set_index("regime").loc[regimes]
        y = np.arange(len(regimes))
        ax.hlines(y, part["q01"], part["q99"], color="grey")
        ax.barh(y, part["q75"] - part["q25"], left=part["q25"], height=0.5, alpha=0.6)
        ax.plot(part["q50"], y, "k|", markersize=12)
        lo, hi = model.diagnostics.lower[action], model.diagnostics.upper[action]
        ax.axvspan(lo, hi, color="green", alpha=0.07, lw=0)
        ax.set_yticks(y, regimes if ax is axes[0, 0] else [""] * len(regimes))
        ax.set_xlabel(action)
    axes[0, 0].invert_yaxis()
    fig.suptitle(
        "Action values per regime: 1–99 % range, quartiles, median (green: common support)"
    )
    fig.tight_layout()
    return fig


def heatmap_figure(model: SavedModel, pair: tuple[str, str], points: int = 41) -> Any:
    """The joint effect over two actions, the others held at their observational medians."""
    est, diag = model.estimator, model.diagnostics
    for name in pair:
        if name not in est.actions_:
            raise DataError(
                f"--pair names unknown action '{name}'; actions are {list(est.actions_)}"
            )
    if pair[0] == pair[1]:
        raise DataError(f"--pair needs two different actions, got {pair[0]} twice")
    i, j = (est.actions_.index(a) for a in pair)
    u, v = (np.linspace(*diag.grid[a], points) for a in pair)
    U, V = np.meshgrid(u, v)
    Q = np.repeat(np.array([[diag.reference[a] for a in est.actions_]]), U.size, axis=0)
    Q[:, i], Q[:, j] = U.ravel(), V.ravel()
    covered = est._identified_actions()
    missing = [a for a in pair if a not in covered]
    if missing:
        raise DataError(f"no experiment intervenes on {missing}: its effect is not identified")
    mixed = None if covered == tuple(est.actions_) else list(covered)
    Z = est.predict(Q, intervened=mixed).reshape(U.shape)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    mesh = ax.pcolormesh(U, V, Z, shading="auto", cmap="viridis")
    ax.contour(U, V, Z, colors="white", linewidths=0.6, levels=8)
    fig.colorbar(mesh, ax=ax, label=f"E[{est.outcome_} | do(…)]")
    ax.set_xlabel(pair[0])
    ax.set_ylabel(pair[1])
    ax.set_title(f"Joint effect over ({pair[0]}, {pair[1]}), others at medians", fontsize=9)
    fig.tight_layout()
    return fig
