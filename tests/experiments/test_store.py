"""The SQLite results store: runs keyed by config hash, one transaction per task."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from jointeffects.errors import StoreError
from jointeffects.experiments.store import ResultsStore, config_hash

CONFIG = {"figure": "fig2a", "scale": "tiny", "n_scms": 2, "seed": 0, "settings": []}
ROWS = [("paper", "rmse_truth", 0.5), ("paper", "rel_error", 2.0)]


def test_same_config_resumes_and_other_config_is_stored_beside_it(tmp_path):
    with ResultsStore(tmp_path) as store:
        key = store.open_run(CONFIG, "0.1.0")
        assert store.open_run(dict(CONFIG), "0.1.0") == key == config_hash(CONFIG)
        other = store.open_run({**CONFIG, "seed": 1}, "0.1.0")
        assert other != key
        store.write_task(key, "fig2a", '{"K": 5}', 0, ROWS, 1.5)
        assert list(store.finished(key)) == [('{"K": 5}', 0)]
        assert store.finished(other) == {}
        assert len(store.runs()) == 2
        assert store.runs()["config"][0]["figure"] == "fig2a"


def test_rewriting_a_task_does_not_duplicate_rows(tmp_path):
    with ResultsStore(tmp_path) as store:
        key = store.open_run(CONFIG, "0.1.0")
        store.write_task(key, "fig2a", "{}", 3, ROWS, 1.0)
        store.write_task(key, "fig2a", "{}", 3, [("paper", "rmse_truth", 0.7)], 1.0)
        table = store.results(key)
    assert len(table) == 2
    assert table.set_index("metric").loc["rmse_truth", "value"] == 0.7


def test_rows_survive_reopening_and_use_wal(tmp_path):
    with ResultsStore(tmp_path) as store:
        key = store.open_run(CONFIG, "0.1.0")
        store.write_task(key, "fig2a", "{}", 0, ROWS, 1.0)
    with ResultsStore(tmp_path, create=False) as store:
        assert sorted(store.results(key)["value"]) == [0.5, 2.0]
    mode = sqlite3.connect(tmp_path / "results.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)


def test_records_version_and_git_commit(tmp_path):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    ).stdout.strip()
    with ResultsStore(tmp_path) as store:
        store.open_run(CONFIG, "9.9.9")
        run = store.runs().iloc[0]
    assert run["package_version"] == "9.9.9"
    assert run["git_commit"] == (head or None)


def test_missing_store_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="no results store at .*results.sqlite: run `jointeffects"):
        ResultsStore(tmp_path / "nothing", create=False)
