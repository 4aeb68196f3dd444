"""Ridge regression and its cross-validation from Gram matrices of [1, Z, y].

The structure-aware estimator reduces its rows to one Gram matrix per fold; everything it
solves is computed from those sums, so fits from held rows, chunk streams and dask
partitions agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jointeffects.estimate.learners.basis import GatedDesign

#: CV errors within this relative distance of the smallest count as ties (so that rounding
#: in the sums cannot change the choice); ties go to the lowest degree, then the largest alpha.
TIE = 1e-9


def _moments(
    S: np.ndarray, keep: np.ndarray
) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray, np.ndarray]:
    """Count, means and centred co-moments of the kept columns from a Gram of [1, Z, y]."""
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep), [S.shape[0] - 1]])
    G = S[np.ix_(idx, idx)]
    n = G[0, 0]
    mean = G[0, 1:] / n
    C = G[1:, 1:] - n * np.outer(mean, mean)
    return n, mean[:-1], mean[-1], C[:-1, :-1], C[:-1, -1], C[-1, -1]


def _solve_path(
    S: np.ndarray, keep: np.ndarray, alphas: np.ndarray
) -> list[tuple[np.ndarray, float]]:
    """Ridge on standardised columns for every alpha from one eigendecomposition."""
    n, zbar, ybar, Czz, Czy, _ = _moments(S, keep)
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
        coefs.append((beta, float(ybar - zbar @ beta)))
    return coefs


def ridge(S: np.ndarray, keep: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the ridge fit at ``alpha`` on the kept columns."""
    return _solve_path(S, keep, np.array([alpha]))[0]


def _sse(S: np.ndarray, keep: np.ndarray, beta: np.ndarray, intercept: float) -> float:
    """Sum of squared residuals of (beta, intercept) on the rows summarised by S."""
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep), [S.shape[0] - 1]])
    w = np.concatenate([[-intercept], -beta, [1.0]])
    return float(w @ S[np.ix_(idx, idx)] @ w)


def select(
    stats: np.ndarray, design: GatedDesign, degrees: list[int], alphas: np.ndarray
) -> tuple[pd.DataFrame, int, float]:
    """CV error of every (degree, alpha) from per-fold Grams of shape (cv, p+2, p+2), and
    the chosen pair: the smallest error, ties (within :data:`TIE`) to the simplest model."""
    total = stats.sum(axis=0)
    records = []
    for degree in degrees:
        keep = design.degrees <= degree
        sse = np.zeros(len(alphas))
        for f in range(len(stats)):
            path = _solve_path(total - stats[f], keep, alphas)
            sse += [_sse(stats[f], keep, beta, c) for beta, c in path]
        for alpha, value in zip(alphas, sse, strict=True):
            records.append({"degree": degree, "alpha": float(alpha), "mse": value / total[0, 0]})
    table = pd.DataFrame(records)
    best = table["mse"].min()
    ties = table[table["mse"] <= best + TIE * abs(best)]
    chosen = ties.sort_values(["degree", "alpha"], ascending=[True, False]).iloc[0]
    return table, int(chosen["degree"]), float(chosen["alpha"])
