"""Hostile model and spec files: deep nesting, huge integers, absurd but valid fields, edited
numbers with a recomputed checksum. Each is refused in one line before anything is allocated;
overflowing samples and data are refused naming the variable."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from conftest import refused
from jointeffects.estimate.modelfile.format import _checksum


def _sealed(payload):
    payload["checksum"] = _checksum(payload)
    return json.dumps(payload)


def _learner(p):
    return p["estimator"]["models"][0]["learner"]


EDITS = [
    # (edit of the parsed model file, message); the checksum is recomputed after each edit
    (lambda p: _learner(p)["params"].__setitem__("degree", 40),
     r"degree' must be an integer in \[1, 12\]"),
    (lambda p: _learner(p)["scale"].__setitem__(0, 0.0), r"scale' must be positive"),
    (lambda p: _learner(p)["scale"].__setitem__(1, -2.0), r"scale' must be positive"),
    (lambda p: _learner(p)["v"].__setitem__(0, 1e300),
     r"learner\.v' must be finite numbers up to 1e\+150"),
    (lambda p: _learner(p).__setitem__("b", -1e300), r"learner\.b' must be a number up to"),
    (lambda p: _learner(p).__setitem__("alpha", 0), r"alpha' must be a positive number"),
    (lambda p: _learner(p)["v"].__setitem__(0, 10**400), r"learner\.v' must be finite"),
    (lambda p: _learner(p).__setitem__("v", [0.0] * 10**6),
     r"learner\.v' must be finite numbers .* shape"),
    (lambda p: p.__setitem__("extra", 1), r"top level has unknown key\(s\) \['extra'\]"),
    (lambda p: p["diagnostics"]["lower"].__setitem__("tv", 1e200), r"diagnostics\.lower\.tv"),
    (lambda p: _learner(p)["scale"].__setitem__(0, 1e-300), r"scale' must be input scales whose"),
    (lambda p: p["diagnostics"]["support"][0].__setitem__("action", "x"),
     r"support' must be one row per regime and action"),
    (lambda p: p["diagnostics"]["support"][0].__setitem__("regime", "x"),
     r"support' must be one row per regime and action"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "match"), EDITS)
@pytest.mark.parametrize("command", ["predict", "report"])
def test_edited_model_fields_are_range_checked(work, edit, match, command):
    payload = json.loads((work / "model.json").read_text())
    edit(payload)
    (work / "edited.json").write_text(_sealed(payload))
    extra = ["--at", work / "queries.csv"] if command == "predict" else []
    out = work / ("p.csv" if command == "predict" else "r.html")
    started = time.perf_counter()
    refused([command, "--model", work / "edited.json", *extra, "--out", out], match, work)
    assert time.perf_counter() - started < 2


def test_an_absurd_degree_is_refused_before_the_checksum_lets_it_allocate(work):
    payload = json.loads((work / "model.json").read_text())
    _learner(payload)["params"]["degree"] = 40  # not resealed: the checksum stops it first
    (work / "edited.json").write_text(json.dumps(payload))
    refused(["report", "--model", work / "edited.json", "--out", work / "r.html"],
            "checksum does not match", work)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[" * 200_000 + "]" * 200_000, "nests JSON too deeply"),
        ('{"format": ' + "9" * 5000 + "}", "not a usable model file.*digits"),
        ('{"a": ' * 5000 + "1" + "}" * 5000, "nests JSON too deeply"),
        ("MODEL", "checksum does not match"),  # a number 1e999, read as infinity
        ('{"format": "jointeffects.model/6"}', r"top level lacks \['package_version'"),
    ],
)
def test_hostile_json_model_files(work, text, match):
    if text == "MODEL":
        model = (work / "model.json").read_text()
        text = re.sub(r'"b": [-0-9.e+]+', '"b": 1e999', model, count=1)
    (work / "hostile.json").write_text(text)
    refused(["predict", "--model", work / "hostile.json", "--at", work / "queries.csv",
             "--out", work / "p.csv"], match, work)  # fmt: skip


def _spec(work):
    return json.loads((work / "spec.json").read_text())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[" * 200_000 + "]" * 200_000, "nests JSON too deeply"),
        ('{"format": ' + "9" * 5000 + "}", "not a usable SCM spec"),
    ],
)
def test_hostile_json_spec_files(work, text, match):
    (work / "hostile.json").write_text(text)
    refused(["simulate", "--scm", work / "hostile.json", "--out", work / "s.csv"], match, work)


def _term(spec):
    return spec["outcome_terms"][0]["terms"][0]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: _term(s).__setitem__("coef", 1e308), r"variable '.*' overflow"),
        (lambda s: _term(s)["powers"].__setitem__(next(iter(_term(s)["powers"])), 1000),
         r"variable '.*' overflow"),
        (lambda s: _term(s)["powers"].__setitem__(next(iter(_term(s)["powers"])), 100000),
         r"powers\..*: 100000 is too large; powers are at most 1000"),
        (lambda s: _term(s)["powers"].__setitem__(next(iter(_term(s)["powers"])), 10**30),
         r"is too large; powers are at most 1000"),
        (lambda s: _term(s).__setitem__("coef", 10**400), r"coef: 1000.* is not a finite number"),
    ],
)  # fmt: skip
def test_specs_that_overflow_are_refused_naming_the_variable(work, edit, match):
    spec = _spec(work)
    edit(spec)
    (work / "big.json").write_text(json.dumps(spec))
    refused(["simulate", "--scm", work / "big.json", "-n", "200", "--out", work / "s.csv"],
            match, work)  # fmt: skip


@pytest.mark.parametrize(("value", "row"), [(1e200, 3), (-1e150, 7)])
def test_data_values_that_would_overflow_are_refused_with_column_and_row(work, value, row):
    import pandas as pd

    frame = pd.read_csv(work / "obs.csv")
    frame.loc[row - 1, "sales"] = value
    frame.to_csv(work / "obs.csv", index=False)
    refused(["fit", "--outcome", "sales", "--data", work / "obs.csv", "--data",
             f"tv={work / 'tv.csv'}", "--n-boot", "0", "--out", work / "m.json"],
            re.escape(f"column 'sales' has {value:.3g} in data row {row}") + ".*rescale",
            work)  # fmt: skip
    assert np.isfinite(1e100 * 1e100)  # the limit leaves room for squares of the data


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--scm", "SPEC", "--out", "s.csv"],
        ["example", "marketing", "--out", "ex2"],
        ["reproduce", "fig2a", "--out", "r", "--no-progress"],
    ],
)
def test_negative_seeds_are_refused(work, command, monkeypatch):
    monkeypatch.chdir(work)
    args = [str(work / "spec.json") if a == "SPEC" else a for a in command]
    refused([*args, "--seed", "-1"], r"--seed.*-1 is not in the range x>=0", work)


def test_predictions_that_overflow_are_refused(work):
    (work / "far.csv").write_text("tv,search\n0,0\n1e200,1\n")
    args = ["predict", "--model", work / "model.json", "--at", work / "far.csv"]
    refused(
        [*args, "--out", work / "p.csv"], r"non-finite predictions; check the query's range", work
    )
