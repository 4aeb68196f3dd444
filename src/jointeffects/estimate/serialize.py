"""Model files: fitted estimators as schema-versioned JSON (``jointeffects.model/1``), never pickle.

A file holds the action names, the outcome, the regimes with their row counts, the
estimator's kind and hyper-parameters, every learner's coefficients and input scaling (all a
prediction needs, so a loaded model predicts bit-identically), the assumption diagnostics,
optional uncertainty (bootstrap refits or a sandwich covariance) and the package version,
sealed by a SHA-256 checksum of the content. :func:`load_model` checks every field's presence,
type and shape, then the checksum, and names the first bad field.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.errors import DataError
from jointeffects.estimate.baselines import JointTopline, ObservationalBaseline, PooledBaseline
from jointeffects.estimate.basis import GatedDesign
from jointeffects.estimate.data import RegimeData, query_array
from jointeffects.estimate.diagnostics import SUPPORT_COLUMNS, VALIDATION_COLUMNS, Diagnostics
from jointeffects.estimate.intervals import check_level, refit, resample_rows
from jointeffects.estimate.joint import JointEffectEstimator
from jointeffects.estimate.polystats import PolynomialStats, binomial_map
from jointeffects.estimate.ridge import PolynomialRidgeCV
from jointeffects.estimate.structured import StructuredEstimator

FORMAT = "jointeffects.model/1"
_SINGLE = {c.__name__: c for c in (ObservationalBaseline, PooledBaseline, JointTopline)}
KINDS = ("JointEffectEstimator", *_SINGLE, "StructuredEstimator")


def _package_version() -> str:
    try:
        return version("jointeffects")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


# -- writing ----------------------------------------------------------------------------------


def _floats(a: Any) -> Any:
    return np.asarray(a, dtype=float).tolist()


def _learner_state(learner: Any) -> dict[str, Any]:
    if type(learner) is not PolynomialRidgeCV:
        raise DataError(
            f"learner {type(learner).__name__} cannot be written to a JSON model file; use "
            "PolynomialRidgeCV (the default, any degree) with the paper's estimator or a "
            "baseline, or the StructuredEstimator"
        )
    template = learner._template
    return {
        "kind": "PolynomialRidgeCV",
        "params": {
            "degree": int(learner.degree),
            "alphas": _floats(np.ravel(learner.alphas)),
            "cv": int(learner.cv),
            "chunk_size": int(learner.chunk_size),
        },
        "alpha": float(learner.alpha_),
        "center": _floats(template.center),
        "scale": _floats(template.scale),
        "v": _floats(learner._v),
        "b": float(learner._b),
        "cv_scores": _floats(learner.cv_scores_),
    }


def estimator_state(est: Any) -> dict[str, Any]:
    """The JSON-ready state of a fitted estimator (see the module docstring)."""
    kind = type(est).__name__
    if kind not in KINDS or type(est).__module__.split(".")[0] != "jointeffects":
        raise DataError(f"cannot write a {kind} to a model file; supported are {list(KINDS)}")
    if not hasattr(est, "actions_"):
        raise DataError(f"this {kind} is not fitted yet: call fit(...) first, then save it")
    state: dict[str, Any] = {
        "kind": kind,
        "actions": list(est.actions_),
        "outcome": est.outcome_,
        "regimes": [{"actions": list(r), "rows": int(n)} for r, n in est.n_rows_.items()],
    }
    if kind == "StructuredEstimator":
        design = est.design_
        state["params"] = {
            "degrees": [int(d) for d in est.degrees],
            "alphas": None if est.alphas is None else _floats(np.ravel(est.alphas)),
            "cv": int(est.cv),
            "level": float(est.level),
            "random_state": est.random_state,
        }
        state["structured"] = {
            "blocks": [list(b) for b in est.blocks_],
            "units": [list(u) for u in est.units_],
            "ancestors": {a: list(v) for a, v in est.ancestors_.items()},
            "identified": [unit in est.blocks_ for unit in est.units_],
            "design_degree": int(design.degree),
            "x_mean": _floats(est.x_mean_),
            "x_scale": _floats(est.x_scale_),
            "degree": int(est.degree_),
            "alpha": float(est.alpha_),
            "coef": _floats(est.coef_),
            "intercept": float(est.intercept_),
        }
        return state
    state["params"] = {"random_state": est.random_state}
    if kind == "JointEffectEstimator":
        state["blocks"] = [list(b) for b in est.blocks_]
        state["models"] = [
            {"regime": list(r), "learner": _learner_state(m)} for r, m in est.models_.items()
        ]
    else:
        state["models"] = [{"regime": None, "learner": _learner_state(est.model_)}]
    return state


@dataclass
class Uncertainty:
    """What a saved model needs for intervals: bootstrap refits or a sandwich covariance."""

    method: str  # "bootstrap" or "sandwich"
    replicates: list[Any] | None = None
    covariance: np.ndarray | None = None


def fit_uncertainty(
    estimator: Any,
    data: RegimeData,
    n_boot: int = 100,
    rng: int | np.random.Generator | None = None,
) -> Uncertainty:
    """Intervals for a saved model: the sandwich covariance of a StructuredEstimator, else
    ``n_boot`` refits on rows resampled within each regime (see :mod:`.intervals`)."""
    if isinstance(estimator, StructuredEstimator):
        from jointeffects.estimate.intervals import sandwich_covariance

        return Uncertainty("sandwich", covariance=sandwich_covariance(estimator, data))
    if n_boot < 2:
        raise DataError(f"n_boot={n_boot} must be at least 2 bootstrap replicates")
    generator = np.random.default_rng(rng)
    reps = [refit(estimator, resample_rows(data, generator)) for _ in range(n_boot)]
    return Uncertainty("bootstrap", replicates=reps)


def model_to_dict(
    est: Any, diagnostics: Diagnostics, uncertainty: Uncertainty | None = None
) -> dict[str, Any]:
    """The model file's content, with its checksum."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "package_version": _package_version(),
        "estimator": estimator_state(est),
        "diagnostics": _diagnostics_state(diagnostics),
        "uncertainty": None,
    }
    if uncertainty is not None:
        payload["uncertainty"] = {
            "method": uncertainty.method,
            "replicates": None
            if uncertainty.replicates is None
            else [estimator_state(r)["models"] for r in uncertainty.replicates],
            "covariance": None
            if uncertainty.covariance is None
            else _floats(uncertainty.covariance),
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


def _checksum(payload: dict[str, Any]) -> str:
    body = {k: v for k, v in payload.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def save_model(
    est: Any,
    path: str | os.PathLike[str],
    diagnostics: Diagnostics,
    uncertainty: Uncertainty | None = None,
) -> None:
    """Write a fitted estimator to a JSON model file, atomically (temporary file + rename).

    Parameters
    ----------
    est : JointEffectEstimator, ObservationalBaseline, PooledBaseline, JointTopline or
        StructuredEstimator
        Fitted; learners must be :class:`PolynomialRidgeCV` (others are refused).
    path : path-like
    diagnostics : Diagnostics
        From :func:`~jointeffects.estimate.diagnostics.support_diagnostics`.
    uncertainty : Uncertainty, optional
        From :func:`fit_uncertainty`; needed for intervals of the loaded model.
    """
    text = json.dumps(model_to_dict(est, diagnostics, uncertainty), allow_nan=False)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(f"cannot write model file '{path}': {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


# -- reading ----------------------------------------------------------------------------------


class _Field:
    """A value read from the file together with where it sits, for error messages."""

    def __init__(self, value: Any, where: str) -> None:
        self.value, self.where = value, where

    def _bad(self, wanted: str) -> DataError:
        shown = repr(self.value)
        shown = shown if len(shown) < 60 else shown[:57] + "..."
        return DataError(f"model file field '{self.where}' must be {wanted}, got {shown}")

    def obj(self, required: tuple[str, ...]) -> _Field:
        if not isinstance(self.value, dict):
            raise self._bad("an object")
        missing = [k for k in required if k not in self.value]
        if missing:
            raise DataError(f"model file field '{self.where}' lacks {missing}")
        extra = [k for k in self.value if k not in required]
        if extra:
            raise DataError(f"model file field '{self.where}' has unknown key(s) {extra}")
        return self

    def __getitem__(self, key: str) -> _Field:
        return _Field(self.value[key], f"{self.where}.{key}" if self.where else key)

    def items(self) -> list[_Field]:
        if not isinstance(self.value, list):
            raise self._bad("a list")
        return [_Field(v, f"{self.where}[{i}]") for i, v in enumerate(self.value)]

    def string(self) -> str:
        if not isinstance(self.value, str):
            raise self._bad("a string")
        return self.value

    def strings(self) -> list[str]:
        return [f.string() for f in self.items()]

    def integer(self, minimum: int = 0) -> int:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self._bad(f"an integer >= {minimum}")
        return v

    def number(self) -> float:
        v = self.value
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise self._bad("a finite number")
        return float(v)

    def array(self, shape: tuple[int, ...]) -> np.ndarray:
        try:
            a = np.asarray(self.value, dtype=float)
            ok = a.shape == shape and np.all(np.isfinite(a))
        except (TypeError, ValueError):
            ok = False
        if not ok or _has_bool(self.value):
            raise self._bad(f"finite numbers of shape {shape}")
        return a

    def optional_int(self) -> int | None:
        return None if self.value is None else self.integer()

    def mapping(self, keys: tuple[str, ...]) -> dict[str, float]:
        return {k: self[k].number() for k in self.obj(keys).value}


def _has_bool(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_bool(v) for v in value)
    return isinstance(value, bool)


def _read_learner(f: _Field, n_features: int) -> PolynomialRidgeCV:
    f.obj(("kind", "params", "alpha", "center", "scale", "v", "b", "cv_scores"))
    if f["kind"].string() != "PolynomialRidgeCV":
        raise f["kind"]._bad("'PolynomialRidgeCV'")
    p = f["params"].obj(("degree", "alphas", "cv", "chunk_size"))
    alphas = p["alphas"].array((len(p["alphas"].items()),))
    learner = PolynomialRidgeCV(
        degree=p["degree"].integer(1),
        alphas=alphas,
        cv=p["cv"].integer(2),
        chunk_size=p["chunk_size"].integer(1),
    )
    template = PolynomialStats(
        learner.degree, f["center"].array((n_features,)), f["scale"].array((n_features,))
    )
    n_mono = len(template.powers)
    learner._template = template
    learner._v = f["v"].array((n_mono,))
    learner._b = f["b"].number()
    learner.alpha_ = f["alpha"].number()
    learner.cv_scores_ = f["cv_scores"].array((len(alphas),))
    T, t0 = binomial_map(template.powers, template.center, template.scale)
    learner.coef_ = np.linalg.solve(T.T, learner._v)
    learner.intercept_ = learner._b - float(t0 @ learner.coef_)
    learner.powers_ = template.powers
    learner.n_features_in_ = n_features
    return learner


def _read_regime(f: _Field, actions: list[str]) -> tuple[str, ...]:
    names = tuple(f.strings())
    if any(a not in actions for a in names) or list(names) != [a for a in actions if a in names]:
        raise f._bad(f"action names in the order {actions}")
    return names


def _read_models(f: _Field, est: Any, actions: list[str]) -> None:
    K = len(actions)
    models = {}
    for m in f.items():
        m.obj(("regime", "learner"))
        regime = None if m["regime"].value is None else _read_regime(m["regime"], actions)
        models[regime] = _read_learner(m["learner"], K)
    if isinstance(est, JointEffectEstimator):
        expected = {(), *est.blocks_}
        if set(models) != expected:
            raise f._bad(f"one learner per regime {sorted(expected)}")
        est.models_ = {r: models[r] for r in ((), *est.blocks_)}
    else:
        if list(models) != [None]:
            raise f._bad("one learner with regime null")
        est.model_ = models[None]
    first = next(iter(models.values()))
    est.learner = PolynomialRidgeCV(**first.get_params())


def _read_estimator(f: _Field) -> Any:
    kind = f["kind"].string() if isinstance(f.value, dict) and "kind" in f.value else None
    common = ("kind", "actions", "outcome", "regimes", "params")
    if kind == "JointEffectEstimator":
        f.obj((*common, "blocks", "models"))
    elif kind in _SINGLE:
        f.obj((*common, "models"))
    elif kind == "StructuredEstimator":
        f.obj((*common, "structured"))
    else:
        if kind is None:
            f.obj(common)  # names what is missing
        raise f["kind"]._bad(f"one of {list(KINDS)}")
    actions = f["actions"].strings()
    if not actions or len(set(actions)) != len(actions):
        raise f["actions"]._bad("distinct action names")
    est: Any
    if kind == "StructuredEstimator":
        est = _read_structured(f, actions)
    else:
        p = f["params"].obj(("random_state",))
        cls = JointEffectEstimator if kind == "JointEffectEstimator" else _SINGLE[str(kind)]
        est = cls(random_state=p["random_state"].optional_int())
        if kind == "JointEffectEstimator":
            est.blocks_ = tuple(_read_regime(b, actions) for b in f["blocks"].items())
        _read_models(f["models"], est, actions)
    est.actions_ = tuple(actions)
    est.outcome_ = f["outcome"].string()
    est.n_features_in_ = len(actions)
    est.n_rows_ = {}
    for r in f["regimes"].items():
        r.obj(("actions", "rows"))
        est.n_rows_[_read_regime(r["actions"], actions)] = r["rows"].integer(1)
    return est


def _read_structured(f: _Field, actions: list[str]) -> StructuredEstimator:
    p = f["params"].obj(("degrees", "alphas", "cv", "level", "random_state"))
    alphas = p["alphas"]
    est = StructuredEstimator(
        degrees=tuple(d.integer(1) for d in p["degrees"].items()),
        alphas=None if alphas.value is None else alphas.array((len(alphas.items()),)).tolist(),
        cv=p["cv"].integer(2),
        level=p["level"].number(),
        random_state=p["random_state"].optional_int(),
    )
    s = f["structured"].obj(
        (
            "blocks",
            "units",
            "ancestors",
            "identified",
            "design_degree",
            "x_mean",
            "x_scale",
            "degree",
            "alpha",
            "coef",
            "intercept",
        )
    )
    K, index = len(actions), {a: j for j, a in enumerate(actions)}
    est.blocks_ = tuple(_read_regime(b, actions) for b in s["blocks"].items())
    est.units_ = tuple(_read_regime(u, actions) for u in s["units"].items())
    anc = s["ancestors"].obj(tuple(actions))
    est.ancestors_ = {a: _read_regime(anc[a], actions) for a in actions}
    identified = tuple(bool(x.value) for x in s["identified"].items())
    if len(identified) != len(est.units_) or sorted(a for u in est.units_ for a in u) != sorted(
        actions
    ):
        raise s["units"]._bad("a partition of the actions matching 'identified'")
    units = tuple(tuple(index[a] for a in unit) for unit in est.units_)
    ancestors = tuple(
        tuple(sorted({index[x] for a in unit for x in est.ancestors_[a]} - set(units[u])))
        for u, unit in enumerate(est.units_)
    )
    est.design_ = GatedDesign(units, ancestors, identified, s["design_degree"].integer(1))
    est.degree_ = s["degree"].integer(1)
    keep = int(np.sum(est.design_.degrees <= est.degree_))
    est.coef_ = s["coef"].array((keep,))
    est.intercept_ = s["intercept"].number()
    est.alpha_ = s["alpha"].number()
    est.x_mean_ = s["x_mean"].array((K,))
    est.x_scale_ = s["x_scale"].array((K,))
    est.structure_tests_ = None
    return est


def _frame(f: _Field, columns: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for r in f.items():
        r.obj(columns)
        read: dict[str, Callable[[_Field], Any]] = {
            "action": _Field.string,
            "regime": _Field.string,
            "rows": _Field.integer,
        }
        rows.append({c: read.get(c, _Field.number)(r[c]) for c in columns})
    return pd.DataFrame(rows, columns=list(columns))


def _read_diagnostics(f: _Field, actions: list[str]) -> Diagnostics:
    f.obj(("support", "lower", "upper", "reference", "grid", "warnings", "validation"))
    keys = tuple(actions)
    grid = {a: tuple(f["grid"][a].array((2,)).tolist()) for a in f["grid"].obj(keys).value}
    validation = f["validation"]
    return Diagnostics(
        support=_frame(f["support"], (*SUPPORT_COLUMNS, "overlap")),
        lower=f["lower"].mapping(keys),
        upper=f["upper"].mapping(keys),
        reference=f["reference"].mapping(keys),
        grid=grid,  # type: ignore[arg-type]
        warnings=f["warnings"].strings(),
        validation=None if validation.value is None else _frame(validation, VALIDATION_COLUMNS),
    )


def _read_uncertainty(f: _Field, est: Any) -> Uncertainty | None:
    if f.value is None:
        return None
    f.obj(("method", "replicates", "covariance"))
    method = f["method"].string()
    if method == "sandwich" and isinstance(est, StructuredEstimator):
        p = len(est.coef_) + 1
        return Uncertainty("sandwich", covariance=f["covariance"].array((p, p)))
    if method == "bootstrap" and not isinstance(est, StructuredEstimator):
        reps = []
        for r in f["replicates"].items():
            rep = type(est)(random_state=est.random_state)
            rep.actions_, rep.outcome_ = est.actions_, est.outcome_
            if hasattr(est, "blocks_"):
                rep.blocks_ = est.blocks_
            _read_models(r, rep, list(est.actions_))
            reps.append(rep)
        if len(reps) < 2:
            raise f["replicates"]._bad("at least 2 bootstrap replicates")
        return Uncertainty("bootstrap", replicates=reps)
    raise f["method"]._bad(f"the method of a {type(est).__name__} ('bootstrap' or 'sandwich')")


@dataclass
class SavedModel:
    """A model loaded from a file: the estimator plus what was checked and stored at fit.

    Attributes
    ----------
    estimator : RegimeEstimator
        Fitted; ``predict`` works as on the original.
    diagnostics : Diagnostics
    uncertainty : Uncertainty or None
    package_version : str
        The jointeffects version that wrote the file.
    """

    estimator: Any
    diagnostics: Diagnostics
    uncertainty: Uncertainty | None
    package_version: str

    def predict_table(
        self, X: Any, intervened: Any = None, level: float | None = None, base: Any = None
    ) -> pd.DataFrame:
        """Predictions (and ``lower``/``upper`` at ``level``) at query points X.

        With ``base`` (one query row) the contrast predict(X) − predict(base) is returned.
        """
        est = self.estimator
        points = query_array(X, est.actions_)
        Q = points if base is None else np.vstack([np.reshape(base, (1, -1)), points])
        estimate = est.predict(Q, intervened=intervened)
        if base is not None:
            estimate = estimate[1:] - estimate[0]
        table = pd.DataFrame({"prediction": estimate})
        if level is None:
            return table
        check_level(level)
        u = self.uncertainty
        if u is None:
            raise DataError(
                "this model file holds no uncertainty; refit with --n-boot N (N >= 2) for "
                "intervals, or omit --interval"
            )
        if u.method == "bootstrap":
            assert u.replicates is not None
            draws = np.array([r.predict(Q, intervened=intervened) for r in u.replicates])
            if base is not None:
                draws = draws[:, 1:] - draws[:, :1]
            tail = (1 - level) / 2
            table["lower"], table["upper"] = np.quantile(draws, [tail, 1 - tail], axis=0)
        else:
            from jointeffects.estimate.intervals import linear_rows

            assert u.covariance is not None
            rows = linear_rows(est, Q, intervened)
            if base is not None:
                rows = rows[1:] - rows[:1]
            se = np.sqrt(np.einsum("ij,jk,ik->i", rows, u.covariance, rows))
            half = stats.norm.ppf(0.5 + level / 2) * se
            table["lower"], table["upper"] = estimate - half, estimate + half
        return table


def model_from_dict(payload: Any) -> SavedModel:
    """Validate a model file's parsed JSON and rebuild the model; DataError on any flaw."""
    top = _Field(payload, "")
    if not isinstance(payload, dict):
        raise top._bad("a JSON object (a jointeffects model file)")
    fmt = payload.get("format")
    if fmt != FORMAT:
        raise DataError(
            f"model file format {fmt!r} is not {FORMAT!r}; this jointeffects "
            f"{_package_version()} reads {FORMAT} files written by 'jointeffects fit'"
        )
    top.obj(("format", "package_version", "estimator", "diagnostics", "uncertainty", "checksum"))
    est = _read_estimator(top["estimator"])
    diagnostics = _read_diagnostics(top["diagnostics"], list(est.actions_))
    uncertainty = _read_uncertainty(top["uncertainty"], est)
    if top["checksum"].string() != _checksum(payload):
        raise DataError(
            "model file checksum does not match its content: the file was modified after "
            "'jointeffects fit' wrote it; refit the model"
        )
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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"model file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read model file '{path}': {exc}") from None

    def refuse(token: str) -> None:
        raise DataError(f"model file '{path}' holds {token}, which is not valid JSON")

    try:
        payload = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"model file '{path}' is not valid JSON (truncated or edited?): {exc}"
        ) from None
    return model_from_dict(payload)
