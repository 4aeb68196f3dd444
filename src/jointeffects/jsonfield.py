"""Schema checks of parsed JSON: a value read from a model file together with where it sits.

Every accessor checks the value's type (and shape) and raises a :class:`DataError` that names
the field (``estimator.models[0].learner.alpha``) and what it must be, so a truncated, edited
or foreign file is refused with a message pointing at its first bad field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from jointeffects.errors import DataError

#: Largest magnitude of a number in a model file. Data cells are limited to 1e100, so a fitted
#: model's numbers stay far below this; larger ones come from editing, and would predict
#: absurd values or overflow.
MAX_ABS = 1e150


class Field:
    """A value read from the file together with where it sits, for error messages."""

    def __init__(self, value: Any, where: str) -> None:
        self.value, self.where = value, where

    @property
    def name(self) -> str:
        """How messages name the field: ``field 'estimator.alpha'`` or ``top level``."""
        return f"field '{self.where}'" if self.where else "top level"

    def bad(self, wanted: str) -> DataError:
        """The error for this field when it is not ``wanted`` (to raise by the caller)."""
        try:
            shown = repr(self.value)
        except ValueError:  # an integer too long to print
            shown = "a huge integer"
        shown = shown if len(shown) < 60 else shown[:57] + "..."
        return DataError(f"model file {self.name} must be {wanted}, got {shown}")

    def obj(self, required: tuple[str, ...]) -> Field:
        """Check this is an object with exactly the keys ``required``."""
        if not isinstance(self.value, dict):
            raise self.bad("an object")
        missing = [k for k in required if k not in self.value]
        if missing:
            raise DataError(f"model file {self.name} lacks {missing}")
        extra = [k for k in self.value if k not in required]
        if extra:
            raise DataError(
                f"model file {self.name} has unknown key(s) {extra[:5]}; expected exactly "
                f"{list(required)}"
            )
        return self

    def __getitem__(self, key: str) -> Field:
        return Field(self.value[key], f"{self.where}.{key}" if self.where else key)

    def items(self) -> list[Field]:
        """The elements of a list."""
        if not isinstance(self.value, list):
            raise self.bad("a list")
        return [Field(v, f"{self.where}[{i}]") for i, v in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str):
            raise self.bad("a string")
        return self.value

    def strings(self) -> list[str]:
        return [f.string() for f in self.items()]

    def integer(self, minimum: int = 0, maximum: int | None = None) -> int:
        v = self.value
        bad = isinstance(v, bool) or not isinstance(v, int) or v < minimum
        if bad or (maximum is not None and v > maximum):
            raise self.bad(
                f"an integer >= {minimum}"
                if maximum is None
                else f"an integer in [{minimum}, {maximum}]"
            )
        return v

    def optional_int(self) -> int | None:
        return None if self.value is None else self.integer()

    def number(self, positive: bool = False) -> float:
        """A finite number of magnitude at most :data:`MAX_ABS` (``positive``: also > 0)."""
        v = self.value
        try:
            ok = not isinstance(v, bool) and isinstance(v, int | float) and abs(v) <= MAX_ABS
        except OverflowError:
            ok = False
        if not ok or (positive and v <= 0):
            raise self.bad(("a positive" if positive else "a") + f" number up to {MAX_ABS:.0e}")
        return float(v)

    def array(self, shape: tuple[int, ...], positive: bool = False) -> np.ndarray:
        """Finite numbers (nested lists) of exactly this shape, of magnitude at most
        :data:`MAX_ABS` (``positive``: also > 0). The shape is checked before conversion."""
        ok = _has_shape(self.value, shape) and not _has_bool(self.value)
        if ok:
            try:
                a = np.asarray(self.value, dtype=float)
                ok = a.shape == shape and bool(np.all(np.abs(a) <= MAX_ABS))
                ok = ok and (not positive or bool(np.all(a > 0)))
            except (TypeError, ValueError, OverflowError):
                ok = False
        if not ok:
            what = "positive finite" if positive else "finite"
            raise self.bad(f"{what} numbers up to {MAX_ABS:.0e} of shape {shape}")
        return a

    def vector(self) -> np.ndarray:
        """Finite numbers in a flat list of any length."""
        return self.array((len(self.items()),))

    def mapping(self, keys: tuple[str, ...]) -> dict[str, float]:
        """An object with exactly the keys ``keys``, each a finite number."""
        return {k: self[k].number() for k in self.obj(keys).value}

    def records(
        self, columns: tuple[str, ...], readers: dict[str, Callable[[Field], Any]]
    ) -> list[dict[str, Any]]:
        """A list of objects with exactly ``columns``; a column not in ``readers`` holds a
        finite number."""
        rows = []
        for r in self.items():
            r.obj(columns)
            rows.append({c: readers.get(c, Field.number)(r[c]) for c in columns})
        return rows


def _has_shape(value: Any, shape: tuple[int, ...]) -> bool:
    """Nested lists of exactly ``shape`` (checked before numpy allocates anything)."""
    if not shape:
        return not isinstance(value, list | dict)
    if not isinstance(value, list) or len(value) != shape[0]:
        return False
    if len(shape) == 1:
        return not any(isinstance(v, list | dict) for v in value)
    return all(_has_shape(v, shape[1:]) for v in value)


def _has_bool(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return isinstance(value, bool)


def parse_json(
    text: str,
    where: str,
    kind: str,
    advice: str,
    error: type[Exception] = DataError,
    hint: str = "",
    refuse_constants: bool = False,
) -> Any:
    """Parse a user's JSON file, turning every way it can fail into one ``error`` naming
    ``where`` (the file) and ``kind`` (what it should be, with its article: "a model file").

    ``refuse_constants`` also refuses NaN and Infinity, which Python's json accepts.
    """

    def refuse(token: str) -> None:
        raise error(f"{where} holds {token}, which is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse if refuse_constants else None)
    except json.JSONDecodeError as exc:
        raise error(f"{where} is not valid JSON{hint}: {exc}") from None
    except RecursionError:
        raise error(f"{where} nests JSON too deeply to be {kind}; {advice}") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise error(f"{where} is not a usable {kind.split(' ', 1)[1]}: {exc}") from None
