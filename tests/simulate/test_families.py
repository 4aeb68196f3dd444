"""The paper's random SCM families (Appendix E) and the linear family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jointeffects.errors import SpecError
from jointeffects.simulate import FAMILIES, sample_linear_scm, sample_polynomial_scm
from jointeffects.simulate.spec import parse_variable

REF = Path(__file__).resolve().parents[3] / "shared" / "ref"


def _degree(term):
    return sum(term["powers"].values())


@pytest.mark.parametrize("seed", range(4))
def test_polynomial_family_follows_appendix_e(seed):
    scm = sample_polynomial_scm(5, rng=seed, n_calibration=1_000)
    spec = scm.to_dict()
    assert scm.actions == ("A0", "A1", "A2", "A3", "A4") and scm.outcome == "Y"
    assert scm.blocks == tuple((a,) for a in scm.actions)
    noise = spec["noise"]
    assert noise["U"]["std"] == 0.1 and {x["std"] for x in noise["V"]} == {0.1}
    assert {x["std"] for x in noise["W"]} == {0.5}
    everything = [noise["U"], *noise["V"], *noise["W"]]
    assert all(x["mean"] == 0.0 and x["dist"] in FAMILIES for x in everything)
    for k, block in enumerate(spec["outcome_terms"]):
        terms = block["terms"]
        # Every monomial of degree <= 2 in (A_k, C_k): 1, A, C, A², AC, C².
        assert sorted(tuple(sorted(t["powers"].items())) for t in terms) == sorted(
            [
                (),
                ((f"A{k}", 1),),
                ((f"C{k}", 1),),
                ((f"A{k}", 2),),
                ((f"A{k}", 1), (f"C{k}", 1)),
                ((f"C{k}", 2),),
            ]
        )
        assert sum(abs(t["coef"]) for t in terms) == pytest.approx(1.0)
    for k, mech in enumerate(spec["action_mechanisms"]):
        g = mech["terms"]
        assert sum(abs(t["coef"]) for t in g) == pytest.approx(1.0)
        m = len(scm.parents(k))
        # Every monomial of degree <= 2 in the m parents, C_k and V_k (eq. (10)).
        assert len(g) == (m + 4) * (m + 3) // 2
        assert max(_degree(t) for t in g) == 2
        used = {parse_variable(v) for t in g for v in t["powers"]}
        assert ("C", k) in used and ("V", -1) in used
        assert all(j < k for kind, j in used if kind == "A")
        assert {"V": 2} in [t["powers"] for t in g]
        assert {"V": 1, f"C{k}": 1} in [t["powers"] for t in g]


@pytest.mark.parametrize("seed", range(3))
def test_additive_noise_variant_adds_v_with_coefficient_one(seed):
    scm = sample_polynomial_scm(5, rng=seed, n_calibration=1_000, action_noise="additive")
    for k, mech in enumerate(scm.to_dict()["action_mechanisms"]):
        *g, noise_term = mech["terms"]
        assert noise_term == {"coef": 1.0, "powers": {"V": 1}}
        assert sum(abs(t["coef"]) for t in g) == pytest.approx(1.0)
        m = len(scm.parents(k))
        assert len(g) == (m + 3) * (m + 2) // 2  # monomials of degree <= 2 in m + 1 variables
        assert all("V" not in t["powers"] for t in g)


def _fingerprint(scms, rows=20_000):
    """Per SCM, under the joint regime: sd(Y - E[Y | do(A)]) and sd(E[Y | do(A)])."""
    out = []
    for i, scm in enumerate(scms):
        df = scm.sample(rows, intervened=scm.actions, rng=i)
        truth = scm.joint_effect(df[list(scm.actions)])
        out.append((np.std(df[scm.outcome] - truth), np.std(truth)))
    return np.array(out)


@pytest.mark.slow
def test_family_matches_the_reference_codes_fingerprint():
    """100 SCMs of each: mean noise floor and mean effect spread within 3 s.e. of the
    reference code's (the s.e. of the difference of two independent means)."""
    ref = np.loadtxt(REF / "fingerprint_seeds1000-1099.csv", delimiter=",", comments="#")[:, 1:]
    ours = _fingerprint(
        sample_polynomial_scm(5, rng=np.random.SeedSequence(2026, spawn_key=(i,)))
        for i in range(100)
    )
    se = np.sqrt(ref.var(axis=0, ddof=1) / len(ref) + ours.var(axis=0, ddof=1) / len(ours))
    gap = np.abs(ours.mean(axis=0) - ref.mean(axis=0))
    assert np.all(gap < 3 * se), (ours.mean(axis=0), ref.mean(axis=0), se)
    # The check has power: the additive-noise variant's effects vary about twice as much.
    additive = _fingerprint(
        sample_polynomial_scm(5, rng=i, action_noise="additive", n_calibration=10_000)
        for i in range(30)
    )
    assert additive[:, 1].mean() - ref[:, 1].mean() > 10 * se[1]


def test_interventions_are_calibrated_to_the_observational_marginals():
    scm = sample_polynomial_scm(4, rng=12, n_calibration=100_000)
    obs = scm.sample(200_000, rng=99)
    for a in scm.actions:
        law = scm.intervention(a)
        assert law.dist == "gaussian"
        # Calibration and check samples are independent: both errors are ~std/√n.
        assert law.mean == pytest.approx(obs[a].mean(), abs=5 * law.std / np.sqrt(60_000))
        assert law.std == pytest.approx(obs[a].std(), rel=0.02)


def test_edge_probability_and_family_choice():
    """Over 150 SCMs of K = 5: 1500 candidate edges, SE of the rate 0.012."""
    edges, families = [], []
    for seed in range(150):
        scm = sample_polynomial_scm(5, rng=seed, n_calibration=50)
        edges += [
            int(j in {int(p[1:]) for p in scm.parents(k)}) for k in range(5) for j in range(k)
        ]
        spec = scm.to_dict()["noise"]
        families += [spec["U"]["dist"]] + [x["dist"] for x in spec["V"] + spec["W"]]
    assert abs(np.mean(edges) - 0.3) < 0.04
    for fam in FAMILIES:
        assert abs(families.count(fam) / len(families) - 1 / 3) < 0.04


def test_knobs_are_respected():
    scm = sample_polynomial_scm(
        3,
        rng=0,
        order=3,
        edge_prob=1.0,
        std_U=0.2,
        std_V=0.3,
        std_W=0.7,
        families=("uniform",),
        n_calibration=500,
    )
    spec = scm.to_dict()
    assert scm.parents("A2") == ("A0", "A1")
    assert max(_degree(t) for b in spec["outcome_terms"] for t in b["terms"]) == 3
    assert spec["noise"]["U"] == {"dist": "uniform", "mean": 0.0, "std": 0.2}
    assert {x["std"] for x in spec["noise"]["V"]} == {0.3}
    assert {x["std"] for x in spec["noise"]["W"]} == {0.7}
    assert sample_polynomial_scm(4, rng=0, edge_prob=0.0, n_calibration=50).ancestors("A3") == ()


def test_linear_family():
    scm = sample_linear_scm(4, rng=1, edge_prob=1.0, n_calibration=1_000)
    spec = scm.to_dict()
    assert {x["dist"] for x in [spec["noise"]["U"], *spec["noise"]["V"], *spec["noise"]["W"]]} == {
        "gaussian"
    }
    for block in spec["outcome_terms"]:
        assert all(_degree(t) == 1 for t in block["terms"]) and len(block["terms"]) == 2
        assert sum(abs(t["coef"]) for t in block["terms"]) == pytest.approx(1.0)
    for k, mech in enumerate(spec["action_mechanisms"]):
        assert all(_degree(t) == 1 for t in mech["terms"]) and len(mech["terms"]) == k + 2


def test_same_seed_same_scm():
    assert sample_polynomial_scm(5, rng=3, n_calibration=500) == sample_polynomial_scm(
        5, rng=3, n_calibration=500
    )
    assert sample_polynomial_scm(5, rng=3, n_calibration=500) != sample_polynomial_scm(
        5, rng=4, n_calibration=500
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"K": 0}, r"K=0 must be a positive number of actions"),
        ({"order": 0}, r"order=0 must be a positive integer degree"),
        ({"edge_prob": 1.5}, r"edge_prob=1.5 must be a probability"),
        ({"families": ("cauchy",)}, r"families=\['cauchy'\] must be a non-empty subset"),
        ({"n_calibration": 1}, r"n_calibration=1 must be at least 2 rows"),
        ({"action_noise": "inside"}, r"action_noise='inside' must be one of"),
    ],
)
def test_bad_knobs(kwargs, message):
    with pytest.raises(SpecError, match=message):
        sample_polynomial_scm(**{"K": 3, "rng": 0, **kwargs})
