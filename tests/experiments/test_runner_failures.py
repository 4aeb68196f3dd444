"""A failing task does not stop the others: they are stored, the error is one clear line."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from distributed import Client, LocalCluster

from jointeffects.errors import TaskError
from jointeffects.experiments import methods as methods_module
from jointeffects.experiments.runner import reproduce


@pytest.fixture(scope="module")
def client():
    # Threads, so that the monkeypatched method registry is the one the tasks see.
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False) as cluster:
        with Client(cluster) as c:
            yield c


def test_failed_task_is_reported_and_the_rest_are_stored(tmp_path, client, monkeypatch):
    calls = itertools.count()
    ours = methods_module.METHODS["paper"]

    def make_once_failing(seed, scm):
        if next(calls) == 0:
            raise ValueError("boom in the first task")
        return ours.make(seed, scm)

    patched = dict(methods_module.METHODS, paper=dataclasses.replace(ours, make=make_once_failing))
    monkeypatch.setattr(methods_module, "METHODS", patched)
    monkeypatch.setattr("jointeffects.experiments.tasks.METHODS", patched)
    with pytest.raises(TaskError, match=r"1 of 3 tasks failed; the other 2 are stored") as info:
        reproduce("fig2a", tmp_path, scale="tiny", client=client, progress=False)
    assert "ValueError: boom in the first task" in str(info.value)
    assert "\n" not in str(info.value)
    # The rerun computes only the failed task.
    report = reproduce("fig2a", tmp_path, scale="tiny", client=client, progress=False)
    assert (report.total, report.skipped, report.computed) == (3, 2, 1)
