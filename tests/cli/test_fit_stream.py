"""``jointeffects fit --stream`` and ``--scheduler``: chunked CSV and Parquet files, Parquet
folders and long tables give the model of the in-memory fit, and streamed requests that
cannot be met are refused cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import refused, run
from jointeffects.estimate.modelfile.format import load_model
from jointeffects.simulate.examples import CHANNELS

STRUCTURED = ["--outcome", "sales", "--estimator", "structured", "--structure-test", "binned"]


def regime_args(folder: Path, suffix: str) -> list[str]:
    args = ["--data", str(folder / f"obs{suffix}")]
    for channel in CHANNELS:
        args += ["--data", f"{channel}={folder / (channel + suffix)}"]
    return args


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The marketing example as CSV, Parquet, a Parquet folder per regime and long tables."""
    folder = tmp_path_factory.mktemp("stream")
    assert run(["example", "marketing", "--out", folder, "--rows", 400, "--seed", 2]).exit_code == 0
    frames = []
    for name in ("obs", *CHANNELS):
        frame = pd.read_csv(folder / f"{name}.csv")
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        parts = folder / f"{name}_parts"
        parts.mkdir()
        for i, rows in enumerate(np.array_split(np.arange(len(frame)), 3)):
            frame.iloc[rows].to_parquet(parts / f"part{i}.parquet", index=False)
        frames.append(frame.assign(regime=name))
    long = pd.concat(frames, ignore_index=True)
    long.to_csv(folder / "long.csv", index=False)
    long.to_parquet(folder / "long.parquet", index=False)
    return folder


def fitted(folder: Path, name: str, *args: object) -> tuple[dict, np.ndarray]:
    """Fit, then return the model file's content and its joint predictions at the queries."""
    out = folder / f"{name}.json"
    if not out.exists():
        result = run(["fit", *args, "--out", out])
        assert result.exit_code == 0, result.output
    queries = pd.read_csv(folder / "queries.csv")[list(CHANNELS)]
    return json.loads(out.read_text()), load_model(out).estimator.predict(queries)


@pytest.fixture(scope="module")
def in_memory(example: Path) -> tuple[dict, np.ndarray]:
    return fitted(example, "memory", *STRUCTURED, *regime_args(example, ".csv"), "--n-boot", 0)


def same_model(a: tuple[dict, np.ndarray], b: tuple[dict, np.ndarray]) -> None:
    np.testing.assert_allclose(b[1], a[1], rtol=0, atol=1e-8)
    assert b[0]["diagnostics"] == a[0]["diagnostics"]
    ua, ub = a[0]["uncertainty"], b[0]["uncertainty"]
    assert ub["method"] == ua["method"] == "sandwich"
    np.testing.assert_allclose(ub["covariance"], ua["covariance"], rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("csv", lambda f: regime_args(f, ".csv")),
        ("parquet", lambda f: regime_args(f, ".parquet")),
        ("folders", lambda f: regime_args(f, "_parts")),
        ("long_csv", lambda f: ["--data", str(f / "long.csv"), "--regime-col", "regime"]),
        ("long_parquet", lambda f: ["--data", str(f / "long.parquet"), "--regime-col", "regime"]),
    ],
)
def test_streamed_fit_equals_the_in_memory_fit(example, in_memory, name, inputs):
    streamed = fitted(example, name, *STRUCTURED, *inputs(example), "--stream", "--chunk-rows", 333)
    same_model(in_memory, streamed)


def test_streamed_paper_estimator_equals_its_in_memory_fit(example):
    args = ["--outcome", "sales", *regime_args(example, ".csv")]
    whole = fitted(example, "paper_memory", *args, "--n-boot", 0)
    streamed = fitted(example, "paper_stream", *args, "--stream", "--chunk-rows", 250)
    np.testing.assert_allclose(streamed[1], whole[1], rtol=0, atol=1e-8)
    assert streamed[0]["uncertainty"] is None


def test_streamed_fit_says_why_it_stores_no_bootstrap(example):
    out = example / "said.json"
    result = run(["fit", "--outcome", "sales", *regime_args(example, ".parquet"), "--stream",
                  "--out", out])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "intervals: none stored (a streamed fit cannot bootstrap)" in result.output


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--n-boot", "5"], r"--n-boot resamples rows, which a streamed fit"),
        (["--structure-test", "ks"], r"--structure-test ks compares held rows"),
        (["--chunk-rows", "10"], r"--chunk-rows"),
        (["--scheduler", "localhost:8786"], r"not a scheduler address like tcp://"),
    ],
)
def test_streamed_requests_that_cannot_be_met_are_refused(work, extra, match):
    data = ["--data", work / "obs.csv", "--data", f"tv={work / 'tv.csv'}"]
    args = ["fit", "--outcome", "sales", "--estimator", "structured", *data, "--stream", *extra,
            "--out", work / "m.json"]  # fmt: skip
    refused(args, match, work)


def test_streamed_bad_files_are_refused(work):
    (work / "bad.csv").write_text("tv,sales\n1.0,2.0\nx,3.0\n")
    (work / "empty").mkdir()
    base = ["fit", "--outcome", "sales", "--stream", "--out", work / "m.json"]
    refused([*base, "--data", work / "bad.csv", "--data", f"tv={work / 'tv.csv'}"],
            r"cannot read '.*bad.csv' as csv", work)  # fmt: skip
    refused([*base, "--data", work / "empty"], r"folder '.*empty' holds no .parquet files", work)
    refused([*base, "--data", work / "none.csv"], r"file '.*none.csv' does not exist", work)
    refused([*base, "--data", work / "obs.csv", "--regime-col", "arm"],
            r"regime column 'arm' not in", work)  # fmt: skip


@pytest.mark.slow  # the client waits for its connection timeout
def test_unreachable_scheduler_is_one_line(work):
    data = ["--data", work / "obs.csv", "--data", f"tv={work / 'tv.csv'}"]
    args = ["fit", "--outcome", "sales", *data, "--scheduler", "tcp://127.0.0.1:9",
            "--out", work / "m.json"]  # fmt: skip
    refused(args, r"cannot reach the Dask scheduler at tcp://127.0.0.1:9", work)


@pytest.mark.slow
def test_fit_on_a_process_cluster_equals_the_in_memory_fit(example, in_memory):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        on_files = fitted(example, "dask_files", *STRUCTURED, *regime_args(example, ".parquet"),
                          "--scheduler", address)  # fmt: skip
        on_long = fitted(example, "dask_long", *STRUCTURED, "--data", example / "long.csv",
                         "--regime-col", "regime", "--scheduler", address,
                         "--chunk-rows", 500)  # fmt: skip
    same_model(in_memory, on_files)
    same_model(in_memory, on_long)
