"""The registry of methods the experiments compare (Section 7.1, "Models and Benchmarks").

A method is a recipe: which regimes it trains on, with how many rows, and how to build its
(unfitted) estimator. Every method of a task shares one SCM and one joint test set. To add a
method to the experiments, add a :class:`Method` to :data:`METHODS` here (so that Dask workers
see it too) and name it in the figures' ``methods`` in :mod:`jointeffects.experiments.settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jointeffects.experiments.settings import Setting

Regime = tuple[str, ...]


@dataclass(frozen=True)
class Method:
    """One compared method.

    Attributes
    ----------
    name : str
        Short key used in the store and on the command line (``"ours"``).
    label : str
        Legend text in tables and figures.
    make : callable
        ``make(seed: int) -> estimator`` with the package's ``fit(datasets)`` /
        ``predict(X)`` contract; called once per task.
    regimes : callable
        ``regimes(setting, actions) -> {regime: rows}``: the regimes it trains on and how many
        rows of each are *sampled* (80 % of them are used for training, as in the paper).
    """

    name: str
    label: str
    make: Callable[[int], Any]
    regimes: Callable[[Setting, tuple[str, ...]], dict[Regime, int]]


def _observational_and_singles(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_obs, **{(a,): setting.n_sint for a in actions}}


def _observational_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_base}


def _joint_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {tuple(actions): setting.n_base}


def _ours(seed: int) -> Any:
    from jointeffects.estimate import JointEffectEstimator

    return JointEffectEstimator(random_state=seed)


def _topline(seed: int) -> Any:
    from jointeffects.estimate import JointTopline

    return JointTopline(random_state=seed)


def _pooled(seed: int) -> Any:
    from jointeffects.estimate import PooledBaseline

    return PooledBaseline(random_state=seed)


def _observational(seed: int) -> Any:
    from jointeffects.estimate import ObservationalBaseline

    return ObservationalBaseline(random_state=seed)


def _structured(seed: int) -> Any:
    from jointeffects.estimate import StructuredEstimator

    return StructuredEstimator(random_state=seed)


def _projected(seed: int) -> Any:
    from jointeffects.estimate import AdditiveProjection

    return AdditiveProjection(random_state=seed)


#: Every method the figures may name, by key. Add new estimators here.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ours", "ours (obs + single interventions)", _ours, _observational_and_singles),
        Method("topline", "joint topline (joint interventions)", _topline, _joint_only),
        Method("pooled", "pooled (obs + single, unlabelled)", _pooled, _observational_and_singles),
        Method("observational", "observational only", _observational, _observational_only),
        Method(
            "structured",
            "structure-aware (obs + single, DAG learned)",
            _structured,
            _observational_and_singles,
        ),
        Method(
            "projected",
            "ours, additive projection",
            _projected,
            _observational_and_singles,
        ),
    )
}
