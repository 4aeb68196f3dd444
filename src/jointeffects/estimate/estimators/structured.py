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
from jointeffects.estimate.learners.state import MAX_DEGREE, MAX_MONOMIALS, floats
from jointeffects.estimate.regimes import Regime, RegimeData, row_chunks
from jointeffects.jsonfield import Field

#: Keys of the fitted model in a model file.
_STATE_KEYS = ("blocks", "units", "ancestors", "identified", "design_degree", "x_mean",
               "x_scale", "degree", "alpha", "coef", "intercept")  # fmt: skip


class StructuredEstimator(RegimeEstimator):
    """Joint and mixed effects from a regime-gated additive model fitted on pooled rows.

    The recommended estimator for additive problems. Read more in the
    :doc:`user guide </guide/estimators>`.

    Parameters
    ----------
    degrees : sequence of int, default=(1, 2, 3)
        Candidate polynomial degrees of φ_u and ψ_u; chosen by cross-validation.
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
    degree_, alpha_ : chosen hyper-parameters.
    cv_mse_ : DataFrame
        Cross-validated mean squared error per (degree, alpha).
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
    ) -> None:
        self.degrees = degrees
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
        degrees = sorted({int(d) for d in self.degrees})
        if not degrees or degrees[0] < 1:
            raise DataError(f"degrees must be positive integers, got {list(self.degrees)}")
        self.design_ = gated_design(
            data.actions, self.units_, self.ancestors_, identified, degrees[-1]
        )
        # Polynomials of standardised actions: same span, better conditioned Gram matrices.
        X_obs = data.regimes[()][0]
        self.x_mean_, self.x_scale_ = X_obs.mean(axis=0), X_obs.std(axis=0)
        self.x_scale_[self.x_scale_ == 0] = 1.0
        stats = self._fold_statistics(data)
        alphas = np.logspace(-14, 0, 15) if self.alphas is None else np.asarray(self.alphas)
        self.cv_mse_, self.degree_, self.alpha_ = _select(stats, self.design_, degrees, alphas)
        total = stats.sum(axis=0)
        keep = self.design_.degrees <= self.degree_
        self.coef_, self.intercept_ = _ridge(total, keep, self.alpha_)

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
        keep = self.design_.degrees <= self.degree_
        return self._expand(X, regime)[:, keep] @ self.coef_ + self.intercept_

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
        keep = self.design_.degrees <= self.degree_
        return np.column_stack([np.ones(len(X)), self._expand(X, regime)[:, keep]])

    def _refit_with(self, data: RegimeData, **params: Any) -> StructuredEstimator:
        """This model refitted on ``data`` with ``params`` changed, on the ancestor sets it
        learned (passed as ``ancestors``, so the structure tests are not rerun)."""
        partner = clone(self).set_params(dag=None, ancestors=dict(self.ancestors_), **params)
        return clone(partner).fit(data)

    def _richer_fit(self, data: RegimeData) -> StructuredEstimator:
        """The sandwich's degree partner: this fit with its degree raised by one."""
        return self._refit_with(data, degrees=(self.degree_ + 1,))

    def _lighter_fit(self, data: RegimeData) -> StructuredEstimator | None:
        """This fit at its chosen degree with the next smaller penalty of its CV grid (None at
        the smallest): the sandwich's partner for the shrinkage bias."""
        grid = np.unique(self.cv_mse_["alpha"].to_numpy())
        smaller = grid[grid < self.alpha_ * (1 - 1e-9)]
        if not len(smaller):
            return None
        return self._refit_with(data, degrees=(self.degree_,), alphas=(float(smaller[-1]),))

    def _identified_actions(self) -> tuple[str, ...]:
        covered = {a for block in self.blocks_ for a in block}
        return tuple(a for a in self.actions_ if a in covered)

    def _fit_summary(self) -> tuple[dict[Regime, str], list[str]]:
        ancestors = ", ".join(f"{a}←{list(v)}" for a, v in self.ancestors_.items() if v)
        return {}, [
            f"chosen degree {self.degree_}, alpha {self.alpha_:.0e} per row; ancestors {ancestors}"
        ]

    def _model_state(self) -> dict[str, Any]:
        return {
            "params": {
                "degrees": [int(d) for d in self.degrees],
                "alphas": None if self.alphas is None else floats(np.ravel(self.alphas)),
                "cv": int(self.cv),
                "level": float(self.level),
                "random_state": self.random_state,
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
            },
        }

    @classmethod
    def _from_model_state(cls, f: Field, actions: list[str]) -> StructuredEstimator:
        p = f["params"].obj(("degrees", "alphas", "cv", "level", "random_state"))
        alphas = p["alphas"]
        est = cls(
            degrees=tuple(d.integer(1, MAX_DEGREE) for d in p["degrees"].items()),
            alphas=None
            if alphas.value is None
            else alphas.array((len(alphas.items()),), positive=True).tolist(),
            cv=p["cv"].integer(2),
            level=p["level"].number(),
            random_state=p["random_state"].optional_int(),
        )
        s = f["structured"].obj(_STATE_KEYS)
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
        keep = int(np.sum(est.design_.degrees <= est.degree_))
        est.coef_ = s["coef"].array((keep,))
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


def _solve_path(S: np.ndarray, keep: np.ndarray, alphas: np.ndarray):
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
        coefs.append((beta, ybar - zbar @ beta))
    return coefs


def _ridge(S: np.ndarray, keep: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    return _solve_path(S, keep, np.array([alpha]))[0]


def _sse(S: np.ndarray, keep: np.ndarray, beta: np.ndarray, intercept: float) -> float:
    """Sum of squared residuals of (beta, intercept) on the rows summarised by S."""
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep), [S.shape[0] - 1]])
    w = np.concatenate([[-intercept], -beta, [1.0]])
    return float(w @ S[np.ix_(idx, idx)] @ w)


def _select(
    stats: np.ndarray, design: GatedDesign, degrees: list[int], alphas: np.ndarray
) -> tuple[pd.DataFrame, int, float]:
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
    best = table.loc[table["mse"].idxmin()]
    return table, int(best["degree"]), float(best["alpha"])
