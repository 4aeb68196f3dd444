"""Residual tests of a fitted learner: robust score statistics along the actions' bins and
in the monomials beyond the learner's degree, and Bonferroni's combination of tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, NamedTuple

import numpy as np
from scipy import stats

from jointeffects.estimate.learners.basis import monomial_columns, monomial_exponents
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.regimes import row_chunks

#: Rows per degree of freedom below which :func:`extension_residual_test` is not run: enough
#: rows per monomial for its robust score statistic's χ² approximation, which over-rejects
#: with fewer (heavy-tailed monomials need the most; an over-rejection only adds flags).
EXTENSION_ROWS_PER_COLUMN: Final = 100

#: Array cells (rows × columns) the extension test holds at once; larger regimes enter it
#: through evenly spaced rows, which keeps it valid and, at that size, powerful.
EXTENSION_CELLS: Final = 10_000_000


def bonferroni_pvalue(pvalues: Sequence[float]) -> float:
    """The Bonferroni p-value of several tests (at least one): min(1, m·min p)."""
    return min(1.0, len(pvalues) * min(pvalues))


def bonferroni_rejection(pvalues: Sequence[float], level: float) -> float | None:
    """:func:`bonferroni_pvalue` if it is below ``level``, else (or with no tests) None."""
    if not len(pvalues):
        return None
    p = bonferroni_pvalue(pvalues)
    return p if p < level else None


def polynomial_degree(learner: Any) -> int | None:
    """The degree of a fitted :class:`PolynomialRidgeCV` learner, else None."""
    return int(learner.degree) if isinstance(learner, PolynomialRidgeCV) else None


def extension_residual_test(
    X: np.ndarray, residuals: np.ndarray, degree: int
) -> tuple[float, int] | None:
    """Robust score test that the residuals of a polynomial fit of total degree ``degree`` are
    uncorrelated with the monomials of degree ``degree + 1`` of the standardised actions (with
    the lower ones partialled out): (statistic, degrees of freedom), ≈ χ² under E[e | x] = 0;
    None with fewer than ``EXTENSION_ROWS_PER_COLUMN`` rows per monomial. Regimes above
    ``EXTENSION_CELLS`` array cells enter through evenly spaced rows."""
    exponents = monomial_exponents(tuple(range(X.shape[1])), degree + 1)
    lower = [{}, *(e for e in exponents if sum(e.values()) <= degree)]
    top = [e for e in exponents if sum(e.values()) == degree + 1]
    step = max(1, -(-len(X) * (len(lower) + len(top)) // EXTENSION_CELLS))  # ceil
    X, residuals = X[::step], residuals[::step]
    if len(X) < EXTENSION_ROWS_PER_COLUMN * len(top):
        return None
    scale = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    fitted, extra = monomial_columns(Z, lower), monomial_columns(Z, top)
    extra -= fitted @ np.linalg.lstsq(fitted, extra, rcond=None)[0]
    statistic = robust_score_statistic(iter([extra * residuals[:, None]]))
    return statistic, int(np.linalg.matrix_rank(extra))


def predict_in_chunks(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` a chunk of rows at a time."""
    return np.concatenate([model.predict(X[part]) for part in row_chunks(len(X))])


def binned_residual_test(
    X: np.ndarray, residuals: np.ndarray, n_bins: int = 10
) -> tuple[float, int, float]:
    """Robust score test that the residuals' mean is the same in every quantile bin of every
    action: (statistic, degrees of freedom, p-value). Bins see misfit of any shape along an
    action (kinks, plateaus), which richer polynomials miss."""
    cuts = np.linspace(0, 1, n_bins + 1)[1:-1]
    # Edges from at most ~10^5 evenly spaced rows: any edges fixed by X alone keep the test
    # valid, and exact quantiles of very large regimes would cost more than the test itself.
    every = X[:: max(1, len(X) // 100_000)]
    bins = [
        np.searchsorted(np.quantile(e, cuts), x, side="right")
        for e, x in zip(every.T, X.T, strict=True)
    ]
    # Indicators of every occupied bin of an action but its first (none for a constant one).
    occupied = [np.unique(b)[1:] for b in bins]
    shares = np.concatenate(
        [(b[:, None] == o).mean(axis=0) for b, o in zip(bins, occupied, strict=True)]
    )
    if not len(shares):
        return 0.0, 0, 1.0

    def indicators(part: slice) -> np.ndarray:
        columns = [b[part, None] == o for b, o in zip(bins, occupied, strict=True)]
        return np.hstack(columns) - shares

    chunks = row_chunks(len(residuals))
    stat = robust_score_statistic(indicators(part) * residuals[part, None] for part in chunks)
    return stat, len(shares), float(stats.chi2.sf(stat, len(shares)))


def robust_score_statistic(scores: Iterator[np.ndarray]) -> float:
    """SᵀV⁺S for the rows s_i of the chunks ``scores`` (each of shape (rows, d)): S = Σ_i s_i,
    V = Σ_i (s_i − S/n)(s_i − S/n)ᵀ (heteroskedasticity-robust)."""
    sums = None
    for s in scores:
        part = ScoreSums(s.sum(axis=0), s.T @ s, len(s))
        sums = part if sums is None else sums.merge(part)
    assert sums is not None, "no scores"
    return score_statistic(*sums)


class ScoreSums(NamedTuple):
    """Σ_i s_i, Σ_i s_i s_iᵀ and n of score rows, mergeable across chunks."""

    total: np.ndarray
    outer: np.ndarray
    rows: int

    def merge(self, other: ScoreSums) -> ScoreSums:
        return ScoreSums(self.total + other.total, self.outer + other.outer, self.rows + other.rows)


def score_statistic(total: np.ndarray, outer: np.ndarray, rows: int) -> float:
    """SᵀV⁺S of :func:`robust_score_statistic` from the score sums."""
    V = outer - np.outer(total, total) / rows
    return float(total @ np.linalg.pinv(V) @ total)
