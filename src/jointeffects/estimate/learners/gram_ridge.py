"""Ridge regression from Gram statistics: the structure-aware estimator's solver.

The fit's data enter only through per-fold Gram matrices of [1, Z, y] (sums over rows), so
the same code serves in-memory, streamed and distributed rows. Columns are standardised
from the Gram matrix and the penalty is ``alpha · n`` on the standardised coefficients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jointeffects.estimate.learners.basis import GatedDesign

#: CV errors within this relative distance of the smallest count as ties, so that rounding
#: in the sums (rows cut into other chunks or partitions) cannot change the choice.
TIE = 1e-9


def moments(
    S: np.ndarray, keep: np.ndarray
) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """Count, means and centred co-moments of the kept columns from a Gram of [1, Z, y]."""
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep), [S.shape[0] - 1]])
    G = S[np.ix_(idx, idx)]
    n = G[0, 0]
    mean = G[0, 1:] / n
    C = G[1:, 1:] - n * np.outer(mean, mean)
    return n, mean[:-1], mean[-1], C[:-1, :-1], C[:-1, -1], C[-1, -1]


def solve_path(S: np.ndarray, keep: np.ndarray, alphas: np.ndarray):
    """Ridge on standardised columns for every alpha from one eigendecomposition."""
    n, zbar, ybar, Czz, Czy, _ = moments(S, keep)
    scale = np.sqrt(np.clip(np.diag(Czz), 0, None))
    live = scale > 1e-12 * max(1.0, scale.max())
    scale[~live] = 1.0
    Gs = Czz / np.outer(scale, scale)
    bs = Czy / scale
    Gs, bs = Gs[np.ix_(live, live)], bs[live]
    evals, evecs = np.linalg.eigh(Gs)
    proj = evecs.T @ bs
    coefs = []
    for alpha in alphas:
        beta = np.zeros(len(scale))
        beta[live] = evecs @ (proj / (np.clip(evals, 0, None) + alpha * n))
        beta /= scale
        coefs.append((beta, ybar - zbar @ beta))
    return coefs


def ridge(S: np.ndarray, keep: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the ridge on the kept columns at penalty ``alpha``."""
    return solve_path(S, keep, np.array([alpha]))[0]


def sse(S: np.ndarray, keep: np.ndarray, beta: np.ndarray, intercept: float) -> float:
    """Sum of squared residuals of (beta, intercept) on the rows summarised by S."""
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep), [S.shape[0] - 1]])
    w = np.concatenate([[-intercept], -beta, [1.0]])
    return float(w @ S[np.ix_(idx, idx)] @ w)


def select(
    stats: np.ndarray,
    design: GatedDesign,
    pairs: list[tuple[int, int]],
    alphas: np.ndarray,
) -> tuple[pd.DataFrame, int, int, float]:
    """Cross-validate the (φ degree, ψ degree) ``pairs`` and ``alphas`` on fold statistics.

    Parameters
    ----------
    stats : ndarray of shape (n_folds, p + 2, p + 2)
        Per fold, the Gram matrix of [1, Z, y] over the fold's rows.
    design : GatedDesign
        The design whose columns Z are.
    pairs : list of (int, int)
        Candidate (φ degree, ψ degree).
    alphas : ndarray
        Candidate penalties per row.

    Returns
    -------
    table : DataFrame
        Held-out mean squared error per ``degree`` (φ), ``psi_degree`` and ``alpha``.
    degree, psi_degree, alpha
        The best candidate; ties (within :data:`TIE`) go to the lowest degree, then the
        lowest ψ degree, then the largest alpha.
    """
    total = stats.sum(axis=0)
    records = []
    for degree, psi_degree in pairs:
        keep = design.keep(degree, psi_degree)
        errors = np.zeros(len(alphas))
        for f in range(len(stats)):
            path = solve_path(total - stats[f], keep, alphas)
            errors += [sse(stats[f], keep, beta, c) for beta, c in path]
        for alpha, value in zip(alphas, errors, strict=True):
            records.append(
                {
                    "degree": degree,
                    "psi_degree": psi_degree,
                    "alpha": float(alpha),
                    "mse": value / total[0, 0],
                }
            )
    table = pd.DataFrame(records)
    least = table["mse"].min()
    ties = table[table["mse"] <= least + TIE * abs(least)]
    order = ["degree", "psi_degree", "alpha"]
    best = ties.sort_values(order, ascending=[True, True, False]).iloc[0]
    return table, int(best["degree"]), int(best["psi_degree"]), float(best["alpha"])
