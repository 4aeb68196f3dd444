"""Files in and out for the practitioner commands: tables by extension, atomic writes.

pandas is imported inside the functions that read or write tables, so that importing the
CLI (and ``jointeffects --help``) stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from jointeffects.errors import DataError, SpecError

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


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet file (by extension); any failure becomes a one-line DataError."""
    import pandas as pd

    path = Path(path)
    kind = _kind(path)
    if not path.is_file():
        raise DataError(f"file '{path}' does not exist" + (" (a folder)" if path.is_dir() else ""))
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
    return frame


def read_scm(path: Path) -> Any:
    """Load an SCM spec file (JSON); every failure is a one-line error naming the file."""
    from jointeffects.simulate import load_scm

    try:
        return load_scm(path)
    except SpecError as exc:
        if str(path) in str(exc):  # a read error already names the file
            raise
        raise SpecError(f"SCM spec '{path}': {exc}") from None


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place only if the block succeeds.

    A failure (an error, Ctrl-C) leaves no half-written file at ``path``.
    """
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise DataError(f"cannot write '{path}': folder '{path.parent}' does not exist")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as CSV or Parquet (by extension), atomically."""
    kind = _kind(Path(path))
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: Any, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """Save a matplotlib figure atomically (format from the extension) and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", **kwargs)
    except ValueError as exc:  # an unknown image format
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
