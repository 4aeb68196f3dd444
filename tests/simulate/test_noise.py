"""Noise families: moments against scipy, densities against scipy, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from jointeffects.errors import SpecError
from jointeffects.simulate import FAMILIES, Noise


def _scipy(noise: Noise):
    if noise.dist == "gaussian":
        return stats.norm(noise.mean, noise.std)
    if noise.dist == "uniform":
        h = math.sqrt(3) * noise.std
        return stats.uniform(noise.mean - h, 2 * h)
    return stats.logistic(noise.mean, noise.std * math.sqrt(3) / math.pi)


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("dist", FAMILIES)
@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (0.7, 0.5), (-1.3, 2.0)])
def test_raw_moments_match_scipy(dist, mean, std):
    noise = Noise(dist, mean, std)
    # scipy integrates the logistic's moments numerically (slowly, to ~1e-8 relative).
    top = 6 if dist == "logistic" else 8
    ours = noise.raw_moments(top)
    ref = [1.0] + [_scipy(noise).moment(n) for n in range(1, top + 1)]
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-12)
    assert ours[2] - ours[1] ** 2 == pytest.approx(std**2)


@pytest.mark.parametrize(
    ("dist", "standardised"),
    [
        ("gaussian", [1, 0, 1, 0, 3, 0, 15, 0, 105]),
        ("uniform", [1, 0, 1, 0, 9 / 5, 0, 27 / 7, 0, 9]),
        ("logistic", [1, 0, 1, 0, 21 / 5, 0, 279 / 7, 0, 3429 / 5]),
    ],
)
def test_standardised_moments_are_exact(dist, standardised):
    np.testing.assert_allclose(Noise(dist, 0.0, 1.0).raw_moments(8), standardised, rtol=1e-13)


@pytest.mark.parametrize("dist", FAMILIES)
def test_logpdf_matches_scipy(dist):
    noise = Noise(dist, 0.4, 0.8)
    x = np.linspace(-3, 3, 61)
    np.testing.assert_allclose(np.exp(noise.logpdf(x)), _scipy(noise).pdf(x), atol=1e-12)
    # The logistic form stays finite far in the tails, where the naive formula overflows.
    if dist == "logistic":
        assert np.isfinite(noise.logpdf(np.array([-1e4, 1e4]))).all()


@pytest.mark.parametrize("dist", FAMILIES)
def test_samples_follow_the_distribution(dist):
    noise = Noise(dist, -0.5, 0.3)
    x = noise.sample(np.random.default_rng(0), 50_000)
    assert stats.kstest(x, _scipy(noise).cdf).pvalue > 0.01
    assert x.mean() == pytest.approx(-0.5, abs=4 * 0.3 / math.sqrt(50_000))


def test_std_zero_is_a_point_mass_without_density():
    noise = Noise("logistic", 1.5, 0.0)
    np.testing.assert_array_equal(noise.sample(np.random.default_rng(0), 3), [1.5] * 3)
    np.testing.assert_allclose(noise.raw_moments(3), [1.0, 1.5, 2.25, 3.375])
    with pytest.raises(SpecError, match="point mass and has no density"):
        noise.logpdf(1.0)


def test_invalid_noise():
    with pytest.raises(SpecError, match=r"noise dist 'cauchy' is unknown"):
        Noise("cauchy", 0.0, 1.0)
    with pytest.raises(SpecError, match=r"finite std >= 0, got mean=0.0, std=-1.0"):
        Noise("gaussian", 0.0, -1.0)
