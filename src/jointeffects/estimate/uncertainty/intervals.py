"""Pointwise intervals for joint and mixed effects.

A regime bootstrap for every estimator (:func:`bootstrap_intervals`) and a one-pass sandwich
for the structure-aware one (:func:`sandwich_intervals`). Both widen for an estimated bias
and flag (``trusted`` False, a ``note``, an :class:`IntervalWarning`) what they cannot
support: tiny regimes, extrapolation, a rejected model, mixed effects whose learners'
misfit shows.
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
from jointeffects.estimate.learners.basis import monomial_columns, monomial_exponents, polynomial_columns
from jointeffects.estimate.regimes.tables import RegimeData, as_regime_data, query_array, row_chunks

#: Regimes with fewer rows than this get their intervals flagged: the learners' CV and model
#: choice are unstable there.
MIN_TRUSTED_ROWS = 200

METHODS = ("percentile", "basic", "normal")

#: Significance level of the specification tests below which intervals are flagged as not
#: trustworthy (:func:`specification_test` for the sandwich, :func:`model_note`).
SPEC_LEVEL = 0.05

#: How percentile bounds are read off the replicates: Hyndman and Fan's definition 8
#: (approximately median-unbiased for any continuous distribution); numpy's default linear
#: interpolation puts the tail quantiles of few draws inside the true ones.
QUANTILE_METHOD: Final = "median_unbiased"

#: Rows per degree of freedom below which :func:`extension_residual_test` is not run: enough
#: rows per monomial for its robust score statistic's χ² approximation, which over-rejects
#: with fewer (heavy-tailed monomials need the most; an over-rejection only adds flags).
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

    Resamples rows with replacement within each regime, refits a clone of ``estimator`` on
    each resample and reads pointwise intervals off the replicates. Works for any estimator;
    for a :class:`StructuredEstimator`, :func:`sandwich_intervals` is the fast alternative.

    Parameters
    ----------
    estimator : RegimeEstimator
        Fitted on ``datasets`` (giving the point estimates) or unfitted (a clone is fitted).
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
        Percentile, basic (reflected percentile) or estimate ± z·bootstrap sd.
    random_state : int, Generator or None
        Randomness of the resampling.
    outcome : str, default="Y"
        Outcome column.
    min_rows : int, default=200
        Regimes smaller than this flag every interval as not trusted.
    misspecification : bool or "auto", default="auto"
        Widen for the learners' approximation bias (:func:`widen`), estimated from the
        spread to the estimator with :class:`PolynomialRidgeCV` learners one degree richer,
        refitted on the same resamples (:func:`calibrated_bias`). "auto": when the estimator
        has such learners (not a :class:`StructuredEstimator`, whose refits relearn it all).

    Returns
    -------
    DataFrame
        One row per query: ``estimate``, ``lower``, ``upper``, ``se`` (bootstrap sd),
        ``trusted``, ``note`` (why not) and, with ``misspecification``, ``bias``.
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
    """``data`` restricted to the regimes ``fitted`` learns from: the joint experiment for a
    :class:`JointTopline`, the observational data for an :class:`ObservationalBaseline`."""
    from jointeffects.estimate.estimators.baselines import JointTopline, ObservationalBaseline

    if isinstance(fitted, JointTopline):
        read: Any = data.actions
    elif isinstance(fitted, ObservationalBaseline):
        read = ()
    else:
        return data
    return RegimeData(data.actions, data.outcome, {read: data.regimes[read]})


def model_note(fitted: Any, data: RegimeData, spec_level: float = SPEC_LEVEL) -> str:
    """Why no bootstrap interval of ``fitted`` can be trusted, or "".

    A baseline ignoring confounding: :func:`baseline_note`. The prior method
    (:class:`GaussianNoiseJointEstimator`): D'Agostino's normality test of the residual of
    every equation each regime observes, Bonferroni over all, rejecting at ``spec_level``
    (its far tail is anti-conservative, so Gaussian data are flagged a little too often).
    """
    from jointeffects.estimate.estimators.prior import GaussianNoiseJointEstimator

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
    """:func:`bonferroni_pvalue` if it is below ``level``, else (or with no tests) None."""
    if not len(pvalues):
        return None
    p = bonferroni_pvalue(pvalues)
    return p if p < level else None


def is_mixed(fitted: Any, intervened: Any) -> bool:
    """Whether ``intervened`` leaves some of the fitted estimator's actions observed."""
    return bool(fitted._intervened_regime(intervened) != tuple(fitted.actions_))


def mixed_effect_note(fitted: Any, intervened: Any, regression_misfit: str = "") -> str:
    """Why no interval of this *mixed* effect can be trusted, or "" (always "" for the joint
    effect, which cancels the posterior means E[f_k(a_k, C_k) | a_k, a_anc] a mixed effect
    keeps and polynomial learners only approximate). A :class:`StructuredEstimator` is always
    flagged; per-regime regressions get ``regression_misfit`` (:func:`regression_misfit_note`)."""
    from jointeffects.estimate.estimators.structured import StructuredEstimator

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

    Each regime's residuals are tested along single actions (:func:`binned_residual_test`)
    and, for :class:`PolynomialRidgeCV` learners, in the monomials one degree beyond theirs
    (:func:`extension_residual_test`); Bonferroni over the two, rejecting at ``spec_level``.
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
    from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

    return int(learner.degree) if isinstance(learner, PolynomialRidgeCV) else None


def extension_residual_test(
    X: np.ndarray, residuals: np.ndarray, degree: int
) -> tuple[float, int] | None:
    """Robust score test that the residuals of a polynomial fit of total degree ``degree`` are
    uncorrelated with the monomials of degree ``degree + 1`` of the standardised actions (with
    the lower ones partialled out): (statistic, degrees of freedom), ≈ χ² under E[e | x] = 0;
    None with fewer than ``EXTENSION_ROWS_PER_COLUMN`` rows per monomial. Regimes above
    ``EXTENSION_CELLS`` array cells enter through evenly spaced rows."""
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
    """The fitted per-regime learners behind ``fitted``'s mixed effects ({} if none), also
    through an :class:`AdditiveProjection`."""
    from jointeffects.estimate.estimators.paper import JointEffectEstimator
    from jointeffects.estimate.estimators.projection import AdditiveProjection

    if isinstance(fitted, AdditiveProjection):
        return regime_regressions(fitted.estimator_)
    return dict(fitted.models_) if isinstance(fitted, JointEffectEstimator) else {}


def predict_in_chunks(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` a chunk of rows at a time."""
    return np.concatenate([model.predict(X[part]) for part in row_chunks(len(X))])


def binned_residual_test(
    X: np.ndarray, residuals: np.ndarray, n_bins: int = 10
) -> tuple[float, int, float]:
    """Robust score test that the residuals' mean is the same in every quantile bin of every
    action: (statistic, degrees of freedom, p-value). Bins see misfit of any shape along an
    action (kinks, plateaus), which richer polynomials miss."""
    cuts = np.linspace(0, 1, n_bins + 1)[1:-1]
    # Edges from at most ~10^5 evenly spaced rows: any edges fixed by X alone keep the test
    # valid, and exact quantiles of very large regimes would cost more than the test itself.
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
    """Why no interval of a baseline that ignores confounding (:class:`ObservationalBaseline`,
    :class:`PooledBaseline`) can be trusted, or "": it is one for their regression."""
    from jointeffects.estimate.estimators.baselines import ObservationalBaseline, PooledBaseline

    if not isinstance(fitted, ObservationalBaseline | PooledBaseline):
        return ""
    return (
        f"{type(fitted).__name__} ignores confounding: the interval is for its regression, "
        "not for the causal effect"
    )


def calibrated_bias(spread: Any, spread_draws: Any) -> np.ndarray:
    """The bias term √max(spread² − Var*(spread), 0) from the spread f̂ − f̂' to the richer
    partner: its bootstrap variance is subtracted so that noise does not count as bias."""
    spread = np.asarray(spread, dtype=float)
    noise = np.asarray(spread_draws, dtype=float).var(axis=0, ddof=1)
    return np.sqrt(np.maximum(spread**2 - noise, 0.0))


def widen(
    estimate: Any, lower: Any, upper: Any, bias: Any, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each side of an interval around ``estimate`` widened for a bias of size ``bias``: the
    bias-aware ("honest") half-width se·c(bias/se) of Armstrong and Kolesár (2020), with c
    from :func:`bias_aware_critical` and se read off the side as half-width ÷ z."""
    estimate = np.asarray(estimate, dtype=float)
    bias = np.abs(np.asarray(bias, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2.0)

    def side(bound: Any) -> np.ndarray:
        se = np.abs(np.asarray(bound, dtype=float) - estimate) / z
        ratio = np.divide(bias, se, out=np.zeros_like(se), where=se > 0)
        return np.where(se > 0, se * bias_aware_critical(ratio, level), bias)

    return estimate - side(lower), estimate + side(upper)


def bias_aware_critical(ratio: Any, level: float) -> np.ndarray:
    """The ``level`` quantile of |N(t, 1)| for each t in ``ratio`` (bias ÷ standard error):
    √ of non-central χ²(1, t²)'s, or t + Φ⁻¹(level) beyond t = 8 (exact to 1e-15)."""
    t = np.abs(np.asarray(ratio, dtype=float))
    far = t > 8.0
    near = np.sqrt(stats.ncx2.ppf(level, 1, np.where(far, 0.0, t) ** 2))
    return np.where(far, t + stats.norm.ppf(level), near)


def has_ridge_learners(estimator: Any) -> bool:
    """Whether ``estimator`` fits :class:`PolynomialRidgeCV` learners (its default too)."""
    from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

    inner = projected_estimator(estimator)
    if inner is not None:
        return has_ridge_learners(inner)
    params = estimator.get_params()
    learner = params.get("learner")
    return "learner" in params and (learner is None or isinstance(learner, PolynomialRidgeCV))


def bootstrap_partner(estimator: Any, misspecification: bool | str = "auto") -> Any:
    """The unfitted partner of the bootstrap's bias term (:func:`learner_neighbour`), or None.
    "auto": only for :class:`PolynomialRidgeCV` learners; True: required; False: None."""
    if misspecification not in (True, False, "auto"):
        raise DataError(f"misspecification={misspecification!r} must be True, False or 'auto'")
    if misspecification == "auto":
        misspecification = has_ridge_learners(estimator)
    return learner_neighbour(estimator) if misspecification else None


def learner_neighbour(estimator: Any) -> Any:
    """An unfitted clone of ``estimator`` whose polynomial ridge learner is one degree richer
    (for an :class:`AdditiveProjection`, also its projection's degree).
    """
    from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

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
    from jointeffects.estimate.estimators.paper import JointEffectEstimator
    from jointeffects.estimate.estimators.projection import AdditiveProjection

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
    """Point predictions (n_total,) and bootstrap replicates (n_boot, n_total) at several query
    sets ``queries`` of (points, intervened), concatenated. ``estimator`` is fitted on ``data``
    if it is not; ``resample(data, rng)`` defaults to :func:`resample_rows`; ``n_boot`` ≥ 2."""
    return paired_draws([estimator], data, queries, n_boot, random_state, resample)[0]


def paired_draws(
    estimators: Sequence[Any],
    data: RegimeData,
    queries: Sequence[Query],
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    resample: Callable[[RegimeData, np.random.Generator], RegimeData] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`bootstrap_draws` for several estimators refitted on the *same* resamples, so that
    their differences are bootstrapped too."""
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
    """Add ``trusted``/``note`` columns (:func:`untrusted_notes`, plus ``extra_note`` on every
    row) and warn if any interval is not trusted.
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

    The estimator is a ridge regression on a fixed design w(x, regime): with A = Σ_i w_i w_iᵀ
    + Λ and the per-regime centred score covariance M, Var(θ̂) ≈ A⁻¹ M A⁻¹ · n/(n − p),
    computed in one pass, O(n p²). The band is conditional on the learned structure, degree
    and alpha. Use it when the bootstrap's refits are too slow.

    Parameters
    ----------
    estimator : StructuredEstimator
        Fitted on ``datasets``, or unfitted (then fitted first).
    datasets, X, intervened, level, outcome, min_rows
        As for :func:`bootstrap_intervals`.
    misspecification : bool, default=True
        Add a bias term, the largest change of the prediction with the degree one higher
        (:func:`richer_fit`) or the penalty one grid step lower (:func:`lighter_fit`), and flag
        every interval when :func:`specification_test` rejects. False: the plain sandwich
        (valid when the model is right, e.g. a linear SCM with its ``dag``, ``degrees=(1,)``).
    spec_level : float, default=0.05
        Level of the specification test.

    Returns
    -------
    DataFrame
        One row per query: ``estimate``, ``lower``, ``upper``, ``se``, ``bias``, ``trusted``,
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
    """The sandwich's bias term: the largest |estimate − other| over the partners' predictions."""
    estimate = np.asarray(estimate, dtype=float)
    return np.max(np.abs([estimate - np.asarray(o, dtype=float) for o in others]), axis=0)


def richer_fit(fitted: Any, data: RegimeData) -> Any:
    """The sandwich's degree partner: the fit refitted with its degree raised by one."""
    return structured_partner(fitted, data, degrees=(fitted.degree_ + 1,))


def structured_partner(fitted: Any, data: RegimeData, **params: Any) -> Any:
    """The fitted StructuredEstimator refitted on ``data`` with ``params`` changed, on the
    ancestor sets it learned (passed as ``ancestors``, so the structure tests are not rerun).
    """
    partner = clone(fitted).set_params(dag=None, ancestors=dict(fitted.ancestors_), **params)
    return refit(partner, data)


def lighter_fit(fitted: Any, data: RegimeData) -> Any:
    """The fit at its chosen degree with the next smaller penalty of its CV grid (None at the
    smallest): a partner of the sandwich's bias term, for the shrinkage bias."""
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
    """Robust score test that no regime's residuals are predictable from the monomials of
    degree 1..``degree`` in all standardised actions: (statistic, degrees of freedom,
    p-value), ≈ χ² (conservatively) when the model is right. Degree 2 keeps the dimension
    small enough to hold the level at a few hundred rows per regime."""
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
    from jointeffects.estimate.estimators.structured import StructuredEstimator

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
