"""Outputs that would destroy an input, or that are of the wrong kind, are refused before any
work: exit 2, one line, nothing created or changed."""

from __future__ import annotations

import os

import pytest

from conftest import data_args, refused, run
from jointeffects.experiments.runner import plan
from jointeffects.experiments.store import ResultsStore
from jointeffects.experiments.tasks import METRICS


def _store(folder):
    config, tasks = plan("fig2a", "tiny", 1, 0)
    with ResultsStore(folder) as store:
        key = store.open_run(config, "0")
        for task in tasks:
            setting, index = task.key
            rows = [(m, metric, 0.5) for m in config["methods"] for metric in METRICS]
            store.write_task(key, "fig2a", setting, index, rows, 1.0)
    return folder


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["fit", "--outcome", "sales", "DATA", "--out", "obs.csv"], r"model file .*\.json"),
        (["predict", "--model", "model.json", "--at", "queries.csv", "--out", "queries.csv"],
         r"--out .*queries\.csv' is the same file as the input --at"),
        (["predict", "--model", "model.json", "--at", "queries.csv", "--out", "model.json"],
         r"a table must end in \.csv"),
        (["report", "--model", "model.json", "--out", "model.json"], r"HTML report .*\.html"),
        (["curves", "--model", "model.json", "--out", "model.json"], r"figure must end in \.png"),
        (["curves", "--model", "model.json", "--out", "c.png", "--csv", "c.png"],
         r"table must end in \.csv"),
        (["simulate", "--scm", "spec.json", "--out", "spec.json"], r"table must end in \.csv"),
        (["fit", "--outcome", "sales", "DATA", "--out", "nofolder/m.json"], "does not exist"),
    ],
)  # fmt: skip
def test_outputs_that_are_inputs_or_the_wrong_kind_are_refused(work, args, match, monkeypatch):
    monkeypatch.chdir(work)
    args = [a for arg in args for a in (data_args(work) if arg == "DATA" else [arg])]
    refused(args, match, work)


def test_symlinks_and_hard_links_to_an_input_are_refused(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "link.html").symlink_to(work / "model.json")
    refused(["report", "--model", "model.json", "--out", "link.html"], "same file as the input",
            work)  # fmt: skip
    os.link(work / "queries.csv", work / "hard.csv")
    refused(["predict", "--model", "model.json", "--at", "queries.csv", "--out", "hard.csv"],
            "same file as the input --at", work)  # fmt: skip
    (work / "obs.json").symlink_to(work / "obs.csv")
    refused(["fit", "--outcome", "sales", *data_args(work), "--out", "obs.json"],
            r"same file as the input --data", work)  # fmt: skip
    (work / "sim.csv").symlink_to(work / "spec.json")
    refused(["simulate", "--scm", "spec.json", "--out", "sim.csv"], "same file", work)


def test_an_output_that_is_a_folder_is_refused(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "dir.csv").mkdir()
    refused(["predict", "--model", "model.json", "--at", "queries.csv", "--out", "dir.csv"],
            "is a directory", work)  # fmt: skip


def test_results_csv_never_overwrites_the_store(tmp_path):
    folder = _store(tmp_path / "store")
    store = folder / "results.sqlite"
    refused(["results", folder, "--no-figures", "--csv", store], r"CSV table must end in \.csv",
            tmp_path)  # fmt: skip
    (folder / "alias.csv").symlink_to(store)
    refused(["results", folder, "--no-figures", "--csv", folder / "alias.csv"],
            "same file as the input FOLDER", tmp_path)  # fmt: skip
    done = run(["results", folder, "--no-figures", "--csv", tmp_path / "summary.csv"])
    assert done.exit_code == 0, done.output
    assert "rmse_truth" in (tmp_path / "summary.csv").read_text()


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--scheduler", "not an address!"], "not a Dask scheduler address"),
        (["--scheduler", "tcp://10.0.0.5:8786", "--workers", "2"], "cannot be used with"),
        (["--dashboard", "everywhere"], "not HOST:PORT"),
        (["--runs", "0"], "--runs must be at least 1"),
        pytest.param(
            ["--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach the Dask scheduler",
            marks=pytest.mark.slow,
        ),  # waits for the connection timeout
        (["--runs", str(10**9)], "tasks, more than 100000"),
        (["--workers", "100000"], "more than 4 per core"),
    ],
)
def test_reproduce_validates_every_flag_before_touching_the_disk(tmp_path, flags, match):
    out = tmp_path / "new"
    refused(["reproduce", "fig2a", "--scale", "tiny", "--out", out, "--no-progress", *flags],
            match, tmp_path)  # fmt: skip
    assert not out.exists()


def test_example_never_replaces_the_user_s_files(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "obs.csv").write_text("my own data\n")
    (tmp_path / "data" / "README.md").write_text("my notes\n")
    refused(["example", "marketing", "--rows", "100", "--out", tmp_path / "data"],
            r"already holds README\.md, obs\.csv, not written by 'jointeffects example'",
            tmp_path)  # fmt: skip
    (tmp_path / "empty").mkdir()
    assert (
        run(["example", "marketing", "--rows", "100", "--out", tmp_path / "empty"]).exit_code == 0
    )
    again = run(
        ["example", "marketing", "--rows", "100", "--seed", "1", "--out", tmp_path / "empty"]
    )
    assert again.exit_code == 0, again.output  # an earlier example may be replaced
