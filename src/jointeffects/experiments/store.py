"""The results store: an SQLite database (WAL) in the output folder.

Design: every run is keyed by the hash of its configuration (figure, scale, sizes, SCM count,
seed, methods). Runs with different configurations live side by side in one folder (e.g.
fig2a and fig2b, or two seeds); re-running the same configuration resumes it. A task's rows
and its completion mark are written in one transaction as the task finishes, so a run killed
at any moment keeps every finished task and nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from jointeffects.errors import StoreError
from jointeffects.experiments.methods import LEGACY_NAMES

STORE_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    config_hash TEXT PRIMARY KEY,
    figure TEXT NOT NULL,
    config TEXT NOT NULL,
    package_version TEXT NOT NULL,
    git_commit TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    config_hash TEXT NOT NULL REFERENCES runs(config_hash),
    setting TEXT NOT NULL,
    scm_index INTEGER NOT NULL,
    seconds REAL NOT NULL,
    finished_at TEXT NOT NULL,
    UNIQUE (config_hash, setting, scm_index)
);
CREATE TABLE IF NOT EXISTS results (
    config_hash TEXT NOT NULL REFERENCES runs(config_hash),
    figure TEXT NOT NULL,
    setting TEXT NOT NULL,
    scm_index INTEGER NOT NULL,
    method TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    UNIQUE (config_hash, setting, scm_index, method, metric)
);
"""


def config_hash(config: dict[str, Any]) -> str:
    """Hash of a run configuration's canonical JSON (16 hex digits)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The source tree's commit (``git rev-parse HEAD``), or None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


class ResultsStore:
    """Experiment results in ``DIR/results.sqlite``.

    Parameters
    ----------
    folder : path
        Output folder; created when ``create`` is true.
    create : bool, default=True
        If false, a missing store raises :class:`~jointeffects.errors.StoreError`.
    """

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / STORE_NAME
        if not create and not self.path.is_file():
            raise StoreError(
                f"no results store at {self.path}: run `jointeffects reproduce FIGURE --out "
                f"{self.folder}` first"
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:  # cannot open, locked: not damage
            raise StoreError(f"cannot use results store {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise self.damaged(str(exc)) from None
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot use results store {self.path}: {exc}") from exc

    def damaged(self, reason: str) -> StoreError:
        """The error for a store that cannot be read: what is wrong and how to go on."""
        return StoreError(
            f"the results store {self.path} is damaged ({reason}); start a new one with "
            "--out NEWDIR"
        )

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_run(self, config: dict[str, Any], package_version: str) -> str:
        """Register a run (or find the same configuration's earlier run); return its hash."""
        key = config_hash(config)
        try:
            with self._db:
                self._db.execute(
                    "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        config["figure"],
                        json.dumps(config, sort_keys=True),
                        package_version,
                        git_commit(),
                        _now(),
                        _now(),
                    ),
                )
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write to the results store {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise self.damaged(str(exc)) from None
        return key

    def finished(self, key: str) -> dict[tuple[str, int], str]:
        """Finished tasks of a run: (setting JSON, SCM index) → finish time."""
        rows = self._db.execute(
            "SELECT setting, scm_index, finished_at FROM tasks WHERE config_hash = ?", (key,)
        )
        return {(setting, index): when for setting, index, when in rows}

    def write_task(
        self,
        key: str,
        figure: str,
        setting: str,
        scm_index: int,
        rows: Iterable[tuple[str, str, float]],
        seconds: float,
    ) -> None:
        """Commit one task's metric rows and its completion mark in one transaction."""
        try:
            self._write_task(key, figure, setting, scm_index, rows, seconds)
        except sqlite3.Error as exc:  # e.g. a full disk: the transaction is rolled back
            raise StoreError(
                f"cannot write to the results store {self.path}: {exc}; the finished tasks are "
                "kept: free space (or fix the folder) and rerun to resume"
            ) from None

    def _write_task(
        self,
        key: str,
        figure: str,
        setting: str,
        scm_index: int,
        rows: Iterable[tuple[str, str, float]],
        seconds: float,
    ) -> None:
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(key, figure, setting, scm_index, m, metric, v) for m, metric, v in rows],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?)",
                (key, setting, scm_index, seconds, _now()),
            )
            self._db.execute("UPDATE runs SET updated_at = ? WHERE config_hash = ?", (_now(), key))

    def runs(self) -> pd.DataFrame:
        """One row per run: hash, figure, config (dict), version, commit, timestamps."""
        try:
            frame = pd.read_sql_query(
                "SELECT * FROM runs ORDER BY created_at, config_hash", self._db
            )
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise self.damaged(str(exc)) from None
        if not {"config_hash", "config", "package_version", "git_commit"} <= set(frame.columns):
            raise self.damaged("its runs table lacks columns")
        configs = []
        for key, text in zip(frame["config_hash"], frame["config"], strict=True):
            try:
                config = json.loads(text)
            except (TypeError, ValueError, RecursionError):
                raise self.damaged(f"run {key}: its config is not JSON") from None
            if not isinstance(config, dict):
                raise self.damaged(f"run {key}: its config is not a JSON object")
            configs.append(config)
        frame["config"] = configs
        return frame

    def results(self, key: str) -> pd.DataFrame:
        """A run's long table: setting (JSON), scm_index, method, metric, value."""
        try:
            frame = pd.read_sql_query(
                "SELECT setting, scm_index, method, metric, value FROM results WHERE "
                "config_hash = ? ORDER BY setting, scm_index, method, metric",
                self._db,
                params=(key,),
            )
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise self.damaged(str(exc)) from None
        frame["method"] = frame["method"].replace(LEGACY_NAMES)
        return frame
