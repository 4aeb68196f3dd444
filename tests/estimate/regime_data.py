"""Shared helpers for the estimator tests: regime data from an SCM and small hand-made specs."""

from __future__ import annotations


def regimes(scm, n, rng, experiments=None):
    experiments = [(a,) for a in scm.actions] if experiments is None else experiments
    return {r: scm.sample(n, intervened=r, rng=rng) for r in [(), *experiments]}


def shared_confounder_spec() -> dict:
    """A0 and A1 share the confounder C0 (allowed inside a block, Cor. 1); A2 is on its own."""
    g = {"dist": "gaussian", "mean": 0.0, "std": 1.0}
    return {
        "format": "jointeffects.scm/1",
        "actions": ["A0", "A1", "A2"],
        "outcome": "Y",
        "noise": {"U": {**g, "std": 0.1}, "V": [{**g, "std": 0.5}] * 3, "W": [g] * 3},
        "outcome_terms": [
            {
                "block": [0, 1],
                "terms": [
                    {"coef": 1.0, "powers": {"A0": 1}},
                    {"coef": -0.5, "powers": {"A1": 1}},
                    {"coef": 2.0, "powers": {"C0": 1}},
                ],
            },
            {
                "block": [2],
                "terms": [{"coef": 0.7, "powers": {"A2": 1}}, {"coef": 1.0, "powers": {"C2": 1}}],
            },
        ],
        "action_mechanisms": [
            {"terms": [{"coef": 1.0, "powers": {"C0": 1}}, {"coef": 1.0, "powers": {"V": 1}}]},
            {"terms": [{"coef": 1.0, "powers": {"C0": 1}}, {"coef": 1.0, "powers": {"V": 1}}]},
            {"terms": [{"coef": 1.0, "powers": {"C2": 1}}, {"coef": 1.0, "powers": {"V": 1}}]},
        ],
        "interventions": [{"dist": "gaussian", "mean": 0.0, "std": 1.1}] * 3,
    }


def nonlinear_spec() -> dict:
    g = {"dist": "gaussian", "mean": 0.0, "std": 1.0}
    f0 = [{"coef": 1.0, "powers": {"A0": 2}}, {"coef": 1.0, "powers": {"A0": 1, "C0": 1}}]
    f1 = [{"coef": -1.0, "powers": {"A1": 1}}, {"coef": 1.5, "powers": {"C1": 1}}]
    return {
        "format": "jointeffects.scm/1",
        "actions": ["A0", "A1"],
        "outcome": "Y",
        "noise": {"U": {**g, "std": 0.1}, "V": [{**g, "std": 0.5}] * 2, "W": [g] * 2},
        "outcome_terms": [{"block": [0], "terms": f0}, {"block": [1], "terms": f1}],
        "action_mechanisms": [
            {"terms": [{"coef": 1.0, "powers": {"C0": 1}}, {"coef": 1.0, "powers": {"V": 1}}]},
            {
                "terms": [
                    {"coef": 0.5, "powers": {"A0": 1}},
                    {"coef": 1.0, "powers": {"C1": 1}},
                    {"coef": 1.0, "powers": {"V": 1}},
                ]
            },
        ],
        "interventions": [{"dist": "gaussian", "mean": 0.0, "std": 1.0}] * 2,
    }
