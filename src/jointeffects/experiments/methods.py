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
        The estimator's registry name, used in the store and on the command line
        (``"paper"``).
    label : str
        Legend text in tables and figures.
    make : callable
        ``make(seed: int, scm: AdditiveSCM) -> estimator`` with the package's
        ``fit(datasets)`` / ``predict(X)`` contract; called once per task with the task's SCM
        (only methods that assume a known action DAG may read it, e.g. ``scm.parents``).
    regimes : callable
        ``regimes(setting, actions) -> {regime: rows}``: the regimes it trains on and how many
        rows of each are *sampled* (80 % of them are used for training, as in the paper).
    colour : str, default="black"
        Its colour in every figure.
    """

    name: str
    label: str
    make: Callable[[int, AdditiveSCM], Any]
    regimes: Callable[[Setting, tuple[str, ...]], dict[Regime, int]]
    colour: str = "black"


def _observational_and_singles(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_obs, **{(a,): setting.n_sint for a in actions}}


def _observational_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {(): setting.n_base}


def _joint_only(setting: Setting, actions: tuple[str, ...]) -> dict[Regime, int]:
    return {tuple(actions): setting.n_base}


def _registered(name: str, **params: Any) -> Callable[[int, AdditiveSCM], Any]:
    def make(seed: int, scm: AdditiveSCM) -> Any:
        from jointeffects.estimate.estimators.registry import estimator_class

        return estimator_class(name)(random_state=seed, **params)

    return make


def _prior(seed: int, scm: AdditiveSCM) -> Any:
    from jointeffects.estimate import GaussianNoiseJointEstimator

    # The method assumes the DAG among the actions is known: give it the true one.
    dag = {a: list(scm.parents(a)) for a in scm.actions}
    return GaussianNoiseJointEstimator(dag=dag, random_state=seed)


#: Every method the figures may name, by key. Add new estimators here.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "paper",
            "paper's estimator (obs + single interventions)",
            _registered("paper"),
            _observational_and_singles,
            "C0",
        ),
        Method(
            "topline",
            "joint topline (joint interventions)",
            _registered("topline"),
            _joint_only,
            "C1",
        ),
        Method(
            "pooled",
            "pooled (obs + single, unlabelled)",
            _registered("pooled"),
            _observational_and_singles,
            "C2",
        ),
        Method(
            "observational",
            "observational only",
            _registered("observational"),
            _observational_only,
            "C7",
        ),
        Method(
            "structured",
            "structure-aware (obs + single, DAG learned)",
            # the figures' structure tests stay Kolmogorov–Smirnov on held rows (the
            # default for held data), so streaming does not change the recorded method
            _registered("structured", structure_test="ks"),
            _observational_and_singles,
            "C3",
        ),
        Method(
            "projected",
            "paper's estimator, additive projection",
            _registered("projected"),
            _observational_and_singles,
            "C4",
        ),
        Method(
            "prior",
            "Gaussian-noise SCM, true DAG (Saengkyongam & Silva 2020)",
            _prior,
            _observational_and_singles,
            "C5",
        ),
    )
}

#: Names of methods in result stores written before the estimators had one name each.
LEGACY_NAMES = {"ours": "paper"}
