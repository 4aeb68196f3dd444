"""Mixed effects E[Y | do(a_int), a_obs]: in closed form, by quadrature or by importance weighting.

By Proposition 1 (paper, eq. (81)) and Def. 2 the mixed effect splits over blocks,
Σ_B E[f_B(a_B, C_B) | do(a_int), a_obs] + E[U], and the posterior of C_B is

    p(c_B | do(a_int), a_obs) ∝ p(c_B) · Π_{k ∈ B, k observed} p(a_k | a_<k, c_B),

because an intervened action's density does not depend on any confounder. A block without
observed actions therefore keeps its prior (exact term); for the others we draw C_B from its
prior and weight each draw by that product of mechanism densities. The density is available
in closed form when the mechanism is at most quadratic in its noise,
A_k = h + s·V_k + q·V_k² with h, s, q polynomials in (a_<k, c): each root v of
q v² + s v + h − a_k contributes p_V(v) / |s + 2qv| (the paper's family has such terms);
with q = 0 that is p_V((a_k − h)/s) / |s|.

The estimate is the self-normalised importance-sampling mean; its standard error is the
usual delta-method one. Both are approximate: the estimator is biased at O(1/n_mc), and the
standard error can understate the error where the observed actions leave few draws with
weight. Two kinds of block are therefore computed without sampling (standard error 0).

A block that is *linear-Gaussian in its confounders* is computed in closed form: every C_j
Gaussian, every observed action's mechanism h + s·V with Gaussian V, s free of the
confounders and h of total degree at most 1 in them, and the outcome term f_B of total
degree at most 1 in them.
Then, given the actions, the residuals a_k − h(a, 0) − s·E[V] are L·C + noise with L and
the noise's covariance known, E[C | ·] is the Gaussian regression formula, and
E[f_B] = f_B(a, E[C | ·]). A block with a single confounder (every block of the paper's
family) is integrated numerically over it: the same posterior on a grid of
``_QUADRATURE_NODES`` midpoints over its support (a uniform's, else mean ± 12 standard
deviations). Importance sampling remains for blocks of several confounders that are not
linear-Gaussian.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from jointeffects.simulate.noise import Noise
from jointeffects.simulate.polynomial import Polynomial

if TYPE_CHECKING:
    from jointeffects.simulate.scm import AdditiveSCM

# Cap on query-rows × draws evaluated at once (each cell is a few float64 temporaries).
_MAX_CELLS = 1_000_000
# Midpoints of the quadrature over a single confounder's support.
_QUADRATURE_NODES = 100_000


def mixed_effect(
    scm: AdditiveSCM,
    a: ArrayLike | pd.DataFrame,
    intervened: NDArray[np.bool_],
    rng: int | np.random.Generator | None = None,
    n_mc: int = 20_000,
    method: str = "auto",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Estimate E[Y | do(a_int), a_obs] for every query row, with a standard error.

    Parameters
    ----------
    scm : AdditiveSCM
        The model.
    a : array-like of shape (n, K) or DataFrame with the action columns
        Values of all actions (intervened and observed).
    intervened : ndarray of bool of shape (K,)
        Which actions are intervened on; all False gives the observational E[Y | a].
    rng : int, Generator or None
        Randomness for the confounder draws.
    n_mc : int, default 20_000
        Prior draws of each block's confounders (shared by all query rows).
    method : {"auto", "importance"}, default "auto"
        "auto": blocks linear-Gaussian in their confounders in closed form, other blocks
        with one confounder by quadrature (both with standard error 0), the rest by
        importance sampling; "importance": every block by importance sampling.

    Returns
    -------
    estimate, standard_error : ndarray of shape (n,)
        NaN where no draw explains the observed actions (e.g. outside a uniform's support).

    Raises
    ------
    NotImplementedError
        If an observed action's mechanism is above quadratic in its noise V, has no V term, or its
        V has std 0: its density given parents and confounders is then not available.
    """
    if n_mc < 1:
        raise ValueError(f"n_mc={n_mc!r} must be a positive number of draws")
    if method not in ("auto", "importance"):
        raise ValueError(f"method={method!r} must be 'auto' or 'importance'")
    values = scm._action_values(a)
    n = len(values["A0"])
    gen = np.random.default_rng(rng)
    est = np.full(n, scm._noise_u.mean)
    var = np.zeros(n)
    for b, block in enumerate(scm._block_idx):
        observed = [k for k in block if not intervened[k]]
        if not observed:
            est += np.broadcast_to(scm._f_mean[b](values), (n,))
            continue
        likelihoods = [(k, *_noise_coefficients(scm, k)) for k in observed]
        exact = None
        if method == "auto":
            exact = _gaussian_block(scm, b, likelihoods, values)
            if exact is None:
                exact = _quadrature_block(scm, b, likelihoods, values)
        if exact is not None:
            est += exact
            var[np.isnan(exact)] = np.nan  # no confounder value explains the observation
            continue
        draws = {f"C{j}": scm._noise_w[j].sample(gen, n_mc)[None, :] for j in block}
        step = max(1, _MAX_CELLS // n_mc)
        for lo in range(0, n, step):
            rows = slice(lo, lo + step)
            cell = {key: col[rows, None] for key, col in values.items()} | draws
            mean, se2 = _weighted_mean(scm._f[b], cell, likelihoods, n_mc)
            est[rows] += mean
            var[rows] += se2
    return est, np.sqrt(var)


def _gaussian_block(
    scm: AdditiveSCM,
    b: int,
    likelihoods: list[tuple[int, tuple[Polynomial, ...], Noise]],
    values: dict[str, NDArray[np.float64]],
) -> NDArray[np.float64] | None:
    """E[f_B(a, C_B) | do(a_int), a_obs] in closed form, or None if block ``b`` is not
    linear-Gaussian in its confounders (see the module docstring)."""
    block = scm._block_idx[b]
    names = [f"C{j}" for j in block]
    laws = [scm._noise_w[j] for j in block]
    f = scm._f[b]
    if any(w.dist != "gaussian" for w in laws) or _confounder_degree(f, names) > 1:
        return None
    for _, parts, noise in likelihoods:
        if len(parts) > 2 or noise.dist != "gaussian":
            return None
        h, s = parts
        if _confounder_degree(s, names) > 0 or _confounder_degree(h, names) > 1:
            return None
    n = len(next(iter(values.values())))
    at_zero = values | {c: np.zeros(n) for c in names}
    unit = [values | {c: np.full(n, float(c == d)) for c in names} for d in names]

    def linear(poly: Polynomial) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """poly = offset + slopes @ C at each query row (poly of degree <= 1 in C)."""
        offset = np.broadcast_to(poly(at_zero), (n,))
        slopes = np.stack([np.broadcast_to(poly(u), (n,)) - offset for u in unit], axis=-1)
        return offset, slopes

    mean_c = np.array([w.mean for w in laws])
    var_c = np.array([w.std**2 for w in laws])
    rows, loads, noise_var = [], [], []
    for k, (h, s), noise in likelihoods:
        offset, slopes = linear(h)
        scale = np.broadcast_to(s(at_zero), (n,))  # free of the confounders
        rows.append(values[f"A{k}"] - offset - scale * noise.mean)
        loads.append(slopes)
        noise_var.append(scale**2 * noise.std**2)
    y, L = np.stack(rows, axis=-1), np.stack(loads, axis=1)  # (n, m), (n, m, d)
    cov = np.einsum("nij,j,nkj->nik", L, var_c, L)  # Cov(y | a) = L Var(C) Lᵀ + noise
    diagonal = np.arange(len(rows))
    cov[:, diagonal, diagonal] += np.stack(noise_var, axis=-1)
    try:
        gain = np.linalg.solve(cov, (y - L @ mean_c)[..., None])[..., 0]  # (n, m)
    except np.linalg.LinAlgError:
        return None
    posterior = mean_c + var_c * np.einsum("nij,ni->nj", L, gain)
    f_offset, f_slopes = linear(f)
    return f_offset + np.einsum("nj,nj->n", f_slopes, posterior)


def _quadrature_block(
    scm: AdditiveSCM,
    b: int,
    likelihoods: list[tuple[int, tuple[Polynomial, ...], Noise]],
    values: dict[str, NDArray[np.float64]],
) -> NDArray[np.float64] | None:
    """E[f_B(a, C) | do(a_int), a_obs] by quadrature when block ``b`` has one confounder C
    (else None): the posterior p(c) Π_k p(a_k | ·, c) on a grid of ``_QUADRATURE_NODES``
    midpoints over C's support (a uniform's, else its mean ± 12 standard deviations)."""
    block = scm._block_idx[b]
    if len(block) != 1 or scm._noise_w[block[0]].std == 0:
        return None
    j = block[0]
    law = scm._noise_w[j]
    half = law.scale if law.dist == "uniform" else 12.0 * law.std
    edges = np.linspace(law.mean - half, law.mean + half, _QUADRATURE_NODES + 1)
    grid = ((edges[:-1] + edges[1:]) / 2)[None, :]
    n = len(next(iter(values.values())))
    out = np.empty(n)
    step = max(1, _MAX_CELLS // _QUADRATURE_NODES)
    for lo in range(0, n, step):
        rows = slice(lo, lo + step)
        cell = {key: col[rows, None] for key, col in values.items()} | {f"C{j}": grid}
        out[rows], _ = _weighted_mean(
            scm._f[b], cell, likelihoods, _QUADRATURE_NODES, law.logpdf(grid)
        )
    return out


def _weighted_mean(
    f: Polynomial,
    cell: dict[str, NDArray[np.float64]],
    likelihoods: list[tuple[int, tuple[Polynomial, ...], Noise]],
    n_points: int,
    log_prior: Any = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`_self_normalised` mean of f over ``n_points`` confounder values per query row,
    weighted by the observed actions' densities (times the prior's, for a grid)."""
    logw = log_prior + sum(
        (_log_density(cell[f"A{k}"], parts, noise, cell) for k, parts, noise in likelihoods),
        np.zeros((len(cell["A0"]), n_points)),
    )
    return _self_normalised(logw, np.broadcast_to(f(cell), logw.shape))


def _confounder_degree(poly: Polynomial, names: list[str]) -> int:
    """The largest total power of the variables ``names`` in a term of ``poly``."""
    cols = [i for i, v in enumerate(poly.variables) if v in names]
    if not cols or not len(poly.coefs):
        return 0
    return int(poly.exponents[:, cols].sum(axis=1).max())


def _noise_coefficients(scm: AdditiveSCM, k: int) -> tuple[tuple[Polynomial, ...], Noise]:
    """Action k's mechanism as ``(h, s)`` or ``(h, s, q)``: A = h + s·V (+ q·V²)."""
    g, noise, name = scm._g[k], scm._noise_v[k], scm.actions[k]
    if g.degree_in("V") > 2:
        raise NotImplementedError(
            f"mixed_effect needs action {name!r}'s mechanism to be at most quadratic in its "
            f"noise V, but V appears with power {g.degree_in('V')}; intervene on "
            f"{name!r} or estimate the effect by sampling"
        )
    parts = g.split_powers("V")
    if not any(np.any(p.coefs != 0) for p in parts[1:]) or noise.std == 0:
        raise NotImplementedError(
            f"mixed_effect needs a density for observed action {name!r}, but its mechanism "
            "is deterministic given its parents and confounders (no V term or std 0)"
        )
    return parts, noise


def _log_density(
    a_k: NDArray[np.float64],
    parts: tuple[Polynomial, ...],
    noise: Noise,
    cell: dict[str, NDArray[np.float64]],
) -> NDArray[np.float64]:
    """log p(a_k | parents, confounders) for A = h + s·V + q·V² (q = 0 if affine).

    The noise values v solving q v² + s v + h − a_k = 0 each contribute p_V(v) / |s + 2qv|,
    and |s + 2qv| = √D at both roots, D = s² − 4q(h − a_k); −inf where no root exists.
    """
    hv, sv = parts[0](cell), parts[1](cell)
    qv = parts[2](cell) if len(parts) > 2 else 0.0
    c = hv - a_k
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        disc = sv**2 - 4.0 * qv * c
        root = np.sqrt(np.maximum(disc, 0.0))
        # The numerically stable pair of roots: t/q and c/t (t/q is ±inf when q = 0).
        t = -0.5 * (sv + np.where(sv >= 0, 1.0, -1.0) * root)
        out = np.logaddexp(noise.logpdf(t / qv), noise.logpdf(c / t)) - np.log(root)
    return np.where((disc > 0) & ~np.isnan(out), out, -np.inf)


def _self_normalised(
    logw: NDArray[np.float64], f: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Row-wise Σ w f / Σ w and its delta-method variance Σ w² (f − mean)² / (Σ w)²."""
    top = logw.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.exp(logw - top)
        total = w.sum(axis=1)
        mean = (w * f).sum(axis=1) / total
        var = (w**2 * (f - mean[:, None]) ** 2).sum(axis=1) / total**2
    return mean, var
