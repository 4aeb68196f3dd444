"""What every regime estimator shares: the fit/predict contract, learner handling, and the
capabilities that generic code (intervals, model files, planning) asks an estimator about."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate.diagnostics import warn_outside_support
from jointeffects.estimate.estimators.lift import lift_table
from jointeffects.estimate.learners.fitting import default_learner, folded_stats, learner_streams
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.regimes import (
    Regime,
    RegimeData,
    RegimeSource,
    RegimeStreams,
    as_regime_data,
    as_regime_streams,
    has_streams,
    query_array,
)


@dataclass(frozen=True)
class Capabilities:
    """What an estimator can do, declared by its class (see :meth:`RegimeEstimator.capabilities`).

    Attributes
    ----------
    streams : bool
        :meth:`~RegimeEstimator.fit` reads streamed and dask regimes without holding their rows.
    sandwich : bool
        A ridge regression on a fixed design, so :func:`~jointeffects.sandwich_intervals`
        applies.
    causal : bool
        False for a baseline that ignores confounding: its intervals are for its regression.
    whole_replicates : bool
        Each bootstrap replicate relearns everything (structure, degree, penalty), so a model
        file stores it whole rather than as learners on the original's regimes.
    model_file : bool
        The fit can be written to a model file (:func:`~jointeffects.save_model`).
    additive : bool
        The joint effect is additive by construction, c + Σ_k φ_k(a_k), so decisions over it
        are separable problems (:func:`~jointeffects.optimize_budget`).
    lift_tests : bool
        :meth:`~RegimeEstimator.fit` takes summaries of lift tests (``lift_tests=``) besides
        the regimes' rows.
    """

    streams: bool = False
    sandwich: bool = False
    causal: bool = True
    whole_replicates: bool = False
    model_file: bool = False
    additive: bool = False
    lift_tests: bool = False


class RegimeEstimator(BaseEstimator):
    """Base class: fit learners on regime datasets, predict interventional means.

    Subclasses implement ``_fit_regimes(data)`` and ``_predict(X, intervened)``; those that
    can fit from statistics also implement ``_fit_streams(streams)`` (see :meth:`can_stream`).
    A subclass is named once, in :mod:`.registry`, and declares what sets it apart in the hooks
    below (``_trusted_data``, ``_model_note``, ``_mixed_note``, ``_regressions``,
    ``_richer_partner``, ``_model_state``), each with the default of the plain case.
    """

    _sandwich: ClassVar[bool] = False
    _causal: ClassVar[bool] = True
    _whole_replicates: ClassVar[bool] = False
    _additive: ClassVar[bool] = False
    _lift_tests: ClassVar[bool] = False
    #: Keys of the model-file state after the common ones (empty: not saved to model files).
    _model_keys: ClassVar[tuple[str, ...]] = ()

    learner: Any
    random_state: Any

    def fit(
        self,
        datasets: Any,
        outcome: str = "Y",
        regime_col: str | None = None,
        actions: Iterable[str] | None = None,
        lift_tests: Any = None,
    ) -> RegimeEstimator:
        """Fit on regime datasets.

        Parameters
        ----------
        datasets : dict, DataFrame or RegimeData
            ``{regime: table}`` where a regime is a tuple of intervened action names
            (``()`` = observational) or a string like ``"tv+email"``; or one long table
            together with ``regime_col``. Tables hold every action column and the outcome.
            ``(X, y)`` array pairs are accepted too (actions then named ``A0, A1, ...``).
            A regime too large to hold may be given as a stream of DataFrame chunks (a list
            or iterator of them, or :class:`~jointeffects.estimate.regimes.RegimeChunks` with
            the total row count) or as a dask DataFrame (e.g. ``dd.read_parquet``). When
            :meth:`can_stream` (the default learner), chunks are read (once; twice by
            :class:`~jointeffects.StructuredEstimator`, which then needs re-readable chunks)
            and dask partitions are reduced to statistics where they live, so no regime's
            rows are held; otherwise chunks are concatenated in memory and dask input is
            refused.
            Every chunk or partition is validated as it is read.
            In-memory regimes whose actions reach outside the observational support
            (Assumption 1) raise a :class:`~jointeffects.errors.SupportWarning`; a
            :class:`RegimeData` counts as checked already, and streamed regimes are not.
        outcome : str, default="Y"
            Outcome column.
        regime_col : str, optional
            Column labelling each row's regime in a long table.
        actions : iterable of str, optional
            Action names for array input.
        lift_tests : DataFrame or mapping of columns, optional
            Summaries of lift tests with the columns ``channel, x, delta_x, delta_y,
            sigma`` (see :func:`~jointeffects.estimate.estimators.lift.lift_table`); only
            for estimators whose :meth:`capabilities` include ``lift_tests``.

        Returns
        -------
        self
        """
        if has_streams(datasets):
            if regime_col is not None:
                raise DataError(
                    "regime_col applies to one in-memory table; pass streamed or dask data as "
                    "a dict {regime: data}"
                )
            streams = as_regime_streams(datasets, outcome=outcome)
            self._set_names(streams.actions, streams.outcome)
            self._take_lift_tests(lift_tests)
            if self.can_stream():
                self._fit_streams(streams)
                self.n_rows_ = streams.rows()
                return self
            who, learner = type(self).__name__, getattr(self, "learner", None)
            if not learner_streams(learner):
                who += f" with learner {type(learner).__name__}"
            data = streams.to_regime_data(who, self._stream_remedy())
        elif isinstance(datasets, RegimeData):
            data = datasets
        else:
            data = as_regime_data(datasets, outcome=outcome, regime_col=regime_col, actions=actions)
            warn_outside_support(data)
        self._set_names(data.actions, data.outcome)
        self._take_lift_tests(lift_tests)
        self.n_rows_ = {regime: data.rows(regime) for regime in data.regimes}
        self._fit_regimes(data)
        return self

    def can_stream(self) -> bool:
        """Whether :meth:`fit` reads streamed and dask regimes without holding their rows.

        True when the estimator fits from per-fold statistics (the paper's estimator, the
        baselines and the structure-aware estimator) and its learner, if it has one, can merge
        them (the default ``PolynomialRidgeCV``).
        """
        own = type(self)._fit_streams is not RegimeEstimator._fit_streams
        return own and learner_streams(getattr(self, "learner", None))

    def _stream_remedy(self) -> str | None:
        """What makes :meth:`can_stream` true, for the error on dask input (None: the
        default, a learner that streams)."""
        return None

    def capabilities(self) -> Capabilities:
        """What this estimator can do; generic code asks this instead of checking classes."""
        return Capabilities(
            streams=self.can_stream(),
            sandwich=self._sandwich,
            causal=self._causal,
            whole_replicates=self._whole_replicates,
            model_file=bool(self._model_keys),
            additive=self._additive,
            lift_tests=self._lift_tests,
        )

    def _take_lift_tests(self, lift_tests: Any) -> None:
        """Validate ``lift_tests`` once (into ``lift_tests_``), or refuse them if this
        estimator does not take them."""
        if not self._lift_tests:
            if lift_tests is not None:
                raise DataError(
                    f"{type(self).__name__} does not take lift tests; StructuredEstimator "
                    "(CLI --estimator structured) fits them beside the regimes' rows"
                )
            return
        self.lift_tests_ = None if lift_tests is None else lift_table(lift_tests, self.actions_)

    def _set_names(self, actions: tuple[str, ...], outcome: str) -> None:
        self.actions_ = actions
        self.outcome_ = outcome
        self.n_features_in_ = len(actions)

    def predict(self, X: Any, intervened: Iterable[str] | None = None) -> np.ndarray:
        """Predict E[Y | do(a_int), a_obs] at the query points.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_queries, n_actions)
            Action values; a DataFrame must have exactly the action columns.
        intervened : iterable of str, optional
            Actions set by intervention; the others are observed at their values. Default
            (None): all actions, i.e. the joint interventional effect E[Y | do(a)].

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        self._check_fitted()
        points = query_array(X, self.actions_)
        regime = self._intervened_regime(intervened)
        prediction = self._predict(points, regime)
        if not np.all(np.isfinite(prediction)):  # never hand out a silent NaN
            raise DataError(
                "the learner returned non-finite predictions; check the query's range against "
                "the training data"
            )
        return prediction

    # -- helpers for subclasses -------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "actions_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) first"
            )

    def _intervened_regime(self, intervened: Iterable[str] | None) -> Regime:
        if intervened is None:
            return self.actions_
        if isinstance(intervened, str):
            intervened = [part for part in intervened.split(",") if part]
        names = [str(name) for name in intervened]
        unknown = [name for name in names if name not in self.actions_]
        if unknown:
            raise IdentificationError(
                f"intervened names unknown action(s) {unknown}; actions are {list(self.actions_)}"
            )
        return tuple(a for a in self.actions_ if a in set(names))

    def _learner(self, index: int = 0) -> Any:
        learner = default_learner() if self.learner is None else clone(self.learner)
        if self.random_state is not None and "random_state" in learner.get_params():
            seed = np.random.SeedSequence(self.random_state, spawn_key=(index,))
            learner.set_params(random_state=int(seed.generate_state(1)[0]))
        return learner

    def _fit_learner(self, X: np.ndarray, y: np.ndarray, index: int = 0) -> Any:
        return self._learner(index).fit(X, y)

    def _fit_sources(self, sources: list[RegimeSource], index: int = 0) -> Any:
        """A learner fitted on the rows of ``sources`` pooled, from their statistics."""
        learner = self._learner(index)
        return learner.fit_stats(folded_stats(learner, sources))

    def _fit_regimes(self, data: RegimeData) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_streams(self, data: RegimeStreams) -> None:  # pragma: no cover - optional
        raise NotImplementedError

    def _predict(self, X: np.ndarray, regime: Regime) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # -- capabilities: what generic code needs to know, with the plain case as default --------

    def _trusted_data(self, data: RegimeData) -> RegimeData:
        """The part of ``data`` the fit learns from (whose sizes and ranges bound trust)."""
        return data

    def _model_note(self, data: RegimeData, spec_level: float) -> str:
        """Why no interval of this fit can be trusted, whatever the query ("" if none)."""
        return ""

    def _mixed_note(self, regression_misfit: str) -> str:
        """Why no interval of a mixed effect can be trusted, given the misfit note of the
        per-regime regressions ("" if their tests did not reject)."""
        return regression_misfit

    def _identified_actions(self) -> tuple[str, ...]:
        """The actions whose intervention the fit identifies (all, unless some action has
        no experiment)."""
        return tuple(self.actions_)

    def _fit_summary(self) -> tuple[dict[Regime, str], list[str]]:
        """For a fit summary: a detail per regime (its learner), and lines on the model."""
        return {}, []

    def _level_note(self) -> str:
        """Why the absolute level of the joint effect is not identified ("" if it is)."""
        return ""

    def _lift_moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The sandwich's bread and meat of the fit's lift-test rows at the coefficients
        ``theta`` (None without lift tests)."""
        return None

    def _shape_rows(self, X: np.ndarray, intervened: Any) -> tuple[np.ndarray, np.ndarray] | None:
        """For a sandwich band: the gradients at X of the prediction's parts fitted apart from
        the ridge, with their parameters' covariance (None if there are none)."""
        return None

    def _refit_on(self, data: RegimeData, rng: np.random.Generator) -> RegimeEstimator:
        """A bootstrap replicate: a clone fitted on the resample ``data``; ``rng`` draws
        whatever else the replicate resamples (nothing, by default)."""
        return clone(self).fit(data)

    def _regressions(self) -> dict[Any, Any]:
        """The fitted per-regime learners behind mixed effects ({} if none)."""
        return {}

    def _richer_partner(self, required: bool = False) -> Any:
        """An unfitted copy whose polynomial ridge learners are one degree richer, or None
        when the estimator has none (an error if ``required``)."""
        params = self.get_params()
        learner = params.get("learner")
        if "learner" in params and (learner is None or isinstance(learner, PolynomialRidgeCV)):
            learner = PolynomialRidgeCV() if learner is None else learner
            richer = clone(learner).set_params(degree=learner.degree + 1)
            return clone(self).set_params(learner=richer)
        if required:
            has = type(learner).__name__ if "learner" in params else "no learner"
            raise DataError(
                "misspecification=True raises the degree of the learners, so it needs "
                f"PolynomialRidgeCV learners; {type(self).__name__} has {has}"
            )
        return None

    # -- model files: estimators with ``_model_keys`` implement these -------------------------

    def _model_state(self) -> dict[str, Any]:
        """The fit's JSON-ready state under ``_model_keys`` (and its ``params``)."""
        raise NotImplementedError

    @classmethod
    def _from_model_state(cls, f: Any, actions: list[str]) -> RegimeEstimator:
        """The fit rebuilt from a validated model-file state (names and rows set by the caller)."""
        raise NotImplementedError

    def _replicate(self, f: Any) -> RegimeEstimator:
        """A bootstrap replicate of this fit from its stored learners (see ``whole_replicates``)."""
        raise NotImplementedError
