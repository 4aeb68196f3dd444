"""Specs shared by the simulator tests (imported as a plain module: pytest puts this folder on
sys.path)."""

from __future__ import annotations

from typing import Any


def issue_spec() -> dict[str, Any]:
    """The example spec of issue 2, verbatim."""
    return {
        "format": "jointeffects.scm/1",
        "actions": ["A1", "A2"],
        "outcome": "Y",
        "noise": {
            "U": {"dist": "gaussian", "mean": 0.0, "std": 0.1},
            "V": [
                {"dist": "uniform", "mean": 0.0, "std": 0.1},
                {"dist": "gaussian", "mean": 0.0, "std": 0.1},
            ],
            "W": [
                {"dist": "logistic", "mean": 0.0, "std": 0.5},
                {"dist": "gaussian", "mean": 0.0, "std": 0.5},
            ],
        },
        "outcome_terms": [
            {
                "block": [0],
                "terms": [
                    {"coef": 0.2, "powers": {"A0": 1}},
                    {"coef": -0.3, "powers": {"A0": 1, "C0": 1}},
                    {"coef": 0.1, "powers": {}},
                ],
            },
            {
                "block": [1],
                "terms": [
                    {"coef": 0.5, "powers": {"A1": 2}},
                    {"coef": 0.4, "powers": {"C1": 1}},
                ],
            },
        ],
        "action_mechanisms": [
            {"terms": [{"coef": 0.6, "powers": {"C0": 1}}, {"coef": 0.4, "powers": {"V": 1}}]},
            {
                "terms": [
                    {"coef": 0.3, "powers": {"A0": 2}},
                    {"coef": 0.5, "powers": {"C1": 1, "V": 1}},
                ]
            },
        ],
        "interventions": [
            {"dist": "gaussian", "mean": 0.1, "std": 0.3},
            {"dist": "gaussian", "mean": -0.2, "std": 0.2},
        ],
    }


def term(coef: float, **powers: int) -> dict[str, Any]:
    return {"coef": coef, "powers": powers}


def linear_spec(
    w_dist: str = "gaussian",
    v_dist: str = "gaussian",
    std_v: float = 0.5,
    interventions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A 3-action SCM with linear, confounded mechanisms and a linear outcome."""
    w = [{"dist": w_dist, "mean": m, "std": s} for m, s in [(0.3, 1.0), (-0.2, 0.8), (0.0, 1.2)]]
    return {
        "format": "jointeffects.scm/1",
        "actions": ["x", "y2", "z"],
        "outcome": "out",
        "noise": {
            "U": {"dist": "gaussian", "mean": 0.25, "std": 0.1},
            "V": [{"dist": v_dist, "mean": 0.0, "std": std_v}] * 3,
            "W": w,
        },
        "outcome_terms": [
            {"block": [0], "terms": [term(1.0, A0=1), term(1.5, C0=1), term(0.2)]},
            {"block": [1], "terms": [term(-0.7, A1=1), term(1.0, C1=1)]},
            {"block": [2], "terms": [term(0.4, A2=1), term(-1.2, C2=1)]},
        ],
        "action_mechanisms": [
            {"terms": [term(0.8, C0=1), term(1.0, V=1)]},
            {"terms": [term(0.5, A0=1), term(0.7, C1=1), term(1.0, V=1)]},
            {"terms": [term(-0.4, A1=1), term(0.3, A0=1), term(0.9, C2=1), term(1.0, V=1)]},
        ],
        "interventions": interventions
        or [
            {"dist": "gaussian", "mean": 0.3, "std": 1.0},
            {"dist": "gaussian", "mean": 0.0, "std": 1.0},
            {"dist": "gaussian", "mean": -0.2, "std": 1.0},
        ],
    }


def _point_masses(
    a: tuple[float, ...] | None, default: dict[str, Any], k: int
) -> list[dict[str, Any]]:
    """Interventions that set the actions to ``a`` exactly (std 0), or ``default`` for all."""
    if a is None:
        return [default] * k
    return [{"dist": "gaussian", "mean": float(x), "std": 0.0} for x in a]


def family_spec(dist: str, a: tuple[float, float] | None = None) -> dict[str, Any]:
    """Two singleton blocks whose truth needs the confounders' moments up to order 4.

    ``a`` makes the interventions point masses (std 0) at those values; otherwise they are
    gaussian around 0.
    """
    w = {"dist": dist, "mean": 0.2, "std": 0.6}
    interventions = _point_masses(a, {"dist": "gaussian", "mean": 0.0, "std": 1.0}, 2)
    return {
        "format": "jointeffects.scm/1",
        "actions": ["A0", "A1"],
        "outcome": "Y",
        "noise": {
            "U": {"dist": dist, "mean": -0.1, "std": 0.2},
            "V": [{"dist": dist, "mean": 0.0, "std": 0.3}] * 2,
            "W": [w, w],
        },
        "outcome_terms": [
            {
                "block": [0],
                "terms": [
                    term(1.0, A0=1),
                    term(1.0, A0=1, C0=2),
                    term(-0.5, C0=3),
                    term(0.3, A0=2, C0=1),
                    term(0.2, C0=4),
                ],
            },
            {"block": [1], "terms": [term(1.0, C1=1, A1=1), term(-1.0, C1=2), term(0.1, A1=3)]},
        ],
        "action_mechanisms": [
            {"terms": [term(1.0, C0=1), term(1.0, C0=2), term(1.0, V=1)]},
            {"terms": [term(1.0, A0=1, C1=1), term(1.0, V=1)]},
        ],
        "interventions": interventions,
    }


def block_spec(a: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """Blocks [0, 1] and [2]; C0 drives both A0 and A1 and enters f_{01} with C1 (Cor. 1)."""
    interventions = _point_masses(a, {"dist": "uniform", "mean": 0.0, "std": 1.0}, 3)
    return {
        "format": "jointeffects.scm/1",
        "actions": ["p", "q", "r"],
        "outcome": "sales",
        "noise": {
            "U": {"dist": "uniform", "mean": 0.0, "std": 0.1},
            "V": [{"dist": "logistic", "mean": 0.0, "std": 0.3}] * 3,
            "W": [
                {"dist": "logistic", "mean": 0.3, "std": 0.7},
                {"dist": "uniform", "mean": -0.2, "std": 0.5},
                {"dist": "gaussian", "mean": 0.1, "std": 0.4},
            ],
        },
        "outcome_terms": [
            {
                "block": [0, 1],
                "terms": [
                    term(1.0, A0=1, C1=1),
                    term(0.8, A1=1, C0=2),
                    term(1.0, C0=1, C1=1),
                    term(0.5, A0=2, C0=1),
                    term(-1.0, A1=1),
                    term(0.3, A0=1, A1=1, C0=1, C1=1),
                ],
            },
            {"block": [2], "terms": [term(2.0, A2=1, C2=1), term(0.5, C2=2)]},
        ],
        "action_mechanisms": [
            {"terms": [term(1.0, C0=1), term(1.0, V=1)]},
            {"terms": [term(0.5, A0=1), term(1.0, C0=1), term(-1.0, C1=1), term(1.0, V=1)]},
            {"terms": [term(0.4, A1=2), term(1.0, C2=1), term(1.0, V=1)]},
        ],
        "interventions": interventions,
    }
