"""The paper's Example 1 (Sec. 4), by exact enumeration over the binary noises.

Two SCMs over binary variables agree on the observational and on both single-intervention
distributions of (Y, A1, A2), yet disagree on the joint intervention do(A1=0, A2=1):
without a restriction such as additivity the joint effect is not identified.

    M:  Y := A1 ∧ A2 ∧ C ∧ U        M̃:  Y := A2 ∧ C ∧ U
        A2 := A1 ∧ C ∧ V2               (same A2, A1, C)
        A1 := C,  C := W,   with U, V2, W ~ Bernoulli(p) independent.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from fractions import Fraction

import pytest

P = Fraction(3, 10)


def _model(tilde: bool):
    def run(w, v2, u, do):
        c = w
        a1 = do.get("A1", c)
        a2 = do.get("A2", a1 & c & v2)
        y = (a2 & c & u) if tilde else (a1 & a2 & c & u)
        return y, a1, a2

    return run


def _distribution(model, do=None, p=P):
    """Exact law of (Y, A1, A2) under ``do`` (a dict of fixed values), as Fractions."""
    law: dict[tuple[int, int, int], Fraction] = defaultdict(Fraction)
    for w, v2, u in itertools.product((0, 1), repeat=3):
        weight = Fraction(1)
        for bit in (w, v2, u):
            weight *= p if bit else 1 - p
        law[model(w, v2, u, do or {})] += weight
    return {k: v for k, v in law.items() if v}


M, M_TILDE = _model(tilde=False), _model(tilde=True)
REGIMES = [None, {"A1": 0}, {"A1": 1}, {"A2": 0}, {"A2": 1}]


@pytest.mark.parametrize("do", REGIMES)
def test_observational_and_single_interventions_agree(do):
    assert _distribution(M, do) == _distribution(M_TILDE, do)


def test_joint_intervention_differs():
    # eq. (7): P^M(Y=1 | do(A1=0, A2=1)) = 0 but p² in M̃.
    do = {"A1": 0, "A2": 1}
    y1 = {
        m: sum(v for (y, _, _), v in _distribution(m, do).items() if y == 1) for m in (M, M_TILDE)
    }
    assert y1[M] == 0
    assert y1[M_TILDE] == P**2


def test_observational_law_is_table_1():
    p = P
    assert _distribution(M) == {
        (0, 0, 0): 1 - p,
        (0, 1, 0): p * (1 - p),
        (0, 1, 1): p**2 * (1 - p),
        (1, 1, 1): p**3,
    }


def test_single_intervention_laws():
    """Exact laws (keys are (Y, A1, A2)).

    They differ from the paper's Tables 2 and 3 in two cells, which look like typos there:
    under do(A1=1), P(A2=1) = P(C=1, V2=1) = p², not p; and under do(A2=0) Y = 0 always,
    since both outcome mechanisms contain A2 (Table 3 repeats the do(A2=1) rows).
    """
    p = P
    assert _distribution(M, {"A1": 0}) == {(0, 0, 0): 1}
    assert _distribution(M, {"A1": 1}) == {
        (0, 1, 0): 1 - p**2,
        (0, 1, 1): p**2 * (1 - p),
        (1, 1, 1): p**3,
    }
    assert _distribution(M, {"A2": 0}) == {(0, 0, 0): 1 - p, (0, 1, 0): p}
    assert _distribution(M, {"A2": 1}) == {
        (0, 0, 1): 1 - p,
        (0, 1, 1): p * (1 - p),
        (1, 1, 1): p**2,
    }
