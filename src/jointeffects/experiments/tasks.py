"""One experiment task: (figure, setting, SCM index) → metric rows of every method.

A task is a pure function of its key and the run's seed: its SCM and data come from
``SeedSequence`` streams derived from the key (never from Python's salted ``hash``), so the
numbers do not depend on worker count, scheduling order or machine. All methods of a task
share one SCM, the same training rows and one joint-intervention test set. Estimators that
can stream get their training rows chunk by chunk from the simulator (:class:`TrainingData`),
so paper-scale regimes (10^6–10^7 rows) are never held in memory.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from jointeffects.errors import SupportWarning
from jointeffects.experiments.methods import METHODS, Regime
from jointeffects.experiments.settings import Setting, n_train

#: The metrics every task reports per method.
METRICS = ("rmse_noisy", "rmse_truth", "rel_error", "fit_seconds")

#: Rows per chunk when a regime is streamed into a fit (the simulator's internal block).
STREAM_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Task:
    """The key and inputs of one task.

    Attributes
    ----------
    figure : str
    setting : Setting
    scm_index : int
        Which SCM of the setting (0 .. n_scms-1).
    seed : int
        The run's ``--seed``.
    methods : tuple of str
        Keys into :data:`~jointeffects.experiments.methods.METHODS`.
    """

    figure: str
    setting: Setting
    scm_index: int
    seed: int
    methods: tuple[str, ...]

    @property
    def key(self) -> tuple[str, int]:
        """Identity of the task within a run: (setting JSON, SCM index)."""
        return (self.setting.to_json(), self.scm_index)


@dataclass(frozen=True)
class TaskResult:
    """What a task returns to the client: its key and ``(method, metric, value)`` rows."""

    task: Task
    rows: tuple[tuple[str, str, float], ...]
    seconds: float


def stable_ints(*parts: str) -> tuple[int, ...]:
    """Four 32-bit integers from a cryptographic digest of ``parts`` (stable across runs)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def scm_seed(seed: int, K: int, scm_index: int) -> np.random.SeedSequence:
    """Stream of the SCM itself: keyed by (K, index) only.

    Deliberately shared by all settings and figures with the same K, so that SCM number i is
    the same model along a curve (common random numbers: smoother curves, fair comparisons).
    """
    return np.random.SeedSequence(seed, spawn_key=(0, K, scm_index))


def data_seed(task: Task, stream: str) -> np.random.SeedSequence:
    """Stream of one dataset of a task, keyed by the whole task key and the dataset's name."""
    key = stable_ints(task.figure, task.setting.to_json(), stream)
    return np.random.SeedSequence(task.seed, spawn_key=(1, *key, task.scm_index))


def _regime_name(regime: Regime) -> str:
    return "train:" + ",".join(regime)


class TrainingData:
    """A task's training rows; regime r's are the first rows of one stream keyed by (task, r).

    A method gets the first ``n_train(n)`` of the ``n_train(most[r])`` rows of each regime it
    trains on, so all methods share data (common random numbers). An estimator that can stream
    (``can_stream()``, e.g. the paper's estimator with its default learner) gets the chunks
    straight from the simulator, so a 10^7-row regime is never held; the others get
    DataFrames, each regime sampled once per task and shared. Both see the same rows.

    Parameters
    ----------
    scm : AdditiveSCM
    task : Task
    most : dict
        Rows sampled per regime: the most any method of the task asks for.

    Attributes
    ----------
    sampling_seconds : float
        Time spent generating streamed chunks so far.
    """

    def __init__(self, scm: Any, task: Task, most: dict[Regime, int]) -> None:
        self.scm, self.task, self.most = scm, task, most
        self.sampling_seconds = 0.0
        self._held: dict[Regime, Any] = {}

    def frames(self, wanted: dict[Regime, int]) -> dict[Regime, Any]:
        """``{regime: DataFrame}`` of the first ``n_train(n)`` rows of each wanted regime."""
        for regime in wanted:
            if regime not in self._held:
                self._held[regime] = self.scm.sample(
                    n_train(self.most[regime]), intervened=regime, rng=self._rng(regime)
                )
        return {regime: self._held[regime].iloc[: n_train(n)] for regime, n in wanted.items()}

    def streams(self, wanted: dict[Regime, int]) -> dict[Regime, Any]:
        """``{regime: RegimeChunks}``: the same rows as :meth:`frames`, generated as read
        (again on every pass, for estimators that read a regime twice)."""
        from jointeffects.estimate.regimes import RegimeChunks

        return {
            regime: RegimeChunks(partial(self._chunks, regime, n_train(n)), n_train(n))
            for regime, n in wanted.items()
        }

    def _rng(self, regime: Regime) -> np.random.Generator:
        return np.random.default_rng(data_seed(self.task, _regime_name(regime)))

    def _chunks(self, regime: Regime, rows: int) -> Iterator[Any]:
        chunks = self.scm.sample_chunks(
            n_train(self.most[regime]),
            intervened=regime,
            rng=self._rng(regime),
            chunk_size=STREAM_CHUNK_ROWS,
        )
        while rows > 0:
            start = time.perf_counter()
            chunk = next(chunks)
            self.sampling_seconds += time.perf_counter() - start
            yield chunk.iloc[:rows]
            rows -= len(chunk)


def run_task(task: Task) -> TaskResult:
    """Draw the task's SCM from the paper's family, then :func:`score_methods` on it.

    Parameters
    ----------
    task : Task

    Returns
    -------
    TaskResult
    """
    from threadpoolctl import threadpool_limits

    from jointeffects.simulate import sample_polynomial_scm

    start = time.perf_counter()
    # One BLAS thread per task: the parallelism is one task per Dask worker process.
    with threadpool_limits(limits=1):
        K = task.setting.K
        scm = sample_polynomial_scm(
            K=K, rng=np.random.default_rng(scm_seed(task.seed, K, task.scm_index))
        )
        rows = score_methods(scm, task)
    return TaskResult(task, rows, time.perf_counter() - start)


def score_methods(scm: Any, task: Task) -> tuple[tuple[str, str, float], ...]:
    """Sample the task's regimes of ``scm``, fit every method, score it on the joint test set.

    Parameters
    ----------
    scm : AdditiveSCM
        The model; its number of actions must be the setting's K.
    task : Task
        Sizes, seeds and methods.

    Returns
    -------
    tuple of (method, metric, value)
        For every method and every metric in :data:`METRICS`: ``rmse_noisy`` against the
        noisy Y of the joint test set (the paper's metric), ``rmse_truth`` against the exact
        ``scm.joint_effect``, ``rel_error`` = ``rmse_truth`` / sd of the true effect over the
        test queries, ``fit_seconds`` (the estimator's ``fit``, without the simulator's time
        when the data is streamed into it).
    """
    setting = task.setting
    actions = tuple(scm.actions)
    wanted = {name: METHODS[name].regimes(setting, actions) for name in task.methods}
    most: dict[Regime, int] = {}
    for regimes in wanted.values():
        for regime, count in regimes.items():
            most[regime] = max(most.get(regime, 0), count)
    train = TrainingData(scm, task, most)
    test = scm.sample(
        setting.n_test, intervened=actions, rng=np.random.default_rng(data_seed(task, "test"))
    )
    queries = test[list(actions)]
    noisy = test[scm.outcome].to_numpy(dtype=float)
    truth = np.asarray(scm.joint_effect(queries), dtype=float)
    spread = float(np.std(truth))
    estimator_seed = int(data_seed(task, "estimator").generate_state(1)[0])

    rows: list[tuple[str, str, float]] = []
    for name in task.methods:
        estimator = METHODS[name].make(estimator_seed, scm)
        streamed = callable(getattr(estimator, "can_stream", None)) and estimator.can_stream()
        datasets = train.streams(wanted[name]) if streamed else train.frames(wanted[name])
        sampled = train.sampling_seconds
        fit_start = time.perf_counter()
        with warnings.catch_warnings():
            # the figures' designs are the paper's; how far their supports agree is theirs
            warnings.simplefilter("ignore", SupportWarning)
            estimator.fit(datasets, outcome=scm.outcome)
        # the simulator's time inside a streamed fit is not the method's
        fit_seconds = time.perf_counter() - fit_start - (train.sampling_seconds - sampled)
        predicted = np.asarray(estimator.predict(queries), dtype=float)
        rmse_truth = _rmse(predicted, truth)
        rows += [
            (name, "rmse_noisy", _rmse(predicted, noisy)),
            (name, "rmse_truth", rmse_truth),
            (name, "rel_error", rmse_truth / spread if spread > 0 else float("nan")),
            (name, "fit_seconds", fit_seconds),
        ]
    return tuple(rows)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))
