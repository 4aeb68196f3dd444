"""The registry of methods the experiments compare (Section 7.1, "Models and Benchmarks").

A method is a recipe: which regimes it trains on, with how many rows, and how to build its
(unfitted) estimator. Every method of a task shares one SCM and one joint test set. ``make``
receives the task's SCM too, so that a method assuming a known DAG among the actions (the
Gaussian-noise method of Saengkyongam & Silva, 2020) can be handed the true one, as in their
paper; the other methods ignore it and see only data. To add a method to the experiments, add
a :class:`Method` to :data:`METHODS` here (so that Dask workers see it too) and name it in the
figures' ``methods`` in :mod:`jointeffects.experiments.settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jointeffects.experiments.settings import Setting
    from jointeffects.simulate import AdditiveSCM

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
        ``make(seed: int, scm: AdditiveSCM) -> estimator`` with the package's
        ``fit(datasets)`` / ``predict(X)`` contract; called once per task with the task's SCM
        (only methods that assume a known action DAG may read it, e.g. ``scm.parents``).
    regimes : callable
        ``regimes(setting, actions) -> {regime: rows}``: the regimes it trains on and how many
        rows of each are *sampled* (80 % of them are used for training, as in the paper).
    """

    name: str
    label: str
    make: Callable[[int, AdditiveSCM], Any]
    regimes: Callable[[Setting, tuple[str, ...]], dict[Regime, int]]


def _observational_and_singles(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_obs, **{(a,): setting.n_sint for a in actions}}


def _observational_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_base}


def _joint_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {tuple(actions): setting.n_base}


def _ours(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import JointEffectEstimator

    return JointEffectEstimator(random_state=seed)


def _topline(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import JointTopline

    return JointTopline(random_state=seed)


def _pooled(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import PooledBaseline

    return PooledBaseline(random_state=seed)


def _observational(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import ObservationalBaseline

    return ObservationalBaseline(random_state=seed)


def _structured(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import StructuredEstimator

    return StructuredEstimator(random_state=seed)


def _projected(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import AdditiveProjection

    return AdditiveProjection(random_state=seed)


def _prior(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import GaussianNoiseJointEstimator

    # The method assumes the DAG among the actions is known: give it the true one.
    dag = {a: list(scm.parents(a)) for a in scm.actions}
    return GaussianNoiseJointEstimator(dag=dag, random_state=seed)


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
        Method(
            "prior",
            "Gaussian-noise SCM, true DAG (Saengkyongam & Silva 2020)",
            _prior,
            _observational_and_singles,
        ),
    )
}
