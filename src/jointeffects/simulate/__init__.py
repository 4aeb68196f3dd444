"""Simulator: additive SCMs that sample every regime and know their true effects."""

from __future__ import annotations

from jointeffects.simulate.comparison import (
    COMPARISON_FAMILIES,
    sample_gaussian_additive_scm,
    sample_interaction_scm,
)
from jointeffects.simulate.examples import marketing_example, marketing_spec
from jointeffects.simulate.families import sample_linear_scm, sample_polynomial_scm
from jointeffects.simulate.marketing import (
    current_plan,
    sample_marketing_scm,
    support_bounds,
    true_optimal_plan,
)
from jointeffects.simulate.noise import FAMILIES, Noise
from jointeffects.simulate.polynomial import Polynomial
from jointeffects.simulate.scm import AdditiveSCM, load_scm
from jointeffects.simulate.spec import FORMAT, validate_spec

__all__ = [
    "COMPARISON_FAMILIES",
    "FAMILIES",
    "FORMAT",
    "AdditiveSCM",
    "Noise",
    "Polynomial",
    "current_plan",
    "load_scm",
    "marketing_example",
    "marketing_spec",
    "sample_gaussian_additive_scm",
    "sample_interaction_scm",
    "sample_linear_scm",
    "sample_marketing_scm",
    "sample_polynomial_scm",
    "support_bounds",
    "true_optimal_plan",
    "validate_spec",
]
