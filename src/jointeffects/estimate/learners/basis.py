"""The regime-gated polynomial design of the structure-aware estimator.

Each *unit* (an experiment's block of actions, or an action no experiment touches) has

- an interventional part φ_u(a_u): an indicator and the monomials of the unit's own
  actions, active in rows where the unit is intervened (R_u = 1), and
- an observational part ψ_u(a_u, a_anc(u)): the monomials of the unit's actions and their
  ancestors, active where it is not (R_u = 0).

Columns are whole-array products of precomputed powers; nothing loops over rows. Within one
regime every indicator is a constant, so each column is a monomial or zero and many columns
are the same monomial: :class:`LiveDesign` computes each distinct one once.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np


def monomial_exponents(variables: tuple[int, ...], degree: int) -> list[dict[int, int]]:
    """All monomials of total degree 1..degree in the given variables, as {variable: power}."""
    out = []
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(variables, d):
            powers: dict[int, int] = {}
            for v in combo:
                powers[v] = powers.get(v, 0) + 1
            out.append(powers)
    return out


def monomial_columns(X: np.ndarray, exponents: list[dict[int, int]]) -> np.ndarray:
    """Columns of X's monomials given as {column: power} ({} is the constant): (n, len)."""
    out = np.ones((len(X), len(exponents)))
    for j, powers in enumerate(exponents):
        for v, p in powers.items():
            out[:, j] *= X[:, v] ** p
    return out


def polynomial_columns(X: np.ndarray, variables: tuple[int, ...], degree: int) -> np.ndarray:
    """Columns of X's monomials of degree 1..degree in ``variables``: shape (n, n_monomials)."""
    return monomial_columns(X, monomial_exponents(variables, degree))


@dataclass(frozen=True)
class Column:
    unit: int
    interventional: bool  # φ part (R_u = 1) or ψ part (R_u = 0)
    powers: tuple[tuple[int, int], ...]  # ((variable, power), ...); empty = the indicator

    @property
    def degree(self) -> int:
        return sum(p for _, p in self.powers)


class GatedDesign:
    """Builds design matrices for given unit-intervention indicators.

    Parameters
    ----------
    units : tuple of tuple of int
        Action indices of each unit.
    ancestors : tuple of tuple of int
        Ancestor action indices of each unit (outside the unit).
    identified : tuple of bool
        Whether the unit has an experiment (only then does it get a φ part).
    degree : int
        Largest total degree of the monomials.
    """

    def __init__(
        self,
        units: tuple[tuple[int, ...], ...],
        ancestors: tuple[tuple[int, ...], ...],
        identified: tuple[bool, ...],
        degree: int,
    ) -> None:
        self.degree = degree
        columns: list[Column] = []
        for u, (unit, anc, has_phi) in enumerate(zip(units, ancestors, identified, strict=True)):
            if has_phi:
                columns.append(Column(u, True, ()))
                for p in monomial_exponents(unit, degree):
                    columns.append(Column(u, True, tuple(sorted(p.items()))))
            for p in monomial_exponents(tuple(sorted((*unit, *anc))), degree):
                columns.append(Column(u, False, tuple(sorted(p.items()))))
        self.columns = tuple(columns)
        self.degrees = np.array([c.degree for c in columns])
        self.interventional = np.array([c.interventional for c in columns], dtype=bool)

    def keep(self, phi_degree: int, psi_degree: int) -> np.ndarray:
        """Mask of the columns of a model with φ parts up to ``phi_degree`` and ψ parts up
        to ``psi_degree``."""
        return np.where(self.interventional, self.degrees <= phi_degree, self.degrees <= psi_degree)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def live(self, gates: np.ndarray, keep: np.ndarray | None = None) -> LiveDesign:
        """The (kept) columns in rows whose unit indicators are the constants ``gates``."""
        monomials: dict[tuple[tuple[int, int], ...], int] = {(): 0}
        index = []
        for j, col in enumerate(self.columns):
            if keep is not None and not keep[j]:
                continue
            on = gates[col.unit] if col.interventional else 1.0 - gates[col.unit]
            index.append(monomials.setdefault(col.powers, len(monomials)) if on else -1)
        return LiveDesign(tuple(monomials), np.array(index, dtype=np.intp))

    def matrix(self, X: np.ndarray, R: np.ndarray) -> np.ndarray:
        """Design of shape (n, n_columns) for actions X (n, K) and indicators R (n, n_units):
        any indicators, column by column (the reference :class:`LiveDesign` agrees with)."""
        powers = [np.ones_like(X)]
        for _ in range(self.degree):
            powers.append(powers[-1] * X)
        Z = np.empty((len(X), self.n_columns))
        for j, col in enumerate(self.columns):
            value = np.ones(len(X))
            for var, p in col.powers:
                value = value * powers[p][:, var]
            gate = R[:, col.unit] if col.interventional else 1.0 - R[:, col.unit]
            Z[:, j] = value * gate
        return Z


@dataclass(frozen=True)
class LiveDesign:
    """Design columns where the gates are constants: distinct monomials and where they go.

    ``monomials[0]`` is ``()``, the constant 1 (an intervened unit's indicator); column j of
    the design is monomial ``index[j]``, or zero where ``index[j]`` is -1.
    """

    monomials: tuple[tuple[tuple[int, int], ...], ...]
    index: np.ndarray

    def fill(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The design at X (n, K), transposed, written into ``out`` of shape (len(index), n).

        Each monomial is formed once, as :meth:`GatedDesign.matrix` forms it (powers by
        repeated multiplication, factors in variable order), so the values agree to the bit.
        """
        top: dict[int, int] = {}
        for powers in self.monomials:
            for v, p in powers:
                top[v] = max(top.get(v, 0), p)
        power: dict[tuple[int, int], np.ndarray] = {}
        for v, most in top.items():
            power[v, 1] = np.ascontiguousarray(X[:, v])
            for p in range(2, most + 1):
                power[v, p] = power[v, p - 1] * power[v, 1]
        first: dict[int, int] = {}
        for j, m in enumerate(self.index):
            if m < 0:
                out[j] = 0.0
            elif m in first:
                out[j] = out[first[m]]
            else:
                first[m] = j
                factors = self.monomials[m]
                if len(factors) < 2:  # the indicator's 1, or 1 · x^p: the same bits as x^p
                    out[j] = power[factors[0]] if factors else 1.0
                else:
                    np.multiply(power[factors[0]], power[factors[1]], out=out[j])
                for factor in factors[2:]:
                    out[j] *= power[factor]
        return out

    def matrix(self, X: np.ndarray) -> np.ndarray:
        """The design at X: shape (n, len(index)), column-major (as column selections from
        :meth:`GatedDesign.matrix` are: BLAS products of the same numbers can differ in the
        last bit between memory layouts)."""
        return self.fill(X, np.empty((len(self.index), len(X)))).T
