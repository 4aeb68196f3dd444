"""Regime datasets: parsing and validation at the estimators' public boundary.

A *regime* is named by the tuple of actions it intervenes on: ``()`` is the observational
regime, ``("tv",)`` the experiment do(tv), ``("tv", "email")`` a block experiment. Every
estimator turns its input into a :class:`RegimeData` first, so all validation lives here.

Regimes too large to hold are streamed instead (:mod:`.streams`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jointeffects.errors import DataError

Regime = tuple[str, ...]

#: Regime-column values that mean "observational" in a long table.
OBSERVATIONAL_LABELS = frozenset({"", "obs", "observational", "none"})

#: Fewest rows a regime may have; the learner may ask for more (e.g. for its CV folds).
MIN_ROWS = 10

#: Rows per chunk where held rows are worked on a chunk at a time (see :func:`row_chunks`).
ROW_CHUNK = 65_536


def row_chunks(n: int) -> list[slice]:
    """Slices of ``ROW_CHUNK`` consecutive rows covering ``n`` rows (the last one shorter), so
    that the temporaries of work on held rows stay small."""
    return [slice(start, start + ROW_CHUNK) for start in range(0, n, ROW_CHUNK)]


def regime_label(regime: Regime) -> str:
    """Human-readable name of a regime: ``"observational"`` or ``"do(tv, email)"``."""
    return "observational" if not regime else f"do({', '.join(regime)})"


@dataclass(frozen=True)
class RegimeData:
    """Validated data of several regimes over the same actions.

    Attributes
    ----------
    actions : tuple of str
        Action names, in the order of the columns of every ``X``.
    outcome : str
        Name of the outcome.
    regimes : dict
        Maps each regime (tuple of intervened action names, in action order) to a pair
        ``(X, y)`` of float arrays of shapes (n_rows, n_actions) and (n_rows,).
    """

    actions: tuple[str, ...]
    outcome: str
    regimes: dict[Regime, tuple[np.ndarray, np.ndarray]]

    def rows(self, regime: Regime) -> int:
        return len(self.regimes[regime][1])


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_regime_key(key: Any, actions: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Turn a regime key (tuple of names or indices, or a string like ``"tv+email"``) into names.

    Integer entries are taken as indices into ``actions``. The returned tuple is not yet
    checked against the actions; see :func:`as_regime_data`.
    """
    if isinstance(key, str):
        text = key.strip()
        if text.lower() in OBSERVATIONAL_LABELS:
            return ()
        return tuple(part.strip() for part in text.split("+"))
    if not isinstance(key, tuple | list | frozenset | set):
        raise DataError(
            f"regime key {key!r} is neither a tuple of action names nor a string like 'tv+email'"
        )
    names = []
    for item in key:
        if isinstance(item, int | np.integer):
            if actions is None or not 0 <= int(item) < len(actions):
                raise DataError(f"regime key {key!r}: action index {item} is out of range")
            names.append(actions[int(item)])
        else:
            names.append(str(item))
    return tuple(names)


def _finite_array(values: Any, what: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} has non-numeric values; convert them to numbers") from exc
    if array.ndim != ndim:
        raise DataError(f"{what} must be {ndim}-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{what} contains NaN or infinite values; drop or impute those rows")
    return array


def _check_columns(frame: Any, actions: tuple[str, ...], outcome: str, where: str) -> None:
    """Columns present, none extra, all numeric: from a pandas or dask frame's metadata."""
    columns = [str(c) for c in frame.columns]
    expected = set(actions) | {outcome}
    missing = [c for c in (*actions, outcome) if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        hint = "".join(_suggest(m, extra) for m in missing[:1])
        raise DataError(f"{where} lacks column(s) {missing}{hint}; columns are {columns}")
    if extra:
        raise DataError(
            f"{where} has unexpected column(s) {extra}; expected the actions {list(actions)} "
            f"and the outcome '{outcome}'"
        )
    for column in (*actions, outcome):
        dtype = frame[column].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise DataError(f"{where}: column '{column}' is not numeric; convert it to numbers")


def frame_to_arrays(
    frame: pd.DataFrame, actions: tuple[str, ...], outcome: str, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate one table (or chunk) and return its ``(X, y)`` float arrays.

    ``where`` names the table in error messages, e.g. ``"chunk 3 of the data of do(tv)"``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: expected a pandas DataFrame, got {type(frame).__name__}")
    _check_columns(frame, actions, outcome, where)
    X = _finite_array(frame[list(actions)].to_numpy(), f"{where}, actions", 2)
    y = _finite_array(frame[outcome].to_numpy(), f"{where}, column '{outcome}'", 1)
    _check_magnitude(np.column_stack([X, y]), (*actions, outcome), where)
    return X, y


#: Largest magnitude accepted in a data cell: squares and sums of many rows stay finite.
MAX_ABS_VALUE = 1e100


def _check_magnitude(values: np.ndarray, columns: tuple[str, ...], where: str) -> None:
    big = np.abs(values) > MAX_ABS_VALUE
    if big.any():
        row, col = np.argwhere(big)[0]
        raise DataError(
            f"{where}: column '{columns[col]}' has {values[row, col]:.3g} in data row {row + 1}, "
            f"too large to fit (limit {MAX_ABS_VALUE:.0e}); rescale that column (e.g. divide by "
            "a power of ten) or drop the row"
        )


def _split_long_table(frame: pd.DataFrame, regime_col: str) -> dict[Any, pd.DataFrame]:
    if regime_col not in frame.columns:
        raise DataError(
            f"regime column '{regime_col}' not in the table{_suggest(regime_col, frame.columns)}"
        )
    labels = frame[regime_col].fillna("").astype(str)
    return {
        label: part.drop(columns=[regime_col]) for label, part in frame.groupby(labels, sort=False)
    }


def _action_names(columns: Iterable[Any], outcome: str) -> tuple[str, ...]:
    """Action names from a table's columns: all but the outcome, which must be there."""
    names = [str(c) for c in columns]
    if outcome not in names:
        raise DataError(
            f"outcome column '{outcome}' not found{_suggest(outcome, names)}; columns are {names}"
        )
    return tuple(c for c in names if c != outcome)


def _check_action_names(action_names: tuple[str, ...]) -> None:
    if len(action_names) == 0:
        raise DataError("the data has no action columns besides the outcome")
    if len(set(action_names)) != len(action_names):
        raise DataError(f"action names repeat: {list(action_names)}")
    for name in action_names:
        if name.strip().lower() in OBSERVATIONAL_LABELS or name.strip().lower() == "all":
            raise DataError(
                f"action name '{name}' is also the name of a regime (observational data, or "
                "'all' for the joint intervention); rename that column"
            )
        if "+" in name:
            raise DataError(
                f"action name '{name}' contains '+', which joins actions into a block "
                "(tv+email); rename that column"
            )


def _keyed_regimes(
    datasets: Mapping[Any, Any], action_names: tuple[str, ...]
) -> list[tuple[Regime, str, Any]]:
    """``(regime, label, value)`` of each entry, keys checked against the actions."""
    order = {name: j for j, name in enumerate(action_names)}
    out: list[tuple[Regime, str, Any]] = []
    seen: set[Regime] = set()
    for key, value in datasets.items():
        names = parse_regime_key(key, action_names)
        for name in names:
            if name not in order:
                raise DataError(
                    f"regime {key!r} names no action '{name}'{_suggest(name, action_names)}; "
                    f"actions are {list(action_names)}"
                )
        if len(set(names)) != len(names):
            raise DataError(f"regime {key!r} names an action twice")
        regime = tuple(sorted(names, key=order.__getitem__))
        label = regime_label(regime)
        if regime in seen:
            raise DataError(f"regime {label} is given twice (key {key!r}); merge those tables")
        seen.add(regime)
        out.append((regime, label, value))
    return out


def as_regime_data(
    datasets: Mapping[Any, Any] | pd.DataFrame,
    outcome: str = "Y",
    regime_col: str | None = None,
    actions: Iterable[str] | None = None,
) -> RegimeData:
    """Validate regime datasets and convert them to arrays.

    Parameters
    ----------
    datasets : mapping or DataFrame
        Either a mapping from regime key to data, or (with ``regime_col``) one long table.
        A key is a tuple of intervened action names (``()`` observational) or a string such
        as ``"tv+email"`` (``""``/``"obs"`` observational). Values are DataFrames holding
        every action column and the outcome, or ``(X, y)`` array pairs.
    outcome : str, default="Y"
        Name of the outcome column.
    regime_col : str, optional
        Name of the column that labels each row's regime in a long table.
    actions : iterable of str, optional
        Action names for array input (default ``A0, A1, ...``). For DataFrames they come from
        the observational table's columns.

    Returns
    -------
    RegimeData
    """
    if isinstance(datasets, pd.DataFrame):
        if regime_col is None:
            raise DataError(
                "one table was given without regime_col; name the column that labels each "
                "row's regime, or pass a dict {regime: table}"
            )
        datasets = _split_long_table(datasets, regime_col)
    elif regime_col is not None:
        raise DataError("regime_col applies to one long table, not to a dict of tables")
    if not isinstance(datasets, Mapping) or not datasets:
        raise DataError("no data: pass a dict {regime: table} with at least the observational one")

    values = list(datasets.values())
    frames = all(isinstance(v, pd.DataFrame) for v in values)
    if frames:
        first = next((v for k, v in datasets.items() if parse_regime_key(k, None) == ()), values[0])
        action_names = _action_names(first.columns, outcome)
    else:
        pairs = [v for v in values if isinstance(v, tuple) and len(v) == 2]
        if len(pairs) != len(values):
            raise DataError("datasets must all be DataFrames or all be (X, y) array pairs")
        width = np.shape(pairs[0][0])[1] if np.ndim(pairs[0][0]) == 2 else 0
        action_names = (
            tuple(actions) if actions is not None else tuple(f"A{j}" for j in range(width))
        )
    _check_action_names(action_names)
    regimes: dict[Regime, tuple[np.ndarray, np.ndarray]] = {}
    for regime, label, value in _keyed_regimes(datasets, action_names):
        if frames:
            X, y = frame_to_arrays(value, action_names, outcome, f"data of {label}")
        else:
            X = _finite_array(value[0], f"X of {label}", 2)
            y = _finite_array(value[1], f"y of {label}", 1)
            if X.shape[1] != len(action_names):
                raise DataError(
                    f"X of {label} has {X.shape[1]} columns; expected {len(action_names)}"
                )
            if len(X) != len(y):
                raise DataError(f"X and y of {label} differ in length: {len(X)} vs {len(y)}")
        if len(y) < MIN_ROWS:
            raise DataError(
                f"regime {label} has {len(y)} rows; at least {MIN_ROWS} are needed to fit it"
            )
        regimes[regime] = (X, y)
    return RegimeData(actions=action_names, outcome=outcome, regimes=regimes)


def query_array(X: Any, actions: tuple[str, ...]) -> np.ndarray:
    """Validate query points: a DataFrame with exactly the action columns, or an (n, K) array."""
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        missing = [a for a in actions if a not in columns]
        extra = [c for c in columns if c not in actions]
        if missing or extra:
            raise DataError(
                f"query columns {columns} do not match the actions {list(actions)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unexpected {extra}" if extra else "")
            )
        X = X[list(actions)].to_numpy()
    array = _finite_array(X, "query", 2)
    if array.shape[1] != len(actions):
        raise DataError(
            f"query has {array.shape[1]} columns; expected {len(actions)} (the actions "
            f"{list(actions)})"
        )
    return array
