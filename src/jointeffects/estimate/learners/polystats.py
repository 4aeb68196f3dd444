"""Sufficient statistics of polynomial features, accumulated chunk by chunk.

A :class:`PolynomialStats` holds the row count, the means and the centred co-moment matrix
of ``[monomials(u), y]`` where ``u = (x - center) / scale`` is the raw input shifted and
scaled by a fixed *pilot* transform (the first chunk's means and standard deviations).
Expanding the transformed inputs keeps the monomials of order one, so the co-moments stay
well conditioned even when the raw inputs carry large offsets (``x * 1e3 + 1e6`` has a cube
near 1e18, whose raw sums of squares lose every digit). Chunks are merged as centred
co-moments with the pairwise update of Chan, Golub & LeVeque (1979), never as raw sums.

:func:`binomial_map` gives the exact linear map from the monomials of ``u`` to those of the
raw ``x`` (each raw monomial is a binomial expansion in the transformed ones), so a learner
can standardise and penalise the raw monomials exactly as scikit-learn's
``PolynomialFeatures → StandardScaler → Ridge`` does, without ever forming raw monomials.
Memory is O(p² + chunk · p) whatever the number of rows.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations_with_replacement

import numpy as np
from scipy import special

from jointeffects.errors import DataError


@lru_cache(maxsize=64)
def _cached_powers(n_features: int, degree: int) -> np.ndarray:
    powers = monomial_powers(n_features, degree)
    powers.setflags(write=False)
    return powers


@lru_cache(maxsize=64)
def _cached_parents(n_features: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    return _parents(_cached_powers(n_features, degree))


def monomial_powers(n_features: int, degree: int) -> np.ndarray:
    """Exponents of all monomials of total degree 1..degree, in ``PolynomialFeatures`` order.

    Returns
    -------
    ndarray of int of shape (n_monomials, n_features)
        Row j holds the power of each input in monomial j (the bias column is left out).
    """
    rows = []
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(n_features), d):
            rows.append(np.bincount(np.asarray(combo, dtype=int), minlength=n_features))
    return np.asarray(rows, dtype=int).reshape(-1, n_features)


def _parents(powers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each monomial of degree ≥ 2: a lower monomial and the variable that extends it."""
    index = {tuple(row): j for j, row in enumerate(powers)}
    parent = np.full(len(powers), -1)
    var = np.zeros(len(powers), dtype=int)
    for j, row in enumerate(powers):
        v = int(np.flatnonzero(row)[-1])  # the last variable, as combinations_with_replacement
        var[j] = v
        if row.sum() > 1:
            lower = row.copy()
            lower[v] -= 1
            parent[j] = index[tuple(lower)]
    return parent, var


def binomial_map(
    powers: np.ndarray, center: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The affine map from monomials of ``u = (x - center) / scale`` to monomials of ``x``.

    ``x^e = Π_j (c_j + s_j u_j)^{e_j} = t0_e + Σ_f T_{e f} u^f`` with
    ``T_{e f} = Π_j binom(e_j, f_j) c_j^{e_j - f_j} s_j^{f_j}`` for every nonzero ``f ≤ e``.

    Returns
    -------
    T : ndarray of shape (n_monomials, n_monomials)
        Lower triangular in degree order.
    t0 : ndarray of shape (n_monomials,)
        The constant term ``Π_j c_j^{e_j}``.
    """
    E, F = powers[:, None, :], powers[None, :, :]
    below = np.all(F <= E, axis=2) & np.any(F > 0, axis=2)
    gap = np.where(F <= E, E - F, 0)
    terms = special.comb(E, F) * center**gap * scale ** np.where(F <= E, F, 0)
    T = np.where(below, np.prod(terms, axis=2), 0.0)
    t0 = np.prod(center[None, :] ** powers, axis=1)
    return T, t0


def pilot_transform(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale taken from a pilot chunk: its column means and standard deviations.

    Any finite centre and positive scale give the same fitted model (the map back to the raw
    monomials is exact); values near the data's keep the monomials well conditioned.
    """
    center = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[~(scale > 0)] = 1.0  # a constant pilot column: only shift it
    return center, scale


def check_finite(X: np.ndarray, y: np.ndarray | None = None) -> None:
    """Raise a DataError if X (or y) holds NaN or infinite values."""
    for name, a in (("X", X), ("y", y)):
        if a is not None and not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise DataError(
                f"{name} holds NaN or infinite values (first at row {bad[0]} of its chunk); "
                "drop or impute those rows before fitting"
            )


class PolynomialStats:
    """Count, means and centred co-moments of ``[monomials(u), y]`` over the rows seen.

    Parameters
    ----------
    degree : int
        Largest total degree of the monomials.
    center, scale : ndarray of shape (n_features,)
        The fixed input transform ``u = (x - center) / scale``; statistics can only be merged
        with statistics of the same transform.

    Attributes
    ----------
    count : int
        Rows accumulated.
    mean : ndarray of shape (n_monomials + 1,)
        Means of the transformed monomials and (last) of y.
    comoment : ndarray of shape (n_monomials + 1, n_monomials + 1)
        Σ (z - mean)(z - mean)ᵀ over the rows, z = [monomials(u), y].

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 2)), rng.normal(size=100)
    >>> a = PolynomialStats.for_data(X[:50], degree=2)
    >>> b = a.empty_like()
    >>> _ = a.update(X[:50], y[:50]); _ = b.update(X[50:], y[50:])
    >>> a.merge(b).count
    100
    """

    def __init__(self, degree: int, center: np.ndarray, scale: np.ndarray) -> None:
        self.degree = int(degree)
        self.center = np.asarray(center, dtype=float)
        self.scale = np.asarray(scale, dtype=float)
        self.powers = _cached_powers(len(self.center), self.degree)
        self._parent, self._var = _cached_parents(len(self.center), self.degree)
        q = len(self.powers) + 1
        self.count = 0
        self.mean = np.zeros(q)
        self.comoment = np.zeros((q, q))

    @classmethod
    def for_data(cls, X: np.ndarray, degree: int) -> PolynomialStats:
        """Empty statistics whose input transform is the pilot transform of ``X``."""
        X = np.asarray(X, dtype=float)
        check_finite(X)
        return cls(degree, *pilot_transform(X))

    def empty_like(self) -> PolynomialStats:
        """Empty statistics with the same degree and input transform."""
        return PolynomialStats(self.degree, self.center, self.scale)

    def copy(self) -> PolynomialStats:
        out = self.empty_like()
        out.count, out.mean, out.comoment = self.count, self.mean.copy(), self.comoment.copy()
        return out

    @property
    def n_features(self) -> int:
        return len(self.center)

    def expand(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Monomials of the transformed ``X``: shape (n_rows, n_monomials), or written into
        the first columns of ``out`` (Fortran order keeps each column write contiguous)."""
        X = np.asarray(X, dtype=float)
        p = len(self.powers)
        if out is None:
            out = np.empty((len(X), p), order="F")
        d = self.n_features
        np.subtract(X, self.center, out=out[:, :d])
        out[:, :d] /= self.scale
        for j in range(d, p):  # each monomial = a lower one times one variable
            np.multiply(out[:, self._parent[j]], out[:, self._var[j]], out=out[:, j])
        return out

    def update(
        self, X: np.ndarray, y: np.ndarray, buffer: np.ndarray | None = None
    ) -> PolynomialStats:
        """Add rows. ``buffer`` (n_rows × (n_monomials + 1), Fortran order) is reused scratch.

        Returns self.
        """
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).ravel()
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise DataError(
                f"X has shape {X.shape}; expected (n_rows, {self.n_features}) like earlier rows"
            )
        if len(y) != len(X):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}; pass one y per row")
        if len(X) == 0:
            return self
        check_finite(X, y)
        q = len(self.powers) + 1
        A = np.empty((len(X), q), order="F") if buffer is None else buffer[: len(X), :q]
        self.expand(X, out=A)
        A[:, -1] = y
        mean = A.T @ np.full(len(A), 1.0 / len(A))  # BLAS gemv: faster than A.mean(0)
        A -= mean
        return self._merge_moments(len(X), mean, A.T @ A)

    def merge(self, other: PolynomialStats) -> PolynomialStats:
        """Add another accumulator's rows (same degree and transform). Returns self."""
        if (
            other.degree != self.degree
            or not np.array_equal(other.center, self.center)
            or not np.array_equal(other.scale, self.scale)
        ):
            raise DataError(
                "cannot merge polynomial statistics with a different degree or input "
                "transform; create them with empty_like() from one accumulator"
            )
        return self._merge_moments(other.count, other.mean, other.comoment)

    def _merge_moments(self, n: int, mean: np.ndarray, comoment: np.ndarray) -> PolynomialStats:
        if n == 0:
            return self
        total = self.count + n
        delta = mean - self.mean
        # Chan, Golub & LeVeque's pairwise update of centred co-moments
        self.comoment = self.comoment + comoment + np.outer(delta, delta) * (self.count * n / total)
        self.mean = self.mean + delta * (n / total)
        self.count = total
        return self


def merge_all(stats: list[PolynomialStats]) -> PolynomialStats:
    """A new accumulator holding the rows of all given ones."""
    out = stats[0].empty_like()
    for s in stats:
        out.merge(s)
    return out


def kfold_bounds(n_samples: int, n_folds: int) -> np.ndarray:
    """Row boundaries of scikit-learn's ``KFold(n_folds)`` (no shuffle): shape (n_folds + 1,).

    The first ``n_samples % n_folds`` folds hold one row more than the others.
    """
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


class FoldedStats:
    """One :class:`PolynomialStats` per cross-validation fold, filled from a stream of rows.

    Rows are assigned to folds by their global position: with ``n_samples`` known, fold f is
    the contiguous block of scikit-learn's ``KFold(n_folds)``; without it, row i goes to fold
    ``i % n_folds``. Long chunks are processed in pieces of ``chunk_size`` rows through one
    reused buffer, so memory is O(p² + chunk_size · p).

    Parameters
    ----------
    template : PolynomialStats
        Fixes the degree and the input transform (its rows are not used).
    n_folds : int
        Number of folds.
    n_samples : int, optional
        Total rows of the stream, for contiguous folds.
    row_offset : int, default=0
        Global position of the first row this accumulator will see (a partition's offset).
    chunk_size : int, default=16384
        Rows expanded at a time.
    """

    def __init__(
        self,
        template: PolynomialStats,
        n_folds: int,
        n_samples: int | None = None,
        row_offset: int = 0,
        chunk_size: int = 16384,
    ) -> None:
        self.folds = [template.empty_like() for _ in range(n_folds)]
        self.n_samples = n_samples
        self.start = int(row_offset)
        self.position = int(row_offset)
        self.chunk_size = int(chunk_size)
        self._buffer: np.ndarray | None = None

    def __getstate__(self) -> dict[str, object]:  # ship statistics, not scratch space
        return {**self.__dict__, "_buffer": None}

    @property
    def count(self) -> int:
        return sum(f.count for f in self.folds)

    def empty_like(self, n_samples: int | None = None, row_offset: int = 0) -> FoldedStats:
        """Empty fold statistics with the same transform and folds count."""
        return FoldedStats(self.folds[0], len(self.folds), n_samples, row_offset, self.chunk_size)

    def update(self, X: np.ndarray, y: np.ndarray) -> FoldedStats:
        """Add the next rows of the stream (they follow the rows seen so far). Returns self."""
        m, k = len(X), len(self.folds)
        start = self.position
        if self.n_samples is None:
            for f in range(k):
                first = (f - start) % k
                self._add(f, X[first::k], y[first::k])
        else:
            if start + m > self.n_samples:
                raise DataError(
                    f"the stream holds more than n_samples={self.n_samples} rows; pass the "
                    "true total (or n_samples=None for folds by row index modulo cv)"
                )
            bounds = kfold_bounds(self.n_samples, k)
            for f in range(k):
                lo, hi = max(bounds[f], start), min(bounds[f + 1], start + m)
                if lo < hi:
                    self._add(f, X[lo - start : hi - start], y[lo - start : hi - start])
        self.position += m
        return self

    def _add(self, fold: int, X: np.ndarray, y: np.ndarray) -> None:
        q = len(self.folds[0].powers) + 1
        size = min(self.chunk_size, len(X))
        if self._buffer is None or self._buffer.shape[0] < size:
            self._buffer = np.empty((size, q), order="F")
        for a in range(0, len(X), self.chunk_size):
            b = a + self.chunk_size
            self.folds[fold].update(X[a:b], y[a:b], buffer=self._buffer)

    def merge(self, other: FoldedStats) -> FoldedStats:
        """Add another accumulator's rows fold by fold. Returns self."""
        if len(other.folds) != len(self.folds):
            raise DataError(
                f"cannot merge statistics of {len(other.folds)} folds into {len(self.folds)}"
            )
        for mine, theirs in zip(self.folds, other.folds, strict=True):
            mine.merge(theirs)
        return self

    def append(self, other: FoldedStats) -> FoldedStats:
        """Add the rows that follow this accumulator's, reduced elsewhere. Returns self.

        ``other`` must start where these rows end (made by
        ``empty_like(n_samples, row_offset=self.position)``, e.g. the merged statistics of a
        dask frame's partitions); the stream then continues after its rows.
        """
        if other.start != self.position:
            raise DataError(
                f"cannot append statistics of rows from position {other.start}: this stream "
                f"is at row {self.position}"
            )
        self.merge(other)
        self.position += other.count
        return self

    def training(self, fold: int) -> PolynomialStats:
        """Statistics of every fold but ``fold`` (the training rows of that CV split)."""
        return merge_all([s for f, s in enumerate(self.folds) if f != fold])

    def total(self) -> PolynomialStats:
        """Statistics of all rows."""
        return merge_all(self.folds)
