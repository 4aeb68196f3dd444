"""Model files: fitted estimators as schema-versioned JSON (``jointeffects.model/8``), never pickle.

A file holds the action names, the outcome, the regimes with their row counts, the
estimator's kind and hyper-parameters, every learner's coefficients and input scaling (all a
prediction needs, so a loaded model predicts bit-identically), the assumption diagnostics,
optional uncertainty (bootstrap refits, or a sandwich covariance with its bias term) and the
package version, sealed by a SHA-256 checksum of the content. :func:`load_model` checks
every field's presence, type and shape, then the checksum, and names the first bad field.

This module is the save/load API and the file's outer layer; the parts live in
:mod:`.estimators` (an estimator, whose own state its class writes),
:mod:`.uncertainty` (what intervals need) and :mod:`.saved` (the loaded :class:`SavedModel`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from jointeffects.errors import DataError
from jointeffects.estimate.diagnostics import (
    SUPPORT_COLUMNS,
    VALIDATION_COLUMNS,
    Diagnostics,
    support_diagnostics,
)
from jointeffects.estimate.modelfile.estimators import estimator_state, read_estimator
from jointeffects.estimate.modelfile.saved import SavedModel
from jointeffects.estimate.modelfile.uncertainty import (
    KEYS_BY_FORMAT,
    read_uncertainty,
    uncertainty_state,
)
from jointeffects.estimate.uncertainty.fitted import Uncertainty, fit_uncertainty
from jointeffects.estimate.uncertainty.refits import regime_data
from jointeffects.fileio import write_text
from jointeffects.jsonfield import Field, parse_json

__all__ = [
    "FORMAT",
    "READABLE",
    "SavedModel",
    "Uncertainty",
    "estimator_state",
    "fit_uncertainty",
    "load_model",
    "model_from_dict",
    "model_to_dict",
    "save_model",
]

#: Format 8 (this version) adds the structured model's lift tests per channel, declared
#: shapes and Hill curves; format 7 its own ψ degree; format 6 the verdict of the
#: regressions' misfit tests, which flags mixed effects (``mixed_misfit``; files written
#: before the extension test joined the binned residual test hold the binned test's verdict
#: alone); format 5 the structured sandwich's penalty
#: neighbour (``lighter``); format 4 allowed whole structured models as bootstrap replicates,
#: format 3 added the richer learners' bootstrap refits (``partner_replicates``), format 2 the
#: structured model's degree neighbour and specification verdict. Files of formats 3 to 7
#: are read (with what was computed then: a sandwich band from formats 3 and 4 has the degree
#: spread only, mixed effects from formats 3 to 5 carry no misfit flag); older files are
#: refused with a request to refit.
READABLE = tuple(KEYS_BY_FORMAT)
FORMAT = READABLE[-1]  # "jointeffects.model/8"

#: Largest model file read: parsing JSON takes several times its size in memory.
MAX_FILE_BYTES = 2**30

_TOP = ("format", "package_version", "estimator", "diagnostics", "uncertainty", "checksum")
_DIAGNOSTICS = ("support", "lower", "upper", "reference", "grid", "warnings", "validation")


def _package_version() -> str:
    try:
        return version("jointeffects")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def _checksum(payload: dict[str, Any]) -> str:
    body = {k: v for k, v in payload.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- writing ----------------------------------------------------------------------------------


def model_to_dict(
    est: Any, diagnostics: Diagnostics, uncertainty: Uncertainty | None = None
) -> dict[str, Any]:
    """The model file's content, with its checksum."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "package_version": _package_version(),
        "estimator": estimator_state(est),
        "diagnostics": _diagnostics_state(diagnostics),
        "uncertainty": uncertainty_state(uncertainty),
    }
    payload["checksum"] = _checksum(payload)
    return payload


def _diagnostics_state(d: Diagnostics) -> dict[str, Any]:
    def records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
        if frame is None:
            return None
        rows = frame.to_dict(orient="records")  # exact floats, unlike to_json
        return [{k: v.item() if hasattr(v, "item") else v for k, v in r.items()} for r in rows]

    return {
        "support": records(d.support),
        "lower": d.lower,
        "upper": d.upper,
        "reference": d.reference,
        "grid": {a: list(v) for a, v in d.grid.items()},
        "warnings": list(d.warnings),
        "validation": records(d.validation),
    }


def save_model(
    est: Any,
    path: str | os.PathLike[str],
    diagnostics: Diagnostics | None = None,
    uncertainty: Uncertainty | None = None,
    *,
    data: Any = None,
) -> None:
    """Write a fitted estimator to a JSON model file, atomically (temporary file + rename).

    Parameters
    ----------
    est : JointEffectEstimator, ObservationalBaseline, PooledBaseline, JointTopline or
        StructuredEstimator
        Fitted; learners must be :class:`PolynomialRidgeCV` (others are refused).
    path : path-like
        The model file to write.
    diagnostics : Diagnostics, optional
        The support diagnostics of the training data
        (:func:`~jointeffects.support_diagnostics`); computed from ``data`` when not given.
        A loaded model flags queries outside the support they record.
    uncertainty : Uncertainty, optional
        From :func:`~jointeffects.fit_uncertainty`; needed for intervals of the loaded model.
    data : dict or RegimeData, optional
        The training data; needed when ``diagnostics`` is not given.

    Examples
    --------
    >>> est = JointEffectEstimator().fit(data)                     # doctest: +SKIP
    >>> save_model(est, "model.json", data=data)                   # doctest: +SKIP
    """
    if diagnostics is None:
        if data is None:
            raise DataError(
                "save_model needs the support diagnostics of the training data: pass data= "
                "(the data the estimator was fitted on) or diagnostics="
            )
        diagnostics = support_diagnostics(regime_data(data, getattr(est, "outcome_", "Y")))
    try:
        text = json.dumps(model_to_dict(est, diagnostics, uncertainty), allow_nan=False)
    except DataError:
        raise
    except ValueError:  # NaN or infinity: the fit overflowed
        raise DataError(
            "the fitted model holds infinite or NaN numbers (the data's values are too large "
            "or too collinear); rescale the columns or lower the degree"
        ) from None
    write_text(text + "\n", path)


# -- reading ----------------------------------------------------------------------------------


def _frame(f: Field, columns: tuple[str, ...]) -> pd.DataFrame:
    readers: dict[str, Callable[[Field], Any]] = {
        "action": Field.string,
        "regime": Field.string,
        "rows": Field.integer,
    }
    return pd.DataFrame(f.records(columns, readers), columns=list(columns))


def _read_diagnostics(f: Field, actions: list[str]) -> Diagnostics:
    f.obj(_DIAGNOSTICS)
    keys = tuple(actions)
    grid = {a: tuple(f["grid"][a].array((2,)).tolist()) for a in f["grid"].obj(keys).value}
    validation = f["validation"]
    support = _frame(f["support"], (*SUPPORT_COLUMNS, "overlap"))
    pairs = set(zip(support["regime"], support["action"], strict=True))
    complete = len(pairs) == len(support) == support["regime"].nunique() * len(actions)
    if sorted(set(support["action"])) != sorted(actions) or not complete:
        raise f["support"].bad(f"one row per regime and action, for the actions {actions}")
    return Diagnostics(
        support=support,
        lower=f["lower"].mapping(keys),
        upper=f["upper"].mapping(keys),
        reference=f["reference"].mapping(keys),
        grid=grid,  # type: ignore[arg-type]
        warnings=f["warnings"].strings(),
        validation=None if validation.value is None else _frame(validation, VALIDATION_COLUMNS),
    )


def model_from_dict(payload: Any) -> SavedModel:
    """Validate a model file's parsed JSON and rebuild the model; DataError on any flaw."""
    top = Field(payload, "")
    if not isinstance(payload, dict):
        raise top.bad("a JSON object (a jointeffects model file)")
    fmt = payload.get("format")
    if fmt not in READABLE:
        raise DataError(
            f"model file format {fmt!r} is not {' or '.join(map(repr, READABLE))}; this "
            f"jointeffects {_package_version()} reads those files written by 'jointeffects fit'"
            + (
                "; refit the model from its data"
                if fmt in ("jointeffects.model/1", "jointeffects.model/2")
                else ""
            )
        )
    top.obj(_TOP)
    # the checksum first: an edited file is refused before its fields allocate anything
    try:
        expected = _checksum(payload)
    except (ValueError, RecursionError):  # NaN, or nesting too deep to serialise
        expected = None
    if top["checksum"].string() != expected:
        raise DataError(
            "model file checksum does not match its content: the file was modified after "
            "'jointeffects fit' wrote it; refit the model"
        )
    est = read_estimator(top["estimator"])
    diagnostics = _read_diagnostics(top["diagnostics"], list(est.actions_))
    uncertainty = read_uncertainty(top["uncertainty"], est, fmt)
    return SavedModel(est, diagnostics, uncertainty, top["package_version"].string())


def load_model(path: str | os.PathLike[str]) -> SavedModel:
    """Read and validate a model file written by :func:`save_model`.

    Raises
    ------
    DataError
        If the file is missing, unreadable, not JSON (e.g. truncated), of another format,
        lacks or mistypes a field (the message names it), or fails its checksum.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DataError(
                f"model file '{path}' is {size / 2**30:.1f} GiB, larger than any model file "
                "'jointeffects fit' writes; check the path"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"model file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read model file '{path}': {exc}") from None

    payload = parse_json(
        text,
        f"model file '{path}'",
        "a model file",
        "refit the model",
        hint=" (truncated or edited?)",
        refuse_constants=True,
    )
    return model_from_dict(payload)
