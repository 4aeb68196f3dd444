"""Regime files read in chunks (``fit --stream``) or as dask frames (``fit --scheduler``).

Each regime becomes a re-readable stream with its exact row count, so the estimators that
read their data twice can, and the paper's estimator gets the contiguous CV folds of the
in-memory fit. A Parquet folder is the sorted list of the ``.parquet`` files in it. A long
table (``--regime-col``) is read once to count its regimes' rows; each regime's stream then
reads the whole file and keeps its own rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jointeffects.cli.io import TABLE_SUFFIXES, _check_names, _sniff_csv
from jointeffects.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

#: Smallest CSV block (bytes) of a dask partition.
_MIN_BLOCK = 1 << 20


def _table_kind(path: Path) -> str:
    """'csv' or 'parquet' for a table file or a Parquet folder, checked to exist."""
    if path.is_dir():
        if not _parquet_files(path):
            raise DataError(f"folder '{path}' holds no .parquet files")
        return "parquet"
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"'{path}': unknown table format '{path.suffix}'; use a file ending in "
            f"{', '.join(TABLE_SUFFIXES)}, or a folder of Parquet files"
        )
    if not path.is_file():
        raise DataError(f"file '{path}' does not exist")
    if kind == "csv":
        _sniff_csv(path)
    return kind


def _parquet_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix.lower() in (".parquet", ".pq"))


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _columns(path: Path, kind: str) -> list[str]:
    """The table's column names, checked as :func:`~jointeffects.cli.io.read_table` does."""
    import pandas as pd

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            names = list(pq.ParquetFile(_parquet_files(path)[0]).schema_arrow.names)
        else:
            names = list(pd.read_csv(path, nrows=0).columns)
    except Exception as exc:  # parsers raise many types; all mean "unreadable"
        raise DataError(f"cannot read '{path}' as {kind}: {_reason(exc)}") from None
    return list(_check_names(pd.DataFrame(columns=names), path).columns)


def _csv_block(path: Path, chunk_rows: int) -> int:
    """CSV block size in bytes that holds about ``chunk_rows`` rows."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    per_row = len(head) / max(head.count(b"\n"), 1)
    return max(_MIN_BLOCK, int(chunk_rows * per_row))


def _batches(
    path: Path,
    kind: str,
    chunk_rows: int,
    columns: list[str],
    text: str | None,
    only: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The table's rows (of the columns ``only``, default all) as DataFrame chunks of about
    ``chunk_rows`` rows; every column is read as float except ``text`` (the regime column)."""
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            for file in _parquet_files(path):
                # pre-buffering would read ahead the whole file: memory grows with it
                parquet = pq.ParquetFile(file, pre_buffer=False, buffer_size=1 << 20)
                batches = parquet.iter_batches(batch_size=chunk_rows, columns=only)
                for batch in batches:
                    yield _named(batch.to_pandas())
            return
        import pandas as pd

        # pandas' chunked parser: bounded memory, and the values of the in-memory read
        types = _csv_types(path, text)
        use = None if only is None else [c for c in types if c.strip() in only]
        for chunk in pd.read_csv(path, chunksize=chunk_rows, dtype=types, usecols=use):
            yield _named(chunk)
    except DataError:
        raise
    except Exception as exc:  # the parsers raise many types; all mean "unreadable"
        raise DataError(f"cannot read '{path}' as {kind}: {_reason(exc)}") from None


def _csv_types(path: Path, text: str | None) -> dict[str, type]:
    """Each column of the CSV header, as written, read as float, but ``text`` as str."""
    import pandas as pd

    raw = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    return {c: (str if c.strip() == text else float) for c in raw}


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _labels(frame: pd.DataFrame, regime_col: str) -> pd.Series:
    """Each row's regime label, as the in-memory long-table split reads it."""
    return frame[regime_col].fillna("").astype(str)


def _rows(path: Path, kind: str, regime_col: str | None) -> dict[str | None, int]:
    """Rows of the table (key None), or per regime label of a long table."""
    if kind == "parquet" and regime_col is None:
        import pyarrow.parquet as pq

        return {None: sum(pq.ParquetFile(f).metadata.num_rows for f in _parquet_files(path))}
    counts: dict[str | None, int] = {}
    column = regime_col or _columns(path, kind)[0]
    for chunk in _batches(path, kind, 1 << 20, [column], regime_col, only=[column]):
        if regime_col is None:
            counts[None] = counts.get(None, 0) + len(chunk)
            continue
        for label, n in _labels(chunk, column).value_counts(sort=False).items():
            counts[str(label)] = counts.get(str(label), 0) + int(n)
    return counts


def _stream(
    path: Path, kind: str, chunk_rows: int, columns: list[str], regime: tuple[str, str] | None
) -> Callable[[], Iterator[pd.DataFrame]]:
    """A callable returning a fresh chunk iterator of the file (one regime of a long table)."""

    def chunks() -> Iterator[pd.DataFrame]:
        text = None if regime is None else regime[0]
        for chunk in _batches(path, kind, chunk_rows, columns, text):
            if regime is not None:
                chunk = chunk[_labels(chunk, regime[0]) == regime[1]].drop(columns=regime[0])
            yield chunk

    return chunks


def _opened(path: Path, regime_col: str | None) -> tuple[str, list[str]]:
    """The table's kind and column names, with the regime column checked to be there."""
    kind = _table_kind(path)
    columns = _columns(path, kind)
    if regime_col is not None and regime_col not in columns:
        raise DataError(f"regime column '{regime_col}' not in '{path}'")
    return kind, columns


def stream_regimes(
    files: dict[str, Path], regime_col: str | None, chunk_rows: int
) -> tuple[dict[str, Any], list[str]]:
    """``{regime: RegimeChunks}`` of the regime files (or of one long table), and the
    columns of the first file (without the regime column)."""
    from jointeffects.estimate.regimes import RegimeChunks

    out: dict[str, Any] = {}
    first: list[str] | None = None
    for name, path in files.items():
        kind, columns = _opened(path, regime_col)
        rows = _rows(path, kind, regime_col)
        first = first or [c for c in columns if c != regime_col]
        if regime_col is None:
            out[name] = RegimeChunks(_stream(path, kind, chunk_rows, columns, None), rows[None])
            continue
        for label, n in rows.items():
            assert label is not None
            chunks = _stream(path, kind, chunk_rows, columns, (regime_col, label))
            out[label] = RegimeChunks(chunks, n)
    assert first is not None
    return out, first


def dask_regimes(
    files: dict[str, Path], regime_col: str | None, chunk_rows: int
) -> tuple[dict[str, Any], list[str]]:
    """``{regime: dask DataFrame}`` of the regime files (absolute paths, which the cluster's
    workers must see), and the columns of the first file (without the regime column)."""
    import dask.dataframe as dd

    out: dict[str, Any] = {}
    first: list[str] | None = None
    for name, path in files.items():
        kind, columns = _opened(path, regime_col)
        where = str(path.resolve())
        try:
            if kind == "parquet":
                frame = dd.read_parquet(where)
            else:
                types = _csv_types(path, regime_col)
                blocksize = _csv_block(path, chunk_rows)
                frame = dd.read_csv(where, dtype=types, blocksize=blocksize)
        except Exception as exc:  # dask raises many types; all mean "unreadable"
            raise DataError(f"cannot read '{path}' as {kind}: {_reason(exc)}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        first = first or [c for c in columns if c != regime_col]
        if regime_col is None:
            out[name] = frame
            continue
        labels = frame[regime_col].fillna("").astype(str)
        for label in labels.unique().compute():  # in order of appearance, as in memory
            out[label] = frame[labels == label].drop(columns=regime_col)
    assert first is not None
    return out, first


@contextmanager
def dask_client(address: str) -> Iterator[Any]:
    """A :class:`distributed.Client` of the running cluster at ``address``, closed after."""
    if "://" not in address:
        raise DataError(
            f"--scheduler {address!r} is not a scheduler address like tcp://10.0.0.5:8786"
        )
    from distributed import Client

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise DataError(f"cannot reach the Dask scheduler at {address}: {_reason(exc)}") from None
    try:
        yield client
    finally:
        client.close()
