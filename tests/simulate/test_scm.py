"""AdditiveSCM: regime semantics, exact truth against Monte Carlo, seeds and streaming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scm_specs import block_spec, family_spec, issue_spec, linear_spec

from jointeffects.errors import DataError
from jointeffects.simulate import FAMILIES, load_scm

# ---------------------------------------------------------------- exact truth vs Monte Carlo


@pytest.mark.parametrize("dist", FAMILIES)
@pytest.mark.parametrize("a", [(0.5, -1.0), (-1.2, 0.8)])
def test_joint_effect_equals_monte_carlo_for_each_family(dist, a):
    """Point-mass joint interventions at ``a``: the mean of Y is E[Y | do(a)].

    Tolerance 4 standard errors; measured |z| <= 2.3 over seeds 0..5. The truth needs the
    fourth moment of the confounders: the families' truths differ by 0.031 = 14-30 SE.
    """
    scm = load_scm(family_spec(dist, a))
    y = scm.sample(400_000, intervened=scm.actions, rng=11)["Y"]
    se = y.std() / np.sqrt(len(y))
    assert abs(y.mean() - scm.joint_effect(np.array(a))[0]) < 4 * se


def test_the_family_changes_the_truth():
    a = np.array([[0.5, -1.0]])
    truth = {d: load_scm(family_spec(d)).joint_effect(a)[0] for d in FAMILIES}
    assert abs(truth["uniform"] - truth["gaussian"]) > 0.03
    assert abs(truth["logistic"] - truth["gaussian"]) > 0.03


@pytest.mark.parametrize("a", [(0.5, -1.0, 0.3), (-0.8, 1.1, -1.5)])
def test_joint_effect_equals_monte_carlo_with_a_confounder_shared_in_a_block(a):
    """Measured |z| <= 1.6 over seeds 0..5 at these points; margin 4."""
    scm = load_scm(block_spec(a))
    y = scm.sample(400_000, intervened=scm.actions, rng=3)["sales"]
    se = y.std() / np.sqrt(len(y))
    assert abs(y.mean() - scm.joint_effect(np.array(a))[0]) < 4 * se


def test_joint_regime_residual_is_orthogonal_to_functions_of_the_actions():
    """E[Y | A] = joint_effect(A) in the joint regime, so Y - joint_effect(A) ⟂ φ(A).

    Each |z| measured <= 2.2 over seeds 0..5 (7 statistics per seed); margin 4.5; the
    observational regime gives |z| > 100.
    """
    scm = load_scm(block_spec())
    df = scm.sample(300_000, intervened=scm.actions, rng=5)
    a = df[list(scm.actions)].to_numpy()
    resid = df["sales"].to_numpy() - scm.joint_effect(a)
    phis = [
        np.ones(len(a)),
        a[:, 0],
        a[:, 1],
        a[:, 2],
        a[:, 0] ** 2,
        a[:, 0] * a[:, 1],
        a[:, 1] ** 3,
    ]
    for phi in phis:
        x = resid * phi
        assert abs(x.mean()) < 4.5 * x.std() / np.sqrt(len(x))
    # The same statistic catches the observational regime, where E[Y | A] is confounded.
    obs = scm.sample(300_000, rng=5)
    x = obs["sales"].to_numpy() - scm.joint_effect(obs[list(scm.actions)])
    assert abs(x.mean()) > 10 * x.std() / np.sqrt(len(x))


def test_block_effects_sum_to_the_joint_effect_and_read_columns_by_name():
    scm = load_scm(block_spec())
    df = scm.sample(50, intervened=scm.actions, rng=0)
    blocks = scm.block_effects(df)
    assert blocks.shape == (50, 2)
    np.testing.assert_allclose(blocks.sum(axis=1) + 0.0, scm.joint_effect(df))  # E[U] = 0
    shuffled = df[["sales", "r", "p", "q"]]
    np.testing.assert_array_equal(scm.joint_effect(shuffled), scm.joint_effect(df))
    np.testing.assert_array_equal(
        scm.joint_effect(df[["p", "q", "r"]].to_numpy()[0]), scm.joint_effect(df)[:1]
    )


def test_joint_effect_adds_the_mean_of_u():
    scm = load_scm(linear_spec())
    a = np.zeros((1, 3))
    # f at a = 0: 0.2 + 1.5 E C0 + E C1 - 1.2 E C2 = 0.2 + 0.45 - 0.2 - 0; plus E U = 0.25.
    assert scm.joint_effect(a)[0] == pytest.approx(0.2 + 0.45 - 0.2 + 0.25)


# ---------------------------------------------------------------- regime semantics


@pytest.mark.parametrize("k", [0, 1])
def test_intervened_action_has_its_intervention_distribution(k):
    scm = load_scm(issue_spec())
    a_k = scm.sample(100_000, intervened=[k], rng=k)[scm.actions[k]]
    law = scm.intervention(k)
    assert stats.kstest(a_k, stats.norm(law.mean, law.std).cdf).pvalue > 0.01


@pytest.mark.parametrize(
    "spec", [issue_spec, linear_spec, block_spec], ids=["issue", "linear", "block"]
)
def test_intervened_action_is_independent_of_every_confounder_and_noise(spec):
    """|corr| of A_k with C_j, C_j², V_j, V_j² (all j) under do(A_k) stays at noise level.

    Measured max |corr|·√n <= 3.6 over seeds 0..5 (up to 4K statistics); margin 4.5. The
    observational regime fails the same check for every spec here.
    """
    scm = load_scm(spec())
    n = 100_000
    for k in range(scm.n_actions):
        lat = scm._sample_latent(n, intervened=[k], rng=100 + k)
        feats = np.column_stack([lat["C"], lat["C"] ** 2, lat["V"], lat["V"] ** 2])
        corr = [abs(np.corrcoef(lat["A"][:, k], f)[0, 1]) for f in feats.T]
        assert max(corr) * np.sqrt(n) < 4.5, (k, max(corr))
    obs = scm._sample_latent(n, rng=1)
    corr = [abs(np.corrcoef(obs["A"][:, 0], f)[0, 1]) for f in (obs["C"][:, 0], obs["V"][:, 0])]
    assert max(corr) * np.sqrt(n) > 20


@pytest.mark.parametrize("intervened", [(), ("A1",), ("A2",), ("A1", "A2")])
def test_non_intervened_actions_follow_their_mechanisms(intervened):
    scm = load_scm(issue_spec())
    lat = scm._sample_latent(5_000, intervened=intervened, rng=2)
    a, c, v = lat["A"], lat["C"], lat["V"]
    if "A1" not in intervened:
        np.testing.assert_allclose(a[:, 0], 0.6 * c[:, 0] + 0.4 * v[:, 0])
    if "A2" not in intervened:
        np.testing.assert_allclose(a[:, 1], 0.3 * a[:, 0] ** 2 + 0.5 * c[:, 1] * v[:, 1])
    f = 0.2 * a[:, 0] - 0.3 * a[:, 0] * c[:, 0] + 0.1 + 0.5 * a[:, 1] ** 2 + 0.4 * c[:, 1]
    np.testing.assert_allclose(lat["Y"], f + lat["U"])
    # The public rows are the same rows.
    df = scm.sample(5_000, intervened=intervened, rng=2)
    np.testing.assert_array_equal(df[["A1", "A2"]].to_numpy(), a)


def test_mixed_regime_downstream_action_sees_the_intervened_value():
    scm = load_scm(linear_spec())
    lat = scm._sample_latent(2_000, intervened=["x", "z"], rng=4)
    a, c, v = lat["A"], lat["C"], lat["V"]
    np.testing.assert_allclose(a[:, 1], 0.5 * a[:, 0] + 0.7 * c[:, 1] + v[:, 1])
    assert abs(np.corrcoef(a[:, 0], c[:, 0])[0, 1]) < 0.1


# ---------------------------------------------------------------- seeds and streaming


def test_same_seed_same_rows_and_different_seeds_differ():
    scm = load_scm(block_spec())
    first = scm.sample(1_000, ["p"], rng=7)
    pd.testing.assert_frame_equal(first, scm.sample(1_000, ["p"], rng=7))
    pd.testing.assert_frame_equal(first, scm.sample(1_000, ["p"], rng=np.random.default_rng(7)))
    assert not first.equals(scm.sample(1_000, ["p"], rng=8))
    gen = np.random.default_rng(7)
    assert not scm.sample(1_000, ["p"], rng=gen).equals(scm.sample(1_000, ["p"], rng=gen))
    # Names and indices name the same regime.
    pd.testing.assert_frame_equal(first, scm.sample(1_000, [0], rng=7))
    pd.testing.assert_frame_equal(first, scm.sample(1_000, "p", rng=7))


@pytest.mark.parametrize("chunk_size", [9_999, 65_536, 100_003, 10**6])
def test_chunks_concatenate_to_the_same_sample(chunk_size):
    scm = load_scm(issue_spec())
    n = 140_000  # spans three internal blocks
    chunks = list(scm.sample_chunks(n, ["A2"], rng=21, chunk_size=chunk_size))
    assert all(len(c) <= chunk_size for c in chunks)
    assert len(chunks) == -(-n // chunk_size)
    pd.testing.assert_frame_equal(pd.concat(chunks), scm.sample(n, ["A2"], rng=21))


def test_streaming_is_lazy_but_takes_its_seed_at_once():
    scm = load_scm(issue_spec())
    gen = np.random.default_rng(0)
    stream = scm.sample_chunks(10**7, rng=gen, chunk_size=1_000)
    other = scm.sample_chunks(10**7, rng=gen, chunk_size=1_000)
    next(other)  # iterating the second stream first does not change the first one
    first = next(stream)
    pd.testing.assert_frame_equal(first, next(scm.sample_chunks(10**7, rng=0, chunk_size=1_000)))
    assert first.shape == (1_000, 3)
    assert list(first.columns) == ["A1", "A2", "Y"]
    assert next(stream).index[0] == 1_000


def test_empty_sample():
    scm = load_scm(issue_spec())
    df = scm.sample(0, rng=0)
    assert df.shape == (0, 3) and list(df.columns) == ["A1", "A2", "Y"]


# ---------------------------------------------------------------- structure and validation


def test_parents_and_ancestors():
    scm = load_scm(linear_spec())
    assert scm.parents("x") == () and scm.parents("y2") == ("x",)
    assert scm.parents("z") == ("x", "y2") and scm.ancestors(2) == ("x", "y2")
    chain = load_scm(block_spec())
    assert chain.parents("r") == ("q",) and chain.ancestors("r") == ("p", "q")


def test_bad_regimes_and_queries_are_refused():
    scm = load_scm(issue_spec())
    with pytest.raises(DataError, match=r"'radio' names no action; actions are \['A1', 'A2'\]"):
        scm.sample(10, ["radio"], rng=0)
    with pytest.raises(DataError, match=r"action index 2 is out of range 0..1"):
        scm.sample(10, [2], rng=0)
    with pytest.raises(DataError, match=r"n=-1 must be a non-negative integer"):
        scm.sample(-1)
    with pytest.raises(DataError, match=r"chunk_size=0 must be a positive integer"):
        scm.sample_chunks(10, chunk_size=0)
    with pytest.raises(DataError, match=r"query lacks action column\(s\) \['A2'\]"):
        scm.joint_effect(pd.DataFrame({"A1": [0.0]}))
    with pytest.raises(DataError, match=r"query has shape \(4, 3\); expected \(n, 2\)"):
        scm.joint_effect(np.zeros((4, 3)))
