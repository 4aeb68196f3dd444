"""``jointeffects fit --lift-tests``: lift-test summaries beside the regime files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import refused, run
from jointeffects import sample_marketing_scm
from jointeffects.estimate import load_model
from jointeffects.simulate.marketing import current_plan


def _tests(scm, channel: str, levels, seed: int = 0) -> pd.DataFrame:
    """Lift tests of ``channel`` from its exact curve, +10 % of its mean spend each."""
    k = scm.actions.index(channel)
    means = np.array(list(current_plan(scm).values()))
    x = means[k] * np.asarray(levels, dtype=float)
    dx = 0.1 * means[k]
    table = np.repeat(means[None, :], 2 * len(x), axis=0)
    table[:, k] = np.concatenate([x, x + dx])
    phi = scm.block_effects(table)[:, k]
    dy = phi[len(x) :] - phi[: len(x)]
    sigma = 0.05 * np.abs(dy).mean()
    noise = np.random.default_rng(seed).normal(0, sigma, len(x))
    return pd.DataFrame(
        {"channel": channel, "x": x, "delta_x": dx, "delta_y": dy + noise, "sigma": sigma}
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """obs/tv/search CSV files of a three-channel marketing SCM ('social' has no experiment
    file) and lift tests of 'social' as CSV and Parquet."""
    out = tmp_path_factory.mktemp("lift")
    scm = sample_marketing_scm(K=3, rng=1)
    scm.sample(600, rng=1).to_csv(out / "obs.csv", index=False)
    for j, channel in enumerate(("tv", "search")):
        scm.sample(600, [channel], rng=2 + j).to_csv(out / f"{channel}.csv", index=False)
    tests = _tests(scm, "social", np.linspace(0.7, 1.2, 6))
    tests.to_csv(out / "lift.csv", index=False)
    tests.to_parquet(out / "lift.parquet")
    return out


def _args(folder: Path, *extra: object) -> list[object]:
    return ["fit", "--outcome", "sales", "--data", folder / "obs.csv",
            "--data", f"tv={folder / 'tv.csv'}", "--data", f"search={folder / 'search.csv'}",
            "--estimator", "structured", *extra]  # fmt: skip


def test_a_channel_without_an_experiment_file_is_fitted_from_its_lift_tests(folder, tmp_path):
    for name in ("lift.csv", "lift.parquet"):
        out = tmp_path / f"{name}.json"
        boot = "0" if name == "lift.csv" else "3"
        result = run(_args(folder, "--lift-tests", folder / name, "--n-boot", boot, "--out", out))
        assert result.exit_code == 0, result.output
        assert "lift tests used: social 6 (only; polynomial curve)" in result.output
        assert "level not identified" in result.output
        saved = load_model(out)
        assert saved.estimator.lift_counts_ == {"social": 6}
        method = "sandwich" if boot == "0" else "bootstrap"
        assert saved.uncertainty is not None and saved.uncertainty.method == method
        assert all(r.lift_counts_ == {"social": 6} for r in saved.uncertainty.replicates or [])


def test_a_declared_hill_curve_is_fitted_with_its_intervals(folder, tmp_path):
    out = tmp_path / "hill.json"
    args = _args(folder, "--lift-tests", folder / "lift.csv", "--lift-shape", "social=hill",
                 "--n-boot", "0")  # fmt: skip
    result = run([*args, "--out", out])
    assert result.exit_code == 0, result.output
    assert "social 6 (only; hill curve)" in result.output
    assert "intervals: sandwich covariance" in result.output
    saved = load_model(out)
    assert set(saved.estimator.hill_) == {"social"}
    queries = pd.read_csv(folder / "obs.csv").drop(columns="sales").iloc[:5]
    table = saved.predict_table(queries, level=0.9)
    assert (table["upper"] > table["lower"]).all()


def _edited(folder: Path, tmp_path: Path, edit) -> Path:
    path = tmp_path / "edited.csv"
    edit(pd.read_csv(folder / "lift.csv")).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.drop(columns="sigma"), r"lack the column\(s\) \['sigma'\]"),
        (lambda t: t.assign(sigma=-1.0), "row 0: sigma is -1; sigma must be positive"),
        (lambda t: t.assign(channel="socal"), "channel 'socal' is not an action.*'social'"),
        (lambda t: t.iloc[:1], r"needs 1 more lift test\(s\) at distinct levels"),
    ],
    ids=["missing-column", "sigma", "unknown-channel", "under-identified"],
)
def test_bad_lift_tables_are_refused_cleanly(folder, tmp_path, edit, match):
    path = _edited(folder, tmp_path, edit)
    refused([*_args(folder, "--lift-tests", path), "--out", tmp_path / "m.json"], match, tmp_path)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (("--estimator", "paper"), "--lift-tests needs --estimator structured"),
        (("--lift-shape", "social"), "--lift-shape 'social' is not CHANNEL=SHAPE"),
        (("--lift-shape", "social=spline"), "lift_shape for 'social' is 'spline'"),
        (("--lift-shape", "tv=hill"), "only channels with lift tests and no experiment"),
    ],
    ids=["estimator", "shape-syntax", "shape-name", "shape-on-experiment"],
)
def test_lift_options_the_fit_cannot_use_are_refused(folder, tmp_path, extra, match):
    args = [*_args(folder, "--lift-tests", folder / "lift.csv"), *extra]
    refused([*args, "--out", tmp_path / "m.json"], match, tmp_path)


def test_a_lift_shape_without_lift_tests_is_refused(folder, tmp_path):
    args = _args(folder, "--lift-shape", "social=hill", "--out", tmp_path / "m.json")
    refused(args, "--lift-shape applies to channels of --lift-tests", tmp_path)
