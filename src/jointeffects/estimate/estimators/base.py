"""What every regime estimator shares: the fit/predict contract and learner handling."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate.regimes.tables import (
    Regime,
    RegimeData,
    RegimeSource,
    RegimeStreams,
    as_regime_data,
    as_regime_streams,
    has_streams,
    query_array,
    regime_label,
)


def default_learner() -> BaseEstimator:
    """The paper's learner: cubic polynomial ridge with the alpha chosen by 3-fold CV."""
    from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

    return PolynomialRidgeCV()


def learner_streams(learner: Any) -> bool:
    """Whether a learner fits from merged per-fold statistics (``new_stats``/``fit_stats``,
    as :class:`~jointeffects.estimate.learners.ridge.PolynomialRidgeCV`); ``None`` is the default one."""
    return learner is None or all(
        callable(getattr(learner, name, None)) for name in ("new_stats", "fit_stats")
    )


class RegimeEstimator(BaseEstimator):
    """Base class: fit learners on regime datasets, predict interventional means.

    Subclasses implement ``_fit_regimes(data)`` and ``_predict(X, intervened)``; those that
    can fit from statistics also implement ``_fit_streams(streams)`` (see :meth:`can_stream`).
    """

    learner: Any
    random_state: Any

    def fit(
        self,
        datasets: Any,
        outcome: str = "Y",
        regime_col: str | None = None,
        actions: Iterable[str] | None = None,
    ) -> RegimeEstimator:
        """Fit on regime datasets.

        Parameters
        ----------
        datasets : dict or DataFrame
            ``{regime: table}`` where a regime is a tuple of intervened action names
            (``()`` = observational) or a string like ``"tv+email"``; or one long table
            together with ``regime_col``. Tables hold every action column and the outcome.
            ``(X, y)`` array pairs are accepted too (actions then named ``A0, A1, ...``).
            A regime too large to hold may be given as a stream of DataFrame chunks (a list
            or iterator of them, or :class:`~jointeffects.estimate.regimes.tables.RegimeChunks` with
            the total row count) or as a dask DataFrame (e.g. ``dd.read_parquet``). When
            :meth:`can_stream` (the default learner), chunks are read once and dask
            partitions are reduced to statistics where they live, so no regime's rows are
            held; otherwise chunks are concatenated in memory and dask input is refused.
            Every chunk or partition is validated as it is read.
        outcome : str, default="Y"
            Outcome column.
        regime_col : str, optional
            Column labelling each row's regime in a long table.
        actions : iterable of str, optional
            Action names for array input.

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
            if self.can_stream():
                self._fit_streams(streams)
                self.n_rows_ = streams.rows()
                return self
            who, learner = type(self).__name__, getattr(self, "learner", None)
            if not learner_streams(learner):
                who += f" with learner {type(learner).__name__}"
            data = streams.to_regime_data(who)
        else:
            data = as_regime_data(datasets, outcome=outcome, regime_col=regime_col, actions=actions)
        self._set_names(data.actions, data.outcome)
        self.n_rows_ = {regime: data.rows(regime) for regime in data.regimes}
        self._fit_regimes(data)
        return self

    def can_stream(self) -> bool:
        """Whether :meth:`fit` reads streamed and dask regimes without holding their rows.

        True when the estimator fits from per-fold statistics (the paper's estimator and the
        baselines) and its learner can merge them (the default ``PolynomialRidgeCV``).
        """
        own = type(self)._fit_streams is not RegimeEstimator._fit_streams
        return own and learner_streams(self.learner)

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

    def response_curves(self, datasets: Any = None, grid: Any = 41, **kwargs: Any) -> Any:
        """Per-action curves φ_k(a_k) with intervals; see :func:`.curves.response_curves`."""
        from jointeffects.estimate.curves import response_curves

        return response_curves(self, datasets, grid, **kwargs)


def folded_stats(learner: Any, sources: list[RegimeSource]) -> Any:
    """Per-fold statistics of the rows of all ``sources``, read in order as one dataset.

    Row i of the concatenation goes to the fold it would have in the in-memory fit when every
    source's row count is known up front (in-memory data, ``RegimeChunks(n_rows=...)``, dask
    frames, whose partitions are counted first); otherwise to fold ``i % cv``. Memory is
    O(p² + chunk · p) whatever the number of rows.
    """
    from jointeffects.estimate.learners.dask import DaskRows

    dask_rows = {}
    for i, source in enumerate(sources):
        if source.frame is not None:
            pilot_rows = int(getattr(learner, "chunk_size", 16384))
            rows = DaskRows(source.frame, source.validator(), pilot_rows)
            source.check_rows(rows.n_rows)
            source.rows_read = rows.n_rows
            dask_rows[i] = rows
    counts = [dask_rows[i].n_rows if i in dask_rows else s.n_rows for i, s in enumerate(sources)]
    known = [n for n in counts if n is not None]
    n_samples = int(sum(known)) if len(known) == len(counts) else None
    stats = None
    for i, source in enumerate(sources):
        if i in dask_rows:
            if stats is None:
                stats = learner.new_stats(dask_rows[i].pilot, n_samples=n_samples)
            dask_rows[i].add_to(stats)
            continue
        for X, y in source.chunks():
            if stats is None:
                stats = learner.new_stats(X, n_samples=n_samples)
            stats.update(X, y)
    return stats


def check_regime(data: RegimeData | RegimeStreams, regime: Regime, who: str) -> None:
    """Raise a DataError naming what ``who`` needs if ``regime`` has no data."""
    if regime not in data.regimes:
        have = [regime_label(r) for r in data.regimes]
        raise DataError(f"{who} needs {regime_label(regime)} data; got regimes {have}")


def require_regime(data: RegimeData, regime: Regime, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a regime's data or raise a DataError naming what ``who`` needs."""
    check_regime(data, regime, who)
    return data.regimes[regime]


def experiment_blocks(data: RegimeData | RegimeStreams) -> tuple[Regime, ...]:
    """The experiments' blocks, checked to be disjoint, in the order of their first action."""
    blocks = [regime for regime in data.regimes if regime]
    if not blocks:
        raise DataError("no experiment given: add at least one regime that intervenes on an action")
    owner: dict[str, Regime] = {}
    for block in blocks:
        for action in block:
            if action in owner:
                raise DataError(
                    f"experiments {regime_label(owner[action])} and {regime_label(block)} "
                    f"both intervene on '{action}'; blocks must be disjoint (pass one "
                    "experiment per action or per block of a partition)"
                )
            owner[action] = block
    order = {a: j for j, a in enumerate(data.actions)}
    return tuple(sorted(blocks, key=lambda b: order[b[0]]))


def blocks_for_query(blocks: tuple[Regime, ...], intervened: Regime) -> list[Regime]:
    """The blocks whose union is ``intervened``; refuses queries the experiments don't identify."""
    covered = {a for block in blocks for a in block}
    missing = [a for a in intervened if a not in covered]
    if missing:
        raise IdentificationError(
            f"no experiment intervenes on {missing}: the effect of intervening on them is "
            f"not identified; experiments cover {[regime_label(b) for b in blocks]}"
        )
    chosen = [b for b in blocks if set(b) & set(intervened)]
    partial = [b for b in chosen if not set(b) <= set(intervened)]
    if partial:
        raise IdentificationError(
            f"intervening on {list(intervened)} splits the block experiment "
            f"{regime_label(partial[0])}; only unions of blocks are identified — intervene "
            f"on all of {list(partial[0])} or none"
        )
    return chosen
