"""Interval arithmetic shared by every interval: bootstrap bounds, normal bands, and their
widening for an estimated bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.errors import DataError

METHODS = ("percentile", "basic", "normal")

#: How percentile bounds are read off the replicates: Hyndman and Fan's definition 8
#: (approximately median-unbiased for any continuous distribution); numpy's default linear
#: interpolation puts the tail quantiles of few draws inside the true ones.
QUANTILE_METHOD: Final = "median_unbiased"


def interval_table(
    estimate: np.ndarray, draws: np.ndarray, level: float, method: str = "percentile"
) -> pd.DataFrame:
    """Intervals from bootstrap replicates (see :func:`bootstrap_intervals` for ``method``)."""
    check_level(level)
    if method not in METHODS:
        raise DataError(f"method={method!r} is not one of {list(METHODS)}")
    tail = (1.0 - level) / 2.0
    se = draws.std(axis=0, ddof=1)
    if method == "normal":
        half = stats.norm.ppf(1.0 - tail) * se
        lower, upper = estimate - half, estimate + half
    else:
        lo, hi = percentile_bounds(draws, level)
        lower, upper = (
            (lo, hi) if method == "percentile" else (2 * estimate - hi, 2 * estimate - lo)
        )
    return pd.DataFrame({"estimate": estimate, "lower": lower, "upper": upper, "se": se})


def percentile_bounds(draws: Any, level: float) -> np.ndarray:
    """The central ``level`` range of the replicates (rows of ``draws``), as [lower, upper]."""
    tail = (1.0 - level) / 2.0
    return np.quantile(draws, [tail, 1.0 - tail], axis=0, method=QUANTILE_METHOD)


def normal_table(estimate: np.ndarray, se: np.ndarray, level: float) -> pd.DataFrame:
    """Estimate ± z·se intervals."""
    check_level(level)
    half = stats.norm.ppf(0.5 + level / 2.0) * se
    return pd.DataFrame(
        {"estimate": estimate, "lower": estimate - half, "upper": estimate + half, "se": se}
    )


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise DataError(f"level={level!r} must be a coverage probability strictly in (0, 1)")


def calibrated_bias(spread: Any, spread_draws: Any) -> np.ndarray:
    """The bias term √max(spread² − Var*(spread), 0) from the spread f̂ − f̂' to the richer
    partner: its bootstrap variance is subtracted so that noise does not count as bias."""
    spread = np.asarray(spread, dtype=float)
    noise = np.asarray(spread_draws, dtype=float).var(axis=0, ddof=1)
    return np.sqrt(np.maximum(spread**2 - noise, 0.0))


def widen(
    estimate: Any, lower: Any, upper: Any, bias: Any, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each side of an interval around ``estimate`` widened for a bias of size ``bias``: the
    bias-aware ("honest") half-width se·c(bias/se) of Armstrong and Kolesár (2020), with c
    from :func:`bias_aware_critical` and se read off the side as half-width ÷ z."""
    estimate = np.asarray(estimate, dtype=float)
    bias = np.abs(np.asarray(bias, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2.0)

    def side(bound: Any) -> np.ndarray:
        se = np.abs(np.asarray(bound, dtype=float) - estimate) / z
        ratio = np.divide(bias, se, out=np.zeros_like(se), where=se > 0)
        return np.where(se > 0, se * bias_aware_critical(ratio, level), bias)

    return estimate - side(lower), estimate + side(upper)


def bias_aware_critical(ratio: Any, level: float) -> np.ndarray:
    """The ``level`` quantile of |N(t, 1)| for each t in ``ratio`` (bias ÷ standard error):
    √ of non-central χ²(1, t²)'s, or t + Φ⁻¹(level) beyond t = 8 (exact to 1e-15)."""
    t = np.abs(np.asarray(ratio, dtype=float))
    far = t > 8.0
    near = np.sqrt(stats.ncx2.ppf(level, 1, np.where(far, 0.0, t) ** 2))
    return np.where(far, t + stats.norm.ppf(level), near)


def largest_spread(estimate: Any, others: Sequence[Any]) -> np.ndarray:
    """The sandwich's bias term: the largest |estimate − other| over the partners' predictions."""
    estimate = np.asarray(estimate, dtype=float)
    return np.max(np.abs([estimate - np.asarray(o, dtype=float) for o in others]), axis=0)
