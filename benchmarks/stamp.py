"""Result files of the benchmark scripts, stamped with the command, commit and date.

Each script calls :func:`write_result` once with its tables; the file goes to
``benchmarks/results/<name>.json`` (written atomically) and the docs' validation pages quote it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from jointeffects.fileio import write_text

RESULTS = Path(__file__).resolve().parent / "results"


def stamp() -> dict[str, Any]:
    """The command line, git commit (with a ``+dirty`` mark and the files not committed), UTC
    date and machine."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    # porcelain lines are "XY path"; split rather than slice, as git() strips the first line
    status = git("status", "--porcelain", "--untracked-files=no")
    dirty = [line.split(maxsplit=1)[-1] for line in status.splitlines()]
    if dirty:
        commit += "+dirty"
    return {
        "command": shlex.join(["python", *sys.argv]),
        "commit": commit,
        "uncommitted": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }


#: The stamp of the code as the script started: a long run must not be credited to commits
#: made while it ran.
STARTED = stamp()


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``{"stamp": ..., **payload}`` to ``benchmarks/results/<name>.json`` atomically;
    the stamp is the one taken when the script started, with the time it finished."""
    target = RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    finished = stamp()["date"]
    text = json.dumps({"stamp": {**STARTED, "finished": finished}, **payload}, indent=2)
    write_text(text + "\n", target)
    return target
