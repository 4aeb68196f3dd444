"""Requests too large for memory are refused up front, with the estimated size and what to do
instead, in well under a second (not after minutes with a MemoryError)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conftest import data_args, refused
from jointeffects.cli import sizes


def wide_regimes(folder, n_actions=40, rows=30):
    """An observational table and one experiment per action, ``n_actions`` actions wide."""
    rng = np.random.default_rng(0)
    names = [f"a{j}" for j in range(n_actions)]
    args = []
    for regime in ["obs", *names]:
        frame = pd.DataFrame(rng.normal(size=(rows, n_actions)), columns=names)
        frame["y"] = frame.sum(axis=1)
        path = folder / f"{regime}.csv"
        frame.to_csv(path, index=False)
        args += ["--data", str(path) if regime == "obs" else f"{regime}={path}"]
    return args


def test_a_forty_action_cubic_design_is_refused_in_under_a_second(tmp_path):
    args = wide_regimes(tmp_path)
    started = time.perf_counter()
    result = refused(["fit", "--outcome", "y", *args, "--out", tmp_path / "m.json"],
                     r"degree-3 design on 40 actions \(12340 columns.*needs about .* GiB.*"
                     r"lower --degree, or fit fewer actions", tmp_path)  # fmt: skip
    assert time.perf_counter() - started < 1.0, result.stderr


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["simulate", "--scm", "SPEC", "-n", str(10**12), "--out", "s.csv"],
         r"simulate -n 1000000000000 needs about [0-9.]+ TiB.*draw fewer rows"),
        (["example", "marketing", "--rows", str(10**12), "--out", "ex"],
         r"example --rows 1000000000000 .* needs about [0-9.]+ PiB.*fewer --rows"),
        (["simulate", "--scm", "SPEC", "-n", str(10**10), "--out", "s.parquet"],
         r"needs about [0-9.]+ (GiB|TiB)"),
    ],
)  # fmt: skip
def test_samples_that_cannot_fit_in_memory_are_refused(work, args, match, monkeypatch):
    monkeypatch.chdir(work)
    args = [str(work / "spec.json") if a == "SPEC" else a for a in args]
    started = time.perf_counter()
    refused(args, match, work)
    assert time.perf_counter() - started < 1.0


def test_the_memory_check_uses_the_machine_s_free_memory(work, monkeypatch):
    # on a machine with 1 MiB free, even the small fit is refused; with the real figure it runs
    monkeypatch.setattr(sizes, "available_memory", lambda: 2**20)
    args = [
        "fit",
        "--outcome",
        "sales",
        *data_args(work),
        "--n-boot",
        "0",
        "--out",
        work / "m.json",
    ]
    refused(args, r"needs about .* MiB of memory, more than the 819\.2 KiB", work)


def test_estimates_grow_as_expected():
    assert sizes.n_monomials(40, 3) == 12340
    assert sizes.n_monomials(2, 3) == 9
    assert sizes.design_bytes(40, 3, 3, 41) > 100 * 2**30  # what the 40-action fit would need
    assert sizes.design_bytes(5, 3, 3, 6) < 50 * 2**20  # the paper's K = 5: small
    assert sizes.available_memory() > 0
    assert sizes.human(1.5 * 2**30) == "1.5 GiB"


@pytest.mark.parametrize("name", ["queries.csv", "q.parquet"])
def test_tables_too_large_for_memory_are_refused_before_parsing(work, monkeypatch, name):
    if name.endswith(".parquet"):
        pd.read_csv(work / "queries.csv").to_parquet(work / name)
    monkeypatch.setattr(sizes, "available_memory", lambda: 100)
    args = ["predict", "--model", work / "model.json", "--at", work / name, "--out", work / "p.csv"]
    refused(args, rf"reading '.*{name}' needs about .* split the table", work)
