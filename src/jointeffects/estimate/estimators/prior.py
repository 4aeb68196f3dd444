"""The closest prior method: Gaussian additive noise over a known DAG (Saengkyongam & Silva, 2020).

Our implementation from the published description (UAI 2020, "Learning joint nonlinear effects
from single-variable interventions in the presence of hidden confounders"), with a quadratic
basis. Every action and the outcome is

    v_j = θ_jᵀ φ(pa_j) + e_j,    e = (e_A1, …, e_AK, e_Y) ~ N(0, Σ), Σ full,

with φ = (1, parents, pairwise products of parents, squares of parents); the outcome's parents
are all actions. Hidden confounding is the off-diagonal part of Σ. In a regime do(A_I) the
equations of A_I are dropped (A_I stay regressors elsewhere) and the remaining residuals are
N(0, Σ without the rows and columns I). The equations are triangular with unit Jacobian, so the
log-likelihood of a regime R with observed equations O_R and residual scatter S_R is

    ℓ_R(θ, Σ) = −½ [n_R log|Σ_OO| + tr(Σ_OO⁻¹ S_R(θ)) + n_R |O_R| log 2π].

**Fit** (maximum likelihood over all regimes jointly). Given Σ, Σ_R ℓ_R is quadratic in θ: the
feasible-GLS / SUR normal equations H(Σ)θ = b(Σ), assembled from per-regime cross products, give
θ̂(Σ) in closed form. Σ is Cholesky-parametrised (Σ = LLᵀ, log-diagonal) and the profile
likelihood ℓ(θ̂(Σ), Σ) is maximised by L-BFGS. Because θ̂(Σ) maximises ℓ exactly for fixed Σ,
the profile gradient is the partial gradient in Σ (envelope theorem), which is in closed form;
this handles the regime-dependent marginalisation exactly, with no EM approximation.

**Queries.** E[Y | do(a)] = θ_Yᵀφ(a) (E[e_Y] = 0). For a mixed query E[Y | do(a_int), a_obs]
the observed actions' residuals e_O = a_O − θ_Oᵀφ(pa_O) are known, and Gaussian conditioning
in the regime's covariance gives θ_Yᵀφ(a) + Σ_YO Σ_OO⁻¹ e_O.

See :class:`GaussianNoiseJointEstimator` for its assumptions next to the paper's.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats
from sklearn.exceptions import ConvergenceWarning

from jointeffects.errors import DataError
from jointeffects.estimate.estimators.ancestors import ancestors_from_dag
from jointeffects.estimate.estimators.base import RegimeEstimator
from jointeffects.estimate.learners.basis import monomial_columns, monomial_exponents
from jointeffects.estimate.learners.misfit import bonferroni_rejection
from jointeffects.estimate.regimes import Regime, RegimeData, as_regime_data


class GaussianNoiseJointEstimator(RegimeEstimator):
    """Joint and mixed effects under additive Gaussian noise (Saengkyongam & Silva, 2020).

    Use it when the outcome has interactions between actions but the noise is close to
    Gaussian and the DAG is known. Read more in the :doc:`user guide </guide/estimators>`.

    See the module docstring for the model, the likelihood and how it is maximised.

    Assumptions, next to ours. *This method*: additive **Gaussian** noise on every action and
    on the outcome (confounding only through noise correlations: no confounder–action
    interaction in any mechanism), mechanisms in the span of φ, and a known DAG among the
    actions; the outcome may have any interactions between actions. *Ours*
    (:class:`~jointeffects.estimate.JointEffectEstimator`, paper Assumptions 1–2): an outcome
    **additive** over the actions (or blocks), each confounder shared by one action (block)
    and Y only; any noise distribution, any nonlinear f_k(A_k, C_k) including
    action–confounder interactions, discrete actions, and no DAG needed. Where one holds and
    the other fails, that one wins. Use it when its assumptions are known to hold, or as the
    comparison method of the paper.

    Parameters
    ----------
    dag : mapping
        ``{action: [parent actions]}``, the DAG among the actions (required; actions not named
        have no parents). The outcome's parents are always all actions.
    squares : bool, default=True
        Include squares of the parents in φ. The published description names "parents plus
        pairwise products"; with squares φ spans every quadratic, which nests the
        linear-Gaussian model and quadratic response curves. ``False`` gives the literal basis.
    max_iter : int, default=500
        Iterations of L-BFGS over the Cholesky factor of Σ.
    tol : float, default=1e-10
        L-BFGS tolerance on the gradient and on the relative decrease of the per-row negative
        log-likelihood.
    random_state : int, optional
        Unused (the fit is deterministic); kept for the common estimator interface.

    Attributes
    ----------
    coef_ : dict
        Variable (each action, then the outcome) → pandas Series of θ_j indexed by feature
        names (``"1"``, ``"A0"``, ``"A0*A1"``, ``"A0^2"``).
    covariance_ : DataFrame of shape (K + 1, K + 1)
        Σ̂ over (actions, outcome).
    loglik_ : float
        Maximised log-likelihood summed over all regimes' rows.
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    >>> from jointeffects.simulate.comparison import sample_interaction_scm
    >>> scm = sample_interaction_scm(K=3, rng=0, n_calibration=1000)
    >>> data = {r: scm.sample(500, intervened=r, rng=1) for r in [(), *((a,) for a in scm.actions)]}
    >>> est = GaussianNoiseJointEstimator(dag={a: scm.parents(a) for a in scm.actions})
    >>> est.fit(data).predict(data[()][list(scm.actions)]).shape
    (500,)
    """

    def __init__(
        self,
        dag: Mapping[str, Any] | None = None,
        squares: bool = True,
        max_iter: int = 500,
        tol: float = 1e-10,
        random_state: int | None = None,
    ) -> None:
        self.dag = dag
        self.squares = squares
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------

    def _fit_regimes(self, data: RegimeData) -> None:
        if self.dag is None:
            raise DataError(
                f"{type(self).__name__} needs the DAG among the actions: pass "
                "dag={action: [parent actions]} (e.g. {a: scm.parents(a) for a in scm.actions})"
            )
        ancestors_from_dag(self.dag, data.actions)  # validates names and acyclicity
        K = len(data.actions)
        index = {a: j for j, a in enumerate(data.actions)}
        parents = [
            tuple(sorted(index[str(p)] for p in _listed(self.dag.get(a, ())))) for a in data.actions
        ]
        self.parents_ = {
            a: tuple(data.actions[j] for j in parents[k]) for k, a in enumerate(data.actions)
        }
        self._exponents = [_exponents(pa, bool(self.squares)) for pa in (*parents, tuple(range(K)))]
        # Equation of every feature column (the design is block-diagonal over equations).
        self._eq = np.concatenate([np.full(len(e), j) for j, e in enumerate(self._exponents)])
        stats = [self._regime_stats(regime, X, y, index) for regime, (X, y) in data.regimes.items()]
        never = [a for k, a in enumerate(data.actions) if not any(s[0][k] for s in stats)]
        if never:
            raise DataError(
                f"action(s) {never} are intervened on in every regime, so their mechanisms "
                "cannot be fitted; add observational data or a regime that leaves them observed"
            )
        self._check_rows(stats, data.actions)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            try:
                self._optimise(stats)
            except (linalg.LinAlgError, np.linalg.LinAlgError, ValueError) as exc:
                raise DataError(self._singular_message(stats)) from exc
        if not (np.isfinite(self._theta).all() and np.isfinite(self._sigma).all()):
            raise DataError(self._singular_message(stats))
        names = (*data.actions, data.outcome)
        self.covariance_ = pd.DataFrame(self._sigma, index=names, columns=names)
        self.coef_ = {
            name: pd.Series(
                self._theta[self._eq == j],
                index=[_feature_name(e, data.actions) for e in self._exponents[j]],
                name=name,
            )
            for j, name in enumerate(names)
        }

    def _check_rows(self, stats: list[tuple[np.ndarray, int, np.ndarray]], actions: Any) -> None:
        """Refuse equations observed on fewer rows than twice their number of coefficients."""
        names = (*actions, "the outcome")
        for j, exponents in enumerate(self._exponents):
            rows = sum(n for observed, n, _ in stats if observed[j])
            if rows < 2 * len(exponents):
                raise DataError(
                    f"{type(self).__name__}: the equation of {names[j]} has {len(exponents)} "
                    f"coefficients but is observed on {rows} rows; at least "
                    f"{2 * len(exponents)} are needed"
                )

    def _singular_message(self, stats: list[tuple[np.ndarray, int, np.ndarray]]) -> str:
        rows = ", ".join(str(n) for _, n, _ in stats)
        return (
            f"{type(self).__name__} could not be fitted: the noise covariance or the design is "
            f"singular with {rows} rows per regime; use more rows, squares=False, or a sparser "
            "DAG"
        )

    def _regime_stats(
        self, regime: Regime, X: np.ndarray, y: np.ndarray, index: dict[str, int]
    ) -> tuple[np.ndarray, int, np.ndarray]:
        """(observed-equation mask, rows, cross product of [features, variables])."""
        observed = np.ones(X.shape[1] + 1, dtype=bool)
        observed[[index[a] for a in regime]] = False
        Z = np.column_stack([self._design(X), X, y])
        return observed, len(y), Z.T @ Z

    def _design(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([monomial_columns(X, e) for e in self._exponents])

    def _optimise(self, stats: list[tuple[np.ndarray, int, np.ndarray]]) -> None:
        n_vars = len(self._exponents)
        total = sum(n for _, n, _ in stats)
        # Start: Σ = I gives equation-by-equation OLS; then the pairwise residual covariance.
        theta = self._gls(stats, np.eye(n_vars))
        scatter, count = np.zeros((n_vars, n_vars)), np.zeros((n_vars, n_vars))
        for observed, n, M in stats:
            both = np.outer(observed, observed)
            scatter += np.where(both, self._residual_scatter(M, theta), 0.0)
            count += both * n
        start = scatter / np.maximum(count, 1)
        if not np.isfinite(start).all():
            raise linalg.LinAlgError("the starting residual covariance is not finite")
        w, U = np.linalg.eigh((start + start.T) / 2)
        start = (U * np.maximum(w, 1e-8 * max(w.max(), 1e-12))) @ U.T
        tril = np.tril_indices(n_vars)

        def unpack(eta: np.ndarray) -> np.ndarray:
            L = np.zeros((n_vars, n_vars))
            L[tril] = eta
            L[np.diag_indices(n_vars)] = np.exp(np.diag(L))
            return L

        def objective(eta: np.ndarray) -> tuple[float, np.ndarray]:
            L = unpack(eta)
            value, grad_sigma, _ = self._profile(stats, L @ L.T)
            grad_L = np.tril(2 * grad_sigma @ L) / total
            grad_L[np.diag_indices(n_vars)] *= np.diag(L)  # chain rule through exp
            return value / total, grad_L[tril]

        L0 = np.linalg.cholesky(start)
        L0[np.diag_indices(n_vars)] = np.log(np.diag(L0))
        result = optimize.minimize(
            objective,
            L0[tril],
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": int(self.max_iter), "ftol": self.tol, "gtol": self.tol},
        )
        L = unpack(result.x)
        self._sigma = L @ L.T
        value, _, self._theta = self._profile(stats, self._sigma)
        self.loglik_ = _with_constant(-value, stats)
        self.n_iter_ = int(result.nit)
        self.converged_ = bool(result.success)
        if not result.success:
            warnings.warn(
                f"{type(self).__name__} did not converge ({result.message}); raise max_iter "
                f"(now {self.max_iter}) or tol (now {self.tol})",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _profile(
        self, stats: list[tuple[np.ndarray, int, np.ndarray]], sigma: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Negative log-likelihood at θ̂(Σ) (without 2π terms), its Σ-gradient, and θ̂(Σ)."""
        theta = self._gls(stats, sigma)
        return (*self._nll(stats, sigma, theta), theta)

    def _nll(
        self, stats: list[tuple[np.ndarray, int, np.ndarray]], sigma: np.ndarray, theta: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """−Σ_R ℓ_R(θ, Σ) without the 2π terms, and its gradient in Σ (θ held fixed)."""
        value, grad = 0.0, np.zeros_like(sigma)
        for observed, n, M in stats:
            o = np.flatnonzero(observed)
            factor = linalg.cho_factor(sigma[np.ix_(o, o)], lower=True)
            precision = linalg.cho_solve(factor, np.eye(len(o)))
            S = self._residual_scatter(M, theta)[np.ix_(o, o)]
            value += 0.5 * (n * 2 * np.log(np.diag(factor[0])).sum() + np.sum(precision * S))
            grad[np.ix_(o, o)] += 0.5 * (n * precision - precision @ S @ precision)
        return value, grad

    def _gls(
        self, stats: list[tuple[np.ndarray, int, np.ndarray]], sigma: np.ndarray
    ) -> np.ndarray:
        """θ̂(Σ): the SUR normal equations Σ_R (P_R ⊗ blocks of Φ_RᵀΦ_R) θ = Σ_R ..., solved."""
        p = len(self._eq)
        H, b = np.zeros((p, p)), np.zeros(p)
        for observed, _, M in stats:
            o = np.flatnonzero(observed)
            weights = np.zeros_like(sigma)
            weights[np.ix_(o, o)] = linalg.inv(sigma[np.ix_(o, o)])
            W = weights[self._eq]
            H += W[:, self._eq] * M[:p, :p]
            b += (W * M[:p, p:]).sum(axis=1)
        # Jacobi scaling keeps the quadratic features' Gram matrix well conditioned.
        if not (np.isfinite(H).all() and np.isfinite(b).all()):
            raise linalg.LinAlgError("the GLS normal equations are not finite")
        d = np.sqrt(np.diag(H))
        d[~(d > 0)] = 1.0
        scaled = H / np.outer(d, d)
        try:
            return linalg.solve(scaled, b / d, assume_a="pos") / d
        except (linalg.LinAlgError, ValueError):
            if not np.isfinite(scaled).all():
                raise
            return np.linalg.lstsq(scaled, b / d, rcond=None)[0] / d

    def _residual_scatter(self, M: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Σ_rows r rᵀ with r_j = v_j − θ_jᵀφ_j, from the cross product M of [Φ, V]."""
        p = len(self._eq)
        Theta = np.zeros((p, len(self._exponents)))
        Theta[np.arange(p), self._eq] = theta
        cross = Theta.T @ M[:p, p:]
        return M[p:, p:] - cross - cross.T + Theta.T @ M[:p, :p] @ Theta

    # -- queries ------------------------------------------------------------------------------

    def _means(self, X: np.ndarray) -> np.ndarray:
        """θ_jᵀφ(pa_j) for every equation j (the actions', then the outcome's): (n, K + 1)."""
        fitted = self._design(X) * self._theta  # column c holds θ_c·φ_c(x)
        return np.column_stack(
            [fitted[:, self._eq == j].sum(axis=1) for j in range(len(self._exponents))]
        )

    def _model_note(self, data: RegimeData, spec_level: float) -> str:
        """D'Agostino's normality test of the residual of every equation each regime observes,
        Bonferroni over all, rejecting at ``spec_level`` (its far tail is anti-conservative, so
        Gaussian data are flagged a little too often)."""
        pvalues = []
        for regime, (X, y) in data.regimes.items():
            residuals = self.residuals(X, y)
            observed = [a not in regime for a in (*data.actions, data.outcome)]
            pvalues.extend(stats.normaltest(residuals[:, observed]).pvalue)
        p = bonferroni_rejection(pvalues, spec_level)
        if p is None:
            return ""
        return (
            f"the Gaussian-noise model is rejected by its residuals (normality tests, "
            f"p = {p:.2g}): the interval ignores the model's bias"
        )

    def residuals(self, X: Any, y: Any) -> np.ndarray:
        """The residuals e = (a_1 … a_K, y) − θᵀφ of every equation, shape (n, K + 1).

        Under the model the residuals of the equations a regime observes (not intervened)
        are jointly N(0, Σ) in that regime; :meth:`_model_note` tests them.
        """
        self._check_fitted()
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.actions_) or y.shape != (len(X),):
            raise DataError(
                f"residuals needs X of shape (n, {len(self.actions_)}) and y of shape (n,); "
                f"got {X.shape} and {y.shape}"
            )
        return np.column_stack([X, y]) - self._means(X)

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:
        K = len(self.actions_)
        means = self._means(X)
        effect = means[:, K]
        o = [k for k, a in enumerate(self.actions_) if a not in regime]
        if o:
            residuals = X[:, o] - means[:, o]
            gain = linalg.solve(self._sigma[np.ix_(o, o)], self._sigma[o, K], assume_a="pos")
            effect = effect + residuals @ gain
        return effect

    def loglikelihood(self, datasets: Any, outcome: str = "Y") -> float:
        """Log-likelihood of regime datasets under the fitted θ̂ and Σ̂ (of the fit: ``loglik_``).

        Parameters
        ----------
        datasets : dict
            ``{regime: DataFrame}`` as for :meth:`fit`, over the fitted actions.
        outcome : str, default="Y"
        """
        self._check_fitted()
        data = as_regime_data(datasets, outcome=outcome)
        index = {a: j for j, a in enumerate(self.actions_)}
        stats = [self._regime_stats(r, X, y, index) for r, (X, y) in data.regimes.items()]
        return _with_constant(-self._nll(stats, self._sigma, self._theta)[0], stats)


def _with_constant(loglik: float, stats: list[tuple[np.ndarray, int, np.ndarray]]) -> float:
    """Add the −½ log 2π per observed equation and row that the optimisation leaves out."""
    rows = sum(n * int(observed.sum()) for observed, n, _ in stats)
    return float(loglik - 0.5 * rows * np.log(2 * np.pi))


def _listed(parents: Any) -> list[Any]:
    return [parents] if isinstance(parents, str) else list(parents)


def _exponents(variables: tuple[int, ...], squares: bool) -> list[dict[int, int]]:
    """φ's monomials: the constant, then degree 1 and 2 (squares only if asked)."""
    quadratic = monomial_exponents(variables, 2)
    return [{}, *(e for e in quadratic if squares or max(e.values()) == 1)]


def _feature_name(powers: dict[int, int], actions: tuple[str, ...]) -> str:
    if not powers:
        return "1"
    return "*".join(actions[v] if p == 1 else f"{actions[v]}^{p}" for v, p in powers.items())
