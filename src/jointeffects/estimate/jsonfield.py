"""Schema checks of parsed JSON: a value read from a model file together with where it sits.

Every accessor checks the value's type (and shape) and raises a :class:`DataError` that names
the field (``estimator.models[0].learner.alpha``) and what it must be, so a truncated, edited
or foreign file is refused with a message pointing at its first bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from jointeffects.errors import DataError


class Field:
    """A value read from the file together with where it sits, for error messages."""

    def __init__(self, value: Any, where: str) -> None:
        self.value, self.where = value, where

    def bad(self, wanted: str) -> DataError:
        """The error for this field when it is not ``wanted`` (to raise by the caller)."""
        shown = repr(self.value)
        shown = shown if len(shown) < 60 else shown[:57] + "..."
        return DataError(f"model file field '{self.where}' must be {wanted}, got {shown}")

    def obj(self, required: tuple[str, ...]) -> Field:
        """Check this is an object with exactly the keys ``required``."""
        if not isinstance(self.value, dict):
            raise self.bad("an object")
        missing = [k for k in required if k not in self.value]
        if missing:
            raise DataError(f"model file field '{self.where}' lacks {missing}")
        extra = [k for k in self.value if k not in required]
        if extra:
            raise DataError(f"model file field '{self.where}' has unknown key(s) {extra}")
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

    def integer(self, minimum: int = 0) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.bad(f"an integer >= {minimum}")
        return v

    def optional_int(self) -> int | None:
        return None if self.value is None else self.integer()

    def number(self) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise self.bad("a finite number")
        return float(v)

    def array(self, shape: tuple[int, ...]) -> np.ndarray:
        """Finite numbers (nested lists) of exactly this shape."""
        try:
            a = np.asarray(self.value, dtype=float)
            ok = a.shape == shape and np.all(np.isfinite(a))
        except (TypeError, ValueError):
            ok = False
        if not ok or _has_bool(self.value):
            raise self.bad(f"finite numbers of shape {shape}")
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


def _has_bool(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return isinstance(value, bool)
