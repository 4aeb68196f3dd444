"""Whether an interval can be trusted: tiny regimes, extrapolation, rejected models and the
misfit of mixed effects, as notes and an :class:`~jointeffects.errors.IntervalWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.errors import IntervalWarning
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.learners.misfit import (
    binned_residual_test,
    bonferroni_pvalue,
    bonferroni_rejection,
    extension_residual_test,
    polynomial_degree,
    predict_in_chunks,
)
from jointeffects.estimate.regimes import RegimeData

#: Regimes with fewer rows than this get their intervals flagged: the learners' CV and model
#: choice are unstable there.
MIN_TRUSTED_ROWS = 200

#: Significance level of the specification tests below which intervals are flagged as not
#: trustworthy (:func:`specification_test` for the sandwich, :func:`model_note`).
SPEC_LEVEL = 0.05


def model_note(fitted: RegimeEstimator, data: RegimeData, spec_level: float = SPEC_LEVEL) -> str:
    """Why no interval of ``fitted`` can be trusted, whatever the query, or "": its own model
    check (e.g. the prior method's normality tests) or :func:`baseline_note`."""
    return fitted._model_note(data, spec_level) or baseline_note(fitted)


def baseline_note(fitted: RegimeEstimator) -> str:
    """Why no interval of a baseline that ignores confounding can be trusted, or "": it is
    one for their regression."""
    if fitted.capabilities().causal:
        return ""
    return (
        f"{type(fitted).__name__} ignores confounding: the interval is for its regression, "
        "not for the causal effect"
    )


def is_mixed(fitted: Any, intervened: Any) -> bool:
    """Whether ``intervened`` leaves some of the fitted estimator's actions observed."""
    return bool(fitted._intervened_regime(intervened) != tuple(fitted.actions_))


def mixed_effect_note(fitted: RegimeEstimator, intervened: Any, regression_misfit: str = "") -> str:
    """Why no interval of this *mixed* effect can be trusted, or "" (always "" for the joint
    effect, which cancels the posterior means a mixed effect keeps and polynomial learners
    only approximate); ``regression_misfit`` is :func:`regression_misfit_note`'s verdict."""
    if not is_mixed(fitted, intervened):
        return ""
    return fitted._mixed_note(regression_misfit)


def regression_misfit_note(
    fitted: Any, data: RegimeData, spec_level: float = SPEC_LEVEL, n_bins: int = 10
) -> str:
    """Why no interval of a *mixed* effect of ``fitted``'s per-regime regressions can be
    trusted, or "" (also "" for estimators without such regressions).

    Each regime's residuals are tested along single actions (:func:`binned_residual_test`)
    and, for :class:`PolynomialRidgeCV` learners, in the monomials one degree beyond theirs
    (:func:`extension_residual_test`); Bonferroni over the two, rejecting at ``spec_level``.
    """
    regressions = fitted._regressions()
    binned, extended = [], []
    for regime, (X, y) in data.regimes.items():
        if regime not in regressions:
            continue
        residuals = y - predict_in_chunks(regressions[regime], X)
        binned.append(binned_residual_test(X, residuals, n_bins)[2])
        degree = polynomial_degree(regressions[regime])
        if degree is not None:
            extended.append(extension_residual_test(X, residuals, degree))
    pvalues = [bonferroni_pvalue(binned)] if binned else []
    summed = [test for test in extended if test is not None]
    if summed:  # the regimes are independent samples: their statistics add up
        statistic, dof = np.sum(summed, axis=0)
        pvalues.append(float(stats.chi2.sf(statistic, dof)))
    p = bonferroni_rejection(pvalues, spec_level)
    if p is None:
        return ""
    return (
        "the per-regime regressions' residuals vary across the actions' quantile bins or "
        f"with the monomials one degree beyond the learners' (test p = {p:.2g}); a mixed "
        "effect keeps their misfit, which the interval ignores (the joint effect does not)"
    )


def untrusted_notes(data: RegimeData, points: np.ndarray, min_rows: int) -> np.ndarray:
    """Per query point, why its interval is not trustworthy ("" if it is)."""
    notes = np.full(len(points), "", dtype=object)
    notes[:] = tiny_regime_note({r: data.rows(r) for r in data.regimes}, min_rows)
    outside = np.zeros(len(points), dtype=bool)
    for X, _ in data.regimes.values():
        outside |= np.any((points < X.min(axis=0)) | (points > X.max(axis=0)), axis=1)
    extra = "extrapolation (query outside a regime's training range)"
    notes[outside] = [f"{n}; {extra}" if n else extra for n in notes[outside]]
    return notes


def tiny_regime_note(rows: dict[Any, int], min_rows: int) -> str:
    """The note for regimes with fewer than ``min_rows`` rows ("" if there are none)."""
    small = {r: n for r, n in rows.items() if n < min_rows}
    if not small:
        return ""
    sizes = ", ".join(f"{'+'.join(r) or 'obs'}={n}" for r, n in small.items())
    return f"tiny regime ({sizes} rows < {min_rows})"


def join_notes(*notes: str) -> str:
    """The non-empty notes joined by "; " ("" if none)."""
    return "; ".join(note for note in notes if note)


def add_note(notes: np.ndarray, note: str) -> np.ndarray:
    """``note`` prepended to every entry of ``notes`` (unchanged if ``note`` is empty)."""
    if not note:
        return notes
    return np.array([f"{note}; {n}" if n else note for n in notes], dtype=object)


def flag_untrusted(
    table: pd.DataFrame,
    data: RegimeData,
    points: np.ndarray,
    min_rows: int,
    extra_note: str = "",
) -> pd.DataFrame:
    """Add ``trusted``/``note`` columns (:func:`untrusted_notes`, plus ``extra_note`` on every
    row) and warn if any interval is not trusted.
    """
    notes = add_note(untrusted_notes(data, points, min_rows), extra_note)
    table["trusted"] = notes == ""
    table["note"] = notes
    warn_untrusted(table, stacklevel=4)  # the caller of bootstrap/sandwich_intervals
    return table


def warn_untrusted(table: pd.DataFrame, stacklevel: int = 3) -> None:
    bad = int((~table["trusted"]).sum())
    if bad:
        first = table.loc[~table["trusted"], "note"].iloc[0]
        warnings.warn(
            f"{bad} of {len(table)} intervals are not trustworthy ({first}); see the "
            "'trusted' and 'note' columns",
            IntervalWarning,
            stacklevel=stacklevel,
        )
