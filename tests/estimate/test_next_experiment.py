"""Which experiment next: the pre-posterior simulation picks the least informed channel."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jointeffects import StructuredEstimator, recommend_experiment
from jointeffects.errors import DataError, SpecError
from jointeffects.estimate import ExperimentCandidate, JointEffectEstimator, as_regime_data
from jointeffects.simulate.marketing import current_plan, sample_marketing_scm


def marketing(seed: int, tiny: str | None = None, n: int = 1500, K: int = 3, drop=()):
    """A seeded marketing SCM and data whose experiment on ``tiny`` has 60 rows, the others
    (and the observational regime) ``n``; channels in ``drop`` get no experiment."""
    rng = np.random.default_rng(seed)
    scm = sample_marketing_scm(K, rng)
    sizes = {(): n, **{(a,): 60 if a == tiny else n for a in scm.actions if a not in drop}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = as_regime_data(
            {r: scm.sample(m, intervened=r, rng=rng) for r, m in sizes.items()}, outcome="sales"
        )
    return scm, data


def structured(scm) -> StructuredEstimator:
    # The SCM's graph and fixed degrees keep each refit fast.
    dag = {a: scm.parents(a) for a in scm.actions}
    return StructuredEstimator(degrees=(2,), psi_degrees=(2,), dag=dag, random_state=0)


def advise(scm, est, data, **kwargs):
    current = current_plan(scm)
    kwargs = {"sizes": (300,), "n_sim": 10, "random_state": 1, **kwargs}
    return recommend_experiment(est, data, budget=sum(current.values()), current=current,
                                **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_search():
    scm, data = marketing(3, tiny="search")
    return scm, data, structured(scm).fit(data)


def test_the_channel_with_the_tiny_experiment_is_recommended(tiny_search):
    scm, data, est = tiny_search
    advice = advise(scm, est, data)
    assert advice.channel == "search" and advice.rows == 300 and advice.kind == "experiment"
    table = advice.table
    assert list(table["channel"])[0] == "search" and len(table) == 3
    assert set(table["channel"]) == set(scm.actions)
    # The same "before" for every candidate: they share the drawn models.
    assert table["regret_before"].nunique() == 1 and table["plan_sd_before"].nunique() == 1
    assert advice.reduction == pytest.approx(table["regret_reduction"].iloc[0])
    assert advice.reduction > 1.5 * advice.se and advice.notes == ()  # measured 2.1 s.e.
    others = table.iloc[1:]
    assert np.all(advice.reduction > others["regret_reduction"] + others["regret_se"])
    # Paired through common random numbers, the gaps to the best are clearer still.
    assert np.all(others["gap"] > 1.5 * others["gap_se"])  # measured 2.05 and 2.26


def interior_costs(scm) -> tuple[dict[str, float], float]:
    """Costs = each channel's true marginal return at its mean spend, and the budget that
    spends the means: the true optimum is then the mean spend of every channel, inside the
    bounds, so the plan depends on every channel's curve."""
    mu = np.array([scm.intervention(a).mean for a in scm.actions])
    costs = {}
    for k, a in enumerate(scm.actions):
        step = np.zeros(len(mu))
        step[k] = 1e-3 * mu[k]
        costs[a] = float(np.diff(scm.joint_effect(np.array([mu - step, mu + step])))[0])
        costs[a] /= 2 * step[k]
    return costs, float(sum(costs[a] * m for a, m in zip(scm.actions, mu, strict=True)))


@pytest.mark.slow
def test_the_tiny_channel_is_recommended_over_seeds():
    # Measured over seeds 0-11 (n_sim=20): the plan-value sd picked the tiny channel 12 times,
    # the regret 9 times; its misses were seeds whose plan barely depends on the tiny
    # channel (regret before <= 0.4, reductions within one s.e. of 0).
    by_regret = 0
    for seed in range(8):
        tiny = ("tv", "search", "social")[seed % 3]
        scm, data = marketing(seed, tiny=tiny)
        costs, budget = interior_costs(scm)
        advice = recommend_experiment(
            structured(scm).fit(data), data, budget=budget, costs=costs, sizes=(1000,),
            n_sim=20, random_state=1, criterion="plan_sd",
        )  # fmt: skip
        assert advice.channel == tiny, seed
        table = advice.table.set_index("channel")
        by_regret += table["regret_reduction"].idxmax() == tiny
    assert by_regret >= 5


def test_the_same_seed_gives_the_same_table_and_another_seed_another(tiny_search):
    scm, data, est = tiny_search
    kwargs = {"n_sim": 3, "channels": ["search", "tv"], "sizes": (100, 300)}
    first = advise(scm, est, data, **kwargs)
    again = advise(scm, est, data, **kwargs)
    pd.testing.assert_frame_equal(first.table, again.table)
    other = advise(scm, est, data, **{**kwargs, "random_state": 2})
    assert not np.allclose(other.table["regret_before"], first.table["regret_before"])


def test_the_advised_size_is_the_smallest_within_noise_of_the_channels_best():
    from jointeffects.estimate.next_experiment_simulation import (
        smallest_within_noise as _smallest_within_noise,
    )
    from jointeffects.estimate.next_experiment_simulation import with_gaps as _with_gaps

    chosen = [(ExperimentCandidate("tv", m), ("tv",)) for m in (100, 300, 1000)]
    chosen.append((ExperimentCandidate("search", 50), ("search",)))
    base = np.random.default_rng(0).normal(size=30) ** 2  # shared: common random numbers
    wobble = np.tile([0.1, -0.1], 15)  # paired standard error 0.1017 / √30 = 0.0186

    def pick(regret):
        table = pd.DataFrame({"rows": [100, 300, 1000, 50], "regret_after": regret.mean(axis=1)})
        table = table.sort_values("regret_after", kind="stable")  # best first
        table = _with_gaps(table, "regret", regret, regret)
        assert table["gap"].iloc[0] == 0 and np.all(table["gap"] >= 0)
        return _smallest_within_noise(table, chosen)["rows"]

    regret = np.vstack([base + 0.3, base + 0.01 + wobble, base, base + 0.5])
    assert pick(regret) == 300  # 0.01 worse than 1000 rows, within the noise; 100 is not
    regret[1] += 0.05
    assert pick(regret) == 1000


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"channels": ["radio"]},
            SpecError,
            r"channel 'radio' names unknown action\(s\) \['radio'\]",
        ),
        ({"sizes": (0, 300)}, DataError, r"sizes must be positive numbers of rows, got \[0, 300\]"),
        ({"sizes": ()}, DataError, r"sizes must be positive numbers of rows, got \[\]"),
        ({"n_sim": 1}, DataError, r"n_sim=1 must be at least 2 simulations"),
        (
            {"criterion": "value"},
            DataError,
            r"criterion='value' is not one of \['regret', 'plan_sd'\]",
        ),
        (
            {"candidates": [ExperimentCandidate("tv", 100, kind="geo")]},
            DataError,
            r"kind='geo' is not one of \['experiment', 'lift_test'\]",
        ),
    ],
)
def test_bad_requests_raise_one_clear_error(tiny_search, kwargs, error, match):
    scm, data, est = tiny_search
    with pytest.raises(error, match=match):
        advise(scm, est, data, **kwargs)


def test_a_channel_without_an_experiment_is_refused():
    scm, data = marketing(3, drop=("social",))
    est = structured(scm).set_params(dag={a: scm.parents(a) for a in scm.actions}).fit(data)
    with pytest.raises(DataError, match=r"channel 'social' has no experiment in the data"):
        advise(scm, est, data, channels=["social"])


def test_an_unfitted_estimator_is_refused(tiny_search):
    scm, data, _ = tiny_search
    with pytest.raises(ValueError, match=r"not fitted yet: call fit\(...\) first"):
        advise(scm, structured(scm), data)


def test_the_profit_objective_and_explicit_candidates(tiny_search):
    scm, data, est = tiny_search
    candidates = [ExperimentCandidate("search", 300), ExperimentCandidate("tv", 300)]
    advice = recommend_experiment(
        est, data, value=1.0, candidates=candidates, n_sim=3, random_state=0
    )
    assert list(advice.table["channel"].sort_values()) == ["search", "tv"]
    assert np.all(advice.table["regret_before"] >= -1e-6)  # each drawn model's own optimum
    with pytest.raises(DataError, match=r"rows=0 of the candidate on 'tv' must be a positive"):
        recommend_experiment(est, data, value=1.0, candidates=[ExperimentCandidate("tv", 0)])


def test_a_plan_no_experiment_can_change_is_said_so(tiny_search):
    scm, data, est = tiny_search
    current = current_plan(scm)
    # Two channels fixed and the budget spent: the third channel's level is forced.
    fixed = {a: current[a] for a in scm.actions[:2]}
    advice = advise(scm, est, data, n_sim=3, fixed=fixed)
    assert np.all(advice.table["regret_reduction"] == 0.0)
    assert advice.notes[0].startswith("no candidate reduces the regret by more than one")


def test_estimators_without_the_sandwich_draw_bootstrap_models(tiny_search):
    scm, data, _ = tiny_search
    est = JointEffectEstimator(random_state=0).fit(data)
    advice = advise(scm, est, data, n_sim=2, channels=["search"])
    row = advice.table.iloc[0]
    assert advice.channel == "search" and np.isfinite(row["regret_reduction"])
    assert row["regret_before"] >= -1e-6 and row["plan_sd_before"] > 0
