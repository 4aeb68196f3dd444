"""The vectorised polynomial against a per-row reference."""

from __future__ import annotations

import numpy as np
import pytest

from jointeffects.simulate import Polynomial

TERMS = [
    (0.5, {"x": 2}),
    (-1.0, {"x": 1, "y": 3}),
    (2.0, {}),
    (0.25, {"y": 1, "z": 2}),
    (3, {"x": 1}),
]


def _slow(terms, row):
    return sum(c * np.prod([row[v] ** p for v, p in pw.items()]) for c, pw in terms)


def test_evaluation_matches_a_per_row_loop():
    rng = np.random.default_rng(0)
    values = {v: rng.normal(size=200) for v in "xyz"}
    poly = Polynomial.from_terms(TERMS)
    ref = [_slow(TERMS, {v: values[v][i] for v in "xyz"}) for i in range(200)]
    np.testing.assert_allclose(poly(values), ref, rtol=1e-12)


def test_evaluation_broadcasts():
    poly = Polynomial.from_terms(TERMS)
    x, y, z = np.arange(3.0)[:, None], np.linspace(-1, 1, 4)[None, :], 0.5
    out = poly({"x": x, "y": y, "z": z})
    assert out.shape == (3, 4)
    assert out[2, 1] == pytest.approx(_slow(TERMS, {"x": 2.0, "y": y[0, 1], "z": 0.5}))


def test_empty_and_constant_polynomials():
    assert Polynomial.from_terms([])({}) == 0.0
    assert Polynomial.from_terms([(1.5, {})])({}) == 1.5


def test_expect_replaces_powers_by_moments():
    poly = Polynomial.from_terms(TERMS)
    # y ~ N(1, 2^2): E y = 1, E y^2 = 5, E y^3 = 1 + 3*4 = 13.
    ey = poly.expect({"y": np.array([1.0, 1.0, 5.0, 13.0])})
    assert "y" not in ey.variables
    assert len(ey.coefs) == 4  # x²; x (from x·y³ and 3x); 1; z² (from y·z²)
    x, z = np.array([0.3, -2.0]), np.array([1.0, 0.5])
    np.testing.assert_allclose(ey({"x": x, "z": z}), 0.5 * x**2 - 13 * x + 2 + 0.25 * z**2 + 3 * x)


def test_split_powers():
    poly = Polynomial.from_terms(
        [(1.0, {"a": 2}), (2.0, {"V": 1, "c": 1}), (0.5, {"V": 1}), (-3.0, {"V": 2, "a": 1})]
    )
    h, s, q = poly.split_powers("V")
    a, c, v = np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.3, -2.0])
    np.testing.assert_allclose(h({"a": a, "c": c}), a**2)
    np.testing.assert_allclose(s({"a": a, "c": c}), 2 * c + 0.5)
    np.testing.assert_allclose(q({"a": a, "c": c}), -3 * a)
    whole = h({"a": a, "c": c}) + s({"a": a, "c": c}) * v + q({"a": a, "c": c}) * v**2
    np.testing.assert_allclose(poly({"a": a, "c": c, "V": v}), whole)
    free, zero = poly.split_powers("z")
    assert free is poly and zero({}) == 0.0


def test_expect_of_a_polynomial_in_the_integrated_variables_only_is_a_constant():
    poly = Polynomial.from_terms([(1.0, {"c": 2}), (2.0, {}), (-1.0, {"c": 1})])
    const = poly.expect({"c": np.array([1.0, 0.5, 4.0])})
    assert const.variables == () and const({}) == pytest.approx(4.0 + 2.0 - 0.5)
