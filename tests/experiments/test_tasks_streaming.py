"""Tasks stream the simulator's chunks into estimators that can stream: same rows, same numbers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from jointeffects.estimate import (
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
    StructuredEstimator,
)
from jointeffects.estimate.regimes import RegimeChunks
from jointeffects.experiments import tasks
from jointeffects.experiments.methods import METHODS, Method
from jointeffects.experiments.settings import Setting, n_train
from jointeffects.experiments.tasks import Task, run_task

SETTING = Setting(K=3, n_obs=700, n_sint=400, n_base=900)
PAPER_METHODS = ("paper", "topline", "pooled", "observational")
SEEN: list[dict] = []


class Recorder:
    """Records what fit received; streams when ``streams`` says so."""

    def __init__(self, streams: bool) -> None:
        self.streams = streams

    def can_stream(self) -> bool:
        return self.streams

    def fit(self, datasets, outcome="Y"):
        got = {}
        for regime, value in datasets.items():
            if isinstance(value, RegimeChunks):
                chunks = list(value.chunks)
                got[regime] = (value.n_rows, [len(c) for c in chunks], pd.concat(chunks))
            else:
                got[regime] = (None, None, value.copy())
        SEEN.append(got)
        return self

    def predict(self, X):
        return np.zeros(len(X))


def _held(cls):
    """``cls`` that never streams: the tasks hand it DataFrames."""
    return type(f"Held{cls.__name__}", (cls,), {"can_stream": lambda self: False})


@pytest.fixture()
def recorders(monkeypatch):
    SEEN.clear()
    for name, streams in (("rec_stream", True), ("rec_held", False)):
        monkeypatch.setitem(
            METHODS,
            name,
            Method(name, name, lambda seed, *_, s=streams: Recorder(s), METHODS["paper"].regimes),
        )


def test_streaming_methods_get_chunks_of_the_same_rows(recorders, monkeypatch):
    monkeypatch.setattr(tasks, "STREAM_CHUNK_ROWS", 150)
    run_task(Task("test", SETTING, 0, 4, ("rec_stream", "rec_held")))
    streamed, held = SEEN
    assert set(streamed) == set(held)
    for regime, (n_rows, sizes, rows) in streamed.items():
        assert n_rows == len(rows) == n_train(700 if regime == () else 400)
        assert max(sizes) <= 150 and len(sizes) > 1  # chunks, never one table
        pd.testing.assert_frame_equal(rows, held[regime][2])


def _metrics(result) -> dict:
    return {(m, k): v for m, k, v in result.rows if k != "fit_seconds"}


def test_streamed_fits_give_the_held_fits_numbers(monkeypatch):
    task = Task("test", SETTING, 1, 2, PAPER_METHODS)
    streamed = _metrics(run_task(task))
    for name, cls in zip(
        PAPER_METHODS,
        (JointEffectEstimator, JointTopline, PooledBaseline, ObservationalBaseline),
        strict=True,
    ):
        assert cls(random_state=0).can_stream()
        method = METHODS[name]
        monkeypatch.setitem(
            METHODS,
            name,
            Method(name, name, lambda seed, *_, c=cls: _held(c)(random_state=seed), method.regimes),
        )
    held = _metrics(run_task(task))
    assert streamed.keys() == held.keys()
    for key, value in held.items():
        assert streamed[key] == pytest.approx(value, rel=1e-6), key


def test_an_estimator_that_reads_its_regimes_twice_gets_re_readable_streams(monkeypatch):
    """A streamed structured fit (binned structure test, two passes over every regime)
    equals the held fit with the same test; the figures' structured method is held."""
    assert not METHODS["structured"].make(0, None).can_stream()
    regimes = METHODS["structured"].regimes
    binned = StructuredEstimator(random_state=0, structure_test="binned")
    assert binned.can_stream()
    held_cls = _held(StructuredEstimator)
    for name, make in (
        (
            "binned_stream",
            lambda seed, *_: StructuredEstimator(random_state=seed, structure_test="binned"),
        ),
        ("binned_held", lambda seed, *_: held_cls(random_state=seed, structure_test="binned")),
    ):
        monkeypatch.setitem(METHODS, name, Method(name, name, make, regimes))
    result = _metrics(run_task(Task("test", SETTING, 1, 2, ("binned_stream", "binned_held"))))
    for (method, metric), value in result.items():
        if method == "binned_held":
            assert result[("binned_stream", metric)] == pytest.approx(value, rel=1e-6), metric


def test_same_seed_same_numbers_serially_and_in_parallel():
    todo = [Task("test", SETTING, i, 9, PAPER_METHODS) for i in range(2)]
    serial = [_metrics(run_task(t)) for t in todo]
    with ProcessPoolExecutor(2) as pool:
        parallel = [_metrics(r) for r in pool.map(run_task, todo)]
    assert parallel == serial
    assert serial[0] != serial[1]
