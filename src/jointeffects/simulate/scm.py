"""The additive SCM: samples every regime and knows its exact joint effect.

The model (paper, Sec. 2.2, 5 and Def. 2), over a partition 𝔅 of the actions into blocks::

    Y   := Σ_B f_B(A_B, C_B) + U
    A_k := g_k(A_<k, C_B(k), V_k)
    C_k := W_k

with polynomial f_B, g_k and mutually independent noises U, V_k, W_k. A perfect stochastic
intervention on A_k replaces g_k by an independent draw from its intervention distribution.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from jointeffects.errors import DataError
from jointeffects.simulate.noise import Noise
from jointeffects.simulate.polynomial import Polynomial
from jointeffects.simulate.spec import parse_variable, read_spec, write_spec

# Rows are generated in fixed internal blocks, block i from child i of one SeedSequence, so
# the numbers do not depend on how a caller chunks the stream.
_BLOCK_ROWS = 65_536

Intervened = Iterable[str | int] | str


class AdditiveSCM:
    """An SCM with an outcome mechanism additive over blocks of actions (paper, Def. 2).

    Build it from a spec dict (format ``jointeffects.scm/1``, see :mod:`.spec`) or use
    :func:`load_scm`, :func:`~jointeffects.simulate.sample_polynomial_scm` or
    :func:`~jointeffects.simulate.sample_linear_scm`.

    Parameters
    ----------
    spec : mapping
        The SCM spec; validated, raising :class:`~jointeffects.errors.SpecError`.

    Attributes
    ----------
    actions : tuple of str
        Action column names, in topological order.
    outcome : str
        Outcome column name.
    blocks : tuple of tuple of str
        The partition of the actions into additive blocks (singletons in the paper's case).

    Examples
    --------
    >>> from jointeffects.simulate import sample_polynomial_scm
    >>> scm = sample_polynomial_scm(K=3, rng=0, n_calibration=1000)
    >>> df = scm.sample(5, intervened=scm.actions, rng=1)
    >>> scm.joint_effect(df[list(scm.actions)]).shape
    (5,)
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = read_spec(spec)
        s = self._spec
        self.actions: tuple[str, ...] = tuple(s["actions"])
        self.outcome: str = s["outcome"]
        self._block_idx: tuple[tuple[int, ...], ...] = tuple(
            tuple(b["block"]) for b in s["outcome_terms"]
        )
        self.blocks: tuple[tuple[str, ...], ...] = tuple(
            tuple(self.actions[j] for j in b) for b in self._block_idx
        )
        self._noise_u = Noise(**s["noise"]["U"])
        self._noise_v = [Noise(**x) for x in s["noise"]["V"]]
        self._noise_w = [Noise(**x) for x in s["noise"]["W"]]
        self._interventions = [Noise(**x) for x in s["interventions"]]
        self._f = [_poly(b["terms"]) for b in s["outcome_terms"]]
        self._g = [_poly(m["terms"]) for m in s["action_mechanisms"]]
        # E_{C_B}[f_B(a_B, C_B)] as a polynomial in a_B: powers of C replaced by raw moments.
        self._f_mean = [self._expect_confounders(f) for f in self._f]
        self._parents = tuple(_action_indices(g) for g in self._g)

    # ------------------------------------------------------------------ structure
    @property
    def n_actions(self) -> int:
        """Number of actions K."""
        return len(self.actions)

    def parents(self, name: str | int) -> tuple[str, ...]:
        """The actions that appear in ``name``'s mechanism (its parents in the action DAG)."""
        k = self._index(name)
        return tuple(self.actions[j] for j in self._parents[k])

    def ancestors(self, name: str | int) -> tuple[str, ...]:
        """All actions with a directed path to ``name``, in topological order."""
        todo, seen = list(self._parents[self._index(name)]), set()
        while todo:
            j = todo.pop()
            if j not in seen:
                seen.add(j)
                todo.extend(self._parents[j])
        return tuple(self.actions[j] for j in sorted(seen))

    def intervention(self, name: str | int) -> Noise:
        """The intervention distribution of an action."""
        return self._interventions[self._index(name)]

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        intervened: Intervened = (),
        rng: int | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Draw ``n`` rows from a regime.

        Parameters
        ----------
        n : int
            Number of rows.
        intervened : iterable of str or int, default ()
            Actions (names or indices) under a perfect stochastic intervention: each is drawn
            from its intervention distribution independently of everything else. ``()`` is
            the observational regime, ``scm.actions`` the joint one.
        rng : int, Generator or None
            Randomness. The same seed gives the same rows, and the same rows as
            ``pd.concat(scm.sample_chunks(n, intervened, rng=seed, chunk_size=c))`` for any c.

        Returns
        -------
        pandas.DataFrame of shape (n, K + 1)
            One column per action, then the outcome.
        """
        chunks = self.sample_chunks(n, intervened, rng=rng, chunk_size=max(int(n), 1))
        first = next(chunks, None)
        return first if first is not None else self._frame(np.empty((self.n_actions + 1, 0)))

    def sample_chunks(
        self,
        n: int,
        intervened: Intervened = (),
        rng: int | np.random.Generator | None = None,
        chunk_size: int = 1_000_000,
    ) -> Iterator[pd.DataFrame]:
        """Stream ``n`` rows of a regime in DataFrames of at most ``chunk_size`` rows.

        Only one internal block of rows is held at a time, so samples far larger than memory
        can be streamed.
        Chunk indices continue each other, so ``pd.concat`` of all chunks equals
        :meth:`sample` with the same arguments. Arguments are checked and ``rng`` is used
        when this is called, not when the first chunk is requested.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise DataError(f"n={n!r} must be a non-negative integer number of rows")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise DataError(f"chunk_size={chunk_size!r} must be a positive integer")
        return self._stream(int(n), self._mask(intervened), self._root_seed(rng), chunk_size)

    def _stream(
        self, n: int, mask: NDArray[np.bool_], root: np.random.SeedSequence, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        cache: dict[int, dict[str, NDArray[np.float64]]] = {}
        for start in range(0, n, chunk_size):
            stop = min(start + chunk_size, n)
            # Filled column-wise so that pandas can wrap it without another copy.
            out = np.empty((self.n_actions + 1, stop - start))
            for b in range(start // _BLOCK_ROWS, (stop - 1) // _BLOCK_ROWS + 1):
                if b not in cache:
                    cache.clear()
                    rows = min(_BLOCK_ROWS, n - b * _BLOCK_ROWS)
                    cache[b] = self._simulate(_child(root, b), rows, mask)
                lo, hi = max(start - b * _BLOCK_ROWS, 0), min(stop - b * _BLOCK_ROWS, _BLOCK_ROWS)
                at = b * _BLOCK_ROWS + lo - start
                out[:-1, at : at + hi - lo] = cache[b]["A"][:, lo:hi]
                out[-1, at : at + hi - lo] = cache[b]["Y"][lo:hi]
            yield self._frame(out, start)

    def _sample_latent(
        self, n: int, intervened: Intervened = (), rng: int | np.random.Generator | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """Like :meth:`sample` but returns every variable, hidden ones included.

        Keys: ``"A"``, ``"C"``, ``"V"`` (shape (n, K)), ``"U"``, ``"Y"`` (shape (n,)). For
        tests of the regime semantics; the rows equal those of :meth:`sample`.
        """
        mask = self._mask(intervened)
        root = self._root_seed(rng)
        blocks = [
            self._simulate(_child(root, b), min(_BLOCK_ROWS, n - b * _BLOCK_ROWS), mask)
            for b in range(-(-n // _BLOCK_ROWS))
        ]
        out = {key: np.concatenate([blk[key] for blk in blocks], axis=-1) for key in "ACVUY"}
        return {key: value.T for key, value in out.items()}

    def _simulate(
        self, seed: np.random.SeedSequence, m: int, mask: NDArray[np.bool_]
    ) -> dict[str, NDArray[np.float64]]:
        rng = np.random.default_rng(seed)
        # Fixed draw order: all W, all V, U, then the intervened actions' values in order.
        c = [w.sample(rng, m) for w in self._noise_w]
        v = [nv.sample(rng, m) for nv in self._noise_v]
        u = self._noise_u.sample(rng, m)
        values: dict[str, NDArray[np.float64]] = {f"C{j}": c[j] for j in range(self.n_actions)}
        a = []
        for k, g in enumerate(self._g):
            if mask[k]:
                a_k = self._interventions[k].sample(rng, m)
            else:
                a_k = np.broadcast_to(g({**values, "V": v[k]}), (m,)).astype(float)
            values[f"A{k}"] = a_k
            a.append(a_k)
        y = u + sum((np.broadcast_to(f(values), (m,)) for f in self._f), np.zeros(m))
        # Shape (K, m): one contiguous row per variable.
        return {"A": np.stack(a), "C": np.stack(c), "V": np.stack(v), "U": u, "Y": y}

    # ------------------------------------------------------------------ truth
    def block_effects(self, a: ArrayLike | pd.DataFrame) -> NDArray[np.float64]:
        """E_{C_B}[f_B(a_B, C_B)] for every block: the true per-block response curves.

        Parameters
        ----------
        a : array-like of shape (n, K) or DataFrame with the action columns

        Returns
        -------
        ndarray of shape (n, n_blocks)
            Exact (finite sums over raw moments of the confounders).
        """
        values = self._action_values(a)
        n = len(values["A0"])
        return np.column_stack([np.broadcast_to(p(values), (n,)) for p in self._f_mean])

    def joint_effect(self, a: ArrayLike | pd.DataFrame) -> NDArray[np.float64]:
        """E[Y | do(a)] exactly: Σ_B E_{C_B}[f_B(a_B, C_B)] + E[U] (paper, eq. (12)/(90)).

        Parameters
        ----------
        a : array-like of shape (n, K) or DataFrame with the action columns
            Joint intervention values; a 1-D array of length K is one row.

        Returns
        -------
        ndarray of shape (n,)
        """
        return self.block_effects(a).sum(axis=1) + self._noise_u.mean

    def mixed_effect(
        self,
        a: ArrayLike | pd.DataFrame,
        intervened: Intervened,
        rng: int | np.random.Generator | None = None,
        n_mc: int = 20_000,
        method: str = "auto",
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """E[Y | do(a_int), a_obs] with its standard error (Monte-Carlo where not exact).

        Exact for blocks without observed actions and (``method="auto"``) for blocks
        linear-Gaussian in their confounders, by quadrature for other blocks with one
        confounder; the others by self-normalised importance sampling over ``n_mc`` prior
        draws of the confounders, weighting each draw by the density of the observed actions
        given their parents and confounders. See
        :func:`jointeffects.simulate.posterior.mixed_effect`.

        Returns
        -------
        estimate, standard_error : ndarray of shape (n,)
        """
        from jointeffects.simulate.posterior import mixed_effect

        return mixed_effect(self, a, self._mask(intervened), rng=rng, n_mc=n_mc, method=method)

    # ------------------------------------------------------------------ spec
    def to_dict(self) -> dict[str, Any]:
        """The JSON spec (``jointeffects.scm/1``); ``load_scm(scm.to_dict())`` is identical."""
        import copy

        return copy.deepcopy(self._spec)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON spec to ``path``."""
        write_spec(self._spec, path)

    def __repr__(self) -> str:
        blocks = [list(b) for b in self.blocks]
        return (
            f"AdditiveSCM(actions={list(self.actions)}, outcome={self.outcome!r}, blocks={blocks})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AdditiveSCM) and self._spec == other._spec

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ helpers
    def _expect_confounders(self, poly: Polynomial) -> Polynomial:
        moments = {}
        for v, top in poly.max_powers().items():
            kind, j = parse_variable(v)
            if kind == "C":
                moments[v] = self._noise_w[j].raw_moments(top)
        return poly.expect(moments)

    def _index(self, name: str | int) -> int:
        if isinstance(name, int | np.integer) and not isinstance(name, bool):
            if 0 <= name < self.n_actions:
                return int(name)
            raise DataError(f"action index {name} is out of range 0..{self.n_actions - 1}")
        if name in self.actions:
            return self.actions.index(name)  # type: ignore[arg-type]
        raise DataError(f"{name!r} names no action; actions are {list(self.actions)}")

    def _mask(self, intervened: Intervened) -> NDArray[np.bool_]:
        if isinstance(intervened, str):
            intervened = (intervened,)
        mask = np.zeros(self.n_actions, dtype=bool)
        for name in intervened:
            mask[self._index(name)] = True
        return mask

    def _action_values(self, a: ArrayLike | pd.DataFrame) -> dict[str, NDArray[np.float64]]:
        """Map ``A<j>`` to column j of the query (DataFrames are read by action name)."""
        if isinstance(a, pd.DataFrame):
            missing = [c for c in self.actions if c not in a.columns]
            if missing:
                raise DataError(f"query lacks action column(s) {missing}; it has {list(a.columns)}")
            arr = a[list(self.actions)].to_numpy(dtype=float)
        else:
            arr = np.asarray(a, dtype=float)
            if arr.ndim == 1 and arr.shape[0] == self.n_actions:
                arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_actions:
            raise DataError(
                f"query has shape {arr.shape}; expected (n, {self.n_actions}) with the columns "
                f"{list(self.actions)}"
            )
        return {f"A{j}": arr[:, j] for j in range(self.n_actions)}

    def _frame(self, columns: NDArray[np.float64], start: int = 0) -> pd.DataFrame:
        """A DataFrame from an array of shape (K + 1, n): the actions' rows, then Y's."""
        return pd.DataFrame(
            columns.T,
            columns=[*self.actions, self.outcome],
            index=pd.RangeIndex(start, start + columns.shape[1]),
            copy=False,
        )

    @staticmethod
    def _root_seed(rng: int | np.random.Generator | None) -> np.random.SeedSequence:
        gen = np.random.default_rng(rng)
        return np.random.SeedSequence([int(x) for x in gen.integers(0, 2**63, size=4)])


def load_scm(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> AdditiveSCM:
    """Load an :class:`AdditiveSCM` from a JSON spec file or an already-parsed dict.

    Raises
    ------
    SpecError
        If the file cannot be read or the spec breaks a rule; the message names the field.
    """
    return AdditiveSCM(read_spec(path_or_dict))


def _poly(terms: Sequence[Mapping[str, Any]]) -> Polynomial:
    return Polynomial.from_terms((t["coef"], t["powers"]) for t in terms)


def _action_indices(poly: Polynomial) -> tuple[int, ...]:
    parsed = [parse_variable(v) for v in poly.variables]
    return tuple(sorted(j for kind, j in parsed if kind == "A"))


def _child(root: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(root.entropy, spawn_key=(i,))
