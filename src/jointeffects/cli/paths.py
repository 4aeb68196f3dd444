"""Output paths checked before any work: the right extension, a real folder, never an input.

Every command calls :func:`check_outputs` first with its outputs and its input files, so an
output that resolves to an input (the same path, a symlink or a hard link to it) is refused
before anything is read or written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from jointeffects.errors import OutputError

#: What each kind of output is, and the extensions it may have.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "model": ("a model file (JSON)", (".json",)),
    "report": ("an HTML report", (".html", ".htm")),
    "table": ("a table", (".csv", ".parquet", ".pq")),
    "csv": ("a CSV table", (".csv",)),
    "figure": ("a figure", (".png", ".pdf", ".svg")),
}

#: One output: (option, path or None when not given, kind from :data:`KINDS`).
Output = tuple[str, "Path | None", str]
#: One input: (option, path or None).
Input = tuple[str, "Path | None"]


def _same(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Iterable[Output], inputs: Iterable[Input] = ()) -> None:
    """Refuse outputs with the wrong extension, in a missing folder, or equal to an input.

    Parameters
    ----------
    outputs : iterable of (option, path or None, kind)
        ``kind`` is a key of :data:`KINDS`; outputs that are None are skipped.
    inputs : iterable of (option, path or None)
        Files the command reads.

    Raises
    ------
    OutputError
        Naming the option, the path and what to do.
    """
    given = [(option, Path(path), kind) for option, path, kind in outputs if path is not None]
    sources = [(option, Path(path)) for option, path in inputs if path is not None]
    for i, (option, path, kind) in enumerate(given):
        what, suffixes = KINDS[kind]
        if path.suffix.lower() not in suffixes:
            raise OutputError(
                f"{option} '{path}': {what} must end in {' or '.join(suffixes)}, not "
                f"'{path.suffix or '(no extension)'}'; e.g. {option} result{suffixes[0]}"
            )
        if path.is_dir():
            raise OutputError(f"{option} '{path}' is a folder; give a file name inside it")
        if not path.parent.is_dir():
            raise OutputError(
                f"{option} '{path}': folder '{path.parent}' does not exist; create it first"
            )
        for source_option, source in sources:
            if _same(path, source):
                raise OutputError(
                    f"{option} '{path}' is the same file as the input {source_option} "
                    f"'{source}'; writing it would destroy that input: choose another file name"
                )
        for other_option, other, _ in given[:i]:
            if _same(path, other):
                raise OutputError(
                    f"{option} '{path}' and {other_option} '{other}' are the same file; give "
                    "each output its own name"
                )
