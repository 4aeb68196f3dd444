"""Every write is atomic: a full disk, a refused permission or Ctrl-C leaves the target as it
was and no temporary file behind; write errors are one line, not a traceback."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import refused, run, snapshot
from jointeffects import fileio
from jointeffects.errors import OutputError

SRC = Path(__file__).resolve().parents[2] / "src" / "jointeffects"


def _commands(work: Path) -> dict[str, list[object]]:
    return {
        "fit": ["fit", "--outcome", "sales", "--data", work / "obs.csv", "--data",
                f"tv={work / 'tv.csv'}", "--data", f"search={work / 'search.csv'}", "--n-boot",
                "0", "--out", work / "model.json"],
        "predict": ["predict", "--model", work / "model.json", "--at", work / "queries.csv",
                    "--out", work / "pred.csv"],
        "curves": ["curves", "--model", work / "model.json", "--out", work / "c.png"],
        "curves-csv": ["curves", "--model", work / "model.json", "--csv", work / "c.csv",
                       "--out", work / "c.svg"],
        "report": ["report", "--model", work / "model.json", "--out", work / "r.html"],
        "simulate": ["simulate", "--scm", work / "spec.json", "-n", "50", "--out",
                     work / "sim.parquet"],
        "example": ["example", "marketing", "--rows", "100", "--out", work / "ex"],
    }  # fmt: skip


def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize("command", ["fit", "predict", "curves", "curves-csv", "report",
                                     "simulate", "example"])  # fmt: skip
@pytest.mark.parametrize(
    ("code", "target", "match"),
    [
        (errno.ENOSPC, "os.replace", "No space left on device; free some space"),
        (errno.EACCES, "tempfile.mkstemp", "Permission denied; choose a folder"),
    ],
)
def test_write_errors_are_one_line_and_leave_everything_as_it_was(
    work, monkeypatch, command, code, target, match
):
    (work / "pred.csv").write_text("old predictions\n")  # an existing target stays as it is
    (work / "ex").mkdir()
    (work / "ex" / "README.md").write_text("# Marketing-mix example (simulated)\n")
    (work / "ex" / "obs.csv").write_text("old example\n")
    args = _commands(work)[command]
    module, name = target.split(".")
    monkeypatch.setattr({"os": os, "tempfile": fileio.tempfile}[module], name, _fail_with(code))
    if target == "tempfile.mkstemp":  # folders too
        monkeypatch.setattr(fileio.tempfile, "mkdtemp", _fail_with(code))
    refused(args, match, work)


def test_a_write_failing_halfway_removes_its_temporary_file(work, monkeypatch):
    (work / "pred.csv").write_text("old predictions\n")

    def half_then_full(self, path, *args, **kwargs):
        Path(path).write_text("tv,search\n1,")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    refused(_commands(work)["predict"], r"cannot write '.*pred\.csv': No space left", work)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError, OSError])
def test_interrupted_writes_leave_the_target_and_no_temporary_file(tmp_path, error):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises((error, OutputError)):
        with fileio.atomic_path(target) as tmp:
            tmp.write_text("new, half")
            raise error("stop")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_temporary_names_are_unique_and_stale_ones_of_dead_writers_are_removed(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(done.stdout)
    target = tmp_path / "out.csv"
    stale = tmp_path / f".out.csv{fileio.TMP_TAG}{dead}-abc.tmp"
    stale.write_text("half")
    alive = tmp_path / f".out.csv{fileio.TMP_TAG}{os.getppid()}-def.tmp"  # a running writer
    alive.write_text("in progress")
    other = tmp_path / f".other.csv{fileio.TMP_TAG}{dead}-ghi.tmp"  # another target's
    other.write_text("half")
    legacy = tmp_path / f".out.{dead}.tmp.csv"  # named as writes before this scheme named them
    legacy.write_text("half")
    names = set()
    for _ in range(3):
        with fileio.atomic_path(target) as tmp:
            names.add(tmp.name)
            assert tmp.parent == tmp_path and tmp.name.startswith(f".out.csv{fileio.TMP_TAG}")
            tmp.write_text("x")
    assert len(names) == 3
    assert not stale.exists() and not legacy.exists()
    assert alive.exists() and other.exists()


def test_written_files_get_the_usual_permissions(tmp_path):
    fileio.write_text("x", tmp_path / "a.txt")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_example_never_leaves_a_half_written_folder(tmp_path, monkeypatch):
    from jointeffects.cli import simulate

    calls = []
    real = simulate.write_table

    def third_fails(frame, path):
        calls.append(path)
        if len(calls) == 3:
            raise OutputError(f"cannot write '{path}': No space left on device")
        real(frame, path)

    monkeypatch.setattr(simulate, "write_table", third_fails)
    refused(["example", "marketing", "--rows", "100", "--out", tmp_path / "ex"], "No space",
            tmp_path)  # fmt: skip
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "README.md").write_text("# Marketing-mix example (simulated)\n")
    (tmp_path / "ex" / "obs.csv").write_text("an earlier example\n")
    calls.clear()
    refused(["example", "marketing", "--rows", "100", "--out", tmp_path / "ex"], "No space",
            tmp_path)  # fmt: skip
    monkeypatch.undo()
    before = snapshot(tmp_path)
    assert run(["example", "marketing", "--rows", "100", "--out", tmp_path / "ex"]).exit_code == 0
    assert snapshot(tmp_path) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex"]  # no temporary folder left


#: Calls that write a file; each must write to the temporary path of an atomic write (``tmp``)
#: or to an in-memory buffer.
WRITES = re.compile(
    r"\.(to_csv|to_parquet|to_excel|savefig|write_text|write_bytes|dump)\("
    r"|open\([^)]*['\"][wax]b?\+?['\"]"
)


def test_every_write_in_the_package_goes_through_the_atomic_helper():
    offenders = []
    for path in SRC.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if WRITES.search(code) and not re.search(r"\btmp\.|\(\s*(tmp|buffer)\b", code):
                if not code.lstrip().startswith("def "):
                    offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []


def test_results_figures_and_csv_on_a_full_disk(tmp_path, monkeypatch):
    from test_output_paths import _store

    folder = _store(tmp_path / "store")
    monkeypatch.setattr(os, "replace", _fail_with(errno.ENOSPC))
    refused(["results", folder], r"cannot write '.*\.png': No space left on device", tmp_path)
    refused(["results", folder, "--no-figures", "--csv", tmp_path / "s.csv"],
            r"cannot write '.*s\.csv': No space left", tmp_path)  # fmt: skip
