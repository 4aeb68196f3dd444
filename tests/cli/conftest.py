"""Shared fixtures of the CLI reliability tests: a small data set, a fitted model, and a check
that a command is refused cleanly (exit 2, one line, no traceback, no file created or changed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from jointeffects.cli.main import main

ACTIONS = ("tv", "search")


def table(n: int = 40, seed: int = 0, actions: tuple[str, ...] = ACTIONS) -> pd.DataFrame:
    """Rows of a two-action additive model with outcome ``sales``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({a: rng.normal(size=n) for a in actions})
    frame["sales"] = frame.sum(axis=1) + rng.normal(size=n)
    return frame


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder``: size, modification time and content hash."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns, digest)
        else:
            out[str(path.relative_to(folder))] = (-1, 0, "folder")
    return out


def run(args: list[object]) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(args: list[object], match: str, folder: Path) -> Result:
    """Run the command and check it is refused cleanly: exit 2, exactly one line on stderr
    matching ``match`` (case-insensitive), no traceback, and nothing under ``folder`` created,
    removed or changed."""
    before = snapshot(folder)
    result = run(args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    if lines and lines[0].startswith("Usage:"):  # click's own usage error, also exit 2
        lines = [line for line in lines if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].lower().startswith("error: "), result.stderr
    assert re.search(match, lines[0], flags=re.IGNORECASE), lines[0]
    assert snapshot(folder) == before
    return result


def data_args(folder: Path) -> list[str]:
    return ["--data", str(folder / "obs.csv"), "--data", f"tv={folder / 'tv.csv'}",
            "--data", f"search={folder / 'search.csv'}"]  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with obs/tv/search/joint CSV files, queries, an SCM spec and a fitted model."""
    folder = tmp_path_factory.mktemp("inputs")
    for name, seed in [("obs", 0), ("tv", 1), ("search", 2), ("joint", 3)]:
        table(seed=seed).to_csv(folder / f"{name}.csv", index=False)
    table(seed=4)[list(ACTIONS)].to_csv(folder / "queries.csv", index=False)
    result = run(["fit", "--outcome", "sales", *data_args(folder), "--n-boot", "0",
                  "--out", folder / "model.json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run(["example", "marketing", "--rows", "100", "--out", folder / "ex"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture()
def work(inputs: Path, tmp_path: Path) -> Path:
    """A fresh copy of the inputs, so a test may point outputs at them."""
    for path in inputs.iterdir():
        if path.is_file():
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "spec.json").write_bytes((inputs / "ex" / "spec.json").read_bytes())
    return tmp_path


RefuseFn = Callable[[list[object], str, Path], Result]
