"""SCM families where one method's assumption fails: ours (additive outcome) or the prior one's.

Three families for comparing the paper's estimator with the Gaussian-noise method of
Saengkyongam & Silva (2020), each with exact truth through
:meth:`~jointeffects.simulate.AdditiveSCM.joint_effect`:

- ``"additive"`` — :func:`~jointeffects.simulate.sample_polynomial_scm`, the paper's family:
  additive outcome, but confounders interact with the actions (A_k·C_k, C_k² terms) and noises
  are non-Gaussian, so the noise is neither additive nor Gaussian. Ours holds; theirs fails.
- ``"interaction"`` — :func:`sample_interaction_scm`: linear-Gaussian noise, pairwise action
  interactions in Y, each confounder shared by two actions and Y. Theirs holds; ours fails.
- ``"gaussian_additive"`` — :func:`sample_gaussian_additive_scm`: additive outcome, additive
  Gaussian noise, one confounder per action. Both hold.

The interaction family is an :class:`AdditiveSCM` with a *single block* holding every action
(Def. 2 allows any partition, the trivial one included): f_B may then be any polynomial in all
actions and confounders, every mechanism may use every confounder, and ``joint_effect`` stays
exact (E_C[f_B(a, C)] is a finite sum over the confounders' raw moments).

Note that interactions alone do not bias the paper's combination Σ_k m_k − (K − 1)·m_obs when
the noise is additive: f(a) cancels exactly. The bias comes from a confounder shared by
several actions (the paper needs an experiment on their whole block, Cor. 1), and for
estimators with additive learners also from f itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from jointeffects.simulate.families import (
    calibrated_scm,
    check_family_arguments,
    monomials,
    sample_polynomial_scm,
)
from jointeffects.simulate.scm import AdditiveSCM
from jointeffects.simulate.spec import FORMAT

Powers = dict[str, int]


def sample_interaction_scm(
    K: int = 5,
    rng: int | np.random.Generator | None = None,
    *,
    interaction: float = 1.0,
    edge_prob: float = 0.3,
    std_U: float = 0.1,
    std_V: float = 0.1,
    std_W: float = 0.5,
    n_calibration: int = 100_000,
) -> AdditiveSCM:
    """Draw a linear-Gaussian SCM with pairwise action interactions in Y (non-additive).

    Y := Σ_k α_k A_k + Σ_{i<j} β_ij A_i A_j + Σ_k c_k C_k + U,
    A_k := γ_k C_k + λ_k C_{k+1 mod K} + Σ_{j ∈ pa(k)} δ_kj A_j + V_k,  C_k := W_k,

    all noises Gaussian with mean 0. Each confounder C_k enters A_k, A_{k−1} and Y, so the
    noises of neighbouring actions and of Y are correlated: the Gaussian-noise model holds
    exactly, the paper's Assumption 2 does not. Coefficients are N(0, 1) draws normalised so
    that Σ|α| + Σ|c| = 1, Σ|β| = ``interaction`` and, per action, Σ|γ, λ, δ| = 1. Edges and
    the calibration of the interventions follow :func:`sample_polynomial_scm`.

    Parameters
    ----------
    K : int, default 5
        Number of actions.
    rng : int, Generator or None
    interaction : float, default 1.0
        Total absolute weight of the pairwise products A_i·A_j in Y.
    edge_prob : float, default 0.3
        Probability of each edge A_j → A_k, j < k.
    std_U, std_V, std_W : float, default 0.1, 0.1, 0.5
        Noise standard deviations.
    n_calibration : int, default 100_000
        Observational rows used to calibrate the intervention distributions.

    Returns
    -------
    AdditiveSCM
        One outcome block containing every action.
    """
    check_family_arguments(K, 1, edge_prob, n_calibration)
    gen = np.random.default_rng(rng)
    outcome = _terms([*_linear("A", K), *_linear("C", K)], gen)
    if K > 1 and interaction:
        pairs = [{f"A{i}": 1, f"A{j}": 1} for i, j in itertools.combinations(range(K), 2)]
        outcome += _terms(pairs, gen, total=float(interaction))
    mechanisms = []
    for k in range(K):
        shared = [{f"C{k}": 1}, *([{f"C{(k + 1) % K}": 1}] if K > 1 else [])]
        mechanisms.append(_terms([*shared, *_parents(k, edge_prob, 1, gen)], gen))
    spec = _spec(K, [(list(range(K)), outcome)], mechanisms, (std_U, std_V, std_W))
    return calibrated_scm(spec, n_calibration, gen)


def sample_gaussian_additive_scm(
    K: int = 5,
    rng: int | np.random.Generator | None = None,
    *,
    order: int = 2,
    edge_prob: float = 0.3,
    std_U: float = 0.1,
    std_V: float = 0.1,
    std_W: float = 0.5,
    n_calibration: int = 100_000,
) -> AdditiveSCM:
    """Draw an SCM where both methods' assumptions hold: additive outcome, Gaussian noise.

    Y := Σ_k (h_k(A_k) + c_k C_k) + U,  A_k := γ_k C_k + g_k(A_pa(k)) + V_k,  C_k := W_k,

    with h_k and g_k polynomials of degree 1..``order`` (``order=1``: linear-Gaussian) and all
    noises Gaussian with mean 0. Each confounder is shared by exactly one action and Y.
    Coefficients are N(0, 1) draws normalised to Σ|coef| = 1 per function (outcome term
    including c_k; mechanism including γ_k). Other parameters as :func:`sample_interaction_scm`.

    Returns
    -------
    AdditiveSCM
        Singleton blocks, as in the paper.
    """
    check_family_arguments(K, order, edge_prob, n_calibration)
    gen = np.random.default_rng(rng)
    blocks, mechanisms = [], []
    for k in range(K):
        own = [{f"A{k}": d} for d in range(1, order + 1)]
        blocks.append(([k], _terms([*own, {f"C{k}": 1}], gen)))
        mechanisms.append(_terms([{f"C{k}": 1}, *_parents(k, edge_prob, order, gen)], gen))
    spec = _spec(K, blocks, mechanisms, (std_U, std_V, std_W))
    return calibrated_scm(spec, n_calibration, gen)


#: Name → sampler ``f(K, rng) -> AdditiveSCM`` of the three comparison families.
COMPARISON_FAMILIES: dict[str, Callable[..., AdditiveSCM]] = {
    "additive": sample_polynomial_scm,
    "interaction": sample_interaction_scm,
    "gaussian_additive": sample_gaussian_additive_scm,
}


def _linear(kind: str, K: int) -> list[Powers]:
    return [{f"{kind}{k}": 1} for k in range(K)]


def _parents(k: int, edge_prob: float, order: int, gen: np.random.Generator) -> list[Powers]:
    """Monomials of degree 1..order in a random parent set of action k (edges j < k)."""
    parents = [f"A{j}" for j in range(k) if gen.random() < edge_prob]
    return monomials(parents, 1, order)


def _terms(powers: Sequence[Powers], gen: np.random.Generator, total: float = 1.0) -> list:
    """Terms with N(0, 1) coefficients normalised to Σ|coef| = ``total``."""
    coefs = gen.normal(0.0, 1.0, len(powers))
    coefs = total * coefs / np.abs(coefs).sum()
    return [{"coef": float(c), "powers": dict(p)} for c, p in zip(coefs, powers, strict=True)]


def _spec(
    K: int,
    blocks: list[tuple[list[int], list]],
    mechanisms: list[list],
    stds: tuple[float, float, float],
) -> dict[str, Any]:
    def gaussian(std: float) -> dict[str, Any]:
        return {"dist": "gaussian", "mean": 0.0, "std": float(std)}

    std_u, std_v, std_w = stds
    return {
        "format": FORMAT,
        "actions": [f"A{k}" for k in range(K)],
        "outcome": "Y",
        "noise": {
            "U": gaussian(std_u),
            "V": [gaussian(std_v) for _ in range(K)],
            "W": [gaussian(std_w) for _ in range(K)],
        },
        "outcome_terms": [{"block": block, "terms": terms} for block, terms in blocks],
        "action_mechanisms": [
            {"terms": [*terms, {"coef": 1.0, "powers": {"V": 1}}]} for terms in mechanisms
        ],
        # Placeholders until the calibration sample.
        "interventions": [gaussian(1.0) for _ in range(K)],
    }
