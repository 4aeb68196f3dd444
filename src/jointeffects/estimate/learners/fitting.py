"""Fitting learners from regime sources: the default learner and streamed statistics."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from jointeffects.estimate.learners.dask import DaskRows
from jointeffects.estimate.learners.ridge import PolynomialRidgeCV
from jointeffects.estimate.regimes import RegimeSource


def default_learner() -> BaseEstimator:
    """The paper's learner: cubic polynomial ridge with the alpha chosen by 3-fold CV."""
    return PolynomialRidgeCV()


def learner_streams(learner: Any) -> bool:
    """Whether a learner fits from merged per-fold statistics (``new_stats``/``fit_stats``,
    as :class:`~jointeffects.PolynomialRidgeCV`); ``None`` is the default one."""
    return learner is None or all(
        callable(getattr(learner, name, None)) for name in ("new_stats", "fit_stats")
    )


def folded_stats(learner: Any, sources: list[RegimeSource]) -> Any:
    """Per-fold statistics of the rows of all ``sources``, read in order as one dataset.

    Row i of the concatenation goes to the fold it would have in the in-memory fit when every
    source's row count is known up front (in-memory data, ``RegimeChunks(n_rows=...)``, dask
    frames, whose partitions are counted first); otherwise to fold ``i % cv``. Memory is
    O(p² + chunk · p) whatever the number of rows.
    """
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
