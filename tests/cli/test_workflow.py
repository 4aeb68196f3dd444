"""End-to-end practitioner workflow on the marketing example: example → fit → predict →
curves → report, plus simulate, all through the click CLI in-process."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from jointeffects.cli.main import main
from jointeffects.estimate.modelfile.format import load_model
from jointeffects.simulate import load_scm
from jointeffects.simulate.examples import CHANNELS, marketing_example

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    folder = tmp_path_factory.mktemp("marketing")
    run("example", "marketing", "--out", folder, "--rows", 600, "--seed", 1)
    return folder


@pytest.fixture(scope="module")
def fitted(example):
    data = ["--data", example / "obs.csv"]
    for channel in CHANNELS:
        data += ["--data", f"{channel}={example / (channel + '.csv')}"]
    model = example / "model.json"
    result = run("fit", "--outcome", "sales", *data, "--validate-with", example / "joint.csv",
                 "--n-boot", 8, "--out", model)  # fmt: skip
    return model, result.output


def test_example_writes_documented_files(example):
    names = {p.name for p in example.iterdir()}
    assert {"spec.json", "README.md", "obs.csv", "joint.csv", "queries.csv"} <= names
    assert {f"{c}.csv" for c in CHANNELS} <= names
    assert load_scm(example / "spec.json") == marketing_example()
    obs = pd.read_csv(example / "obs.csv")
    assert list(obs.columns) == [*CHANNELS, "sales"] and len(obs) == 1500
    assert "--validate-with" in (example / "README.md").read_text()


def test_fit_prints_the_summary_and_writes_a_model(fitted):
    model, output = fitted
    assert "fitted JointEffectEstimator on 4 actions" in output
    for line in ("observational                         1500", "do(tv)", "do(email)"):
        assert line in output
    assert "support (Assumption 1)" in output and "; OK" in output
    relative = float(output.split("(relative ")[1].split(";")[0])
    assert relative < 0.9  # a constant gives 1; measured 0.67-0.81 over example seeds 0-4
    assert (
        "8 bootstrap refits and bias term (learners of degree 4, refitted on each resample) "
        "stored" in output
    )
    assert load_model(model).estimator.n_rows_[()] == 1500


def test_predict_writes_predictions_with_intervals_and_extrapolation(example, fitted):
    model, _ = fitted
    out = example / "predictions.csv"
    result = run("predict", "--model", model, "--at", example / "queries.csv", "--interval",
                 0.9, "--out", out)  # fmt: skip
    table = pd.read_csv(out)
    queries = pd.read_csv(example / "queries.csv")
    columns = ["prediction", "lower", "upper", "trusted", "note", "extrapolation"]
    assert list(table.columns) == [*CHANNELS, *columns]
    assert table[list(CHANNELS)].equals(queries)
    # only the last plan (tv far beyond the data) is outside the common support
    assert table["extrapolation"].tolist() == [False] * (len(table) - 1) + [True]
    assert table["trusted"].tolist() == (~table["extrapolation"]).tolist()
    assert table["note"].iloc[-1] == "extrapolation (outside the common support)"
    assert "1 row(s) outside the common support" in result.output
    assert f"1 of {len(table)} intervals are not trustworthy" in result.output
    assert np.all(table["lower"] <= table["prediction"]) and np.all(
        table["prediction"] <= table["upper"]
    )
    inside = ~table["extrapolation"]
    truth = marketing_example().joint_effect(queries[list(CHANNELS)])
    error = np.abs(table["prediction"] - truth)[inside]
    assert error.max() < 2.5  # sd of the true joint effect is 3.1; measured max 0.63-1.18


def test_predict_ignores_columns_that_are_not_actions_with_a_note(example, fitted):
    model, _ = fitted
    joint = pd.read_csv(example / "joint.csv").head(20)  # the actions and the outcome
    at, out = example / "joint20.csv", example / "joint20-pred.csv"
    joint.to_csv(at, index=False)
    result = run("predict", "--model", model, "--at", at, "--out", out)
    assert "note: ignored columns ['sales']" in result.output
    table = pd.read_csv(out)
    assert "sales" not in table.columns
    direct = load_model(model).estimator.predict(joint[list(CHANNELS)])
    np.testing.assert_allclose(table["prediction"], direct, rtol=1e-12)


def test_predict_mixed_effect_differs_from_the_joint_one(example, fitted):
    model, _ = fitted
    joint, mixed = example / "joint_pred.csv", example / "mixed_pred.csv"
    run("predict", "--model", model, "--at", example / "queries.csv", "--out", joint)
    run("predict", "--model", model, "--at", example / "queries.csv", "--intervened", "tv",
        "--out", mixed)  # fmt: skip
    a, b = pd.read_csv(joint)["prediction"], pd.read_csv(mixed)["prediction"]
    assert "lower" not in pd.read_csv(joint).columns
    assert not np.allclose(a, b)


def test_curves_writes_a_png_and_a_table(example, fitted):
    model, _ = fitted
    png, csv = example / "curves.png", example / "curves.csv"
    result = run("curves", "--model", model, "--truth", example / "spec.json", "--points", 11,
                 "--csv", csv, "--out", png)  # fmt: skip
    assert png.read_bytes().startswith(PNG_MAGIC)
    table = pd.read_csv(csv)
    assert list(dict.fromkeys(table["action"])) == list(CHANNELS)
    assert len(table) == 4 * 11
    assert "tv: effect from" in result.output
    # curves are 0 at the reference point (the observational medians)
    ref = load_model(model).diagnostics.reference
    for action, part in table.groupby("action"):
        at_ref = np.interp(ref[action], part["level"], part["effect_change"])
        assert abs(at_ref) < 0.05 * np.ptp(part["effect_change"])
        assert np.all(part["lower"] <= part["upper"] + 1e-12)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data.strip())
            self._in_h2 = False


def test_report_is_one_self_contained_page(example, fitted):
    model, _ = fitted
    out = example / "report.html"
    result = run("report", "--model", model, "--pair", "tv,search", "--out", out)
    page = out.read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(page)
    assert len(parser.sources) == 3
    for src in parser.sources:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :]).startswith(PNG_MAGIC)
    assert parser.headings == [
        "Data per regime",
        "Support diagnostics",
        "Response curves",
        "Joint effect of tv and search",
        "Assumptions and what was checked",
    ]
    assert "Not contradicted" in page and "http" not in page.replace("http-equiv", "")
    assert "3 embedded figures" in result.output


def test_structured_estimator_stores_bootstrap_or_sandwich_intervals(example, tmp_path):
    data = ["--data", example / "obs.csv"]
    data += [x for c in CHANNELS for x in ("--data", f"{c}={example / (c + '.csv')}")]
    out = tmp_path / "p.parquet"
    model = tmp_path / "structured.json"
    result = run("fit", "--outcome", "sales", *data, "--estimator", "structured", "--degree", 2,
                 "--n-boot", 20, "--out", model)  # fmt: skip
    assert "intervals: 20 bootstrap refits stored" in result.output
    run("predict", "--model", model, "--at", example / "queries.csv", "--interval", 0.8,
        "--out", out)  # fmt: skip
    boot = pd.read_parquet(out)
    assert np.all(boot["upper"] - boot["lower"] > 0)
    assert boot["trusted"].tolist() == (~boot["extrapolation"]).tolist()
    # --n-boot 0: the fast analytic sandwich instead (conditional on the learned structure).
    result = run("fit", "--outcome", "sales", *data, "--estimator", "structured", "--degree", 2,
                 "--n-boot", 0, "--out", model)  # fmt: skip
    # The bias term compares with the fit one degree richer and the one at the next smaller
    # penalty of the grid (CV chose 1e-6 per row here).
    assert "bias term (fits of degree 3 and of penalty 1e-07) stored" in result.output
    assert load_model(model).uncertainty.lighter.alpha_ == pytest.approx(1e-7)
    assert "not checked; pass --validate-with" in result.output
    run("predict", "--model", model, "--at", example / "queries.csv", "--interval", 0.8,
        "--out", out)  # fmt: skip
    table = pd.read_parquet(out)
    assert np.all(table["upper"] - table["lower"] > 0)
    assert np.array_equal(table["prediction"], boot["prediction"])
    assert "specification test passes" in result.output
    assert table["trusted"].tolist() == (~table["extrapolation"]).tolist()
    # A straight line cannot follow the example's saturating curves: the residual test at fit
    # rejects, and every interval of that model is flagged rather than shown as a clean band.
    line = tmp_path / "line.json"
    result = run("fit", "--outcome", "sales", *data, "--estimator", "structured", "--degree", 1,
                 "--psi-degree", 1, "--n-boot", 0, "--out", line)  # fmt: skip
    assert "specification test REJECTS: model misspecified (residual test chi2=" in result.output
    result = run("predict", "--model", line, "--at", example / "queries.csv", "--interval", 0.8,
                 "--out", out)  # fmt: skip
    assert f"{len(table)} of {len(table)} intervals are not trustworthy" in result.output
    assert pd.read_parquet(out)["note"].str.startswith("model misspecified").all()


def test_long_table_with_regime_column(example, tmp_path):
    parts = [pd.read_csv(example / "obs.csv").assign(regime="obs")]
    parts += [pd.read_csv(example / f"{c}.csv").assign(regime=c) for c in ("tv", "email")]
    long = tmp_path / "long.parquet"
    pd.concat(parts).to_parquet(long)
    model = tmp_path / "m.json"
    result = run("fit", "--outcome", "sales", "--data", long, "--regime-col", "regime",
                 "--n-boot", 0, "--out", model)  # fmt: skip
    assert "do(email)" in result.output and "none stored" in result.output
    assert json.loads(model.read_text())["uncertainty"] is None


def test_simulate_draws_the_requested_regime(example, tmp_path):
    out = tmp_path / "block.csv"
    result = run("simulate", "--scm", example / "spec.json", "--regime", "tv+email", "-n", 500,
                 "--seed", 3, "--out", out)  # fmt: skip
    assert "500 rows of the do(tv, email) regime" in result.output
    frame = pd.read_csv(out)
    expected = marketing_example().sample(500, ("tv", "email"), rng=3)
    pd.testing.assert_frame_equal(frame, expected, check_exact=False, rtol=1e-12)


def test_fit_summary_without_a_smaller_penalty_names_the_degree_partner_only():
    # A one-value penalty grid has no smaller penalty: the degree spread alone.
    from jointeffects.cli.fit import _summary
    from jointeffects.estimate import StructuredEstimator
    from jointeffects.estimate.diagnostics import support_diagnostics
    from jointeffects.estimate.uncertainty.fitted import fit_uncertainty
    from jointeffects.estimate.uncertainty.refits import refit, regime_data
    from jointeffects.simulate import sample_linear_scm

    scm = sample_linear_scm(2, 0, n_calibration=5000)
    data = regime_data(
        {r: scm.sample(400, intervened=r, rng=6) for r in [(), *((a,) for a in scm.actions)]}
    )
    est = refit(StructuredEstimator(degrees=(1,), alphas=(1e-6,), random_state=0), data)
    uncertainty = fit_uncertainty(est, data, n_boot=0)
    assert uncertainty.lighter is None
    lines = _summary(est, support_diagnostics(data), uncertainty)
    assert any("sandwich covariance and bias term (fit of degree 2) stored" in x for x in lines)


def test_fit_summary_says_when_mixed_effects_will_be_flagged():
    from dataclasses import replace

    from jointeffects.cli.fit import _summary
    from jointeffects.estimate import JointEffectEstimator
    from jointeffects.estimate.diagnostics import support_diagnostics
    from jointeffects.estimate.uncertainty.fitted import fit_uncertainty
    from jointeffects.estimate.uncertainty.refits import refit, regime_data
    from jointeffects.simulate import sample_linear_scm

    scm = sample_linear_scm(2, 0, n_calibration=5000)
    data = regime_data(
        {r: scm.sample(400, intervened=r, rng=6) for r in [(), *((a,) for a in scm.actions)]}
    )
    est = refit(JointEffectEstimator(), data)
    uncertainty = fit_uncertainty(est, data, n_boot=2, rng=0)
    assert uncertainty.mixed_misfit == ""  # linear-Gaussian: the cubic learners are right
    lines = _summary(est, support_diagnostics(data), uncertainty)
    assert not any("mixed effects" in x for x in lines)
    flagged = replace(uncertainty, mixed_misfit="the per-regime regressions' ...")
    lines = _summary(est, support_diagnostics(data), flagged)
    assert "intervals of mixed effects will be flagged: the per-regime" in lines[-1]


def test_curves_and_report_without_one_experiment(example, tmp_path):
    data = ["--data", example / "obs.csv"]
    for channel in CHANNELS[:-1]:
        data += ["--data", f"{channel}={example / (channel + '.csv')}"]
    model = tmp_path / "partial.json"
    run("fit", "--outcome", "sales", *data, "--n-boot", 4, "--out", model)
    result = run("curves", "--model", model, "--out", tmp_path / "c.png", "--csv",
                 tmp_path / "c.csv")  # fmt: skip
    assert f"no experiment intervenes on ['{CHANNELS[-1]}']" in result.output
    table = pd.read_csv(tmp_path / "c.csv")
    assert list(dict.fromkeys(table["action"])) == list(CHANNELS[:-1])
    assert {"level", "effect_change", "reference_level"} <= set(table.columns)
    run("report", "--model", model, "--out", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert f"no experiment intervenes on [&#x27;{CHANNELS[-1]}&#x27;]" in page
