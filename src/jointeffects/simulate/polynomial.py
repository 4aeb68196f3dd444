"""Sparse multivariate polynomials evaluated on whole arrays.

A polynomial is a coefficient vector and an exponent matrix over named variables. Evaluation
takes one array per variable (any broadcastable shapes) and loops over terms, never rows.
Taking the expectation over independent variables replaces each of their powers by the
matching raw moment, which is how the simulator's truth stays exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Polynomial:
    """Σ_t coefs[t] · Π_v variables[v] ** exponents[t, v].

    Parameters
    ----------
    variables : tuple of str
        Variable names, one per column of ``exponents``.
    exponents : ndarray of int of shape (n_terms, n_variables)
        Non-negative powers.
    coefs : ndarray of float of shape (n_terms,)
        Term coefficients.
    """

    variables: tuple[str, ...]
    exponents: NDArray[np.int64]
    coefs: NDArray[np.float64]

    @classmethod
    def from_terms(cls, terms: Iterable[tuple[float, Mapping[str, int]]]) -> Polynomial:
        """Build from ``(coef, {variable: power})`` pairs; variables keep first-seen order."""
        terms = list(terms)
        names: dict[str, int] = {}
        for _, powers in terms:
            for v in powers:
                names.setdefault(v, len(names))
        exps = np.zeros((len(terms), len(names)), dtype=np.int64)
        for t, (_, powers) in enumerate(terms):
            for v, p in powers.items():
                exps[t, names[v]] += int(p)
        coefs = np.array([float(c) for c, _ in terms], dtype=float)
        return cls(tuple(names), exps, coefs)

    def degree_in(self, variable: str) -> int:
        """Highest power of ``variable`` in any term (0 if absent)."""
        if variable not in self.variables or len(self.coefs) == 0:
            return 0
        return int(self.exponents[:, self.variables.index(variable)].max())

    def max_powers(self) -> dict[str, int]:
        """The highest power of each variable."""
        return {v: self.degree_in(v) for v in self.variables}

    def __call__(self, values: Mapping[str, ArrayLike]) -> NDArray[np.float64]:
        """Evaluate on arrays; ``values`` maps every variable to an array (broadcast together).

        A polynomial without terms evaluates to 0; one without variables to its constant.
        """
        arrays = [np.asarray(values[v], dtype=float) for v in self.variables]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        # Powers of each variable, computed once: pows[i][p] = x_i ** p.
        pows: list[list[NDArray[np.float64]]] = []
        for i, x in enumerate(arrays):
            top = int(self.exponents[:, i].max()) if len(self.coefs) else 0
            cur = [x, x]  # index 0 is never read: zero powers are skipped below
            for _ in range(top - 1):
                cur.append(cur[-1] * x)
            pows.append(cur)
        out = np.zeros(shape)
        for t, c in enumerate(self.coefs):
            if c == 0.0:
                continue
            used = [(i, p) for i, p in enumerate(self.exponents[t]) if p]
            if not used:
                out += c
                continue
            term = c * pows[used[0][0]][used[0][1]]
            for i, p in used[1:]:
                term = term * pows[i][p]  # not in place: the shape may still broadcast up
            out += term
        return out

    def expect(self, moments: Mapping[str, NDArray[np.float64]]) -> Polynomial:
        """Integrate out independent variables given their raw moments.

        Parameters
        ----------
        moments : mapping of str to ndarray
            ``moments[v][p] = E[v ** p]`` for p up to the degree of ``v``; variables not in
            the mapping are kept.

        Returns
        -------
        Polynomial
            The polynomial in the remaining variables, with like terms combined.
        """
        keep = [i for i, v in enumerate(self.variables) if v not in moments]
        coefs = self.coefs.copy()
        for i, v in enumerate(self.variables):
            if v in moments:
                coefs = coefs * np.asarray(moments[v])[self.exponents[:, i]]
        exps, where = np.unique(self.exponents[:, keep], axis=0, return_inverse=True)
        combined = np.zeros(len(exps))
        np.add.at(combined, where.ravel(), coefs)
        return Polynomial(tuple(self.variables[i] for i in keep), exps, combined)

    def split_powers(self, variable: str) -> tuple[Polynomial, ...]:
        """Write the polynomial as ``Σ_i p_i · variable**i`` with every ``p_i`` free of it.

        Returns
        -------
        tuple of Polynomial
            ``(p_0, ..., p_d)`` for d the degree in ``variable`` (at least 1, so a polynomial
            free of ``variable`` gives ``(self, 0)``).
        """
        if variable not in self.variables:
            empty = Polynomial((), np.zeros((0, 0), dtype=np.int64), np.zeros(0))
            return self, empty
        i = self.variables.index(variable)
        rest = [j for j in range(len(self.variables)) if j != i]
        names = tuple(self.variables[j] for j in rest)
        powers = range(max(self.degree_in(variable), 1) + 1)
        return tuple(
            Polynomial(names, self.exponents[at][:, rest], self.coefs[at])
            for at in (self.exponents[:, i] == p for p in powers)
        )
