"""Plots of estimated effects (matplotlib is imported on first use)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.curves import true_curves


def plot_response_curves(
    curves: pd.DataFrame,
    truth_scm: Any = None,
    ax: Any = None,
    reference: Mapping[str, float] | None = None,
) -> Any:
    """Draw each action's curve with its interval band; optionally the simulator's truth.

    Where the curves' ``trusted`` column is False the band is drawn hatched grey and labelled
    "not trustworthy" (see the ``note`` column for why).

    Parameters
    ----------
    curves : DataFrame
        Output of :func:`~jointeffects.response_curves`.
    truth_scm : AdditiveSCM, optional
        Overlays its exact φ_k (``scm.block_effects``), centred like the estimate.
    ax : matplotlib Axes or array of Axes, optional
        One axis per action (created if None).
    reference : mapping, optional
        The curves' reference point; default ``curves.attrs["reference"]``.

    Returns
    -------
    array of matplotlib Axes
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a declared dependency
        raise ImportError("plot_response_curves needs matplotlib: pip install matplotlib") from exc
    actions = list(dict.fromkeys(curves["action"]))
    if ax is None:
        _, ax = plt.subplots(1, len(actions), figsize=(3.2 * len(actions), 3), squeeze=False)
    axes = np.ravel(ax)
    if len(axes) < len(actions):
        raise DataError(f"ax has {len(axes)} axes; the curves have {len(actions)} actions")
    truth = None if truth_scm is None else true_curves(truth_scm, curves, reference)
    for axis, action in zip(axes, actions, strict=False):
        mask = (curves["action"] == action).to_numpy()
        part = curves[mask]
        band = (part["level"], part["lower"], part["upper"])
        trusted = (
            part["trusted"].to_numpy(dtype=bool) if "trusted" in part else np.ones(len(part), bool)
        )
        axis.fill_between(*band, where=trusted, alpha=0.3, lw=0)
        if not trusted.all():
            axis.fill_between(*band, where=~trusted, color="grey", alpha=0.25, hatch="//", lw=0,
                              label="not trustworthy")  # fmt: skip
        axis.plot(part["level"], part["effect_change"], label="estimate")
        if truth is not None:
            axis.plot(part["level"], truth[mask], "k--", label="truth")
        axis.set_xlabel(action)
        axis.axhline(0.0, color="grey", lw=0.5)
    axes[0].set_ylabel("φ(a) − φ(median)")
    axes[0].legend(frameon=False)
    if ax is None:
        axes[0].figure.tight_layout()
    return axes
