"""Streamed regimes: chunk iterators and dask frames, validated chunk by chunk as read.

:func:`as_regime_streams` checks the keys and the column names up front and wraps each regime
in a :class:`RegimeSource` that validates every chunk (or dask partition) as the learner
reads it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

import numpy as np
import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.regimes.tables import (
    MIN_ROWS,
    Regime,
    RegimeData,
    _action_names,
    _check_action_names,
    _check_columns,
    _keyed_regimes,
    frame_to_arrays,
    parse_regime_key,
    regime_label,
)


@dataclass(frozen=True)
class RegimeChunks:
    """A regime's rows as a stream of DataFrame chunks, with their total if known.

    A value of an estimator's ``datasets`` dict, like a DataFrame (a bare list or iterator of
    DataFrames works too, as ``RegimeChunks(chunks)``). With the default learner the
    estimators fit from the stream without holding its rows; other learners get the chunks
    concatenated.

    Parameters
    ----------
    chunks : iterable of DataFrame, or callable
        Each holds every action column and the outcome, read in order. An iterator can be
        read once; a list, or a zero-argument callable returning a fresh iterable of the same
        chunks on every call (e.g. ``lambda: (b.to_pandas() for b in
        pyarrow.parquet.ParquetFile(path).iter_batches())``), can be read again by fits that
        need two passes (:class:`~jointeffects.StructuredEstimator`).
    n_rows : int, optional
        Total rows of the stream. Given, the learner's CV folds are the contiguous
        ``KFold`` blocks of the in-memory fit, so the result equals the fit on the
        concatenated rows; omitted, row i of the stream goes to fold ``i % cv`` (the chosen
        penalty may then differ from the in-memory fit's).
    """

    chunks: Iterable[pd.DataFrame] | Callable[[], Iterable[pd.DataFrame]]
    n_rows: int | None = None

    def __post_init__(self) -> None:
        if callable(self.chunks) and not isinstance(self.chunks, Iterable):
            object.__setattr__(self, "chunks", _Reread(self.chunks))


class _Reread:
    """An iterable that calls ``factory()`` for each iteration, so it can be read again."""

    def __init__(self, factory: Callable[[], Iterable[pd.DataFrame]]) -> None:
        self.factory = factory

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter(self.factory())


def is_dask(value: Any) -> bool:
    """Whether ``value`` is a dask collection (checked without importing dask)."""
    return type(value).__module__.split(".")[0].startswith("dask")


def is_stream(value: Any) -> bool:
    """Whether a ``datasets`` value is streamed (chunks or a dask DataFrame), not held."""
    if isinstance(value, RegimeChunks) or is_dask(value):
        return True
    held = (pd.DataFrame, pd.Series, np.ndarray, tuple, str, bytes, Mapping)
    return isinstance(value, Iterable) and not isinstance(value, held)


def has_streams(datasets: Any) -> bool:
    """Whether fit input holds any streamed regime (or is one dask table)."""
    if is_dask(datasets):
        return True
    return isinstance(datasets, Mapping) and any(is_stream(v) for v in datasets.values())


def _validate_partition(
    part: pd.DataFrame, index: int, actions: tuple[str, ...], outcome: str, label: str
) -> tuple[np.ndarray, np.ndarray]:
    return frame_to_arrays(part, actions, outcome, f"partition {index} of the data of {label}")


class RegimeSource:
    """One regime's rows for a fit that streams them, validated chunk by chunk as read.

    Attributes
    ----------
    regime : tuple of str
    label : str
    frame : dask DataFrame or None
        Dask input: the learner reduces its partitions where they live, each checked by
        :meth:`validator`; :meth:`chunks` does not read it.
    n_rows : int or None
        Total rows when known before reading (in-memory data, ``RegimeChunks(n_rows=...)``).
    rows_read : int or None
        Rows read so far by a fit (set for dask input by whoever counted them).
    """

    def __init__(
        self,
        regime: Regime,
        actions: tuple[str, ...],
        outcome: str,
        *,
        arrays: tuple[np.ndarray, np.ndarray] | None = None,
        chunks: Iterable[Any] | None = None,
        frame: Any = None,
        n_rows: int | None = None,
    ) -> None:
        self.regime, self.label = regime, regime_label(regime)
        self.actions, self.outcome = actions, outcome
        self.frame = frame
        self.n_rows = len(arrays[1]) if arrays is not None else n_rows
        self.rows_read: int | None = None
        self._arrays = arrays
        self._chunks = chunks

    @property
    def rereadable(self) -> bool:
        """Whether :meth:`chunks` can be called again (held rows, a list of chunks, a
        re-readable :class:`RegimeChunks`, a dask frame), not a one-shot iterator."""
        if self.frame is not None or self._arrays is not None:
            return True
        return self._chunks is not None and not isinstance(self._chunks, Iterator)

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the rows as validated ``(X, y)`` float arrays; an iterator can be read once."""
        if self.frame is not None:  # pragma: no cover - callers route dask input elsewhere
            raise DataError(f"the data of {self.label} is a dask DataFrame, not a chunk stream")
        if self._arrays is not None:
            self.rows_read = self.n_rows
            yield self._arrays
            return
        if self._chunks is None:
            raise DataError(
                f"the chunk stream of {self.label} was already read; pass a new iterator"
            )
        chunks = self._chunks
        if isinstance(chunks, Iterator):  # a one-shot iterator
            self._chunks = None
        rows = 0
        for i, chunk in enumerate(chunks):
            X, y = frame_to_arrays(
                chunk, self.actions, self.outcome, f"chunk {i} of the data of {self.label}"
            )
            rows += len(y)
            if self.n_rows is not None and rows > self.n_rows:
                raise DataError(
                    f"the chunks of {self.label} hold more than n_rows={self.n_rows} rows; "
                    "pass their true total (or n_rows=None)"
                )
            if len(y):
                yield X, y
        if self.n_rows is not None and rows != self.n_rows:
            raise DataError(
                f"the chunks of {self.label} held {rows} rows but n_rows={self.n_rows}; pass "
                "their true total (or n_rows=None)"
            )
        self.check_rows(rows)
        self.rows_read = rows

    def check_rows(self, rows: int) -> None:
        """Refuse a regime with fewer than :data:`MIN_ROWS` rows."""
        if rows < MIN_ROWS:
            raise DataError(
                f"regime {self.label} has {rows} rows; at least {MIN_ROWS} are needed to fit it"
            )

    def validator(self) -> Callable[[pd.DataFrame, int], tuple[np.ndarray, np.ndarray]]:
        """``validate(partition, index) -> (X, y)``: a picklable check of one dask partition."""
        return partial(
            _validate_partition, actions=self.actions, outcome=self.outcome, label=self.label
        )

    def to_arrays(
        self, who: str, remedy: str = "use the default learner (PolynomialRidgeCV)"
    ) -> tuple[np.ndarray, np.ndarray]:
        """All rows in memory, for a fit that cannot stream (chunks are concatenated); dask
        input is refused with a message naming ``who`` and the ``remedy``."""
        if self.frame is not None:
            raise DataError(
                f"the data of {self.label} is a dask DataFrame, but {who} cannot fit from "
                f"per-partition statistics; {remedy}, or call .compute() on the frame if it "
                "fits in memory"
            )
        parts = list(self.chunks())
        X = np.concatenate([X for X, _ in parts]) if parts else np.empty((0, len(self.actions)))
        return X, np.concatenate([y for _, y in parts]) if parts else np.empty(0)


@dataclass(frozen=True)
class RegimeStreams:
    """Regime data of which some is streamed: one :class:`RegimeSource` per regime.

    Made by :func:`as_regime_streams`; has the ``actions``, ``outcome`` and ``regimes``
    (keys in input order) of :class:`RegimeData`, with sources in place of arrays.
    """

    actions: tuple[str, ...]
    outcome: str
    regimes: dict[Regime, RegimeSource]

    @classmethod
    def from_data(cls, data: RegimeData) -> RegimeStreams:
        """In-memory regime data as one-chunk sources."""
        regimes = {
            r: RegimeSource(r, data.actions, data.outcome, arrays=xy)
            for r, xy in data.regimes.items()
        }
        return cls(data.actions, data.outcome, regimes)

    def to_regime_data(self, who: str, remedy: str | None = None) -> RegimeData:
        """Read every regime into memory (chunks concatenated; dask input refused, see
        :meth:`RegimeSource.to_arrays`)."""
        more = {} if remedy is None else {"remedy": remedy}
        regimes = {r: s.to_arrays(who, **more) for r, s in self.regimes.items()}
        return RegimeData(self.actions, self.outcome, regimes)

    def rows(self) -> dict[Regime, int]:
        """Rows of each regime that was read, or whose total was given."""
        out = {}
        for regime, source in self.regimes.items():
            rows = source.rows_read if source.rows_read is not None else source.n_rows
            if rows is not None:
                out[regime] = rows
        return out


def _columns_of(value: Any, label: str) -> tuple[list[str], Any]:
    """Columns of a streamed value (peeking at a stream's first chunk), and the value to use."""
    if isinstance(value, RegimeChunks):
        columns, chunks = _columns_of(value.chunks, label)
        return columns, RegimeChunks(chunks, value.n_rows)
    if isinstance(value, pd.DataFrame) or is_dask(value):
        return [str(c) for c in value.columns], value
    iterator = iter(value)
    first = next(iterator, None)
    if first is None:
        raise DataError(
            f"the chunk stream of {label} is empty; pass at least one DataFrame (an iterator "
            "is used up by one fit: pass a new one to fit again)"
        )
    if not isinstance(first, pd.DataFrame):
        raise DataError(
            f"chunk 0 of the data of {label}: expected a pandas DataFrame, got "
            f"{type(first).__name__}"
        )
    rest = value if iterator is not value else itertools.chain([first], iterator)
    return [str(c) for c in first.columns], rest


def as_regime_streams(datasets: Any, outcome: str = "Y") -> RegimeStreams:
    """Check regime datasets of which some are streamed, without reading the streams.

    Parameters
    ----------
    datasets : mapping
        From regime key (as in :func:`as_regime_data`) to a DataFrame, a
        :class:`RegimeChunks`, a list or iterator of DataFrame chunks, or a dask DataFrame.
        Action names come from the observational regime's columns (its first chunk).
    outcome : str, default="Y"

    Returns
    -------
    RegimeStreams
        Sources whose chunks are validated as they are read.
    """
    if not isinstance(datasets, Mapping):
        raise DataError(
            "one streamed or dask table cannot be split by regime_col; pass a dict "
            "{regime: data}, e.g. {label: frame[frame[col] == label].drop(columns=col)}"
        )
    if not datasets:
        raise DataError("no data: pass a dict {regime: table} with at least the observational one")
    if any(isinstance(v, tuple) for v in datasets.values()):
        raise DataError(
            "(X, y) array pairs cannot be mixed with streamed data; pass DataFrames, chunk "
            "streams of DataFrames or dask DataFrames"
        )
    items = list(datasets.items())
    observational = [i for i, (k, _) in enumerate(items) if parse_regime_key(k, None) == ()]
    first = observational[0] if observational else 0
    key, value = items[first]
    columns, value = _columns_of(value, regime_label(parse_regime_key(key, None)))
    items[first] = (key, value)
    action_names = _action_names(columns, outcome)
    _check_action_names(action_names)
    regimes: dict[Regime, RegimeSource] = {}
    for regime, label, value in _keyed_regimes(dict(items), action_names):
        where = f"data of {label}"
        if isinstance(value, pd.DataFrame):
            arrays = frame_to_arrays(value, action_names, outcome, where)
            source = RegimeSource(regime, action_names, outcome, arrays=arrays)
            source.check_rows(source.n_rows or 0)
        elif is_dask(value):
            if not hasattr(value, "columns"):
                raise DataError(f"{where} is a dask {type(value).__name__}; pass a dask DataFrame")
            _check_columns(value, action_names, outcome, where)
            source = RegimeSource(regime, action_names, outcome, frame=value)
        elif isinstance(value, RegimeChunks):
            chunks = cast(Iterable[Any], value.chunks)  # a callable is wrapped on creation
            source = RegimeSource(regime, action_names, outcome, chunks=chunks, n_rows=value.n_rows)
        else:
            source = RegimeSource(regime, action_names, outcome, chunks=value)
        regimes[regime] = source
    return RegimeStreams(action_names, outcome, regimes)
