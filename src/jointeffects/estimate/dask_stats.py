"""Per-fold polynomial statistics of a dask DataFrame: per partition, then a tree reduction.

Two passes over the data: the partition lengths (so every row's global position, hence its
``KFold`` fold, is known) together with the first ``chunk_size`` rows (the pilot of the input
transform, as the in-memory fit takes its first chunk), then one :class:`FoldedStats` per
partition, merged pairwise on the workers. Inputs and outcome travel in one frame, so they
are always partitioned alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from jointeffects.errors import DataError
from jointeffects.estimate.polystats import FoldedStats

if TYPE_CHECKING:
    from jointeffects.estimate.ridge import PolynomialRidgeCV


def _partition_stats(
    part: Any, target: str, template: FoldedStats, n_samples: int, offset: int
) -> FoldedStats:
    stats = template.empty_like(n_samples=n_samples, row_offset=offset)
    X = np.asarray(part.drop(columns=[target]).to_numpy(dtype=float))
    return stats.update(X, np.asarray(part[target].to_numpy(dtype=float)))


def _merge(a: FoldedStats, b: FoldedStats) -> FoldedStats:
    return a.merge(b)


def dask_folded_stats(learner: PolynomialRidgeCV, frame: Any, target: str) -> FoldedStats:
    """Per-fold statistics of a dask DataFrame holding the inputs and the ``target`` column."""
    try:
        import dask
    except ImportError as err:  # pragma: no cover - dask is a declared dependency
        raise ImportError("fitting dask inputs needs dask: pip install 'dask[dataframe]'") from err
    # one list of partitions for both passes: the row positions must refer to the same split
    parts = frame.to_delayed()
    size = int(learner.chunk_size)
    first = dask.delayed(lambda p: p.drop(columns=[target]).iloc[:size])(parts[0])
    lengths, pilot = dask.compute([dask.delayed(len)(p) for p in parts], first)
    n_samples = int(np.sum(lengths))
    learner._check_rows(n_samples)
    if len(pilot) == 0:
        raise DataError("the first partition of X is empty; repartition the data")
    template = learner.new_stats(pilot, n_samples=n_samples)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    tasks = [
        dask.delayed(_partition_stats)(part, target, template, n_samples, int(offset))
        for part, offset in zip(parts, offsets, strict=True)
    ]
    while len(tasks) > 1:  # pairwise tree reduction: depth log2(npartitions)
        pairs = [dask.delayed(_merge)(a, b) for a, b in zip(tasks[::2], tasks[1::2], strict=False)]
        tasks = pairs + ([tasks[-1]] if len(tasks) % 2 else [])
    (stats,) = dask.compute(tasks[0])
    return stats
