"""Run a figure's tasks on Dask, committing each finished task to the store (resumable)."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jointeffects.errors import SpecError, TaskError
from jointeffects.experiments.settings import SCALES, get_figure
from jointeffects.experiments.store import ResultsStore
from jointeffects.experiments.tasks import Task, TaskResult, run_task

#: Environment of worker processes: one BLAS/OpenMP thread each (one task per core).
WORKER_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    )
}


#: Most tasks one run may plan (each is a full simulation and fit of one SCM).
MAX_TASKS = 100_000


@dataclass(frozen=True)
class RunReport:
    """What :func:`reproduce` did: the run's hash and task counts."""

    config_hash: str
    total: int
    skipped: int
    computed: int
    seconds: float


def plan(figure: str, scale: str, runs: int | None, seed: int) -> tuple[dict[str, Any], list[Task]]:
    """The run's configuration (what its hash is computed from) and all of its tasks."""
    spec = get_figure(figure)
    if scale not in SCALES:
        raise SpecError(f"unknown scale {scale!r}; choose one of {list(SCALES)}")
    if runs is not None and runs < 1:
        raise SpecError(f"--runs must be at least 1, got {runs}")
    chosen = spec.scales[scale]
    if runs is not None and runs * len(chosen.settings) > MAX_TASKS:
        raise SpecError(
            f"--runs {runs} makes {runs * len(chosen.settings)} tasks, more than {MAX_TASKS}; "
            "use fewer runs"
        )
    n_scms = chosen.n_scms if runs is None else runs
    config = {
        "figure": spec.name,
        "scale": scale,
        "n_scms": n_scms,
        "seed": seed,
        "methods": list(spec.methods),
        "settings": [asdict(s) for s in chosen.settings],
    }
    tasks = [
        Task(spec.name, setting, index, seed, spec.methods)
        for setting in chosen.settings
        for index in range(n_scms)
    ]
    return config, tasks


#: Where a local cluster's dashboard listens: this machine only, any free port. Its pages show
#: workers, memory and addresses, so exposing it is an explicit choice (``dashboard=``).
DASHBOARD = "127.0.0.1:0"

_SCHEDULER = re.compile(r"^((tcp|tls|ws|wss|ucx|inproc)://)?[A-Za-z0-9_.\-\[\]:]+(:\d{1,5})?/?$")


def check_flags(scheduler: str | None, workers: int | None, dashboard: str | None) -> None:
    """Refuse bad scheduler, worker and dashboard settings before anything touches the disk."""
    if workers is not None and workers < 1:
        raise SpecError(f"--workers must be at least 1, got {workers}")
    cores = os.cpu_count() or 1
    if workers is not None and workers > 4 * cores:
        raise SpecError(
            f"--workers {workers} is more than 4 per core on this {cores}-core machine; use at "
            f"most {4 * cores}, or --scheduler for a larger cluster"
        )
    if workers is not None and scheduler is not None:
        raise SpecError("--workers sets up a local cluster; it cannot be used with --scheduler")
    if scheduler is not None and not _SCHEDULER.match(scheduler.strip()):
        raise SpecError(
            f"--scheduler {scheduler!r} is not a Dask scheduler address; give one like "
            "tcp://10.0.0.5:8786"
        )
    if dashboard is not None and not re.fullmatch(r"[A-Za-z0-9_.\-\[\]:]*:\d{1,5}", dashboard):
        raise SpecError(
            f"--dashboard {dashboard!r} is not HOST:PORT; e.g. 127.0.0.1:8787, or "
            "0.0.0.0:8787 to expose it on every interface"
        )


@contextmanager
def dask_client(
    scheduler: str | None, workers: int | None, dashboard: str | None = None
) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` if given, else to a new LocalCluster whose
    dashboard listens on ``dashboard`` (default :data:`DASHBOARD`, this machine only)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError) as exc:  # unreachable, or an address Dask cannot parse
            raise SpecError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start one with "
                "`dask scheduler` and pass the address it prints"
            ) from exc
        with client:
            yield client
        return
    check_flags(scheduler, workers, dashboard)
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard or DASHBOARD,
            silence_logs=logging.ERROR,
            env=WORKER_ENV,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def reproduce(
    figure: str,
    out: str | Path,
    scale: str = "quick",
    runs: int | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    progress: bool = True,
    dashboard: str | None = None,
) -> RunReport:
    """Run (or resume) a figure's tasks and store their rows in ``out/results.sqlite``.

    Parameters
    ----------
    figure : {"fig2a", "fig2b", "fig2c", "figA", "figB"}
    out : path
        Output folder (holds the store and the figures).
    scale : {"quick", "paper", "tiny"}, default="quick"
    runs : int, optional
        Number of SCMs per setting; default: the scale's.
    seed : int, default=0
        Root of every task's random streams.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler; default: start a LocalCluster
        with ``workers`` processes (default: one per core).
    workers : int, optional
    client : distributed.Client, optional
        Use this client instead (tests share one cluster this way).
    progress : bool, default=True
        Show a progress bar on stderr.
    dashboard : str, optional
        ``HOST:PORT`` of the local cluster's dashboard; default :data:`DASHBOARD` (this
        machine only, a free port).

    Returns
    -------
    RunReport
    """
    from jointeffects import __version__

    started = time.perf_counter()
    config, tasks = plan(figure, scale, runs, seed)
    check_flags(scheduler, workers, dashboard)
    if Path(out).exists() and not Path(out).is_dir():
        raise SpecError(f"--out '{out}' is a file; give a folder for the results store")
    with ExitStack() as stack:
        if client is None and scheduler is not None:
            # reach the scheduler before the store exists: an unreachable one leaves no trace
            client = stack.enter_context(dask_client(scheduler, None))
            if progress:
                print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
        store = stack.enter_context(ResultsStore(out))
        key = store.open_run(config, __version__)
        done = store.finished(key)
        todo = [t for t in tasks if t.key not in done]
        if todo:
            if client is not None:
                _run(client, store, key, todo, len(tasks), progress)
            else:
                with dask_client(None, workers, dashboard) as new_client:
                    if progress:
                        print(f"Dask dashboard: {new_client.dashboard_link}", file=sys.stderr)
                    _run(new_client, store, key, todo, len(tasks), progress)
    return RunReport(
        key, len(tasks), len(tasks) - len(todo), len(todo), time.perf_counter() - started
    )


def _run(
    client: Any, store: ResultsStore, key: str, todo: list[Task], total: int, progress: bool
) -> None:
    from distributed import as_completed
    from tqdm import tqdm

    futures = [client.submit(run_task, task, pure=False) for task in todo]
    task_of = {future.key: task for future, task in zip(futures, todo, strict=True)}
    with tqdm(
        total=total,
        initial=total - len(todo),
        desc=todo[0].figure,
        unit="task",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        failures: list[tuple[Task, BaseException]] = []
        for future in as_completed(futures):
            task = task_of[future.key]
            try:
                result: TaskResult = future.result()
            except Exception as error:  # reported after the loop; the other tasks go on
                failures.append((task, error))
                continue
            finally:
                future.release()
            setting, index = result.task.key
            store.write_task(key, result.task.figure, setting, index, result.rows, result.seconds)
            bar.update()
    if failures:
        first, cause = failures[0]
        reason = (str(cause).strip().splitlines() or [""])[0]
        raise TaskError(
            f"{len(failures)} of {len(todo)} tasks failed; the other "
            f"{len(todo) - len(failures)} are stored in {store.path} and a rerun resumes from "
            f"them. First failure (setting {first.key[0]}, SCM {first.key[1]}): "
            f"{type(cause).__name__}: {reason}"
        ) from cause
