"""Reading a regime in passes: chunk streams here, dask partitions where they live.

A :class:`SourceReader` reduces one regime's chunks with a task ``task(X, y, start)`` as they
arrive, or its dask partitions on the workers (merged pairwise there), so only the task's
results travel. A task result is an array (results add) or an object with ``merge``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from jointeffects.estimate.regimes.streams import RegimeSource, RegimeStreams, is_dask
from jointeffects.estimate.regimes.tables import Regime

T = TypeVar("T")


def merge_stats(a: Any, b: Any) -> Any:
    """Merge two task results: arrays add, statistics objects ``merge``."""
    return a + b if isinstance(a, np.ndarray) else a.merge(b)


def _dask() -> Any:
    try:
        import dask
    except ImportError as err:  # pragma: no cover - dask is a declared dependency
        raise ImportError("fitting dask inputs needs dask: pip install 'dask[dataframe]'") from err
    return dask


def _on_partition(part: Any, index: int, validate: Any, task: Any, start: int) -> Any:
    X, y = validate(part, index)
    return task(X, y, start)


def _head(part: Any, index: int, validate: Any, rows: int) -> np.ndarray:
    return validate(part.iloc[:rows], index)[0]


class SourceReader:
    """One regime's rows, read in passes: chunk streams here, dask partitions where they live.

    Parameters
    ----------
    source : RegimeSource
        A dask source is split into its partitions once, so that every pass sees the same
        rows at the same positions.
    """

    def __init__(self, source: RegimeSource) -> None:
        self.source = source
        self.parts = None if source.frame is None else source.frame.to_delayed()
        self.lengths: list[int] | None = None

    def head(self, rows: int) -> np.ndarray:
        """The actions of the first ``rows`` rows (fewer if the regime has fewer)."""
        got: list[np.ndarray] = []
        have = 0
        if self.parts is None:
            for X, _ in self.source.chunks():
                got.append(X[: rows - have])
                have += len(got[-1])
                if have >= rows:
                    break
        else:
            dask = _dask()
            assert self.lengths is not None, "measure() the dask sources first"
            tasks = []
            for i, n in enumerate(self.lengths):
                if have >= rows:
                    break
                if n:
                    take = min(n, rows - have)
                    tasks.append(
                        dask.delayed(_head)(self.parts[i], i, self.source.validator(), take)
                    )
                    have += take
            got = list(dask.compute(*tasks))
        return np.concatenate(got) if got else np.empty((0, len(self.source.actions)))

    def reduce(self, task: Callable[[np.ndarray, np.ndarray, int], T]) -> Any:
        """One pass: ``task(X, y, start)`` on every chunk or partition, merged.

        Chunk streams are read now and give the merged result; dask input gives a delayed
        result (partitions merged pairwise on the workers) to pass to :func:`compute`.
        """
        if self.parts is None:
            total: Any = None
            start = 0
            for X, y in self.source.chunks():
                value = task(X, y, start)
                total = value if total is None else merge_stats(total, value)
                start += len(y)
            return total
        dask = _dask()
        assert self.lengths is not None, "measure() the dask sources first"
        offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        validate = self.source.validator()
        tasks = [
            dask.delayed(_on_partition)(part, i, validate, task, int(offset))
            for i, (part, offset) in enumerate(zip(self.parts, offsets, strict=True))
        ]
        while len(tasks) > 1:
            pairs = [
                dask.delayed(merge_stats)(a, b)
                for a, b in zip(tasks[::2], tasks[1::2], strict=False)
            ]
            tasks = pairs + ([tasks[-1]] if len(tasks) % 2 else [])
        return tasks[0]


def measure(readers: Iterable[SourceReader]) -> None:
    """Count the rows of every dask partition (one computation for all dask sources)."""
    lazy = [r for r in readers if r.parts is not None]
    if not lazy:
        return
    dask = _dask()
    lengths = dask.compute([[dask.delayed(len)(p) for p in r.parts or []] for r in lazy])[0]
    for reader, counts in zip(lazy, lengths, strict=True):
        reader.lengths = [int(n) for n in counts]
        rows = int(sum(reader.lengths))
        reader.source.check_rows(rows)
        reader.source.rows_read = rows


def measured_readers(streams: RegimeStreams) -> dict[Regime, SourceReader]:
    """One :class:`SourceReader` per regime of ``streams``, the dask ones measured."""
    readers = {r: SourceReader(s) for r, s in streams.regimes.items()}
    measure(readers.values())
    return readers


def compute(results: dict[Regime, Any]) -> dict[Regime, Any]:
    """The pass's results with every delayed one computed (together, in one computation)."""
    lazy = [r for r, v in results.items() if is_dask(v)]
    if not lazy:
        return dict(results)
    done = _dask().compute(*[results[r] for r in lazy])
    return {**results, **dict(zip(lazy, done, strict=True))}


#: Rows per block of the sampling keys: each block's keys come from their own seed.
KEY_BLOCK = 4096


def _row_keys(seed: tuple[int, ...], start: int, stop: int) -> np.ndarray:
    """Uniform keys of rows ``start..stop-1``: a function of the seed and the row positions
    only, so a sample does not depend on how the rows are cut into chunks."""
    first, last = start // KEY_BLOCK, (stop - 1) // KEY_BLOCK
    keys = [
        np.random.default_rng(np.random.SeedSequence([*seed, block])).random(KEY_BLOCK)
        for block in range(first, last + 1)
    ]
    offset = start - first * KEY_BLOCK
    return np.concatenate(keys)[offset : offset + stop - start]


@dataclass
class RowSample:
    """A uniform sample of at most ``cap`` rows of the actions, with every row's count and the
    exact column minima and maxima (all of them when the regime has at most ``cap`` rows)."""

    rows: int
    low: np.ndarray
    high: np.ndarray
    keys: np.ndarray
    X: np.ndarray
    cap: int

    def merge(self, other: RowSample) -> RowSample:
        keys = np.concatenate([self.keys, other.keys])
        X = np.concatenate([self.X, other.X])
        keep = np.sort(np.argsort(keys, kind="stable")[: self.cap])
        return RowSample(
            self.rows + other.rows,
            np.minimum(self.low, other.low),
            np.maximum(self.high, other.high),
            keys[keep],
            X[keep],
            self.cap,
        )


@dataclass(frozen=True)
class SampleRows:
    """The pass task of :class:`RowSample`: the ``cap`` rows of smallest key."""

    cap: int
    seed: tuple[int, ...]

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> RowSample:
        keys = _row_keys(self.seed, start, start + len(X))
        keep = np.sort(np.argsort(keys, kind="stable")[: self.cap])
        return RowSample(len(X), X.min(axis=0), X.max(axis=0), keys[keep], X[keep], self.cap)
