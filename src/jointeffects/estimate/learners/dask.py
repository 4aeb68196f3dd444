"""Per-fold polynomial statistics of a dask DataFrame: per partition, then a tree reduction.

Two passes over the data: the partition lengths (so every row's global position, hence its
``KFold`` fold, is known) together with the first ``chunk_size`` rows (the pilot of the input
transform, as the in-memory fit takes its first chunk), then one :class:`FoldedStats` per
partition, merged pairwise on the workers. Inputs and outcome travel in one frame, so they
are always partitioned alike. Each partition is checked by a ``validate(partition, index)``
function on its worker, so bad rows are reported by partition, and only statistics of size
O(p²) travel back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from jointeffects.errors import DataError
from jointeffects.estimate.learners.polystats import FoldedStats

if TYPE_CHECKING:
    from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

#: ``validate(partition, index) -> (X, y)``: float arrays of one pandas partition.
Validate = Callable[[Any, int], tuple[np.ndarray, np.ndarray]]


def split_target(part: Any, index: int, target: str) -> tuple[np.ndarray, np.ndarray]:
    """The learner's split of a partition: ``target`` is y, the other columns are X."""
    X = np.asarray(part.drop(columns=[target]).to_numpy(dtype=float))
    return X, np.asarray(part[target].to_numpy(dtype=float))


def _pilot(part: Any, index: int, validate: Validate, size: int) -> np.ndarray:
    return validate(part.iloc[:size], index)[0]


def _partition_stats(
    part: Any,
    index: int,
    validate: Validate,
    template: FoldedStats,
    n_samples: int | None,
    offset: int,
) -> FoldedStats:
    stats = template.empty_like(n_samples=n_samples, row_offset=offset)
    return stats.update(*validate(part, index))


def _merge(a: FoldedStats, b: FoldedStats) -> FoldedStats:
    return a.merge(b)


def _dask() -> Any:
    try:
        import dask
    except ImportError as err:  # pragma: no cover - dask is a declared dependency
        raise ImportError("fitting dask inputs needs dask: pip install 'dask[dataframe]'") from err
    return dask


class DaskRows:
    """The rows of a dask DataFrame, measured once: partition lengths and pilot rows.

    Parameters
    ----------
    frame : dask DataFrame
    validate : callable
        ``validate(partition, index) -> (X, y)``, run on the workers; raise to refuse data.
    pilot_rows : int
        How many leading rows to bring back as the pilot of the input transform.

    Attributes
    ----------
    lengths : list of int
        Rows per partition.
    pilot : ndarray of shape (<= pilot_rows, n_features)
        The first rows' inputs (of the first non-empty partition).
    """

    def __init__(self, frame: Any, validate: Validate, pilot_rows: int) -> None:
        dask = _dask()
        # one list of partitions for both passes: the row positions must refer to the same split
        self._parts = frame.to_delayed()
        self._validate = validate
        pilot = dask.delayed(_pilot)(self._parts[0], 0, validate, pilot_rows)
        lengths, self.pilot = dask.compute([dask.delayed(len)(p) for p in self._parts], pilot)
        self.lengths = [int(n) for n in lengths]
        if len(self.pilot) == 0 and self.n_rows > 0:  # e.g. a filter emptied partition 0
            i = next(i for i, n in enumerate(self.lengths) if n > 0)
            (self.pilot,) = dask.compute(
                dask.delayed(_pilot)(self._parts[i], i, validate, pilot_rows)
            )

    @property
    def n_rows(self) -> int:
        return int(np.sum(self.lengths))

    def add_to(self, stats: FoldedStats) -> FoldedStats:
        """Append these rows to ``stats`` (they follow its rows so far). Returns ``stats``.

        Partition i becomes a :class:`FoldedStats` at its global row offset on a worker; the
        partitions' statistics are merged pairwise (depth log2(npartitions)) there too.
        """
        dask = _dask()
        template = stats.empty_like()
        offsets = stats.position + np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        task = partial(_partition_stats, validate=self._validate, template=template)
        tasks = [
            dask.delayed(task)(part, i, n_samples=stats.n_samples, offset=int(offset))
            for i, (part, offset) in enumerate(zip(self._parts, offsets, strict=True))
        ]
        while len(tasks) > 1:
            pairs = [
                dask.delayed(_merge)(a, b) for a, b in zip(tasks[::2], tasks[1::2], strict=False)
            ]
            tasks = pairs + ([tasks[-1]] if len(tasks) % 2 else [])
        (total,) = dask.compute(tasks[0])
        return stats.append(total)


def dask_folded_stats(learner: PolynomialRidgeCV, frame: Any, target: str) -> FoldedStats:
    """Per-fold statistics of a dask DataFrame holding the inputs and the ``target`` column."""
    rows = DaskRows(frame, partial(split_target, target=target), int(learner.chunk_size))
    learner._check_rows(rows.n_rows)
    if len(rows.pilot) == 0:  # pragma: no cover - _check_rows refuses empty frames
        raise DataError("X has no rows; pass a non-empty frame")
    return rows.add_to(learner.new_stats(rows.pilot, n_samples=rows.n_rows))
