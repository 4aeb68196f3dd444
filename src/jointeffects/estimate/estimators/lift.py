"""Lift tests: summaries of experiments, validated once and turned into rows of the fit.

A lift test on channel k reports Δy = φ_k(x + Δx) − φ_k(x) with standard error σ, the
other channels held at their planned levels (under the additive model the difference does
not depend on them). :func:`lift_table` checks a table of such tests at the boundary;
:func:`difference_rows` gives their rows in a design's coordinates and
:func:`check_identified` refuses a channel whose tests cannot pin down its curve.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError, IdentificationError

#: The columns of a table of lift tests, in order.
LIFT_COLUMNS = ("channel", "x", "delta_x", "delta_y", "sigma")

#: The shapes a lift-only channel's curve may be declared to have.
SHAPES = ("polynomial", "hill")


def _suggest(name: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def lift_table(lift_tests: Any, actions: Sequence[str]) -> pd.DataFrame:
    """Validate lift tests: a DataFrame (or mapping of columns) with exactly the columns
    ``channel, x, delta_x, delta_y, sigma``.

    Parameters
    ----------
    lift_tests : DataFrame or mapping of str to array-like
        One row per test: the channel, its level ``x`` before the test, the change
        ``delta_x``, the measured change of the outcome ``delta_y`` and its standard error
        ``sigma``.
    actions : sequence of str
        The fit's actions; every channel must be one of them.

    Returns
    -------
    DataFrame
        The tests with the columns in order, channels as str and numbers as float, indexed
        0..n-1.

    Raises
    ------
    DataError
        Naming the bad column or row: a missing or unknown column, no rows, an unknown
        channel, a non-finite value, ``sigma`` ≤ 0 or ``delta_x`` = 0.

    Notes
    -----
    :meth:`StructuredEstimator.fit <jointeffects.StructuredEstimator.fit>` calls this on
    its ``lift_tests``; call it directly to check a table before fitting. Read more in the
    :ref:`user guide <lift-tests>`.
    """
    if isinstance(lift_tests, pd.DataFrame):
        frame = lift_tests
    elif isinstance(lift_tests, Mapping):
        try:
            frame = pd.DataFrame({str(k): v for k, v in lift_tests.items()})
        except ValueError as exc:
            raise DataError(f"lift tests: the columns cannot form a table ({exc})") from None
    else:
        raise DataError(
            f"lift tests must be a DataFrame or a mapping of columns, got "
            f"{type(lift_tests).__name__}; the columns are {list(LIFT_COLUMNS)}"
        )
    names = [str(c) for c in frame.columns]
    missing = [c for c in LIFT_COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"lift tests lack the column(s) {missing}; the columns are {list(LIFT_COLUMNS)}"
        )
    extra = [c for c in names if c not in LIFT_COLUMNS]
    if extra:
        raise DataError(
            f"lift tests have unknown column(s) {extra}; the columns are exactly "
            f"{list(LIFT_COLUMNS)}"
        )
    if len(frame) == 0:
        raise DataError("lift tests: the table has no rows; give at least one test")
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame({"channel": [str(c) for c in frame["channel"]]})
    for row, channel in enumerate(out["channel"]):
        if channel not in actions:
            raise DataError(
                f"lift test row {row}: channel '{channel}' is not an action"
                f"{_suggest(channel, actions)}; actions are {list(actions)}"
            )
    for column in LIFT_COLUMNS[1:]:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            value = frame[column].iloc[bad[0]]
            shown = repr(value) if isinstance(value, str) else str(value)
            raise DataError(
                f"lift test row {bad[0]}: {column} is {shown}; every {column} must be a finite "
                "number"
            )
        out[column] = values
    for column, ok, what in (
        ("sigma", out["sigma"] > 0, "must be positive (the test's standard error)"),
        ("delta_x", out["delta_x"] != 0, "must not be 0 (a test changes the level)"),
    ):
        bad = np.flatnonzero(~ok.to_numpy())
        if len(bad):
            raise DataError(
                f"lift test row {bad[0]}: {column} is {out[column].iloc[bad[0]]:g}; {column} {what}"
            )
    return out


def lift_shapes(shape: Any, lift_only: Sequence[str], actions: Sequence[str]) -> dict[str, str]:
    """The declared shape of each lift-only channel ("polynomial" unless declared).

    ``shape`` is None, one shape for every lift-only channel, or ``{channel: shape}``.
    """
    if shape is None:
        return {a: "polynomial" for a in lift_only}
    given = {a: shape for a in lift_only} if isinstance(shape, str) else dict(shape)
    for name, kind in given.items():
        if name not in actions:
            raise DataError(
                f"lift_shape names '{name}', which is not an action{_suggest(name, actions)}; "
                f"actions are {list(actions)}"
            )
        if kind not in SHAPES:
            raise DataError(f"lift_shape for '{name}' is {kind!r}; shapes are {list(SHAPES)}")
        if kind != "polynomial" and name not in lift_only:
            raise DataError(
                f"lift_shape declares a {kind} curve for '{name}', but only channels with lift "
                f"tests and no experiment take a declared shape; lift-only channels are "
                f"{list(lift_only)}"
            )
    return {a: str(given.get(a, "polynomial")) for a in lift_only}


def levels(tests: pd.DataFrame) -> list[tuple[float, float]]:
    """The distinct (x, x + delta_x) pairs of some tests, in order."""
    pairs = zip(tests["x"], tests["x"] + tests["delta_x"], strict=True)
    return sorted({(float(a), float(b)) for a, b in pairs})


def _difference_rank(tests: pd.DataFrame, degree: int) -> int:
    """The rank of the tests' differences of the monomials t, …, t^degree (affine changes
    of t keep the span of polynomials without constant, so t is standardised here)."""
    lo = tests["x"].to_numpy()
    hi = lo + tests["delta_x"].to_numpy()
    ends = np.concatenate([lo, hi])
    centre, spread = ends.mean(), ends.std() or 1.0
    powers = np.arange(1, degree + 1)
    D = ((hi[:, None] - centre) / spread) ** powers - ((lo[:, None] - centre) / spread) ** powers
    return int(np.linalg.matrix_rank(D, tol=1e-9 * max(1.0, np.abs(D).max())))


def check_identified(tests: pd.DataFrame, channel: str, shape: str, degree: int) -> None:
    """Refuse a lift-only channel whose tests cannot determine its curve's free parameters:
    ``degree`` for a polynomial without constant, two for a Hill curve."""
    mine = tests[tests["channel"] == channel]
    have = levels(mine)
    if shape == "hill":
        need, rank, what = 2, len(have), "the 2 parameters of its Hill curve"
        if (mine["x"] < 0).any() or (mine["x"] + mine["delta_x"] < 0).any():
            raise DataError(
                f"lift tests of '{channel}' reach negative levels; a Hill curve is for spend ≥ 0"
            )
    else:
        need, rank = degree, _difference_rank(mine, degree)
        what = f"the {degree} coefficients of a degree-{degree} response curve"
    if rank < need:
        more = need - rank
        alternative = (
            "declare a shape, e.g. lift_shape={'" + channel + "': 'hill'}, or lower the "
            "candidate degrees"
            if shape != "hill"
            else "use fewer parameters"
        )
        raise IdentificationError(
            f"channel '{channel}' has lift tests but no experiment, at the levels (x, x + "
            f"delta_x) {[(round(a, 6), round(b, 6)) for a, b in have]}, which determine {rank} "
            f"of {what}: it needs {more} more lift test(s) at distinct levels; or {alternative}"
        )


def difference_rows(
    design: Any,
    x_mean: np.ndarray,
    x_scale: np.ndarray,
    actions: Sequence[str],
    n_units: int,
    tests: pd.DataFrame,
) -> np.ndarray:
    """Each test's row Z(x + Δx) − Z(x) of ``design`` (shape (n_tests, n_columns)): the
    tested channel's φ columns, exact zeros elsewhere (the other actions are held at their
    observational means in both points, every unit intervened)."""
    index = [list(actions).index(c) for c in tests["channel"]]
    rows = np.arange(len(tests))
    lo = np.tile(np.asarray(x_mean, dtype=float), (len(tests), 1))
    hi = lo.copy()
    lo[rows, index] = tests["x"].to_numpy()
    hi[rows, index] = tests["x"].to_numpy() + tests["delta_x"].to_numpy()
    R = np.ones((len(tests), n_units))
    return design.matrix((hi - x_mean) / x_scale, R) - design.matrix((lo - x_mean) / x_scale, R)


def lift_gram(rows: np.ndarray, tests: pd.DataFrame, weights: np.ndarray, cv: int) -> np.ndarray:
    """The weighted Gram matrices of the tests' rows [0, z, Δy] per CV fold: shape
    (cv, p + 2, p + 2), to add to the raw rows' fold statistics. Each channel's tests are
    dealt to the folds in turn, in their order, so every fold holds some of each."""
    W = np.column_stack([np.zeros(len(rows)), rows, tests["delta_y"].to_numpy()])
    folds = tests.groupby("channel", sort=False).cumcount().to_numpy() % cv
    stats = np.zeros((cv, W.shape[1], W.shape[1]))
    for f in range(cv):
        part = folds == f
        stats[f] = (W[part] * weights[part, None]).T @ W[part]
    return stats


def lift_channels(
    tests: pd.DataFrame | None,
    blocks: Sequence[tuple[str, ...]],
    actions: Sequence[str],
    shape: Any,
    degree: int,
    check: bool = True,
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The channels known from lift tests alone (in action order) and their shapes.

    Refuses tests on a channel of a block experiment (its curve depends on the block's other
    actions) and, with ``check``, lift-only channels that the tests do not identify at the
    largest candidate ``degree`` (see :func:`check_identified`).
    """
    if tests is None:
        if shape is not None and not (isinstance(shape, Mapping) and not shape):
            raise DataError("lift_shape applies to channels with lift tests; none were given")
        return (), {}
    owner = {a: block for block in blocks for a in block}
    tested = set(tests["channel"])
    for channel in tested:
        if channel in owner and len(owner[channel]) > 1:
            raise DataError(
                f"lift tests on '{channel}', which the block experiment {list(owner[channel])} "
                "intervenes on together with other actions; lift tests are for channels with "
                "their own experiment or none"
            )
    lift_only = tuple(a for a in actions if a in tested and a not in owner)
    shapes = lift_shapes(shape, lift_only, actions)
    if check:
        for channel in lift_only:
            check_identified(tests, channel, shapes[channel], degree)
    return lift_only, shapes
