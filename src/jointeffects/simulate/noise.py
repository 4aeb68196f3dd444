"""Exogenous noise families: sampling, exact raw moments and log-densities.

Every family is parametrised by its mean and standard deviation, as in the paper's Table 4:

- ``gaussian``: N(mean, std²);
- ``uniform``: uniform on mean ± √3·std;
- ``logistic``: logistic with location mean and scale s = std·√3/π.

A standard deviation of 0 is a point mass at the mean (useful for hard interventions); it
can be sampled and has moments but no density.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import comb

from jointeffects.errors import SpecError

FAMILIES: tuple[str, ...] = ("gaussian", "uniform", "logistic")

_SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class Noise:
    """A univariate noise distribution given by its family, mean and standard deviation.

    Parameters
    ----------
    dist : {"gaussian", "uniform", "logistic"}
        The family.
    mean : float
        The mean.
    std : float
        The standard deviation (>= 0; 0 is a point mass at ``mean``).

    Examples
    --------
    >>> Noise("uniform", 0.0, 1.0).raw_moments(2)
    array([1., 0., 1.])
    """

    dist: str
    mean: float
    std: float

    def __post_init__(self) -> None:
        if self.dist not in FAMILIES:
            raise SpecError(f"noise dist {self.dist!r} is unknown; use one of {list(FAMILIES)}")
        if not (math.isfinite(self.mean) and math.isfinite(self.std)) or self.std < 0:
            raise SpecError(
                f"noise needs a finite mean and a finite std >= 0, got mean={self.mean!r}, "
                f"std={self.std!r}"
            )

    @property
    def scale(self) -> float:
        """The family's natural scale: std, half-width √3·std, or logistic scale std·√3/π."""
        if self.dist == "uniform":
            return _SQRT3 * self.std
        if self.dist == "logistic":
            return self.std * _SQRT3 / math.pi
        return self.std

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        """Draw ``size`` independent values with ``rng``."""
        if self.std == 0:
            return np.full(size, self.mean)
        if self.dist == "gaussian":
            return rng.normal(self.mean, self.std, size)
        if self.dist == "uniform":
            h = self.scale
            return rng.uniform(self.mean - h, self.mean + h, size)
        return rng.logistic(self.mean, self.scale, size)

    def central_moments(self, order: int) -> NDArray[np.float64]:
        """E[(X - mean)^n] for n = 0..order (odd ones vanish: all families are symmetric)."""
        out = np.zeros(order + 1)
        s = self.scale
        for n in range(0, order + 1, 2):
            if self.dist == "gaussian":
                out[n] = s**n * _double_factorial(n - 1)
            elif self.dist == "uniform":
                out[n] = s**n / (n + 1)
            else:
                # Logistic: s^n π^n (2^n − 2)|B_n| for even n >= 2, 1 for n = 0.
                b_n = abs(float(_bernoulli(n)))
                # s·π = √3·std exactly, which avoids a rounding step.
                out[n] = 1.0 if n == 0 else (_SQRT3 * self.std) ** n * (2.0**n - 2.0) * b_n
        return out

    def raw_moments(self, order: int) -> NDArray[np.float64]:
        """E[X^n] for n = 0..order, exactly (binomial expansion around the mean)."""
        central = self.central_moments(order)
        out = np.empty(order + 1)
        for n in range(order + 1):
            k = np.arange(n + 1)
            out[n] = float(np.sum(comb(n, k) * self.mean ** (n - k) * central[k]))
        return out

    def logpdf(self, x: ArrayLike) -> NDArray[np.float64]:
        """Log-density at ``x`` (``-inf`` outside the support of a uniform)."""
        if self.std == 0:
            raise SpecError(
                f"a {self.dist} noise with std 0 is a point mass and has no density; "
                "give it a positive std"
            )
        z = (np.asarray(x, dtype=float) - self.mean) / self.scale
        log_s = math.log(self.scale)
        if self.dist == "gaussian":
            return -0.5 * z**2 - 0.5 * math.log(2 * math.pi) - log_s
        if self.dist == "uniform":
            inside = np.abs(z) <= 1.0
            return np.where(inside, -math.log(2.0) - log_s, -np.inf)
        # log of e^{-z} / (1 + e^{-z})^2, written to stay finite for large |z|.
        a = np.abs(z)
        return -a - 2.0 * np.log1p(np.exp(-a)) - log_s

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``{"dist": ..., "mean": ..., "std": ...}``."""
        return {"dist": self.dist, "mean": float(self.mean), "std": float(self.std)}


def _double_factorial(n: int) -> float:
    return float(math.prod(range(n, 0, -2))) if n > 0 else 1.0


@lru_cache(maxsize=64)
def _bernoulli(n: int) -> Fraction:
    """The Bernoulli number B_n, exactly (Akiyama–Tanigawa; scipy's is off by ~1e-14)."""
    row = [Fraction(0)] * (n + 1)
    for m in range(n + 1):
        row[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
    return row[0]
