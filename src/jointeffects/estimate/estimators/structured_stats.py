"""Row sums of the structure-aware fit, read from held rows, chunk streams and dask frames.

Everything :class:`~jointeffects.StructuredEstimator` learns from its rows is a sum over
them: the observational moments that standardise the actions, the counts and co-moments of
the binned structure test (:mod:`.binned`) and one Gram matrix of [1, Z, y] per CV fold. A
:class:`~jointeffects.estimate.regimes.passes.SourceReader` reads one regime in passes,
reducing chunks as they arrive and dask partitions where they live, so only statistics travel.

A row's CV fold depends only on the seed, its regime and its position in the regime
(:func:`fold_labels`), never on how the rows are cut into chunks or partitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from jointeffects.errors import DataError
from jointeffects.estimate.learners.basis import GatedDesign
from jointeffects.estimate.regimes import Regime, regime_label, row_chunks
from jointeffects.estimate.regimes.passes import SourceReader

#: Rows per block of the fold assignment: each block's folds are one random permutation.
FOLD_BLOCK = 4096


def fold_entropy(random_state: int | None) -> int:
    """The root entropy of a fit's folds: ``random_state``, or fresh entropy if None."""
    entropy = np.random.SeedSequence(random_state).entropy
    assert isinstance(entropy, int)
    return entropy


def regime_key(regime: Regime, actions: tuple[str, ...]) -> int:
    """An integer naming ``regime`` among subsets of ``actions`` (its bit mask)."""
    return sum(1 << actions.index(a) for a in regime)


@lru_cache(maxsize=64)
def _block_folds(entropy: int, key: int, block: int, cv: int) -> np.ndarray:
    seed = np.random.SeedSequence(entropy, spawn_key=(key, block))
    folds = np.random.default_rng(seed).permutation(np.arange(FOLD_BLOCK) % cv)
    folds.setflags(write=False)
    return folds


def fold_labels(entropy: int, key: int, start: int, stop: int, cv: int) -> np.ndarray:
    """CV folds of rows ``start..stop-1`` of the regime named ``key``.

    Block b of :data:`FOLD_BLOCK` rows takes the folds of a permutation of
    ``arange(FOLD_BLOCK) % cv`` drawn from ``SeedSequence(entropy, spawn_key=(key, b))``;
    a regime's last, partial block takes its first rows.

    Returns
    -------
    ndarray of int of shape (stop - start,)
    """
    out = np.empty(stop - start, dtype=np.intp)
    for block in range(start // FOLD_BLOCK, -(-stop // FOLD_BLOCK)):
        lo, hi = max(start, block * FOLD_BLOCK), min(stop, (block + 1) * FOLD_BLOCK)
        base = block * FOLD_BLOCK
        out[lo - start : hi - start] = _block_folds(entropy, key, block, cv)[lo - base : hi - base]
    return out


@dataclass
class Comoments:
    """Count, column means and centred co-moment matrix of rows, mergeable.

    Chunks merge by the pairwise update of Chan, Golub & LeVeque (1979), never as raw sums.
    """

    count: int
    mean: np.ndarray
    comoment: np.ndarray

    @classmethod
    def of(cls, A: np.ndarray) -> Comoments:
        """The moments of the rows of ``A`` (shape (n_rows, n_columns))."""
        if len(A) == 0:
            return cls(0, np.zeros(A.shape[1]), np.zeros((A.shape[1], A.shape[1])))
        mean = A.mean(axis=0)
        centred = A - mean
        return cls(len(A), mean, centred.T @ centred)

    def merge(self, other: Comoments) -> Comoments:
        """The moments of both sets of rows (a new object)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        total = self.count + other.count
        delta = other.mean - self.mean
        comoment = self.comoment + other.comoment
        comoment = comoment + np.outer(delta, delta) * (self.count * other.count / total)
        return Comoments(total, self.mean + delta * (other.count / total), comoment)

    def std(self) -> np.ndarray:
        """Population standard deviation of each column (as ``numpy.std``)."""
        return np.sqrt(np.clip(np.diag(self.comoment), 0, None) / max(self.count, 1))


def action_moments(X: np.ndarray, y: np.ndarray, start: int) -> Comoments:
    """Task of a pass: the moments of a chunk's actions."""
    return Comoments.of(X)


def gates(units: tuple[Regime, ...], regime: Regime) -> np.ndarray:
    """R_u of each unit in the rows of ``regime``: 1 where the whole unit is intervened."""
    return np.array([float(set(unit) <= set(regime)) for unit in units])


@dataclass(frozen=True)
class FoldGram:
    """Task of a pass: per fold, the Gram matrix of [1, Z, y] of a chunk of one regime.

    Calling it on ``(X, y, start)``, the chunk's rows and the regime position of its first
    row, returns an array of shape (cv, p+2, p+2).
    """

    design: GatedDesign
    x_mean: np.ndarray
    x_scale: np.ndarray
    gates: np.ndarray
    cv: int
    entropy: int
    key: int

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> np.ndarray:
        p = self.design.n_columns
        stats = np.zeros((self.cv, p + 2, p + 2))
        folds = fold_labels(self.entropy, self.key, start, start + len(y), self.cv)
        # In one regime each design column is one of few distinct monomials, or zero, so
        # these are formed once. The Gram is still taken of the whole [1, Z, y] of each
        # fold's rows of each row chunk: BLAS sums depend on the matrix's shape, and the
        # same call on the same rows keeps the fit the same to the bit.
        live = self.design.live(self.gates)
        for part in row_chunks(len(y)):
            for f in range(self.cv):
                rows = part.start + np.flatnonzero(folds[part] == f)
                Wt = np.empty((p + 2, len(rows)))  # [1, Z, y] transposed
                Wt[0], Wt[-1] = 1.0, y[rows]
                live.fill((X[rows] - self.x_mean) / self.x_scale, Wt[1:-1])
                stats[f] += Wt @ Wt.T
        return stats


def check_two_passes(readers: dict[Regime, SourceReader], learned: bool) -> None:
    """Refuse one-shot chunk iterators where the fit reads a regime twice: the observational
    one always (its moments first), every regime when the structure is learned."""
    twice = [r for r in readers if learned or r == ()]
    once = [regime_label(r) for r in twice if not readers[r].source.rereadable]
    if once:
        why = "learning the ancestor sets" if learned else "standardising by its moments"
        raise DataError(
            f"StructuredEstimator reads the data of {', '.join(once)} twice ({why} first), but "
            "it is a one-shot iterator of chunks; pass a list of DataFrames, "
            "RegimeChunks(callable) with a callable that returns a fresh iterator of the "
            "chunks on every call, or a dask DataFrame"
        )


def gated_design(
    actions: Sequence[str],
    units: Sequence[Sequence[str]],
    ancestors: Mapping[str, Sequence[str]],
    identified: Sequence[bool],
    degree: int,
) -> GatedDesign:
    """The design of units (blocks or actions) with their ancestors, by column index."""
    index = {a: j for j, a in enumerate(actions)}
    columns = tuple(tuple(index[a] for a in unit) for unit in units)
    outside = tuple(
        tuple(sorted({index[x] for a in unit for x in ancestors[a]} - set(columns[u])))
        for u, unit in enumerate(units)
    )
    return GatedDesign(columns, outside, tuple(identified), degree)
