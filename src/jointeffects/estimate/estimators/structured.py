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

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.ancestors import (
    ancestors_from_dag,
    discover_ancestors,
    given_ancestors,
)
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.estimators.blocks import (
    blocks_for_query,
    experiment_blocks,
    require_regime,
)
from jointeffects.estimate.estimators.state import lists, read_regime, read_regimes
from jointeffects.estimate.learners.basis import GatedDesign
from jointeffects.estimate.learners.gram_ridge import ridge, select
from jointeffects.estimate.learners.state import MAX_DEGREE, MAX_MONOMIALS, floats
from jointeffects.estimate.regimes import Regime, RegimeData, row_chunks
from jointeffects.jsonfield import Field

#: Keys of the fitted model in a model file (files before format 7 lack "psi_degree").
_STATE_KEYS = ("blocks", "units", "ancestors", "identified", "design_degree", "x_mean",
               "x_scale", "degree", "alpha", "coef", "intercept", "psi_degree")  # fmt: skip
_PARAM_KEYS = ("degrees", "alphas", "cv", "level", "random_state", "psi_degrees")

#: Largest design (columns) the ψ degree candidates may make; higher candidates are dropped.
MAX_COLUMNS = 1500


class StructuredEstimator(RegimeEstimator):
    """Joint and mixed effects from a regime-gated additive model fitted on pooled rows.

    The recommended estimator for additive problems. Read more in the
    :doc:`user guide </guide/estimators>`.

    Parameters
    ----------
    degrees : sequence of int, default=(1, 2, 3)
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
        Folds for choosing degree and alpha (rows assigned at random within each regime).
    dag : mapping, optional
        ``{action: [parent actions]}``. If None (and no ``ancestors``) the ancestor sets are
        learned from the experiments (see ``structure``), which needs an experiment for every
        action.
    ancestors : mapping, optional
        ``{action: [ancestor actions]}``, used as given, e.g. the ``ancestors_`` another fit
        learned (the sandwich's partners reuse them so). Not with ``dag``.
    level : float, default=0.05
        False-discovery rate of the two-sample tests that learn the ancestor sets.
    random_state : int, optional
        Seeds the fold assignment.

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
    """

    _sandwich = True
    _whole_replicates = True
    _model_keys = ("structured",)

    def __init__(
        self,
        degrees: Sequence[int] = (1, 2, 3),
        alphas: Sequence[float] | None = None,
        cv: int = 3,
        dag: Mapping[str, Any] | None = None,
        level: float = 0.05,
        random_state: int | None = None,
        ancestors: Mapping[str, Any] | None = None,
        psi_degrees: Sequence[int] | None = (1, 2, 3, 4, 5),
    ) -> None:
        self.degrees = degrees
        self.psi_degrees = psi_degrees
        self.alphas = alphas
        self.cv = cv
        self.dag = dag
        self.ancestors = ancestors
        self.level = level
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------

    def _fit_regimes(self, data: RegimeData) -> None:
        require_regime(data, (), type(self).__name__)
        self.blocks_ = experiment_blocks(data)
        covered = {a for b in self.blocks_ for a in b}
        self.units_ = (*self.blocks_, *((a,) for a in data.actions if a not in covered))
        if self.dag is not None and self.ancestors is not None:
            raise DataError("pass dag= or ancestors=, not both")
        if self.ancestors is not None:
            self.ancestors_ = given_ancestors(self.ancestors, data.actions)
            self.structure_tests_ = None
        elif self.dag is not None:
            self.ancestors_ = ancestors_from_dag(self.dag, data.actions)
            self.structure_tests_ = None
        else:
            if covered != set(data.actions):
                raise DataError(
                    f"learning the ancestor sets needs an experiment on every action; none on "
                    f"{[a for a in data.actions if a not in covered]}: pass dag= instead"
                )
            self.ancestors_, self.structure_tests_ = discover_ancestors(
                data, self.blocks_, level=self.level
            )
        identified = tuple(unit in self.blocks_ for unit in self.units_)
        pairs = self._degree_pairs(data.actions, identified)
        self.design_ = gated_design(
            data.actions, self.units_, self.ancestors_, identified, max(max(p) for p in pairs)
        )
        # Polynomials of standardised actions: same span, better conditioned Gram matrices.
        X_obs = data.regimes[()][0]
        self.x_mean_, self.x_scale_ = X_obs.mean(axis=0), X_obs.std(axis=0)
        self.x_scale_[self.x_scale_ == 0] = 1.0
        stats = self._fold_statistics(data)
        alphas = np.logspace(-14, 0, 15) if self.alphas is None else np.asarray(self.alphas)
        self.cv_mse_, self.degree_, self.psi_degree_, self.alpha_ = select(
            stats, self.design_, pairs, alphas
        )
        self.coef_, self.intercept_ = ridge(stats.sum(axis=0), self._keep(), self.alpha_)

    def _degree_pairs(
        self, actions: tuple[str, ...], identified: tuple[bool, ...]
    ) -> list[tuple[int, int]]:
        """Candidate (φ degree, ψ degree) pairs, ψ candidates capped by the design's size."""
        degrees = sorted({int(d) for d in self.degrees})
        psi = degrees if self.psi_degrees is None else sorted({int(d) for d in self.psi_degrees})
        if not degrees or degrees[0] < 1 or psi[0] < 1:
            raise DataError(
                f"degrees and psi_degrees must be positive integers, got {list(self.degrees)} "
                f"and {self.psi_degrees}"
            )
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

    def _indicators(self, regime: Regime, n: int) -> np.ndarray:
        R = np.zeros((n, len(self.units_)))
        for u, unit in enumerate(self.units_):
            if set(unit) <= set(regime):
                R[:, u] = 1.0
        return R

    def _expand(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        Xs = (X - self.x_mean_) / self.x_scale_
        return self.design_.matrix(Xs, self._indicators(regime, len(X)))

    def _fold_statistics(self, data: RegimeData) -> np.ndarray:
        """Per fold, the Gram matrix of [1, Z, y] summed over rows: shape (cv, p+2, p+2)."""
        if self.cv < 2:
            raise DataError(f"cv must be at least 2, got {self.cv}")
        rng = np.random.default_rng(self.random_state)
        p = self.design_.n_columns
        stats = np.zeros((self.cv, p + 2, p + 2))
        for regime, (X, y) in data.regimes.items():
            if len(y) < 2 * self.cv:
                raise DataError(f"regime {regime} has {len(y)} rows; need at least {2 * self.cv}")
            folds = rng.permutation(np.arange(len(y)) % self.cv)
            for part in row_chunks(len(y)):
                Z = self._expand(X[part], regime)
                W = np.column_stack([np.ones(len(Z)), Z, y[part]])
                for f in range(self.cv):
                    Wf = W[folds[part] == f]
                    stats[f] += Wf.T @ Wf
        return stats

    # -- prediction ---------------------------------------------------------------------------

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        blocks_for_query(self.blocks_, regime)  # refuses unidentified queries
        return self._expand(X, regime)[:, self._keep()] @ self.coef_ + self.intercept_

    # -- what intervals and model files need ----------------------------------------------

    def _mixed_note(self, regression_misfit: str) -> str:
        return (
            "mixed effect of the structured model: its terms for the observed actions are "
            "polynomial approximations whose bias the interval ignores; for mixed effects prefer "
            "the paper's estimator (JointEffectEstimator, CLI --estimator paper)"
        )

    def _linear_rows(self, X: np.ndarray, intervened: Any) -> np.ndarray:
        """Rows [1, w(x)] of the model at X: prediction = rows @ [intercept, coef]."""
        regime = self._intervened_regime(intervened)
        self.predict(X[:1], intervened=intervened)  # refuses unidentified queries
        return np.column_stack([np.ones(len(X)), self._expand(X, regime)[:, self._keep()]])

    def _refit_with(self, data: RegimeData, **params: Any) -> StructuredEstimator:
        """This model refitted on ``data`` with ``params`` changed, on the ancestor sets it
        learned (passed as ``ancestors``, so the structure tests are not rerun)."""
        partner = clone(self).set_params(dag=None, ancestors=dict(self.ancestors_), **params)
        return clone(partner).fit(data)

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
            f"row; ancestors {ancestors}"
        ]

    def _model_state(self) -> dict[str, Any]:
        return {
            "params": {
                "degrees": [int(d) for d in self.degrees],
                "alphas": None if self.alphas is None else floats(np.ravel(self.alphas)),
                "cv": int(self.cv),
                "level": float(self.level),
                "random_state": self.random_state,
                "psi_degrees": None
                if self.psi_degrees is None
                else [int(d) for d in self.psi_degrees],
            },
            "structured": {
                "blocks": lists(self.blocks_),
                "units": lists(self.units_),
                "ancestors": {a: list(v) for a, v in self.ancestors_.items()},
                "identified": [unit in self.blocks_ for unit in self.units_],
                "design_degree": int(self.design_.degree),
                "x_mean": floats(self.x_mean_),
                "x_scale": floats(self.x_scale_),
                "degree": int(self.degree_),
                "alpha": float(self.alpha_),
                "coef": floats(self.coef_),
                "intercept": float(self.intercept_),
                "psi_degree": int(self.psi_degree_),
            },
        }

    @classmethod
    def _from_model_state(cls, f: Field, actions: list[str]) -> StructuredEstimator:
        p = f["params"]
        p.obj(_PARAM_KEYS if "psi_degrees" in p.value else _PARAM_KEYS[:-1])
        alphas = p["alphas"]
        psi = p["psi_degrees"].value if "psi_degrees" in p.value else None
        est = cls(
            degrees=tuple(d.integer(1, MAX_DEGREE) for d in p["degrees"].items()),
            alphas=None
            if alphas.value is None
            else alphas.array((len(alphas.items()),), positive=True).tolist(),
            cv=p["cv"].integer(2),
            level=p["level"].number(),
            random_state=p["random_state"].optional_int(),
            psi_degrees=None
            if psi is None
            else tuple(d.integer(1, MAX_DEGREE) for d in p["psi_degrees"].items()),
        )
        s = f["structured"]
        s.obj(_STATE_KEYS if "psi_degree" in s.value else _STATE_KEYS[:-1])
        K = len(actions)
        est.blocks_ = read_regimes(s["blocks"], actions)
        est.units_ = read_regimes(s["units"], actions)
        anc = s["ancestors"].obj(tuple(actions))
        est.ancestors_ = {a: read_regime(anc[a], actions) for a in actions}
        identified = tuple(bool(x.value) for x in s["identified"].items())
        units = sorted(a for u in est.units_ for a in u)
        if len(identified) != len(est.units_) or units != sorted(actions):
            raise s["units"].bad("a partition of the actions matching 'identified'")
        design_degree = s["design_degree"].integer(1, MAX_DEGREE)
        # bound the design's columns before building it
        inputs = [len(set(u).union(*(est.ancestors_[a] for a in u))) for u in est.units_]
        if 2 * sum(math.comb(n + design_degree, design_degree) for n in inputs) > MAX_MONOMIALS:
            raise s["design_degree"].bad(
                f"a degree whose design has at most {MAX_MONOMIALS} columns"
            )
        est.design_ = gated_design(actions, est.units_, est.ancestors_, identified, design_degree)
        est.degree_ = s["degree"].integer(1, design_degree)
        est.psi_degree_ = (
            s["psi_degree"].integer(1, design_degree) if "psi_degree" in s.value else est.degree_
        )
        est.coef_ = s["coef"].array((int(np.sum(est._keep())),))
        est.intercept_ = s["intercept"].number()
        est.alpha_ = s["alpha"].number(positive=True)
        est.x_mean_ = s["x_mean"].array((K,))
        est.x_scale_ = s["x_scale"].array((K,), positive=True)
        est.structure_tests_ = None
        return est

    def graph(self) -> pd.DataFrame:
        """The ancestor relation used, one row per (ancestor, action) edge of the closure."""
        rows = [(a, b) for b, ancs in self.ancestors_.items() for a in ancs]
        return pd.DataFrame(rows, columns=["ancestor", "action"])


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
