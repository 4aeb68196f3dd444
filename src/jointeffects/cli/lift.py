"""``jointeffects fit``'s lift-test options: ``--lift-tests FILE`` and ``--lift-shape CH=SHAPE``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from jointeffects.cli.io import read_table
from jointeffects.errors import DataError


def lift_options(func: Any) -> Any:
    """The two options, for the ``fit`` command."""
    func = click.option(
        "--lift-shape",
        "lift_shape",
        multiple=True,
        metavar="CHANNEL=SHAPE",
        help="--lift-tests: the curve of a channel known from lift tests alone, 'polynomial' "
        "[default] or 'hill' (beta·a/(a + kappa), for spend ≥ 0), e.g. tv=hill. Repeatable.",
    )(func)
    return click.option(
        "--lift-tests",
        "lift_tests",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="--estimator structured: a table (CSV or Parquet) of lift tests with the columns "
        "channel, x, delta_x, delta_y, sigma, fitted beside the regimes' rows; a channel "
        "without an experiment file is then known from its tests (up to a constant).",
    )(func)


def parse_shapes(values: Sequence[str]) -> dict[str, str] | None:
    """``("tv=hill", ...)`` as ``{"tv": "hill", ...}`` (None if none given)."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, shape = value.partition("=")
        if not sep or not name.strip() or not shape.strip():
            raise DataError(f"--lift-shape '{value}' is not CHANNEL=SHAPE (e.g. tv=hill)")
        if name.strip() in out:
            raise DataError(f"--lift-shape names '{name.strip()}' twice; give each channel once")
        out[name.strip()] = shape.strip()
    return out or None


def check_lift_options(estimator: str, lift_tests: Path | None, shapes: Sequence[str]) -> None:
    """Refuse lift options the estimator cannot use."""
    if lift_tests is None and shapes:
        raise DataError("--lift-shape applies to channels of --lift-tests; pass --lift-tests")
    if lift_tests is not None and estimator != "structured":
        raise DataError(
            f"--lift-tests needs --estimator structured (the estimator that fits lift tests), "
            f"got --estimator {estimator}"
        )


def read_lift_tests(path: Path | None) -> Any:
    """The lift tests' table (validated by the fit), or None."""
    return None if path is None else read_table(path)
