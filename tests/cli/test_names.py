"""Names from the user's data: '$' in labels, integer column names, '+' in action names."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import refused, run, table


def _fit_named(folder, names, suffix=".csv"):
    """Fit on obs + one experiment per action, with the actions named ``names``."""
    args = []
    for regime, seed in [("obs", 0), *((n, i + 1) for i, n in enumerate(names))]:
        frame = table(seed=seed).rename(columns=dict(zip(("tv", "search"), names, strict=True)))
        path = folder / f"r{seed}{suffix}"
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
        args += ["--data", str(path) if regime == "obs" else f"{regime}={path}"]
    return run(["fit", "--outcome", "sales", *args, "--n-boot", "0", "--out", folder / "m.json"])


@pytest.mark.parametrize("names", [("$tv", "search$"), ("a$b$c", "$$"), ("x_^{2}$", "#alpha{}")])
def test_dollar_signs_and_tex_in_action_names_draw_as_plain_text(tmp_path, names):
    done = _fit_named(tmp_path, names)
    assert done.exit_code == 0, done.output
    report = run(["report", "--model", tmp_path / "m.json", "--out", tmp_path / "r.html"])
    assert report.exit_code == 0, report.output
    curves = run(["curves", "--model", tmp_path / "m.json", "--out", tmp_path / "c.svg"])
    assert curves.exit_code == 0, curves.output
    assert names[0] in (tmp_path / "c.svg").read_text()  # drawn as typed, not as mathtext


def test_html_in_action_names_is_escaped_in_the_report(tmp_path):
    assert _fit_named(tmp_path, ("<b>tv", "search")).exit_code == 0
    assert (
        run(["report", "--model", tmp_path / "m.json", "--out", tmp_path / "r.html"]).exit_code == 0
    )
    page = (tmp_path / "r.html").read_text()
    assert "<b>tv" not in page and "&lt;b&gt;tv" in page


def test_integer_column_names_in_parquet_are_read_as_names(tmp_path):
    frame = table().rename(columns={"tv": 0, "search": 1, "sales": 2})
    frame.to_parquet(tmp_path / "obs.parquet")
    assert pd.read_parquet(tmp_path / "obs.parquet").columns[0] == 0  # pandas keeps the int
    for name, seed in (("0", 1), ("1", 2)):
        table(seed=seed).rename(columns={"tv": 0, "search": 1, "sales": 2}).to_parquet(
            tmp_path / f"{name}.parquet"
        )
    done = run(["fit", "--outcome", "2", "--data", tmp_path / "obs.parquet",
                "--data", f"0={tmp_path / '0.parquet'}", "--data", f"1={tmp_path / '1.parquet'}",
                "--n-boot", "0", "--out", tmp_path / "m.json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "m.json").read_text())["estimator"]["actions"] == ["0", "1"]


@pytest.mark.parametrize("bad", ["tv+radio", "+tv", "tv+"])
def test_a_plus_in_an_action_name_is_refused_up_front(tmp_path, bad):
    table().rename(columns={"tv": bad}).to_csv(tmp_path / "obs.csv", index=False)
    refused(["fit", "--outcome", "sales", "--data", tmp_path / "obs.csv", "--n-boot", "0",
             "--out", tmp_path / "m.json"], rf"action name '{__import__('re').escape(bad)}' "
            r"contains '\+'.*rename", tmp_path)  # fmt: skip


def test_a_plus_in_a_spec_action_name_is_refused(work):
    spec = json.loads((work / "spec.json").read_text())
    spec["actions"][0] = "tv+radio"
    (work / "plus.json").write_text(json.dumps(spec))
    refused(["simulate", "--scm", work / "plus.json", "--out", work / "s.csv"],
            r"actions\[0\]: 'tv\+radio' contains '\+'", work)  # fmt: skip


@pytest.mark.parametrize("bad", ["obs", "Observational", "all"])
def test_action_names_that_are_regime_names_are_refused(tmp_path, bad):
    table().rename(columns={"tv": bad}).to_csv(tmp_path / "obs.csv", index=False)
    refused(["fit", "--outcome", "sales", "--data", tmp_path / "obs.csv", "--out",
             tmp_path / "m.json"], rf"action name '{bad}' is also the name of a regime",
            tmp_path)  # fmt: skip


def test_spaces_after_the_commas_of_a_header_are_dropped(work):
    text = (work / "queries.csv").read_text().replace(",", ", ")
    (work / "q.csv").write_text(text)
    done = run(["predict", "--model", work / "model.json", "--at", work / "q.csv", "--out",
                work / "p.csv"])  # fmt: skip
    assert done.exit_code == 0, done.output
