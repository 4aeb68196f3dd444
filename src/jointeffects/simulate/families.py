"""The paper's random SCM families (Appendix E) and a linear counterpart.

Both families name the actions ``A0``..``A{K-1}`` and the outcome ``Y``, use singleton blocks
and calibrate each action's intervention distribution to N(μ̂_k, σ̂_k²), the empirical mean
and std of A_k in an observational sample of ``n_calibration`` rows (paper, eq. (100)), so
that every regime has the same support (Assumption 1).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from jointeffects.errors import SpecError
from jointeffects.simulate.noise import FAMILIES
from jointeffects.simulate.scm import AdditiveSCM
from jointeffects.simulate.spec import FORMAT

#: How the action noise V_k enters g_k: as one of its inputs (the paper's) or added to it.
ACTION_NOISE = ("polynomial", "additive")


def sample_polynomial_scm(
    K: int = 5,
    rng: int | np.random.Generator | None = None,
    *,
    order: int = 2,
    edge_prob: float = 0.3,
    std_U: float = 0.1,
    std_V: float = 0.1,
    std_W: float = 0.5,
    families: Sequence[str] = FAMILIES,
    coef_std: float = 0.1,
    n_calibration: int = 100_000,
    action_noise: str = "polynomial",
) -> AdditiveSCM:
    """Draw an SCM from the paper's family of polynomial additive models (Appendix E).

    Y := Σ_k f_k(A_k, C_k) + U,  A_k := g_k(A_pa(k), C_k, V_k),  C_k := W_k (eq. (10)), where
    f_k and g_k contain every monomial of total degree <= ``order`` in their inputs (constant
    included), with coefficients drawn from N(0, coef_std²) and divided by the sum of their
    absolute values (so Σ|α| = 1, eq. (98)-(99)). The action noise V_k is an input of g_k, so
    g_k has terms such as V_k, V_k², V_k·C_k and V_k·A_j. Each edge A_j → A_k, j < k, is
    present with probability ``edge_prob``; each noise (U, every V_k, every W_k) has mean 0,
    the given std and a family drawn uniformly from ``families``.

    ``action_noise="additive"`` draws a variant in which the noise is added instead,
    A_k := g_k(A_pa(k), C_k) + V_k with g_k free of V_k. Its actions are noisier relative to
    their confounders, so its joint effects vary more across queries than the paper's do.

    Parameters
    ----------
    K : int, default 5
        Number of actions.
    rng : int, Generator or None
        Randomness for the structure, coefficients, families and calibration sample.
    order : int, default 2
        Total degree of f_k and g_k.
    edge_prob : float, default 0.3
        Probability of each edge between actions.
    std_U, std_V, std_W : float, default 0.1, 0.1, 0.5
        Noise standard deviations (paper, Table 4).
    families : sequence of str, default ("gaussian", "uniform", "logistic")
        Noise families to draw from.
    coef_std : float, default 0.1
        Std of the raw coefficients before normalisation.
    n_calibration : int, default 100_000
        Size of the observational sample used to calibrate the interventions.
    action_noise : {"polynomial", "additive"}, default "polynomial"
        Whether V_k is an input of g_k (the paper's family) or added to it.

    Returns
    -------
    AdditiveSCM
    """
    if action_noise not in ACTION_NOISE:
        raise SpecError(f"action_noise={action_noise!r} must be one of {list(ACTION_NOISE)}")
    return _sample_family(
        K,
        rng,
        order,
        edge_prob,
        (std_U, std_V, std_W),
        families,
        coef_std,
        n_calibration,
        constant=True,
        noise_inside=action_noise == "polynomial",
    )


def sample_linear_scm(
    K: int = 5,
    rng: int | np.random.Generator | None = None,
    *,
    edge_prob: float = 0.3,
    std_U: float = 0.1,
    std_V: float = 0.1,
    std_W: float = 0.5,
    families: Sequence[str] = ("gaussian",),
    coef_std: float = 0.1,
    n_calibration: int = 100_000,
) -> AdditiveSCM:
    """Draw a linear additive SCM (linear-Gaussian by default).

    Y := Σ_k (α_k A_k + β_k C_k) + U,  A_k := γ_k C_k + Σ_{j ∈ pa(k)} δ_kj A_j + V_k,
    C_k := W_k. As in the polynomial family, each function's coefficients are drawn from
    N(0, coef_std²) and normalised to Σ|coef| = 1 (no constant terms); edges, noise
    families and the calibration of the interventions follow
    :func:`sample_polynomial_scm`, whose parameters these are.
    """
    return _sample_family(
        K,
        rng,
        1,
        edge_prob,
        (std_U, std_V, std_W),
        families,
        coef_std,
        n_calibration,
        constant=False,
        noise_inside=False,
    )


def _sample_family(
    K: int,
    rng: int | np.random.Generator | None,
    order: int,
    edge_prob: float,
    stds: tuple[float, float, float],
    families: Sequence[str],
    coef_std: float,
    n_calibration: int,
    *,
    constant: bool,
    noise_inside: bool,
) -> AdditiveSCM:
    check_family_arguments(K, order, edge_prob, n_calibration)
    families = list(families)
    if not families or any(f not in FAMILIES for f in families):
        raise SpecError(f"families={families!r} must be a non-empty subset of {list(FAMILIES)}")
    gen = np.random.default_rng(rng)
    std_u, std_v, std_w = stds

    def noise(std: float) -> dict[str, Any]:
        return {"dist": str(gen.choice(families)), "mean": 0.0, "std": float(std)}

    spec: dict[str, Any] = {
        "format": FORMAT,
        "actions": [f"A{k}" for k in range(K)],
        "outcome": "Y",
        "noise": {
            "U": noise(std_u),
            "V": [noise(std_v) for _ in range(K)],
            "W": [noise(std_w) for _ in range(K)],
        },
        "outcome_terms": [],
        "action_mechanisms": [],
        # Placeholders until the calibration sample below.
        "interventions": [{"dist": "gaussian", "mean": 0.0, "std": 1.0}] * K,
    }
    for k in range(K):
        parents = [j for j in range(k) if gen.random() < edge_prob]
        f_vars = [f"A{k}", f"C{k}"]
        g_vars = [*(f"A{j}" for j in parents), f"C{k}", *(["V"] if noise_inside else [])]
        spec["outcome_terms"].append(
            {"block": [k], "terms": _random_terms(f_vars, order, gen, coef_std, constant)}
        )
        g_terms = _random_terms(g_vars, order, gen, coef_std, constant)
        if not noise_inside:
            g_terms.append({"coef": 1.0, "powers": {"V": 1}})
        spec["action_mechanisms"].append({"terms": g_terms})
    return calibrated_scm(spec, n_calibration, gen)


def check_family_arguments(K: int, order: int, edge_prob: float, n_calibration: int) -> None:
    """Raise a SpecError for a bad K, degree, edge probability or calibration size."""
    if isinstance(K, bool) or not isinstance(K, int | np.integer) or K < 1:
        raise SpecError(f"K={K!r} must be a positive number of actions")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise SpecError(f"order={order!r} must be a positive integer degree")
    if not 0.0 <= edge_prob <= 1.0:
        raise SpecError(f"edge_prob={edge_prob!r} must be a probability in [0, 1]")
    if n_calibration < 2:
        raise SpecError(f"n_calibration={n_calibration!r} must be at least 2 rows")


def calibrated_scm(
    spec: dict[str, Any], n_calibration: int, rng: np.random.Generator
) -> AdditiveSCM:
    """The SCM with intervention distributions N(μ̂_k, σ̂_k²) from ``n_calibration``
    observational rows of ``spec`` (paper, eq. (100)); ``spec["interventions"]`` is replaced."""
    observed = AdditiveSCM(spec).sample(n_calibration, rng=rng)
    spec["interventions"] = [
        {"dist": "gaussian", "mean": float(observed[a].mean()), "std": float(observed[a].std())}
        for a in spec["actions"]
    ]
    return AdditiveSCM(spec)


def _random_terms(
    variables: Sequence[str],
    order: int,
    rng: np.random.Generator,
    coef_std: float,
    constant: bool,
) -> list[dict[str, Any]]:
    """Every monomial of total degree <= order (>= 1 unless ``constant``), Σ|coef| = 1."""
    powers = monomials(variables, 0 if constant else 1, order)
    coefs = rng.normal(0.0, coef_std, len(powers))
    coefs = coefs / np.abs(coefs).sum()
    return [{"coef": float(c), "powers": p} for c, p in zip(coefs, powers, strict=True)]


def monomials(variables: Sequence[str], low: int, high: int) -> list[dict[str, int]]:
    """Every monomial of total degree low..high in ``variables``, as {variable: power}.

    Ordered by degree, then as :func:`itertools.combinations_with_replacement` (which keeps
    the count polynomial in the number of variables); powers follow the variables' order.
    """
    out = []
    for degree in range(low, high + 1):
        for combo in itertools.combinations_with_replacement(range(len(variables)), degree):
            counts = np.bincount(np.asarray(combo, dtype=int), minlength=len(variables))
            out.append({v: int(e) for v, e in zip(variables, counts, strict=True) if e})
    return out
