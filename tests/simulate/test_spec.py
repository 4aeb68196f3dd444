"""The JSON spec: lossless round trips and one test per validation rule."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scm_specs import issue_spec, linear_spec

from jointeffects.errors import SpecError
from jointeffects.simulate import AdditiveSCM, load_scm, sample_polynomial_scm


def test_issue_example_loads_and_round_trips(tmp_path):
    spec = issue_spec()
    scm = load_scm(spec)
    assert scm.actions == ("A1", "A2") and scm.outcome == "Y"
    assert scm.blocks == (("A1",), ("A2",))
    assert scm.to_dict() == spec
    path = tmp_path / "scm.json"
    scm.save(path)
    assert json.loads(path.read_text()) == spec
    again = load_scm(path)
    assert again == scm and again.to_dict() == spec
    assert load_scm(str(path)) == scm


def test_round_trip_keeps_the_model_not_just_the_dict(tmp_path):
    scm = sample_polynomial_scm(4, rng=3, n_calibration=2_000)
    scm.save(tmp_path / "a.json")
    again = load_scm(tmp_path / "a.json")
    assert again.to_dict() == scm.to_dict()
    pd.testing.assert_frame_equal(scm.sample(500, ["A1"], rng=9), again.sample(500, ["A1"], rng=9))
    a = scm.sample(100, scm.actions, rng=1)
    np.testing.assert_array_equal(scm.joint_effect(a), again.joint_effect(a))


def test_to_dict_is_a_copy():
    scm = load_scm(issue_spec())
    d = scm.to_dict()
    d["noise"]["U"]["std"] = 5.0
    assert scm.to_dict() == issue_spec()


def test_integers_are_normalised_to_floats():
    spec = issue_spec()
    spec["noise"]["U"] = {"dist": "gaussian", "mean": 0, "std": 1}
    spec["outcome_terms"][0]["terms"][0]["coef"] = 2
    out = AdditiveSCM(spec).to_dict()
    assert out["noise"]["U"] == {"dist": "gaussian", "mean": 0.0, "std": 1.0}
    assert isinstance(out["outcome_terms"][0]["terms"][0]["coef"], float)


def _set(path, value):
    """A mutation that sets spec[path...] = value."""

    def mutate(spec):
        target = spec
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(key):
    return lambda spec: spec.pop(key)


def _powers(where, powers):
    """Replace the powers of term 0 in outcome block or mechanism ``where``."""
    kind, i = where
    key = "outcome_terms" if kind == "f" else "action_mechanisms"
    return _set([key, i, "terms", 0, "powers"], powers)


RULES = [
    (_set(["format"], "scm/2"), r"format: expected 'jointeffects.scm/1', got 'scm/2'"),
    (_set(["extra"], 1), r"unknown top-level field\(s\) \['extra'\]"),
    (_drop("interventions"), r"missing field\(s\) \['interventions'\]"),
    (_set(["actions"], []), r"actions: must be a non-empty list"),
    (_set(["actions"], ["A1", "A1"]), r"actions: names must be unique, repeated \['A1'\]"),
    (_set(["actions", 1], 3), r"actions\[1\]: 3 is not a non-empty string"),
    (_set(["outcome"], "A2"), r"outcome: 'A2' must be a non-empty name not among the actions"),
    (_set(["noise", "Z"], {}), r"noise: must be an object with exactly the fields"),
    (
        _set(["noise", "V"], [{"dist": "gaussian", "mean": 0, "std": 1}]),
        r"noise.V: needs one entry per action \(2\), got 1 entries",
    ),
    (_set(["noise", "W", 0, "dist"], "cauchy"), r"noise.W\[0\].dist: 'cauchy' is unknown"),
    (_set(["noise", "U", "std"], -0.1), r"noise.U.std: -0.1 is negative"),
    (_set(["noise", "U", "mean"], float("nan")), r"noise.U.mean: nan is not a finite number"),
    (_set(["noise", "U", "scale"], 1.0), r"noise.U: must be an object with exactly"),
    (
        _set(["outcome_terms", 1, "block"], [0]),
        r"outcome_terms\[1\].block: action 0 is already in outcome_terms\[0\]; blocks must "
        r"partition",
    ),
    (
        _set(["outcome_terms"], [issue_spec()["outcome_terms"][0]]),
        r"outcome_terms: actions \[1\] are in no block; blocks must partition the actions",
    ),
    (
        _set(["outcome_terms", 1, "block"], [2]),
        r"outcome_terms\[1\].block: 2 is not an action index",
    ),
    (
        _set(["outcome_terms", 1, "block"], []),
        r"outcome_terms\[1\].block: must be a non-empty list",
    ),
    (
        _powers(("f", 0), {"A1": 1}),
        r"outcome_terms\[0\].terms\[0\].powers: 'A1' is outside block \[0\]; an outcome block may "
        r"use only its own",
    ),
    (_powers(("f", 1), {"C0": 2}), r"outcome_terms\[1\].terms\[0\].powers: 'C0' is outside block"),
    (_powers(("f", 0), {"V": 1}), r"outcome_terms\[0\].terms\[0\].powers: 'V' is outside block"),
    (
        _powers(("g", 0), {"A0": 1}),
        r"action_mechanisms\[0\].terms\[0\].powers: 'A0' is not an earlier action; mechanism 0 may "
        r"use only A<j> with j < 0",
    ),
    (_powers(("g", 0), {"A1": 1}), r"action_mechanisms\[0\].terms\[0\].powers: 'A1' is not an"),
    (
        _powers(("g", 1), {"C0": 1}),
        r"action_mechanisms\[1\].terms\[0\].powers: 'C0' is not a confounder of action 1's "
        r"block \[1\]",
    ),
    (
        _powers(("g", 1), {"X1": 1}),
        r"action_mechanisms\[1\].terms\[0\].powers: variable 'X1' is not A<j>, C<j> or V",
    ),
    (_powers(("g", 1), {"A01": 1}), r"variable 'A01' is not A<j>, C<j> or V"),
    (
        _powers(("f", 0), {"A0": -1}),
        r"outcome_terms\[0\].terms\[0\].powers.A0: -1 is not a non-negative integer",
    ),
    (_powers(("f", 0), {"A0": 1.5}), r"powers.A0: 1.5 is not a non-negative integer"),
    (_powers(("f", 0), {"A0": True}), r"powers.A0: True is not a non-negative integer"),
    (
        _set(["outcome_terms", 0, "terms", 1, "coef"], "x"),
        r"outcome_terms\[0\].terms\[1\].coef: 'x' is not a finite number",
    ),
    (
        _set(["outcome_terms", 0, "terms", 1, "power"], {}),
        r"outcome_terms\[0\].terms\[1\]: must be an object with exactly 'coef' and 'powers'",
    ),
    (
        _set(["action_mechanisms"], issue_spec()["action_mechanisms"][:1]),
        r"action_mechanisms: needs one entry per action \(2\), got 1 entries",
    ),
    (
        _set(["action_mechanisms", 0, "noise"], 1),
        r"action_mechanisms\[0\]: must be an object with exactly the field 'terms'",
    ),
    (
        _set(["interventions"], {"dist": "gaussian"}),
        r"interventions: needs one entry per action \(2\), got dict",
    ),
    (_set(["interventions", 1, "dist"], "normal"), r"interventions\[1\].dist: 'normal' is unknown"),
]


@pytest.mark.parametrize(("mutate", "message"), RULES)
def test_each_rule_is_enforced_with_its_message(mutate, message):
    spec = issue_spec()
    mutate(spec)
    with pytest.raises(SpecError, match=message):
        load_scm(spec)


def test_a_confounder_shared_inside_a_block_is_allowed():
    spec = linear_spec()
    spec["outcome_terms"] = [
        {"block": [0, 2], "terms": spec["outcome_terms"][0]["terms"]},
        spec["outcome_terms"][1],
    ]
    spec["action_mechanisms"][2]["terms"].append({"coef": 1.0, "powers": {"C0": 1}})
    scm = load_scm(spec)
    assert scm.blocks == (("x", "z"), ("y2",))
    spec["action_mechanisms"][1]["terms"].append({"coef": 1.0, "powers": {"C0": 1}})
    with pytest.raises(SpecError, match=r"'C0' is not a confounder of action 1's block \[1\]"):
        load_scm(spec)


def test_not_an_object():
    with pytest.raises(SpecError, match="an SCM spec must be a JSON object, got list"):
        load_scm([1, 2])  # type: ignore[arg-type]


def test_unreadable_files(tmp_path):
    with pytest.raises(SpecError, match=r"cannot read SCM spec '.*missing.json'"):
        load_scm(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match=r"'.*bad.json' is not valid JSON"):
        load_scm(bad)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    with pytest.raises(SpecError, match=r"cannot read SCM spec '.*binary.json': it is not UTF-8"):
        load_scm(binary)
