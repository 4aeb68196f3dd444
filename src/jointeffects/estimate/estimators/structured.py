"""A structure-aware estimator: one additive model fitted on all regimes at once.

Under Assumption 2 the posterior of C_k given all actions depends only on (a_k, a_pa(k)), so

    E[Y | regime, a] = c + Σ_u [R_u·φ_u(a_u) + (1 − R_u)·ψ_u(a_u, a_anc(u))]

with R_u = 1 where unit u (an experiment's block) is intervened (Lemma 2 of the paper: the
term of an intervened unit becomes E_C[f_u(a_u, C_u)], the others are unchanged). The joint
effect is c + Σ_u φ_u(a_u): additive by construction. The paper's estimator instead fits a
full K-variate model per regime and recovers the joint effect as a difference of large
terms; using the structure lowers the variance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from jointeffects.errors import DataError
from jointeffects.estimate.estimators import structured_lift as lift
from jointeffects.estimate.estimators.ancestors import (
    ancestors_from_dag,
    discover_ancestors,
    given_ancestors,
)
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.binned import discover_binned, summarise
from jointeffects.estimate.estimators.blocks import (
    blocks_for_query,
    check_regime,
    require_regime,
)
from jointeffects.estimate.estimators.structured_state import (
    read_structured_state,
    structured_state,
)
from jointeffects.estimate.estimators.structured_stats import (
    FoldGram,
    action_moments,
    check_two_passes,
    fold_entropy,
    gated_design,
    gates,
    regime_key,
)
from jointeffects.estimate.learners.gram_ridge import ridge, select
from jointeffects.estimate.regimes import Regime, RegimeData, RegimeStreams, query_array
from jointeffects.estimate.regimes.passes import SourceReader, compute, measure
from jointeffects.jsonfield import Field

#: Largest design (columns) the ψ degree candidates may make; higher candidates are dropped.
MAX_COLUMNS = 1500


class StructuredEstimator(RegimeEstimator):
    """Joint and mixed effects from a regime-gated additive model fitted on pooled rows.

    The recommended estimator for additive problems. Read more in the
    :doc:`user guide </guide/estimators>`.

    Parameters
    ----------
    degrees : sequence of int, default=(1, 2)
        Candidate polynomial degrees of the response curves φ_u; chosen by cross-validation.
    psi_degrees : sequence of int or None, default=(1, 2, 3, 4, 5)
        Candidate degrees of the observational terms ψ_u, chosen by cross-validation jointly
        with the degree of φ_u; candidates whose design would exceed ``MAX_COLUMNS``
        columns are dropped. None gives ψ_u the degree of φ_u.
    alphas : sequence of float, default=logspace(-14, 0, 15)
        Candidate ridge penalties *per row*: the penalty on the standardised coefficients is
        ``alpha · n_train``, so the grid keeps its meaning at every sample size; it reaches
        10^-14 so that CV can drop the penalty.
    cv : int, default=3
        Folds for choosing degree and alpha. Rows are assigned at random within each regime,
        in blocks of consecutive rows, from ``random_state``, the regime and the row's
        position in it, so held, chunked and dask input give the same folds.
    dag : mapping, optional
        ``{action: [parent actions]}``. If None (and no ``ancestors``) the ancestor sets are
        learned from the experiments (see ``structure_test``), which needs an experiment or
        lift tests for every action; a channel with lift tests only is then taken as a
        possible ancestor of every action the experiments do not show to be its ancestor.
    ancestors : mapping, optional
        ``{action: [ancestor actions]}``, used as given, e.g. the ``ancestors_`` another fit
        learned (the sandwich's partners reuse them so). Not with ``dag``.
    level : float, default=0.05
        False-discovery rate of the two-sample tests that learn the ancestor sets.
    random_state : int, optional
        Seeds the fold assignment.
    structure_test : {"auto", "ks", "binned"}, default="auto"
        The two-sample test that, with a dependence test within each experiment, learns the
        ancestor sets: ``"ks"``, Kolmogorov–Smirnov on whole samples
        (:func:`~jointeffects.estimate.estimators.ancestors.discover_ancestors`);
        ``"binned"``, chi-square on bins at observational quantiles, from counts
        (:mod:`~jointeffects.estimate.estimators.binned`); ``"auto"``, KS for held data and
        binned for streamed or dask data. With ``"ks"`` streamed data is read into memory.
    lift_shape : str or mapping, optional
        The curve of channels known from lift tests alone (``fit(..., lift_tests=)``):
        ``"polynomial"`` (default, of the candidate degrees) or ``"hill"`` (β·a / (a + κ),
        for spend ≥ 0), one for all such channels or ``{channel: shape}``.

    Attributes
    ----------
    ancestors_ : dict
        Action → ancestor actions used by ψ.
    structure_tests_ : DataFrame or None
        The two-sample tests behind learned ancestors (None when ``dag`` or ``ancestors``
        was given).
    degree_, psi_degree_, alpha_ : chosen hyper-parameters.
    cv_mse_ : DataFrame
        Cross-validated mean squared error per (degree, psi_degree, alpha).
    lift_counts_, lift_shapes_ : dict
        Lift tests per channel; the shape of each channel with lift tests and no experiment.
    hill_ : dict
        The fitted :class:`~jointeffects.estimate.estimators.hill.HillCurve` of each channel
        declared ``"hill"``.
    level_identified_ : bool
        False when a channel is known from lift tests alone: such a curve is set to 0 at the
        channel's observational mean, so joint predictions are right up to a constant while
        differences (curves, gains, budget plans) are identified.

    Notes
    -----
    Streamed regimes (chunk streams, dask DataFrames) are read in two passes and never held:
    first the observational moments that standardise the actions (and, when the ancestor
    sets are learned, the counts and co-moments of the structure tests of every regime,
    binned at quantiles of the first observational rows), then the per-fold Gram matrices.
    Dask partitions are reduced where they live. A regime read twice must be re-readable: a
    list of chunks, a :class:`~jointeffects.estimate.regimes.RegimeChunks` made from a
    callable, or a dask DataFrame; a one-shot iterator raises a ``DataError`` (with ``dag``
    or ``ancestors`` given, only the observational regime is read twice).
    """

    _sandwich = True
    _additive = True
    _whole_replicates = True
    _model_keys = ("structured",)
    _lift_tests = True
    #: Set on the sandwich's partner refits, whose richer degree may outrun the lift tests.
    _lift_partner = False

    def __init__(
        self,
        degrees: Sequence[int] = (1, 2),
        alphas: Sequence[float] | None = None,
        cv: int = 3,
        dag: Mapping[str, Any] | None = None,
        level: float = 0.05,
        random_state: int | None = None,
        ancestors: Mapping[str, Any] | None = None,
        psi_degrees: Sequence[int] | None = (1, 2, 3, 4, 5),
        structure_test: str = "auto",
        lift_shape: str | Mapping[str, str] | None = None,
    ) -> None:
        self.degrees = degrees
        self.psi_degrees = psi_degrees
        self.alphas = alphas
        self.cv = cv
        self.dag = dag
        self.ancestors = ancestors
        self.level = level
        self.random_state = random_state
        self.structure_test = structure_test
        self.lift_shape = lift_shape

    # -- fitting ------------------------------------------------------------------------------

    def can_stream(self) -> bool:
        """Whether :meth:`fit` reads streamed and dask regimes without holding their rows:
        True unless the ancestor sets are to be learned with ``structure_test="ks"``."""
        learned = self.dag is None and self.ancestors is None
        return super().can_stream() and not (learned and self.structure_test == "ks")

    def _stream_remedy(self) -> str:
        return "pass structure_test='binned' (or 'auto'), dag= or ancestors="

    def _fit_regimes(self, data: RegimeData) -> None:
        require_regime(data, (), type(self).__name__)
        self._fit_pooled(RegimeStreams.from_data(data), data)

    def _fit_streams(self, streams: RegimeStreams) -> None:
        check_regime(streams, (), type(self).__name__)
        self._fit_pooled(streams, None)

    def _fit_pooled(self, streams: RegimeStreams, data: RegimeData | None) -> None:
        """The fit from sums over the rows of ``streams``; ``data``, the same rows held, is
        needed only by the KS structure test."""
        actions = streams.actions
        tests = self.lift_tests_
        degrees, psi = self._candidate_degrees()
        experiments = lift.lift_units(self, streams, degrees[-1])
        covered = {a for b in experiments for a in b}
        if self.dag is not None and self.ancestors is not None:
            raise DataError("pass dag= or ancestors=, not both")
        test = self._structure_test(streamed=data is None)
        learned = self.dag is None and self.ancestors is None
        missing = [a for a in actions if a not in covered and a not in self.lift_only_]
        if learned and missing:
            raise DataError(
                f"learning the ancestor sets needs an experiment on every action (or lift "
                f"tests on it); none on {missing}: pass dag= instead"
            )
        if self.cv < 2:
            raise DataError(f"cv must be at least 2, got {self.cv}")
        readers = {r: SourceReader(s) for r, s in streams.regimes.items()}
        check_two_passes(readers, learned and test == "binned")
        measure(readers.values())
        self.structure_tests_ = None
        if self.ancestors is not None:
            self.ancestors_ = given_ancestors(self.ancestors, actions)
        elif self.dag is not None:
            self.ancestors_ = ancestors_from_dag(self.dag, actions)
        elif test == "ks":
            assert data is not None
            self.ancestors_, self.structure_tests_ = discover_ancestors(
                data, experiments, level=self.level
            )
        if test == "binned" and learned:
            summaries = summarise(readers, actions)
            moments = summaries[()].moments
            self.ancestors_, self.structure_tests_ = discover_binned(
                summaries, experiments, actions, self.level
            )
        else:
            moments = readers[()].reduce(action_moments)
            moments = compute({(): moments})[()]
        if learned:
            self.ancestors_ = lift.lift_only_ancestors(self.ancestors_, self.lift_only_)
        assert moments is not None
        # Polynomials of standardised actions: same span, better conditioned Gram matrices.
        self.x_mean_, self.x_scale_ = moments.mean, moments.std()
        self.x_scale_[self.x_scale_ == 0] = 1.0
        identified = lift.phi_units(self)
        self._pairs_ = self._degree_pairs(actions, identified, degrees, psi)
        top = max(max(p) for p in self._pairs_)
        self.design_ = gated_design(actions, self.units_, self.ancestors_, identified, top)
        stats = self._fold_statistics(readers)
        alphas = np.logspace(-14, 0, 15) if self.alphas is None else np.asarray(self.alphas)
        self.cv_mse_, self.degree_, self.psi_degree_, self.alpha_ = select(
            stats, self.design_, self._pairs_, alphas
        )
        self.coef_, self.intercept_ = ridge(stats.sum(axis=0), self._keep(), self.alpha_)
        self.hill_: dict[str, Any] = {}
        if tests is not None:
            lift.fit_with_lift_tests(self, stats, alphas)

    def _structure_test(self, streamed: bool) -> str:
        if self.structure_test not in ("auto", "ks", "binned"):
            raise DataError(
                f"structure_test must be 'auto', 'ks' or 'binned', got {self.structure_test!r}"
            )
        if self.structure_test == "auto":
            return "binned" if streamed else "ks"
        return str(self.structure_test)

    def _candidate_degrees(self) -> tuple[list[int], list[int]]:
        """The candidate φ and ψ degrees, checked (before any row is read)."""
        degrees = sorted({int(d) for d in self.degrees})
        psi = degrees if self.psi_degrees is None else sorted({int(d) for d in self.psi_degrees})
        if not degrees or degrees[0] < 1 or not psi or psi[0] < 1:
            raise DataError(
                f"degrees and psi_degrees must be positive integers, got {list(self.degrees)} "
                f"and {self.psi_degrees}"
            )
        return degrees, psi

    def _degree_pairs(
        self,
        actions: tuple[str, ...],
        identified: tuple[bool, ...],
        degrees: list[int],
        psi: list[int],
    ) -> list[tuple[int, int]]:
        """Candidate (φ degree, ψ degree) pairs, ψ candidates capped by the design's size."""
        psi = list(psi)
        while len(psi) > 1 and max(psi[-1], degrees[-1]) > degrees[-1]:
            size = gated_design(actions, self.units_, self.ancestors_, identified, psi[-1])
            if size.n_columns <= MAX_COLUMNS:
                break
            psi.pop()
        if self.psi_degrees is None:
            return [(d, d) for d in degrees]
        return [(d, e) for d in degrees for e in psi]

    def _keep(self) -> np.ndarray:
        """The design's columns of the chosen degrees."""
        return self.design_.keep(self.degree_, self.psi_degree_)

    def _kept_columns(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        """The design's kept columns at X in ``regime``: shape (n, n_kept)."""
        live = self.design_.live(gates(self.units_, regime), self._keep())
        return live.matrix((X - self.x_mean_) / self.x_scale_)

    def _fold_statistics(self, readers: dict[Regime, SourceReader]) -> np.ndarray:
        """Per fold, the Gram matrix of [1, Z, y] summed over rows: shape (cv, p+2, p+2)."""
        entropy = fold_entropy(self.random_state)
        tasks = {
            regime: FoldGram(
                self.design_,
                self.x_mean_,
                self.x_scale_,
                gates(self.units_, regime),
                int(self.cv),
                entropy,
                regime_key(regime, self.actions_),
            )
            for regime in readers
        }
        stats = compute({r: reader.reduce(tasks[r]) for r, reader in readers.items()})
        for regime, S in stats.items():
            rows = int(round(S[:, 0, 0].sum()))
            if rows < 2 * self.cv:
                raise DataError(f"regime {regime} has {rows} rows; need at least {2 * self.cv}")
        return np.sum(list(stats.values()), axis=0)

    # -- prediction ---------------------------------------------------------------------------

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        blocks_for_query(self.blocks_, regime)  # refuses unidentified queries
        linear = self._kept_columns(X, regime) @ self.coef_ + self.intercept_
        return linear + lift.shape_terms(self, X, regime) if self.hill_ else linear

    # -- what intervals and model files need ----------------------------------------------

    def _mixed_note(self, regression_misfit: str) -> str:
        return (
            "mixed effect of the structured model: its terms for the observed actions are "
            "polynomial approximations whose bias the interval ignores; for mixed effects prefer "
            "the paper's estimator (JointEffectEstimator, CLI --estimator paper)"
        )

    def _linear_rows(self, X: np.ndarray, intervened: Any) -> np.ndarray:
        """Rows [1, w(x)] of the model at X: prediction = rows @ [intercept, coef]."""
        self._check_fitted()
        points = query_array(X, self.actions_)
        regime = self._intervened_regime(intervened)
        blocks_for_query(self.blocks_, regime)  # refuses unidentified queries
        live = self.design_.live(gates(self.units_, regime), self._keep())
        rows = np.empty((len(live.index) + 1, len(points)))
        rows[0] = 1.0
        live.fill((points - self.x_mean_) / self.x_scale_, rows[1:])
        return rows.T  # column-major, as the products downstream have always seen it

    def _refit_with(self, data: RegimeData, **params: Any) -> StructuredEstimator:
        """This model refitted on ``data`` with ``params`` changed, on the ancestor sets it
        learned (passed as ``ancestors``, so the structure tests are not rerun)."""
        partner = clone(clone(self).set_params(dag=None, ancestors=dict(self.ancestors_), **params))
        # a richer partner's lift-only curves may have more coefficients than tests: the
        # ridge still solves, and its spread then shows that the data cannot tell
        partner._lift_partner = True
        return partner.fit(data, outcome=self.outcome_, lift_tests=self.lift_tests_)

    def _richer_fit(self, data: RegimeData) -> StructuredEstimator:
        """The sandwich's degree partner: this fit with its degrees raised by one."""
        return self._refit_with(
            data, degrees=(self.degree_ + 1,), psi_degrees=self._psi_candidate(1)
        )

    def _psi_candidate(self, step: int) -> tuple[int, ...] | None:
        """The chosen ψ degree plus ``step`` as the only candidate (None when tied to φ)."""
        return None if self.psi_degrees is None else (self.psi_degree_ + step,)

    def _lighter_fit(self, data: RegimeData) -> StructuredEstimator | None:
        """This fit at its chosen degree with the next smaller penalty of its CV grid (None at
        the smallest): the sandwich's partner for the shrinkage bias."""
        grid = np.unique(self.cv_mse_["alpha"].to_numpy())
        smaller = grid[grid < self.alpha_ * (1 - 1e-9)]
        if not len(smaller):
            return None
        return self._refit_with(
            data,
            degrees=(self.degree_,),
            psi_degrees=self._psi_candidate(0),
            alphas=(float(smaller[-1]),),
        )

    def _identified_actions(self) -> tuple[str, ...]:
        covered = {a for block in self.blocks_ for a in block}
        return tuple(a for a in self.actions_ if a in covered)

    def _fit_summary(self) -> tuple[dict[Regime, str], list[str]]:
        ancestors = ", ".join(f"{a}←{list(v)}" for a, v in self.ancestors_.items() if v)
        return {}, [
            f"chosen degree {self.degree_} (ψ {self.psi_degree_}), alpha {self.alpha_:.0e} per "
            f"row; ancestors {ancestors}",
            *lift.lift_summary(self),
        ]

    def _level_note(self) -> str:
        return lift.level_note(self)

    def _lift_moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return lift.lift_moments(self, theta) if self.lift_counts_ else None

    def _shape_rows(self, X: np.ndarray, intervened: Any) -> tuple[np.ndarray, np.ndarray] | None:
        return lift.shape_rows(self, X, self._intervened_regime(intervened)) if self.hill_ else None

    def _refit_on(self, data: RegimeData, rng: np.random.Generator) -> StructuredEstimator:
        return clone(self).fit(data, lift_tests=lift.redrawn_tests(self, rng))

    def _model_state(self) -> dict[str, Any]:
        return structured_state(self)

    @classmethod
    def _from_model_state(cls, f: Field, actions: list[str]) -> StructuredEstimator:
        return read_structured_state(cls, f, actions)

    def graph(self) -> pd.DataFrame:
        """The ancestor relation used, one row per (ancestor, action) edge of the closure."""
        rows = [(a, b) for b, ancs in self.ancestors_.items() for a in ancs]
        return pd.DataFrame(rows, columns=["ancestor", "action"])
