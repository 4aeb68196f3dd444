"""The ``uncertainty`` part of a model file: bootstrap replicates, or the sandwich's
covariance and partners, as JSON and back."""

from __future__ import annotations

from typing import Any

from jointeffects.estimate.learners.state import floats
from jointeffects.estimate.modelfile.estimators import estimator_state, read_estimator
from jointeffects.estimate.uncertainty.fitted import Uncertainty
from jointeffects.jsonfield import Field

_KEYS = (
    "method",
    "replicates",
    "covariance",
    "neighbour",
    "partner_replicates",
    "misfit",
    "lighter",
    "mixed_misfit",
)

#: The keys of each readable format, the current one last (serialize.FORMAT): files of
#: formats 3 and 4 have no "lighter" (their sandwich band has the degree spread only), files
#: of formats 3 to 5 no "mixed_misfit" (their mixed effects are not flagged for the
#: regressions' misfit, as then). Format 7 adds the structured model's own ψ degree (files
#: before it tie ψ's degree to φ's), format 8 its lift tests per channel, declared shapes and
#: Hill curves (files before it hold fits without lift tests).
KEYS_BY_FORMAT = {
    "jointeffects.model/3": _KEYS[:-2],
    "jointeffects.model/4": _KEYS[:-2],
    "jointeffects.model/5": _KEYS[:-1],
    "jointeffects.model/6": _KEYS,
    "jointeffects.model/7": _KEYS,
    "jointeffects.model/8": _KEYS,
}


def uncertainty_state(u: Uncertainty | None) -> dict[str, Any] | None:
    """The JSON-ready state of the uncertainty: each replicate's learners, or the covariance,
    the degree and penalty neighbours and the specification test's note."""
    if u is None:
        return None
    return {
        "method": u.method,
        "replicates": None if u.replicates is None else [_replicate_state(r) for r in u.replicates],
        "covariance": None if u.covariance is None else floats(u.covariance),
        "neighbour": None if u.neighbour is None else estimator_state(u.neighbour),
        "partner_replicates": None
        if u.partner_replicates is None
        else [estimator_state(r)["models"] for r in u.partner_replicates],
        "misfit": u.misfit,
        "lighter": None if u.lighter is None else estimator_state(u.lighter),
        "mixed_misfit": u.mixed_misfit,
    }


def _replicate_state(rep: Any) -> Any:
    """A bootstrap replicate's state: its learners, or the whole structured model (each
    replicate learned its own ancestor sets, degree and alpha)."""
    state = estimator_state(rep)
    return state if rep.capabilities().whole_replicates else state["models"]


def read_uncertainty(f: Field, est: Any, fmt: str) -> Uncertainty | None:
    """Validate the stored uncertainty of the fitted ``est`` (see :func:`uncertainty_state`)
    in a file of format ``fmt`` (older ones lack keys, see :data:`KEYS_BY_FORMAT`)."""
    if f.value is None:
        return None
    keys = KEYS_BY_FORMAT[fmt]
    f.obj(keys)
    method = f["method"].string()
    misfit = f["misfit"].string()
    if method == "sandwich" and est.capabilities().sandwich:
        p = len(est.coef_) + 1
        neighbour = _read_same_kind(f["neighbour"], est)
        stored = f["lighter"] if "lighter" in keys else None
        lighter = None if stored is None or stored.value is None else _read_same_kind(stored, est)
        return Uncertainty(
            "sandwich",
            covariance=f["covariance"].array((p, p)),
            neighbour=neighbour,
            misfit=misfit,
            lighter=lighter,
        )
    if method == "bootstrap":
        reps = _read_replicates(f["replicates"], est)
        if len(reps) < 2:
            raise f["replicates"].bad("at least 2 bootstrap replicates")
        mixed_misfit = f["mixed_misfit"].string() if "mixed_misfit" in keys else ""
        if est.capabilities().whole_replicates or f["neighbour"].value is None:
            return Uncertainty("bootstrap", replicates=reps, mixed_misfit=mixed_misfit)
        neighbour = read_estimator(f["neighbour"])
        if type(neighbour) is not type(est) or neighbour.actions_ != est.actions_:
            raise f["neighbour"].bad(f"a {type(est).__name__} on the actions {list(est.actions_)}")
        partners = _read_replicates(f["partner_replicates"], neighbour)
        if len(partners) != len(reps):
            raise f["partner_replicates"].bad(
                f"{len(reps)} replicates, one per bootstrap replicate"
            )
        return Uncertainty(
            "bootstrap",
            replicates=reps,
            neighbour=neighbour,
            partner_replicates=partners,
            mixed_misfit=mixed_misfit,
        )
    raise f["method"].bad(f"the method of a {type(est).__name__} ('bootstrap' or 'sandwich')")


def _read_same_kind(f: Field, est: Any) -> Any:
    """A stored copy of ``est``'s kind on its actions (a sandwich partner, a replicate)."""
    partner = read_estimator(f)
    if type(partner) is not type(est) or partner.actions_ != est.actions_:
        raise f.bad(f"a {type(est).__name__} on the actions {list(est.actions_)}")
    return partner


def _read_replicates(f: Field, est: Any) -> list[Any]:
    """Bootstrap replicates of ``est``: whole models (see :func:`_replicate_state`), or
    learners' states rebuilt as copies of ``est``."""
    if est.capabilities().whole_replicates:
        return [_read_same_kind(item, est) for item in f.items()]
    return [est._replicate(r) for r in f.items()]
