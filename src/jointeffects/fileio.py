"""Atomic writes: every file the package writes goes through :func:`atomic_path`.

The content goes to a uniquely named temporary file in the target's folder, which is renamed
over the target (``os.replace``, atomic on one file system) only once it is complete. On any
failure (an error, a full disk, Ctrl-C) the temporary file is removed and an existing target
is left untouched. A process killed outright cannot clean up, so temporary names carry a
recognisable prefix and the writer's process id: the next write to the same target removes
those whose writer is gone.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jointeffects.errors import OutputError

#: Marks the package's temporary files: ``.<target name>.jointeffects-<pid>-<random>.tmp``.
TMP_TAG = ".jointeffects-"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}{TMP_TAG}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _stale_patterns(path: Path) -> list[re.Pattern[str]]:
    """Names of temporary files of writes to ``path``, with the writer's pid as group 1: this
    module's, and the two schemes used before it (``.<stem>.<pid>.tmp<suffix>`` for tables
    and figures, ``.<name>.<pid>.tmp`` for model files)."""
    name, stem, suffix = (re.escape(x) for x in (path.name, path.stem, path.suffix))
    return [
        re.compile(rf"^{re.escape(_tmp_prefix(path))}(\d+)-.*\.tmp$"),
        re.compile(rf"^\.{stem}\.(\d+)\.tmp{suffix}$"),
        re.compile(rf"^\.{name}\.(\d+)\.tmp$"),
    ]


def remove_stale(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files of earlier writes to ``path`` whose writing process is gone."""
    path = Path(path)
    removed: list[Path] = []
    patterns = _stale_patterns(path)
    try:
        names = [n for n in os.listdir(path.parent or ".") if n.startswith(".")]
    except OSError:
        return removed
    for entry in names:
        match = next((m for m in (p.match(entry) for p in patterns) if m), None)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        tmp = path.parent / entry
        try:
            if tmp.is_dir():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass  # another cleaner got there first, or no permission: harmless
    return removed


def write_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """The one-line error for a failed write: the path, the system's reason, what to do."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EACCES: "choose a folder you may write to",
        errno.EPERM: "choose a folder you may write to",
        errno.EROFS: "choose a folder on a writable disk",
        errno.ENOENT: "create the folder first",
    }.get(exc.errno or 0, "check the path and the disk")
    return OutputError(f"cannot write '{path}': {reason}; {hint} (nothing was written)")


def _mode(base: int) -> int:
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    Parameters
    ----------
    path : path-like
        The target file. Its folder must exist.

    Raises
    ------
    OutputError
        If the folder is missing or any write fails with an ``OSError`` (full disk, no
        permission); the target is then unchanged and no temporary file remains.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write '{path}': folder '{folder}' does not exist; create it")
    if path.is_dir():
        raise OutputError(f"cannot write '{path}': it is a folder; give a file name")
    remove_stale(path)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f"{_tmp_prefix(path)}{os.getpid()}-", suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise write_error(path, exc) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.chmod(tmp, _mode(0o666))
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(text: str, path: str | os.PathLike[str]) -> None:
    """Write a UTF-8 text file atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; on success its files move into ``path``.

    A missing ``path`` is created by renaming the finished folder; files of an existing
    ``path`` are replaced one by one (each atomically) only after every file is complete, so
    a failure leaves ``path`` as it was.
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write '{path}': folder '{parent}' does not exist; create it")
    remove_stale(path)
    try:
        tmp = Path(
            tempfile.mkdtemp(prefix=f"{_tmp_prefix(path)}{os.getpid()}-", suffix=".tmp", dir=parent)
        )
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        yield tmp
        os.chmod(tmp, _mode(0o777))
        if not path.exists():
            os.replace(tmp, path)
        else:
            for item in sorted(tmp.iterdir()):
                os.replace(item, path / item.name)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
