"""Files in and out for the practitioner commands: tables by extension, atomic writes.

Reading sniffs a CSV file first, so a wrong delimiter, binary content or a repeated column is
reported as such rather than as a parser error.

pandas is imported inside the functions that read or write tables, so that importing the
CLI (and ``jointeffects --help``) stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jointeffects.errors import DataError, OutputError, SpecError
from jointeffects.fileio import atomic_path, write_text

__all__ = ["atomic_path", "read_table", "save_figure", "write_table", "write_text"]

if TYPE_CHECKING:
    import pandas as pd

#: Table formats by file extension.
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def file_option(*decls: str, help_text: str, required: bool = False) -> Any:
    """An option naming one file, passed on as a :class:`~pathlib.Path` (a folder is refused);
    ``decls`` as for :func:`click.option`, e.g. ``("--csv", "csv_path")``."""
    return click.option(
        *decls, type=click.Path(dir_okay=False, path_type=Path), required=required, help=help_text
    )


def out_option(help_text: str) -> Any:
    """The ``--out FILE`` option every command shares."""
    return file_option("--out", help_text=help_text, required=True)


#: The ``--model FILE`` option of the commands that read a model file.
model_option = file_option(
    "--model", "model_path", help_text="Model file written by 'jointeffects fit'.", required=True
)


def _kind(path: Path) -> str:
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"'{path}': unknown table format '{path.suffix}'; use a file ending in "
            f"{', '.join(TABLE_SUFFIXES)}"
        )
    return kind


#: Leading bytes of files that are not text tables, and what to do with each.
_MAGIC = {
    b"\x1f\x8b": "is gzip-compressed; decompress it first (gunzip)",
    b"PAR1": "is a Parquet file; rename it to end in .parquet",
    b"PK\x03\x04": "is a zip archive (an Excel .xlsx?); export the sheet as CSV",
    b"SQLite format 3": "is an SQLite database, not a table",
}


def _sniff_csv(path: Path) -> None:
    """Refuse what pandas would misread or report obscurely: binary or compressed content,
    a wrong delimiter, repeated column names."""
    import csv

    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"'{path}' {what}")
    if b"\x00" in head:
        raise DataError(f"'{path}' holds binary data, not CSV text; export it as CSV")
    text = None
    for cut in range(4):  # the read may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8-sig")
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise DataError(f"'{path}' is not UTF-8 text; save it as a UTF-8 CSV file")
    first = text.splitlines()[0] if text.strip() else ""
    if first.lower().startswith("sep="):
        raise DataError(
            f"'{path}' starts with Excel's '{first.strip()}' line: the delimiter looks wrong; "
            "save the file with commas as delimiter (CSV UTF-8) and without that line"
        )
    header = next(csv.reader([first]), [])
    if len(header) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if delimiter in header[0]:
                raise DataError(
                    f"'{path}' has one column named {header[0][:40]!r}: the delimiter looks "
                    f"wrong (the file seems to use {name}); save it with commas as delimiter"
                )
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise DataError(
            f"'{path}': duplicate column name(s) {repeated} in the header; rename or drop the "
            "repeated column(s)"
        )


def _check_names(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    # Parquet may have integer names; "tv, search" headers leave spaces that regime keys drop
    frame.columns = [str(c).strip() for c in frame.columns]
    names = list(frame.columns)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(
            f"'{path}': duplicate column name(s) {repeated}; rename or drop the repeated column(s)"
        )
    unnamed = [n for n in names if n.startswith("Unnamed: ") or n == "__index_level_0__"]
    if unnamed and names.index(unnamed[0]) == 0:
        raise DataError(
            f"'{path}': column {unnamed[0]!r} is a pandas index column (written without a "
            "name); drop it, or write the file with index=False"
        )
    if unnamed:
        raise DataError(
            f"'{path}': column {names.index(unnamed[0]) + 1} has no name in the header "
            f"(pandas calls it {unnamed[0]!r}); name it or drop it"
        )
    return frame


def _check_table_size(path: Path, kind: str) -> None:
    """Refuse a table whose parsed form cannot fit in memory (a CSV cell is a few bytes of
    text but 8 in memory, plus the parser's buffers; Parquet states its size)."""
    from jointeffects.cli.sizes import check_memory

    n_bytes = 2.0 * path.stat().st_size
    if kind == "parquet":
        try:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            n_bytes = 2.0 * meta.num_rows * meta.num_columns * 8
        except Exception:  # unreadable: pandas reports it below
            return
    check_memory(n_bytes, f"reading '{path}'", "split the table into smaller files")


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file (by extension); any failure becomes a one-line DataError."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a table file; give a .csv or .parquet file")
    kind = _kind(path)
    if not path.is_file():
        raise DataError(f"file '{path}' does not exist")
    if kind == "csv":
        _sniff_csv(path)
    _check_table_size(path, kind)
    try:
        if kind == "csv":
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"file '{path}' is empty; it needs a header row and data rows") from None
    except Exception as exc:  # parsers raise many types; all mean "unreadable"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read '{path}' as {kind}: {reason}") from None
    if frame.empty:
        raise DataError(f"file '{path}' has no data rows")
    return _check_names(frame, path)


def read_scm(path: Path) -> Any:
    """Load an SCM spec file (JSON); every failure is a one-line error naming the file."""
    from jointeffects.simulate import load_scm

    try:
        return load_scm(path)
    except SpecError as exc:
        if str(path) in str(exc):  # a read error already names the file
            raise
        raise SpecError(f"SCM spec '{path}': {exc}") from None


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as CSV or Parquet (by extension), atomically."""
    kind = _kind(Path(path))
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


def save_figure(fig: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Save a matplotlib figure atomically (format from the extension) and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", **kwargs)
    except ValueError as exc:  # an unknown image format
        if isinstance(exc, OutputError):
            raise
        raise DataError(f"cannot write figure '{path}': {exc}") from None
    finally:
        plt.close(fig)


def split_assignment(value: str) -> tuple[str | None, str]:
    """``"tv=tv.csv"`` → ``("tv", "tv.csv")``; ``"obs.csv"`` → ``(None, "obs.csv")``."""
    name, sep, file = value.partition("=")
    if not sep or "/" in name or "\\" in name:
        return None, value
    if not name.strip() or not file:
        raise DataError(f"'{value}' is not REGIME=FILE (e.g. tv=tv_test.csv) or FILE")
    return name.strip(), file


def regime_files(values: Sequence[str], default: str, option: str) -> dict[str, Path]:
    """Parse repeated ``[REGIME=]FILE`` options into ``{regime: path}``.

    A value without ``REGIME=`` gets the regime ``default``. A regime named twice is refused.
    """
    out: dict[str, Path] = {}
    for value in values:
        name, file = split_assignment(value)
        key = default if name is None else name
        if key in out:
            raise DataError(
                f"regime '{key}' is given twice ({option} {out[key]} and {option} {value}); "
                "give each regime one file"
            )
        out[key] = Path(file)
    return out


def data_inputs(values: Sequence[str], option: str) -> list[tuple[str, Path]]:
    """The files of repeated ``[REGIME=]FILE`` options, as inputs for
    :func:`~jointeffects.cli.paths.check_outputs`."""
    out = []
    for value in values:
        try:
            _, file = split_assignment(value)
        except DataError:
            continue  # reported when the options are parsed
        out.append((option, Path(file)))
    return out
