"""``jointeffects optimize`` and ``report --budget``: plan files, and clean refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import data_args, refused, run
from jointeffects.cli.optimize import NO_INTERVALS
from jointeffects.estimate.decisions import support_ranges
from jointeffects.estimate.modelfile.format import load_model
from jointeffects.simulate.examples import CHANNELS


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The marketing example fitted with the structured estimator (sandwich uncertainty)."""
    folder = tmp_path_factory.mktemp("optimize")
    result = run(["example", "marketing", "--out", folder / "ex", "--rows", 600, "--seed", 1])
    assert result.exit_code == 0, result.output
    data = ["--data", folder / "ex" / "obs.csv"]
    data += [x for c in CHANNELS for x in ("--data", f"{c}={folder / 'ex' / (c + '.csv')}")]
    path = folder / "model.json"
    result = run(["fit", "--outcome", "sales", *data, "--estimator", "structured",
                  "--n-boot", 0, "--out", path])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture()
def work(model: Path, tmp_path: Path) -> Path:
    (tmp_path / "model.json").write_bytes(model.read_bytes())
    return tmp_path


def optimize(work: Path, *args: object, out: str = "plan.csv") -> tuple[pd.DataFrame, str]:
    result = run(["optimize", "--model", work / "model.json", *args, "--out", work / out])
    assert result.exit_code == 0, (result.output, result.exception)
    table = pd.read_csv(work / out) if out.endswith(".csv") else pd.read_parquet(work / out)
    return table, result.output


def test_plan_spends_the_budget_within_the_support(work: Path) -> None:
    plan, output = optimize(work, "--budget", 12)
    assert plan["spend"].sum() == pytest.approx(12, rel=1e-6)
    assert list(plan["action"]) == list(CHANNELS)
    support = support_ranges(load_model(work / "model.json").diagnostics)
    for row in plan.itertuples():
        lo, hi = support[row.action]
        assert lo - 1e-9 <= row.recommended <= hi + 1e-9
        assert (row.lower_bound, row.upper_bound) == pytest.approx((lo, hi))
    assert not plan["outside_support"].any()
    assert "observational medians stored in the model, scaled to spend the budget 12" in output
    assert "90% interval" in output and "probability the plan beats" in output
    assert NO_INTERVALS not in output


def test_bounds_costs_and_fix_are_respected(work: Path) -> None:
    plan, output = optimize(work, "--budget", 14, "--bounds", "tv=3:4,search=1.5:3",
                            "--cost", "search=2", "--fix", "email=1.5",
                            out="plan.parquet")  # fmt: skip
    rows = plan.set_index("action")
    assert (rows["cost"] * rows["recommended"]).sum() == pytest.approx(14, rel=1e-6)
    assert rows["spend"].sum() == pytest.approx(14, rel=1e-6)
    assert 3 - 1e-9 <= rows.loc["tv", "recommended"] <= 4 + 1e-9
    assert 1.5 - 1e-9 <= rows.loc["search", "recommended"] <= 3 + 1e-9
    assert rows.loc["email", "recommended"] == pytest.approx(1.5)
    assert rows.loc["email", "fixed"] and not rows.loc["tv", "fixed"]
    assert rows.loc["search", "cost"] == 2


def test_value_plan_and_explicit_current(work: Path) -> None:
    current = "tv=4,search=2.5,social=3,email=1.2"
    plan, output = optimize(work, "--value", 5, "--current", current)
    assert plan["current"].tolist() == [4, 2.5, 3, 1.2]
    assert "at value 5 per unit" in output and "observational medians" not in output
    pd.DataFrame([{"tv": 4, "search": 2.5, "social": 3, "email": 1.2}]).to_csv(
        work / "current.csv", index=False
    )
    same, _ = optimize(work, "--value", 5, "--current", work / "current.csv", out="p2.csv")
    pd.testing.assert_frame_equal(plan, same)


def test_model_without_uncertainty_says_so(inputs: Path, tmp_path: Path) -> None:
    result = run(["optimize", "--model", inputs / "model.json", "--budget", 0.5,
                  "--out", tmp_path / "plan.csv"])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert NO_INTERVALS in result.output and "interval " not in result.output
    assert pd.read_csv(tmp_path / "plan.csv")["spend"].sum() == pytest.approx(0.5, rel=1e-6)


def test_report_with_budget_has_a_plan_section(work: Path) -> None:
    result = run(["report", "--model", work / "model.json", "--out", work / "plain.html"])
    assert result.exit_code == 0, result.output
    assert "Budget plan" not in (work / "plain.html").read_text()
    result = run(["report", "--model", work / "model.json", "--budget", 12, "--cost", "tv=2",
                  "--bounds", "search=1.5:3", "--out", work / "r.html"])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (work / "r.html").read_text()
    assert "<h2>Budget plan</h2>" in page and "recommended" in page
    assert "expected outcome" in page and "scaled to spend the budget 12" in page
    assert "pass --current" not in page


BAD = {
    "unknown channel in --bounds": (["--budget", 12, "--bounds", "radio=0:5"], r"unknown.*radio"),
    "unknown channel in --cost": (["--budget", 12, "--cost", "radio=2"], r"unknown.*radio"),
    "unknown channel in --fix": (["--budget", 12, "--fix", "radio=2"], r"unknown.*radio"),
    "unknown channel in --current": (
        ["--budget", 12, "--current", "tv=4,search=2.5,social=3,email=1,radio=2"],
        r"unknown.*radio",
    ),
    "incomplete --current": (["--budget", 12, "--current", "tv=4"], r"lacks action"),
    "bounds without a colon": (["--budget", 12, "--bounds", "tv=0-5"], r"NAME=LOW:HIGH"),
    "bounds without a name": (["--budget", 12, "--bounds", "0:5"], r"NAME=VALUE"),
    "bounds not numbers": (["--budget", 12, "--bounds", "tv=a:b"], r"not a number"),
    "bounds reversed": (["--budget", 12, "--bounds", "tv=5:3"], r"exceeds the high end"),
    "cost not positive": (["--budget", 12, "--cost", "tv=0"], r"must be positive"),
    "both budget and value": (["--budget", 12, "--value", 5], r"exactly one of --budget"),
    "neither budget nor value": ([], r"exactly one of --budget"),
    "budget too large": (["--budget", 1000], r"cannot be spent within the bounds"),
    "budget too small": (["--budget", 0.1], r"cannot be spent within the bounds"),
    "bounds outside the support": (
        ["--budget", 12, "--bounds", "tv=0:50"],
        r"outside the support.*--extrapolate",
    ),
    "fix outside the support": (["--budget", 12, "--fix", "tv=40"], r"outside the support"),
    "quantile without replicates": (["--budget", 12, "--quantile", 0.1], r"bootstrap replicates"),
    "quantile out of range": (["--budget", 12, "--quantile", 1.5], r"quantile"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_request_is_refused(work: Path, case: str) -> None:
    args, match = BAD[case]
    refused(["optimize", "--model", work / "model.json", *args, "--out", work / "plan.csv"],
            match, work)  # fmt: skip


@pytest.mark.parametrize(
    ("out", "match"),
    [("model.json", r"must end in \.csv"), ("plan.txt", r"must end in \.csv"),
     ("missing/plan.csv", r"does not exist")],
)  # fmt: skip
def test_bad_output_path_is_refused(work: Path, out: str, match: str) -> None:
    refused(["optimize", "--model", work / "model.json", "--budget", 12, "--out", work / out],
            match, work)  # fmt: skip


def test_output_equal_to_the_current_file_is_refused(work: Path) -> None:
    current = work / "current.csv"
    pd.DataFrame([{"tv": 4, "search": 2.5, "social": 3, "email": 1.2}]).to_csv(current, index=False)
    refused(["optimize", "--model", work / "model.json", "--budget", 12, "--current", current,
             "--out", current], r"same file as the input --current", work)  # fmt: skip


def test_extrapolate_allows_wider_bounds_and_flags_them(work: Path) -> None:
    plan, _ = optimize(work, "--budget", 12, "--bounds", "email=0:5", "--extrapolate")
    rows = plan.set_index("action")
    assert rows.loc["email", "upper_bound"] == 5
    assert plan["spend"].sum() == pytest.approx(12, rel=1e-6)


def test_report_refuses_a_bad_plan_request(work: Path) -> None:
    refused(["report", "--model", work / "model.json", "--budget", 1000, "--out",
             work / "r.html"], r"cannot be spent", work)  # fmt: skip
    refused(["report", "--model", work / "model.json", "--cost", "radio=1", "--budget", 12,
             "--out", work / "r.html"], r"unknown.*radio", work)  # fmt: skip
    refused(["report", "--model", work / "model.json", "--bounds", "tv=1:2", "--out",
             work / "r.html"], r"give --budget", work)  # fmt: skip


def test_quantile_plan_with_bootstrap_replicates(inputs: Path, tmp_path: Path) -> None:
    model = tmp_path / "boot.json"
    result = run(["fit", "--outcome", "sales", *data_args(inputs), "--n-boot", 3,
                  "--out", model])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run(["optimize", "--model", model, "--budget", 0.5, "--quantile", 0.1,
                  "--out", tmp_path / "plan.csv"])  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "+quantile)" in result.output and "probability the plan beats" in result.output
    assert pd.read_csv(tmp_path / "plan.csv")["spend"].sum() == pytest.approx(0.5, rel=1e-6)
