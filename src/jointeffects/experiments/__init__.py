"""The paper's experiments (Section 7, Appendix E): figures, seeded tasks, store, Dask runner.

``jointeffects reproduce FIGURE`` is the command-line front end; from Python::

    from jointeffects.experiments import reproduce, summarize_store
    report = reproduce("fig2a", "results", scale="quick")
    print(summarize_store("results", only=report.config_hash)[0].text)
"""

from __future__ import annotations

from jointeffects.experiments.methods import METHODS, Method
from jointeffects.experiments.report import RunSummary, summarize_store
from jointeffects.experiments.runner import RunReport, plan, reproduce
from jointeffects.experiments.settings import FIGURES, SCALES, Figure, Setting, scale_summary
from jointeffects.experiments.store import ResultsStore
from jointeffects.experiments.tasks import METRICS, Task, TaskResult, run_task

__all__ = [
    "FIGURES",
    "METHODS",
    "METRICS",
    "SCALES",
    "Figure",
    "Method",
    "ResultsStore",
    "RunReport",
    "RunSummary",
    "Setting",
    "Task",
    "TaskResult",
    "plan",
    "reproduce",
    "run_task",
    "scale_summary",
    "summarize_store",
]
