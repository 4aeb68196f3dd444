"""Pointwise intervals for joint and mixed effects: a regime bootstrap for every estimator.

The bootstrap resamples rows with replacement *within each regime* (the regimes are
independent samples of fixed sizes) and refits a clone of the estimator, so it works for any
:class:`~jointeffects.estimate.base.RegimeEstimator`. The structure-aware estimator is linear
in its parameters and also has an analytic, heteroskedasticity-robust sandwich interval
(:func:`sandwich_intervals`) computed in one streaming pass over the rows, widened by a
bias term (the spreads to the fits one degree richer and one penalty step lighter).

Intervals are flagged as not trustworthy (column ``trusted`` False, plus an
:class:`IntervalWarning`) where the resampling argument breaks down: a regime with fewer
than ``min_rows`` rows, or a query outside the range of the training data of some regime
(of those the estimator learns from, :func:`learned_from`; the learners then extrapolate and
the spread of refits says nothing about the bias); the sandwich intervals also when a residual
specification test finds the structured model wrong (its bias then does not shrink with n
while the band does), and mixed effects whose learners' misfit they keep
(:func:`mixed_effect_note`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from jointeffects.errors import DataError
from jointeffects.estimate.basis import monomial_columns, monomial_exponents, polynomial_columns
from jointeffects.estimate.data import RegimeData, as_regime_data, query_array, row_chunks

#: Regimes with fewer rows than this get their intervals flagged: the learners' CV and model
#: choice are unstable there. Measured at 100 rows per regime (linear SCMs, K = 5, 12 SCMs,
#: Gaussian and logistic noise, seed 2025; bench_coverage.py --linear --sizes 100 200
#: --boot-max 1000 --boot-max-structured 1000) the bootstraps erred wide, not narrow
#: (paper's estimator 0.96-0.98, structured 0.97), but at 200 rows the structured sandwich
#: covered only 0.80 with Gaussian noise (0.94 logistic).
MIN_TRUSTED_ROWS = 200

METHODS = ("percentile", "basic", "normal")

#: Significance level of the specification tests below which intervals are flagged as not
#: trustworthy (:func:`specification_test` for the sandwich, :func:`model_note`).
SPEC_LEVEL = 0.05

#: How percentile bounds are read off the replicates: Hyndman and Fan's definition 8
#: (approximately median-unbiased for any continuous distribution). numpy's default (linear
#: interpolation) puts the 5 % and 95 % quantiles of few draws inside the true ones: on 50
#: standard normal draws its interval held 0.867 of the distribution for nominal 0.9 on
#: average, this one 0.890 (0.891 and 0.897 at 200 draws).
QUANTILE_METHOD: Final = "median_unbiased"

#: Rows per degree of freedom below which :func:`extension_residual_test` is not run: on a
#: right cubic model (K = 5, 70 degree-4 monomials, heteroskedastic t_5 noise) its robust
#: score statistic rejected 0.047 at level 0.05 with 10^4 rows (143 per column), but 0.095
#: with 2000 rows and 0.53 with 500; with Gaussian actions (heavy-tailed 4th powers) it still
#: rejected 0.065-0.095 at 133 rows per column (K = 3): extra flags, on the safe side.
EXTENSION_ROWS_PER_COLUMN: Final = 100

#: Array cells (rows × columns) the extension test holds at once; larger regimes enter it
#: through evenly spaced rows, which keeps it valid and, at that size, powerful.
EXTENSION_CELLS: Final = 10_000_000


class IntervalWarning(UserWarning):
    """Some intervals are not trustworthy (tiny regime or extrapolation)."""


def bootstrap_intervals(
    estimator: Any,
    datasets: Any,
    X: Any,
    intervened: Sequence[str] | None = None,
    level: float = 0.9,
    n_boot: int = 200,
    method: str = "percentile",
    random_state: int | np.random.Generator | None = None,
    outcome: str = "Y",
    min_rows: int = MIN_TRUSTED_ROWS,
    misspecification: bool | str = "auto",
) -> pd.DataFrame:
    """Bootstrap intervals for E[Y | do(a_int), a_obs] at query points.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``datasets`` (its predictions are the point estimates) or unfitted (a
        clone is fitted first). Refitted as a clone on every resample.
    datasets : dict or RegimeData
        The training data, as for ``estimator.fit``.
    X : DataFrame or array-like of shape (n_queries, n_actions)
        Query points.
    intervened : sequence of str, optional
        Intervened actions; default all (the joint effect).
    level : float, default=0.9
        Nominal coverage of each pointwise interval.
    n_boot : int, default=200
        Bootstrap replicates.
    method : {"percentile", "basic", "normal"}, default="percentile"
        Percentile, basic (reflected percentile) or normal (estimate ± z·bootstrap sd)
        interval; percentile had the best measured coverage (benchmarks/bench_coverage.py).
    random_state : int, Generator or None
        Randomness of the resampling.
    outcome : str, default="Y"
        Outcome column.
    min_rows : int, default=200
        Regimes smaller than this flag every interval as not trusted.
    misspecification : bool or "auto", default="auto"
        Widen each interval for the learners' approximation bias, which the bootstrap does
        not see and which does not shrink with n. The bias is estimated from the spread
        f̂ − f̂' to the estimator refitted with its :class:`PolynomialRidgeCV` learners one
        degree richer, refitted on the same resamples, so that the spread's own noise can
        be subtracted (:func:`calibrated_bias`); each side is then widened to the
        bias-aware half-width of :func:`widen`. Costs the richer learners' refits (measured
        4-6× the plain bootstrap's time). Needs polynomial ridge learners; "auto" = True
        when the estimator has them (for an :class:`AdditiveProjection`, its wrapped
        estimator; the partner then also projects one degree richer). Measured
        (benchmarks/bench_coverage.py, K = 5, 12 SCMs per cell, 500 to 10^5 rows per
        regime, Gaussian, uniform and logistic noise, 50 replicates), the paper's
        estimator: nominal 0.9 covered 0.90-0.94 in every cell, the plain percentile
        bootstrap 0.86-0.93. A :class:`StructuredEstimator` ("auto" = False) relearns its
        ancestor sets, degree and alpha on every resample; its plain percentile bootstrap
        covered 0.88-0.96 in the same 12 cells (48 SCMs per cell, 36 at 10^5 rows; with
        seeds 7 and 11 added, 72 SCMs per cell up to 10^4 rows, 0.90-0.94). Its refits
        declare 2-3× as many ancestor pairs as fits on fresh samples (structure tests on
        resampled rows see the sample's chance differences as real), so their spread is that
        of a richer model: 1.18-1.25× the sd over fresh samples at 500 and 2000 rows. Refits
        whose tests count half the rows (which restores the tests' null rejection rate and
        the spread, 0.97-1.10×) under-covered instead (0.83-0.92 on 24 SCMs per cell,
        README), so that is not done. Its sandwich (:func:`sandwich_intervals`) is the fast
        alternative, conditional on the learned structure and flagged where its
        specification test rejects.

    Returns
    -------
    DataFrame with one row per query and columns ``estimate``, ``lower``, ``upper``,
    ``se`` (bootstrap standard deviation), ``trusted`` (bool) and ``note`` (why not: a tiny
    regime, extrapolation, for the prior method a rejected Gaussian model or for a baseline
    ignored confounding, see :func:`model_note`, or a mixed effect whose learners' misfit
    shows, see :func:`mixed_effect_note`); with ``misspecification`` also ``bias``.
    """
    data = regime_data(datasets, outcome)
    points = query_array(X, data.actions)
    queries = [(points, intervened)]
    partner = bootstrap_partner(estimator, misspecification)  # before any bootstrap work
    fitted = fitted_on(estimator, data)
    models = [fitted] if partner is None else [fitted, partner]
    (estimate, draws), *richer = paired_draws(models, data, queries, n_boot, random_state)
    table = interval_table(estimate, draws, level, method)
    if richer:
        ((other, other_draws),) = richer
        table["bias"] = bias = calibrated_bias(estimate - other, draws - other_draws)
        table["lower"], table["upper"] = widen(
            estimate, table["lower"], table["upper"], bias, level
        )
    regression = regression_misfit_note(fitted, data) if is_mixed(fitted, intervened) else ""
    note = join_notes(model_note(fitted, data), mixed_effect_note(fitted, intervened, regression))
    return flag_untrusted(table, learned_from(fitted, data), points, min_rows, extra_note=note)


def learned_from(fitted: Any, data: RegimeData) -> RegimeData:
    """``data`` restricted to the regimes ``fitted`` learns from, whose sizes and ranges are
    what the tiny-regime and extrapolation flags check: a :class:`JointTopline` reads only the
    joint experiment, an :class:`ObservationalBaseline` only the observational data, the
    other estimators every regime."""
    from jointeffects.estimate.baselines import JointTopline, ObservationalBaseline

    if isinstance(fitted, JointTopline):
        read: Any = data.actions
    elif isinstance(fitted, ObservationalBaseline):
        read = ()
    else:
        return data
    return RegimeData(data.actions, data.outcome, {read: data.regimes[read]})


def model_note(fitted: Any, data: RegimeData, spec_level: float = SPEC_LEVEL) -> str:
    """Why no bootstrap interval of ``fitted`` can be trusted, or "".

    For the baselines that ignore confounding, :func:`baseline_note`.
    For the parametric prior method (:class:`GaussianNoiseJointEstimator`): under its model
    the residual of every equation a regime observes (each non-intervened action's and the
    outcome's, :meth:`~GaussianNoiseJointEstimator.residuals`) is normal. D'Agostino's
    normality test of each, Bonferroni over all (regime, equation) pairs, rejecting at
    ``spec_level`` means the model is wrong, and its bias (which the bootstrap does not see)
    then dominates: on the paper's SCM family its bands covered 0.16-0.63 (K = 5, 500 to
    10^4 rows per regime, 12 SCMs per cell, ``benchmarks/bench_coverage.py --others prior``).
    With the outcome's residuals alone the test missed 4 of 12 uniform-noise SCMs at 500
    rows and 2 of 12 at 2000 (seed 2025); with every equation's it flags all 12 in every
    cell. On the prior method's own Gaussian families (``--comparison``, seeds 2025 and 31)
    it flags 0-4 of 12 per cell, 20 of 144 fits: more than the level promises, because
    D'Agostino's far tail is anti-conservative (on Gaussian samples of 500 rows it rejected
    0.0026-0.0040 at the Bonferroni level 0.0016; with 31 tests that alone flags 8-12 %).
    """
    from jointeffects.estimate.gaussian import GaussianNoiseJointEstimator

    if not isinstance(fitted, GaussianNoiseJointEstimator):
        return baseline_note(fitted)
    pvalues = []
    for regime, (X, y) in data.regimes.items():
        residuals = fitted.residuals(X, y)
        observed = [a not in regime for a in (*data.actions, data.outcome)]
        pvalues.extend(stats.normaltest(residuals[:, observed]).pvalue)
    p = bonferroni_rejection(pvalues, spec_level)
    if p is None:
        return ""
    return (
        f"the Gaussian-noise model is rejected by its residuals (normality tests, "
        f"p = {p:.2g}): the interval ignores the model's bias"
    )


def bonferroni_pvalue(pvalues: Sequence[float]) -> float:
    """The Bonferroni p-value of several tests (at least one): min(1, m·min p)."""
    return min(1.0, len(pvalues) * min(pvalues))


def bonferroni_rejection(pvalues: Sequence[float], level: float) -> float | None:
    """:func:`bonferroni_pvalue` of several tests if it is below ``level``; None if it is not
    (or there are no tests)."""
    if not len(pvalues):
        return None
    p = bonferroni_pvalue(pvalues)
    return p if p < level else None


def is_mixed(fitted: Any, intervened: Any) -> bool:
    """Whether ``intervened`` leaves some of the fitted estimator's actions observed."""
    return bool(fitted._intervened_regime(intervened) != tuple(fitted.actions_))


def mixed_effect_note(fitted: Any, intervened: Any, regression_misfit: str = "") -> str:
    """Why no interval of this *mixed* effect can be trusted, or "" (always "" for the joint
    effect).

    A mixed effect E[Y | do(a_int), a_obs] keeps, for every observed action k, a posterior
    mean E[f_k(a_k, C_k) | a_k, a_anc] that the joint effect does not need (there the terms
    of the regimes cancel); polynomial learners approximate it, not exactly when the noise is
    not Gaussian, and neither the bootstrap nor the sandwich sees that bias.

    - A :class:`StructuredEstimator` evaluates its cubic ψ_k for it: always flagged. Measured
      on do(A0, A1) with A2-A4 observed (``bench_coverage.py --intervened A0 A1``, K = 5, 12
      SCMs per cell, seed 2025, 500 to 10^4 rows per regime, Gaussian, uniform and logistic
      noise): its bootstrap covered 0.59-0.93 of the mixed effects (falling with n), its
      sandwich's trusted intervals 0.58-0.89; on linear-Gaussian SCMs (ψ exact, 2000 rows)
      the structured bootstrap covered 0.96. A bias term from the fit one degree richer,
      refitted on the same resamples, lifted the logistic cells only to 0.86 (2000 rows)
      and 0.80 (10^4).
    - Estimators with one regression per regime (the paper's) get ``regression_misfit``,
      the note of :func:`regression_misfit_note` for the data they were fitted on: flagged
      only where their residuals show the misfit.
    """
    from jointeffects.estimate.structured import StructuredEstimator

    if not is_mixed(fitted, intervened):
        return ""
    if not isinstance(fitted, StructuredEstimator):
        return regression_misfit
    return (
        "mixed effect of the structured model: its terms for the observed actions are "
        "polynomial approximations whose bias the interval ignores; for mixed effects prefer "
        "the paper's estimator (JointEffectEstimator, CLI --estimator paper)"
    )


def regression_misfit_note(
    fitted: Any, data: RegimeData, spec_level: float = SPEC_LEVEL, n_bins: int = 10
) -> str:
    """Why no interval of a *mixed* effect of ``fitted``'s per-regime regressions can be
    trusted, or "" (also "" for estimators without such regressions).

    Each regime's residuals y − m̂_r(x) are tested for a mean that varies across the
    actions' quantile bins (:func:`binned_residual_test`), Bonferroni over the regimes, and,
    for :class:`PolynomialRidgeCV` learners on regimes with enough rows, for correlation
    with the monomials one degree beyond theirs (:func:`extension_residual_test`, the
    regimes' statistics summed); Bonferroni over the two. A rejection at ``spec_level``
    means the learners' misfit is large against the sampling noise. The joint effect is not
    flagged: its target Σ_r m_r − (K − 1)·m_obs cancels the posterior means the learners
    misfit, and their bootstrap with the bias term covered 0.90-0.94 even in the cells where
    these tests reject. A mixed effect keeps one of each:
    for the paper's estimator on do(A0, A1) at 10^4 rows per regime with uniform noise
    (seeds 2025 and 31, 24 SCMs) the misfit's size was that of the estimate's standard
    deviation (one SCM: root mean square bias 0.032 against 0.028 over 16 fresh samples, the
    bootstrap's se 0.98x that sd; learners of degree 5 on 2·10^5 rows still 0.023), the
    partners one or two degrees richer did not see it, and the intervals covered 0.78-0.80.
    The binned test rejected on 23 of those 24 SCMs, and on 22 of 24 on the held-out seeds 77
    and 101; over the four seeds (48 SCMs per cell, ``bench_coverage.py --intervened A0 A1``) it
    flagged 0-3 SCMs per cell at 500 rows and 2-10 at 2000, and the trusted intervals covered
    0.86-0.94 except at 10^4 rows with uniform noise, where the 3 SCMs that pass the binned
    test alone covered 0.81: their misfit is real but spread over interactions of the
    actions, which the bins do not see. The extension test (70 degree-4 monomials at K = 5,
    so from 7000 rows per regime) sees it: with both, 48 of 48 uniform, 47 of 48 logistic
    and 43 of 48 Gaussian SCMs are flagged at 10^4 rows (the 5 Gaussian that pass covered
    0.90; the one logistic 0.86; on held-out seeds 7 and 11 all 72, whose intervals covered
    0.82-0.90), at 500 and 2000 rows nothing changes. The flagged Gaussian and logistic
    intervals covered 0.88-0.89 at 10^4 rows, so there the flag is conservative; at 10^5
    rows (seeds 2025 and 31) the binned test alone flagged 71 of 72 SCMs, whose intervals
    covered 0.56-0.76. On linear-Gaussian SCMs with polynomial ridge learners (a right
    model) the two flagged 6 of 200 fits at 2000 rows (degree 1) and 4 of 60 at 10^4 rows
    (degree 3). Cost at 10^6 rows per regime (K = 5): 6 s after a 0.8 s fit (binned 0.5 s
    and extension 0.5 s per regime).
    """
    regressions = regime_regressions(fitted)
    binned, extended = [], []
    for regime, (X, y) in data.regimes.items():
        if regime not in regressions:
            continue
        residuals = y - predict_in_chunks(regressions[regime], X)
        binned.append(binned_residual_test(X, residuals, n_bins)[2])
        degree = polynomial_degree(regressions[regime])
        if degree is not None:
            extended.append(extension_residual_test(X, residuals, degree))
    pvalues = [bonferroni_pvalue(binned)] if binned else []
    summed = [test for test in extended if test is not None]
    if summed:  # the regimes are independent samples: their statistics add up
        statistic, dof = np.sum(summed, axis=0)
        pvalues.append(float(stats.chi2.sf(statistic, dof)))
    p = bonferroni_rejection(pvalues, spec_level)
    if p is None:
        return ""
    return (
        "the per-regime regressions' residuals vary across the actions' quantile bins or "
        f"with the monomials one degree beyond the learners' (test p = {p:.2g}); a mixed "
        "effect keeps their misfit, which the interval ignores (the joint effect does not)"
    )


def polynomial_degree(learner: Any) -> int | None:
    """The degree of a fitted :class:`PolynomialRidgeCV` learner, else None."""
    from jointeffects.estimate.ridge import PolynomialRidgeCV

    return int(learner.degree) if isinstance(learner, PolynomialRidgeCV) else None


def extension_residual_test(
    X: np.ndarray, residuals: np.ndarray, degree: int
) -> tuple[float, int] | None:
    """Robust score test that the residuals of a polynomial fit of total degree ``degree``
    are uncorrelated with the monomials of degree ``degree + 1`` (a misfit the fit's
    polynomials cannot express).

    z_i holds those monomials of the standardised actions with the polynomials up to
    ``degree`` partialled out (so a shrunken fit's own bias, which lies in their span, does
    not count); the statistic is :func:`robust_score_statistic` of e_i z_i, ≈ χ² with
    rank(z) degrees of freedom when E[e | x] = 0. It sees misfit spread over many directions
    of the actions, which the binned test, additive in the actions, does not. At most
    ``EXTENSION_CELLS`` array cells: larger regimes enter through evenly spaced rows.

    Returns
    -------
    (statistic, degrees of freedom), or None with fewer than ``EXTENSION_ROWS_PER_COLUMN``
    rows per monomial (there the χ² approximation over-rejects).
    """
    exponents = monomial_exponents(tuple(range(X.shape[1])), degree + 1)
    lower = [{}, *(e for e in exponents if sum(e.values()) <= degree)]
    top = [e for e in exponents if sum(e.values()) == degree + 1]
    step = max(1, -(-len(X) * (len(lower) + len(top)) // EXTENSION_CELLS))  # ceil
    X, residuals = X[::step], residuals[::step]
    if len(X) < EXTENSION_ROWS_PER_COLUMN * len(top):
        return None
    scale = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    fitted, extra = monomial_columns(Z, lower), monomial_columns(Z, top)
    extra -= fitted @ np.linalg.lstsq(fitted, extra, rcond=None)[0]
    statistic = robust_score_statistic(iter([extra * residuals[:, None]]))
    return statistic, int(np.linalg.matrix_rank(extra))


def regime_regressions(fitted: Any) -> dict[Any, Any]:
    """The fitted per-regime learners behind ``fitted``'s mixed effects ({} if none):
    a :class:`JointEffectEstimator`'s, or those of the one an :class:`AdditiveProjection`
    wraps (it answers mixed queries with it)."""
    from jointeffects.estimate.joint import JointEffectEstimator
    from jointeffects.estimate.projection import AdditiveProjection

    if isinstance(fitted, AdditiveProjection):
        return regime_regressions(fitted.estimator_)
    return dict(fitted.models_) if isinstance(fitted, JointEffectEstimator) else {}


def predict_in_chunks(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` a chunk of rows at a time."""
    return np.concatenate([model.predict(X[part]) for part in row_chunks(len(X))])


def binned_residual_test(
    X: np.ndarray, residuals: np.ndarray, n_bins: int = 10
) -> tuple[float, int, float]:
    """Heteroskedasticity-robust score test that the residuals' mean is the same in every
    quantile bin of every action.

    z_i holds, per action, the indicators of its ``n_bins`` quantile bins but the first,
    centred; the statistic is :func:`robust_score_statistic` of e_i z_i, ≈ χ² with dim(z)
    degrees of freedom when E[e | x] = 0. Bins see misfit of any shape along an action
    (kinks, plateaus), which partners of higher polynomial degree miss.

    Returns
    -------
    (statistic, degrees of freedom, p-value)
    """
    cuts = np.linspace(0, 1, n_bins + 1)[1:-1]
    # Edges from at most ~10^5 evenly spaced rows: any edges fixed by X alone keep the test
    # valid, and quantiles of 10^6 rows per action cost more than the test itself.
    every = X[:: max(1, len(X) // 100_000)]
    bins = [
        np.searchsorted(np.quantile(e, cuts), x, side="right")
        for e, x in zip(every.T, X.T, strict=True)
    ]
    # Indicators of every occupied bin of an action but its first (none for a constant one).
    occupied = [np.unique(b)[1:] for b in bins]
    shares = np.concatenate(
        [(b[:, None] == o).mean(axis=0) for b, o in zip(bins, occupied, strict=True)]
    )
    if not len(shares):
        return 0.0, 0, 1.0

    def indicators(part: slice) -> np.ndarray:
        columns = [b[part, None] == o for b, o in zip(bins, occupied, strict=True)]
        return np.hstack(columns) - shares

    chunks = row_chunks(len(residuals))
    stat = robust_score_statistic(indicators(part) * residuals[part, None] for part in chunks)
    return stat, len(shares), float(stats.chi2.sf(stat, len(shares)))


def robust_score_statistic(scores: Iterator[np.ndarray]) -> float:
    """SᵀV⁺S for the rows s_i of the chunks ``scores`` (each of shape (rows, d)): S = Σ_i s_i,
    V = Σ_i (s_i − S/n)(s_i − S/n)ᵀ (heteroskedasticity-robust)."""
    total, outer, n = 0.0, 0.0, 0
    for s in scores:
        total = total + s.sum(axis=0)
        outer = outer + s.T @ s
        n += len(s)
    V = outer - np.outer(total, total) / n
    return float(total @ np.linalg.pinv(V) @ total)


def baseline_note(fitted: Any) -> str:
    """Why no interval of a baseline that ignores confounding can be trusted, or "".

    :class:`ObservationalBaseline` and :class:`PooledBaseline` regress Y on the actions as if
    the regression were causal; their bootstrap interval is one for that regression, and
    under confounding it misses the causal effect however much data there is.
    """
    from jointeffects.estimate.baselines import ObservationalBaseline, PooledBaseline

    if not isinstance(fitted, ObservationalBaseline | PooledBaseline):
        return ""
    return (
        f"{type(fitted).__name__} ignores confounding: the interval is for its regression, "
        "not for the causal effect"
    )


def calibrated_bias(spread: Any, spread_draws: Any) -> np.ndarray:
    """The bias term from the spread f̂ − f̂' between a fit and its richer partner.

    The spread carries the two fits' noise as well as the bias: E[spread²] ≈ bias² +
    Var(spread). Its bootstrap variance (both models refitted on the same resamples) is
    subtracted: √max(spread² − Var*(spread), 0). Without that the noise of the richer fit
    counted as bias and the paper's estimator over-covered (0.95-0.97 for nominal 0.9 at 500
    rows per regime, benchmarks/bench_coverage.py).
    """
    spread = np.asarray(spread, dtype=float)
    noise = np.asarray(spread_draws, dtype=float).var(axis=0, ddof=1)
    return np.sqrt(np.maximum(spread**2 - noise, 0.0))


def widen(
    estimate: Any, lower: Any, upper: Any, bias: Any, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each side of an interval around ``estimate`` widened for a bias of size ``bias``.

    A side of half-width h is read as z·se (z the two-sided normal quantile of ``level``)
    and becomes se·c(bias/se) with c from :func:`bias_aware_critical`: the bias-aware
    ("honest") interval of Armstrong and Kolesár (2020), which covers at ``level`` when the
    estimate is normal with standard error se and its bias is at most ``bias`` in size.
    """
    estimate = np.asarray(estimate, dtype=float)
    bias = np.abs(np.asarray(bias, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2.0)

    def side(bound: Any) -> np.ndarray:
        se = np.abs(np.asarray(bound, dtype=float) - estimate) / z
        ratio = np.divide(bias, se, out=np.zeros_like(se), where=se > 0)
        return np.where(se > 0, se * bias_aware_critical(ratio, level), bias)

    return estimate - side(lower), estimate + side(upper)


def bias_aware_critical(ratio: Any, level: float) -> np.ndarray:
    """The ``level`` quantile of |N(t, 1)| for each t in ``ratio`` (bias ÷ standard error).

    |N(t, 1)|² is non-central χ² with one degree of freedom and non-centrality t², whose
    quantile scipy computes; beyond t = 8 the lower tail is below 1e-15 and the quantile is
    t + Φ⁻¹(level). At t = 0 it is the usual two-sided z.
    """
    t = np.abs(np.asarray(ratio, dtype=float))
    far = t > 8.0
    near = np.sqrt(stats.ncx2.ppf(level, 1, np.where(far, 0.0, t) ** 2))
    return np.where(far, t + stats.norm.ppf(level), near)


def has_ridge_learners(estimator: Any) -> bool:
    """Whether ``estimator`` fits :class:`PolynomialRidgeCV` learners (its default too)."""
    from jointeffects.estimate.ridge import PolynomialRidgeCV

    inner = projected_estimator(estimator)
    if inner is not None:
        return has_ridge_learners(inner)
    params = estimator.get_params()
    learner = params.get("learner")
    return "learner" in params and (learner is None or isinstance(learner, PolynomialRidgeCV))


def bootstrap_partner(estimator: Any, misspecification: bool | str = "auto") -> Any:
    """The unfitted partner of the bootstrap's bias term, or None.

    It is ``estimator`` with its :class:`PolynomialRidgeCV` learners one degree richer.
    "auto": only for estimators with such learners (a :class:`StructuredEstimator`'s
    refits relearn its structure, degree and alpha instead, and get no bias term); True:
    required, refused for other learners; False: None.
    """
    if misspecification not in (True, False, "auto"):
        raise DataError(f"misspecification={misspecification!r} must be True, False or 'auto'")
    if misspecification == "auto":
        misspecification = has_ridge_learners(estimator)
    return learner_neighbour(estimator) if misspecification else None


def learner_neighbour(estimator: Any) -> Any:
    """An unfitted clone of ``estimator`` whose polynomial ridge learner is one degree richer.

    For an :class:`AdditiveProjection` both the wrapped estimator's learners and the degree
    of the projection are raised by one.
    """
    from jointeffects.estimate.ridge import PolynomialRidgeCV

    inner = projected_estimator(estimator)
    if inner is not None:
        richer_inner = learner_neighbour(inner)
        return clone(estimator).set_params(estimator=richer_inner, degree=estimator.degree + 1)
    params = estimator.get_params()
    learner = params.get("learner")
    learner = PolynomialRidgeCV() if learner is None else learner
    if not has_ridge_learners(estimator):
        has = type(learner).__name__ if "learner" in params else "no learner"
        raise DataError(
            "misspecification=True raises the degree of the learners, so it needs "
            f"PolynomialRidgeCV learners; {type(estimator).__name__} has {has}"
        )
    richer = clone(learner).set_params(degree=learner.degree + 1)
    return clone(estimator).set_params(learner=richer)


def projected_estimator(estimator: Any) -> Any:
    """The estimator an :class:`AdditiveProjection` wraps (its default too), else None."""
    from jointeffects.estimate.joint import JointEffectEstimator
    from jointeffects.estimate.projection import AdditiveProjection

    if not isinstance(estimator, AdditiveProjection):
        return None
    return JointEffectEstimator() if estimator.estimator is None else estimator.estimator


def regime_data(datasets: Any, outcome: str = "Y") -> RegimeData:
    """``datasets`` as validated :class:`RegimeData` (passed through if it already is)."""
    if isinstance(datasets, RegimeData):
        return datasets
    return as_regime_data(datasets, outcome=outcome)


def refit(estimator: Any, data: RegimeData) -> Any:
    """A clone of ``estimator`` fitted on ``data``."""
    return clone(estimator).fit(dict(data.regimes), outcome=data.outcome, actions=data.actions)


def fitted_on(estimator: Any, data: RegimeData) -> Any:
    """``estimator`` if it is fitted (then on ``data``'s actions and outcome, else refused),
    or a clone fitted on ``data``."""
    if not hasattr(estimator, "actions_"):
        return refit(estimator, data)
    fitted = (tuple(estimator.actions_), getattr(estimator, "outcome_", data.outcome))
    if fitted != (data.actions, data.outcome):
        raise DataError(
            f"the estimator was fitted on actions {list(fitted[0])} and outcome '{fitted[1]}', "
            f"the data have {list(data.actions)} and '{data.outcome}': pass the data it was "
            "fitted on, or an unfitted estimator"
        )
    return estimator


Query = tuple[np.ndarray, Sequence[str] | None]


def bootstrap_draws(
    estimator: Any,
    data: RegimeData,
    queries: Sequence[Query],
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    resample: Callable[[RegimeData, np.random.Generator], RegimeData] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Point predictions and bootstrap replicates at several query sets.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted (used for the point estimate) or not (fitted on ``data`` first).
    data : RegimeData
    queries : sequence of (array of shape (n_i, K), intervened)
        Query points and the intervened actions of each set; predictions are concatenated.
    n_boot : int
        Number of replicates (at least 2).
    random_state : int, Generator or None
    resample : callable, optional
        ``resample(data, rng) -> RegimeData``; default: rows with replacement per regime.

    Returns
    -------
    estimate : ndarray of shape (n_total,)
    draws : ndarray of shape (n_boot, n_total)
    """
    return paired_draws([estimator], data, queries, n_boot, random_state, resample)[0]


def paired_draws(
    estimators: Sequence[Any],
    data: RegimeData,
    queries: Sequence[Query],
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    resample: Callable[[RegimeData, np.random.Generator], RegimeData] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`bootstrap_draws` for several estimators refitted on the *same* resamples
    (one (estimate, draws) pair per estimator), so that differences between them are
    bootstrapped too."""
    refits = paired_refits(estimators, data, n_boot, random_state, resample)  # checks n_boot

    def predict(model: Any) -> np.ndarray:
        return np.concatenate([model.predict(Xq, intervened=r) for Xq, r in queries])

    out = []
    for estimator in estimators:
        fitted = fitted_on(estimator, data)
        estimate = predict(fitted)
        out.append((estimate, np.empty((n_boot, len(estimate)))))
    for b, models in enumerate(refits):
        for model, (_, draws) in zip(models, out, strict=True):
            draws[b] = predict(model)
    return out


def paired_refits(
    estimators: Sequence[Any],
    data: RegimeData,
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    resample: Callable[[RegimeData, np.random.Generator], RegimeData] | None = None,
) -> Iterator[list[Any]]:
    """``n_boot`` times: one resample of ``data`` (default :func:`resample_rows`) and a clone
    of every estimator fitted on it. Checks ``n_boot`` at the call, refits lazily."""
    if n_boot < 2:
        raise DataError(f"n_boot={n_boot} must be at least 2 bootstrap replicates")
    rng = np.random.default_rng(random_state)
    draw = resample_rows if resample is None else resample

    def replicates() -> Iterator[list[Any]]:
        for _ in range(n_boot):
            sample = draw(data, rng)
            yield [refit(estimator, sample) for estimator in estimators]

    return replicates()


def resample_rows(data: RegimeData, rng: np.random.Generator) -> RegimeData:
    """Rows drawn with replacement within each regime (regime sizes are kept)."""
    regimes = {}
    for regime, (X, y) in data.regimes.items():
        idx = rng.integers(len(y), size=len(y))
        regimes[regime] = (X[idx], y[idx])
    return RegimeData(actions=data.actions, outcome=data.outcome, regimes=regimes)


def interval_table(
    estimate: np.ndarray, draws: np.ndarray, level: float, method: str = "percentile"
) -> pd.DataFrame:
    """Intervals from bootstrap replicates (see :func:`bootstrap_intervals` for ``method``)."""
    check_level(level)
    if method not in METHODS:
        raise DataError(f"method={method!r} is not one of {list(METHODS)}")
    tail = (1.0 - level) / 2.0
    se = draws.std(axis=0, ddof=1)
    if method == "normal":
        half = stats.norm.ppf(1.0 - tail) * se
        lower, upper = estimate - half, estimate + half
    else:
        lo, hi = percentile_bounds(draws, level)
        lower, upper = (
            (lo, hi) if method == "percentile" else (2 * estimate - hi, 2 * estimate - lo)
        )
    return pd.DataFrame({"estimate": estimate, "lower": lower, "upper": upper, "se": se})


def percentile_bounds(draws: Any, level: float) -> np.ndarray:
    """The central ``level`` range of the replicates (rows of ``draws``), as [lower, upper]."""
    tail = (1.0 - level) / 2.0
    return np.quantile(draws, [tail, 1.0 - tail], axis=0, method=QUANTILE_METHOD)


def normal_table(estimate: np.ndarray, se: np.ndarray, level: float) -> pd.DataFrame:
    """Estimate ± z·se intervals."""
    check_level(level)
    half = stats.norm.ppf(0.5 + level / 2.0) * se
    return pd.DataFrame(
        {"estimate": estimate, "lower": estimate - half, "upper": estimate + half, "se": se}
    )


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise DataError(f"level={level!r} must be a coverage probability strictly in (0, 1)")


def untrusted_notes(data: RegimeData, points: np.ndarray, min_rows: int) -> np.ndarray:
    """Per query point, why its interval is not trustworthy ("" if it is)."""
    notes = np.full(len(points), "", dtype=object)
    notes[:] = tiny_regime_note({r: data.rows(r) for r in data.regimes}, min_rows)
    outside = np.zeros(len(points), dtype=bool)
    for X, _ in data.regimes.values():
        outside |= np.any((points < X.min(axis=0)) | (points > X.max(axis=0)), axis=1)
    extra = "extrapolation (query outside a regime's training range)"
    notes[outside] = [f"{n}; {extra}" if n else extra for n in notes[outside]]
    return notes


def tiny_regime_note(rows: dict[Any, int], min_rows: int) -> str:
    """The note for regimes with fewer than ``min_rows`` rows ("" if there are none)."""
    small = {r: n for r, n in rows.items() if n < min_rows}
    if not small:
        return ""
    sizes = ", ".join(f"{'+'.join(r) or 'obs'}={n}" for r, n in small.items())
    return f"tiny regime ({sizes} rows < {min_rows})"


def join_notes(*notes: str) -> str:
    """The non-empty notes joined by "; " ("" if none)."""
    return "; ".join(note for note in notes if note)


def add_note(notes: np.ndarray, note: str) -> np.ndarray:
    """``note`` prepended to every entry of ``notes`` (unchanged if ``note`` is empty)."""
    if not note:
        return notes
    return np.array([f"{note}; {n}" if n else note for n in notes], dtype=object)


def flag_untrusted(
    table: pd.DataFrame,
    data: RegimeData,
    points: np.ndarray,
    min_rows: int,
    extra_note: str = "",
) -> pd.DataFrame:
    """Add ``trusted``/``note`` columns (see :func:`untrusted_notes`) and warn if any.

    ``extra_note`` (e.g. a failed specification test) flags every row.
    """
    notes = add_note(untrusted_notes(data, points, min_rows), extra_note)
    table["trusted"] = notes == ""
    table["note"] = notes
    warn_untrusted(table, stacklevel=4)  # the caller of bootstrap/sandwich_intervals
    return table


def warn_untrusted(table: pd.DataFrame, stacklevel: int = 3) -> None:
    bad = int((~table["trusted"]).sum())
    if bad:
        first = table.loc[~table["trusted"], "note"].iloc[0]
        warnings.warn(
            f"{bad} of {len(table)} intervals are not trustworthy ({first}); see the "
            "'trusted' and 'note' columns",
            IntervalWarning,
            stacklevel=stacklevel,
        )


# -- the analytic sandwich for the structure-aware estimator ---------------------------------


def sandwich_intervals(
    estimator: Any,
    datasets: Any,
    X: Any,
    intervened: Sequence[str] | None = None,
    level: float = 0.9,
    outcome: str = "Y",
    min_rows: int = MIN_TRUSTED_ROWS,
    misspecification: bool = True,
    spec_level: float = SPEC_LEVEL,
) -> pd.DataFrame:
    """Sandwich intervals for a ``StructuredEstimator``, widened for and flagged on misfit.

    The estimator is a ridge regression on a fixed design w(x, regime), so with
    A = Σ_i w_i w_iᵀ + Λ (Λ its penalty) and, per regime r, the centred score covariance
    M = Σ_r Σ_{i∈r} (e_i w_i − ḡ_r)(e_i w_i − ḡ_r)ᵀ, Var(θ̂) ≈ A⁻¹ M A⁻¹ · n/(n − p) and a
    prediction w(x)ᵀθ̂ has standard error ``se`` = √(w(x)ᵀ Var(θ̂) w(x)). One pass: O(n p²).

    That band is *conditional on the chosen model* and shrinks like 1/√n, while the bias of a
    misspecified ψ (a cubic standing in for E[f_k(A_k, C_k) | a_k, a_anc], not exact for
    non-Gaussian noise) and the ridge's shrinkage do not: on the paper's SCM family it
    covered 0.57-0.87 at 10^5 rows per regime (``misspecification=False``; 48 SCMs per
    noise family, benchmarks/bench_coverage.py). With ``misspecification=True`` (default)
    two things are added:

    - a bias term ``bias``: the larger of |f̂(x) − f̂_{d+1}(x)|, the change of the prediction
      when the chosen degree d is raised by one (refitted, alpha by CV;
      :func:`richer_fit`), and |f̂(x) − f̂_{α⁻}(x)|, the change when the chosen penalty α is
      replaced by the next smaller one on the CV grid (same degree; :func:`lighter_fit`;
      none at the grid's smallest), which estimates the shrinkage bias of α. The
      half-width is the bias-aware se·c(bias/se) of :func:`widen`. The raw spreads are used
      (without replicates their noise cannot be subtracted as :func:`bootstrap_intervals`
      does; they err on the safe side). It costs two more fits.
    - a residual specification test (:func:`specification_test`): if it rejects at
      ``spec_level``, every interval is flagged as not trustworthy (``trusted`` False, a
      note and an :class:`IntervalWarning`), because the remaining bias is then of the order
      of the band or larger. No narrow band of a detectably wrong model goes unflagged.

    The band is also conditional on the ancestor sets, degree and alpha the fit chose: a
    bootstrap that relearns them had a standard error 1.5-2.0x the sandwich's at 10^4 and
    10^5 rows per regime (4 SCMs; with the structure and hyper-parameters fixed the two
    agreed within 6 %), and over fresh samples at 10^5 rows the CV's alpha ranged from
    10^-14 to 10^-7 per row. Measured (benchmarks/bench_coverage.py, K=5, paper's family,
    500 to 10^5 rows per regime, Gaussian, uniform and logistic noise, seeds 2025, 31, 77
    and 101 pooled, 48 SCMs per cell), nominal 90 % covered 0.86-0.93 of the *trusted*
    queries in every cell; with the degree spread alone it had covered 0.85 (Gaussian) and
    0.82 (logistic) at 10^5 rows on seed 31. Per seed (12 SCMs) a cell ranges 0.76-0.97.
    The share flagged grows with n where the misfit becomes visible (logistic: 69 %
    trusted at 500 rows, 31 % at 10^5). The structured estimator's
    :func:`bootstrap_intervals` (refits relearn everything; no bias term) covered 0.88-0.96
    on the same seeds and needs no flag; use this sandwich when the bootstrap's refits are
    too slow (K=5, benchmarks/bench_interval_speed.py: at 10^6 rows per regime 540 s for
    50 refits vs 10.5 s after the 7.2 s fit; at 10^5, 61 s vs 1.8 s).

    Parameters
    ----------
    estimator : StructuredEstimator
        Fitted on ``datasets``, or unfitted (then fitted first).
    datasets, X, intervened, level, outcome, min_rows
        As for :func:`bootstrap_intervals`.
    misspecification : bool, default=True
        Add the degree-spread bias term and the specification-test flag; False gives the
        plain model-conditional sandwich (valid when the model is known to be right, e.g. a
        linear SCM with its ``dag`` and ``degrees=(1,)``).
    spec_level : float, default=0.05
        Level of the specification test.

    Returns
    -------
    DataFrame with columns ``estimate``, ``lower``, ``upper``, ``se``, ``bias``, ``trusted``,
    ``note``.
    """
    data = regime_data(datasets, outcome)
    fitted = structured_fit(estimator, data)
    points = query_array(X, data.actions)
    cov = sandwich_covariance(fitted, data)
    rows = linear_rows(fitted, points, intervened)
    se = np.sqrt(np.einsum("ij,jk,ik->i", rows, cov, rows))
    estimate = fitted.predict(points, intervened=intervened)
    bias = np.zeros(len(points))
    if misspecification:
        partners = sandwich_partners(fitted, data)
        bias = largest_spread(estimate, [p.predict(points, intervened) for p in partners])
    table = normal_table(estimate, se, level)
    table["lower"], table["upper"] = widen(estimate, table["lower"], table["upper"], bias, level)
    table["bias"] = bias
    note = misspecification_note(fitted, data, spec_level) if misspecification else ""
    note = join_notes(note, mixed_effect_note(fitted, intervened))
    return flag_untrusted(table, data, points, min_rows, extra_note=note)


def sandwich_partners(fitted: Any, data: RegimeData) -> list[Any]:
    """The fits the sandwich's bias term compares with: :func:`richer_fit` and, unless the
    chosen penalty is the smallest on the grid, :func:`lighter_fit`."""
    lighter = lighter_fit(fitted, data)
    return [richer_fit(fitted, data), *([] if lighter is None else [lighter])]


def largest_spread(estimate: Any, others: Sequence[Any]) -> np.ndarray:
    """The sandwich's bias term: max over the partners' predictions of |estimate − other|
    (the raw spreads; without replicates their noise cannot be subtracted)."""
    estimate = np.asarray(estimate, dtype=float)
    return np.max(np.abs([estimate - np.asarray(o, dtype=float) for o in others]), axis=0)


def richer_fit(fitted: Any, data: RegimeData) -> Any:
    """A partner of the sandwich's bias term: the fitted StructuredEstimator refitted with
    its chosen degree raised by one (alpha by CV)."""
    return structured_partner(fitted, data, degrees=(fitted.degree_ + 1,))


def structured_partner(fitted: Any, data: RegimeData, **params: Any) -> Any:
    """The fitted StructuredEstimator refitted on ``data`` with ``params`` changed, on the
    ancestor sets it learned from the same data (passed as its ``ancestors``, so the
    structure tests are not run again: they would find the same sets; as a ``dag`` they were
    refused when the tests had declared two actions each other's ancestor)."""
    partner = clone(fitted).set_params(dag=None, ancestors=dict(fitted.ancestors_), **params)
    return refit(partner, data)


def lighter_fit(fitted: Any, data: RegimeData) -> Any:
    """A partner of the sandwich's bias term: the fitted StructuredEstimator refitted at its
    chosen degree with the next smaller ridge penalty of its CV grid (None if the chosen one
    is the smallest). Its spread estimates the shrinkage bias of the chosen penalty."""
    grid = np.unique(fitted.cv_mse_["alpha"].to_numpy())
    smaller = grid[grid < fitted.alpha_ * (1 - 1e-9)]
    if not len(smaller):
        return None
    return structured_partner(fitted, data, degrees=(fitted.degree_,), alphas=(float(smaller[-1]),))


def misspecification_note(fitted: Any, data: RegimeData, spec_level: float) -> str:
    """A note naming the specification test's rejection ("" if it does not reject)."""
    check_level(spec_level)
    stat, dof, pvalue = specification_test(fitted, data)
    if pvalue >= spec_level:
        return ""
    return (
        f"model misspecified (residual test chi2={stat:.0f} on {dof} df, p={pvalue:.2g}): the "
        "band ignores the bias; the paper's estimator (JointEffectEstimator, CLI --estimator "
        "paper) with bootstrap intervals does not rely on this model"
    )


def specification_test(fitted: Any, data: RegimeData, degree: int = 2) -> tuple[float, int, float]:
    """Heteroskedasticity-robust score test that no regime's residuals are predictable.

    Per regime r, with residuals e_i of the fitted structured model and z_i the monomials of
    degree 1..``degree`` in *all* standardised actions (centred in the regime), the score
    S_r = Σ_i e_i z_i has covariance V_r ≈ Σ_i (e_i z_i − S_r/n_r)(e_i z_i − S_r/n_r)ᵀ;
    Σ_r S_rᵀ V_r⁻¹ S_r is ≈ χ² with Σ_r dim(z) degrees of freedom (conservatively: fitted
    columns spanned by z lower the true degrees of freedom) when the model is right.
    A model whose ψ or ancestor sets are wrong leaves structure in a regime's residuals that
    the rich, regime-specific z picks up; degree 2 keeps dim(z) small (20 at K=5) so the
    test holds its level at a few hundred rows per regime.

    Returns
    -------
    (statistic, degrees of freedom, p-value)
    """
    theta = np.concatenate([[fitted.intercept_], fitted.coef_])
    variables = tuple(range(len(data.actions)))

    def monomials(X: np.ndarray) -> np.ndarray:
        return polynomial_columns((X - fitted.x_mean_) / fitted.x_scale_, variables, degree)

    stat, dof = 0.0, 0
    for regime, (X, y) in data.regimes.items():
        chunks = row_chunks(len(y))
        zbar = sum(monomials(X[part]).sum(axis=0) for part in chunks) / len(y)
        scores = (
            (monomials(X[part]) - zbar)
            * (y[part] - linear_rows(fitted, X[part], regime) @ theta)[:, None]
            for part in chunks
        )
        stat += robust_score_statistic(scores)
        dof += len(zbar)
    return stat, dof, float(stats.chi2.sf(stat, dof))


def structured_fit(estimator: Any, data: RegimeData) -> Any:
    """``estimator`` if it is a fitted StructuredEstimator, else a fitted clone; or refuse."""
    from jointeffects.estimate.structured import StructuredEstimator

    if not isinstance(estimator, StructuredEstimator):
        raise DataError(
            f"the sandwich interval needs a StructuredEstimator, got {type(estimator).__name__}; "
            "use bootstrap_intervals for other estimators"
        )
    return fitted_on(estimator, data)


def linear_rows(estimator: Any, X: np.ndarray, intervened: Sequence[str] | None) -> np.ndarray:
    """Rows [1, w(x)] of the structured model at X: prediction = rows @ [intercept, coef]."""
    regime = estimator._intervened_regime(intervened)
    estimator.predict(X[:1], intervened=intervened)  # refuses unidentified queries
    keep = estimator.design_.degrees <= estimator.degree_
    return np.column_stack([np.ones(len(X)), estimator._expand(X, regime)[:, keep]])


def sandwich_covariance(estimator: Any, data: RegimeData) -> np.ndarray:
    """HC1 sandwich covariance of [intercept, coef] of a fitted StructuredEstimator."""
    moments = regime_moments(estimator, data).values()
    bread = sum(b for b, _ in moments)
    meat = sum(m for _, m in moments)
    return sandwich_from_moments(np.asarray(bread), np.asarray(meat), estimator.alpha_)


def regime_moments(estimator: Any, data: RegimeData) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """Per regime, Σ_i w_i w_iᵀ and Σ_i (e_i w_i − ḡ)(e_i w_i − ḡ)ᵀ (one streaming pass)."""
    theta = np.concatenate([[estimator.intercept_], estimator.coef_])
    p = len(theta)
    out = {}
    for regime, (X, y) in data.regimes.items():
        bread, meat, score = np.zeros((p, p)), np.zeros((p, p)), np.zeros(p)
        for part in row_chunks(len(y)):
            W = linear_rows(estimator, X[part], regime)
            e = y[part] - W @ theta
            bread += W.T @ W
            meat += (W * e[:, None] ** 2).T @ W
            score += W.T @ e
        out[regime] = (bread, meat - np.outer(score, score) / len(y))
    return out


def sandwich_from_moments(bread: np.ndarray, meat: np.ndarray, alpha: float) -> np.ndarray:
    """A⁻¹ M A⁻¹ · n/(n − p) with A = bread + the StructuredEstimator's ridge penalty."""
    n = bread[0, 0]
    # StructuredEstimator's penalty: alpha·n on coefficients standardised by the columns'
    # centred root sums of squares (structured._solve_path); dead columns are dropped.
    centred = np.diag(bread)[1:] - bread[0, 1:] ** 2 / n
    live = np.concatenate([[True], centred > 1e-12 * max(1.0, centred.max())])
    penalty = np.concatenate([[0.0], alpha * n * centred])
    A_inv = np.linalg.pinv((bread + np.diag(penalty))[np.ix_(live, live)])
    cov = np.zeros_like(bread)
    hc1 = n / max(n - live.sum(), 1)
    cov[np.ix_(live, live)] = A_inv @ meat[np.ix_(live, live)] @ A_inv * hc1
    return cov
