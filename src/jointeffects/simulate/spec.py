"""The exchangeable JSON spec of an additive SCM (format ``jointeffects.scm/1``).

Variables inside terms are named by 0-based global index: ``A<j>`` (action j), ``C<j>``
(confounder j) and, inside an action mechanism, ``V`` (that mechanism's own noise). A term is
``{"coef": float, "powers": {variable: non-negative int}}``. Validation refuses anything
else with a :class:`~jointeffects.errors.SpecError` naming the offending field.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jointeffects.errors import SpecError
from jointeffects.jsonfield import parse_json
from jointeffects.simulate.noise import FAMILIES

FORMAT = "jointeffects.scm/1"
_ALL_KEYS = (
    "format",
    "actions",
    "outcome",
    "noise",
    "outcome_terms",
    "action_mechanisms",
    "interventions",
)
#: Largest power of a term: beyond it a sample overflows for any value away from 0 and 1.
MAX_POWER = 1000

_VARIABLE = re.compile(r"^([AC])(0|[1-9][0-9]*)$")


def parse_variable(name: str) -> tuple[str, int]:
    """Split ``"A3"`` into ``("A", 3)``; ``"V"`` gives ``("V", -1)``; else SpecError."""
    if name == "V":
        return "V", -1
    m = _VARIABLE.match(name)
    if m is None:
        raise SpecError(f"variable {name!r} is not A<j>, C<j> or V")
    return m.group(1), int(m.group(2))


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check a spec against every rule and return its normalised copy (plain JSON types).

    Rules: the format tag; exactly the known top-level keys; unique action names and an
    outcome name distinct from them; one noise/mechanism/intervention entry per action;
    outcome blocks partition the actions and use only their own ``A<j>``/``C<j>``;
    mechanism k uses only ``A<j>`` with j < k, ``C<j>`` of k's own block, and ``V``.

    Raises
    ------
    SpecError
        On the first rule broken; the message names the field.
    """
    if not isinstance(spec, Mapping):
        raise SpecError(f"an SCM spec must be a JSON object, got {type(spec).__name__}")
    if spec.get("format") != FORMAT:
        raise SpecError(f"format: expected {FORMAT!r}, got {spec.get('format')!r}")
    unknown = sorted(set(spec) - set(_ALL_KEYS))
    if unknown:
        raise SpecError(f"unknown top-level field(s) {unknown}; allowed are {list(_ALL_KEYS)}")
    missing = [k for k in _ALL_KEYS if k not in spec]
    if missing:
        raise SpecError(f"missing field(s) {missing}")
    actions = _actions(spec["actions"])
    k_total = len(actions)
    outcome = spec["outcome"]
    if not isinstance(outcome, str) or not outcome or outcome in actions:
        raise SpecError(f"outcome: {outcome!r} must be a non-empty name not among the actions")
    noise = spec["noise"]
    if not isinstance(noise, Mapping) or set(noise) != {"U", "V", "W"}:
        raise SpecError("noise: must be an object with exactly the fields 'U', 'V' and 'W'")
    out: dict[str, Any] = {"format": FORMAT, "actions": actions, "outcome": outcome}
    out["noise"] = {
        "U": _noise(noise["U"], "noise.U"),
        "V": [
            _noise(x, f"noise.V[{i}]") for i, x in enumerate(_list(noise["V"], "noise.V", k_total))
        ],
        "W": [
            _noise(x, f"noise.W[{i}]") for i, x in enumerate(_list(noise["W"], "noise.W", k_total))
        ],
    }
    out["outcome_terms"], block_of = _outcome_terms(spec["outcome_terms"], k_total)
    mechs = _list(spec["action_mechanisms"], "action_mechanisms", k_total)
    out["action_mechanisms"] = []
    for k, mech in enumerate(mechs):
        where = f"action_mechanisms[{k}]"
        if not isinstance(mech, Mapping) or set(mech) != {"terms"}:
            raise SpecError(f"{where}: must be an object with exactly the field 'terms'")
        terms = _terms(mech["terms"], f"{where}.terms")
        for t, term in enumerate(terms):
            for v in term["powers"]:
                kind, j = parse_variable(v)
                if kind == "A" and j >= k:
                    raise SpecError(
                        f"{where}.terms[{t}].powers: {v!r} is not an earlier action; "
                        f"mechanism {k} may use only A<j> with j < {k} (actions are in "
                        "topological order)"
                    )
                if kind == "C" and block_of.get(j) != block_of[k]:
                    raise SpecError(
                        f"{where}.terms[{t}].powers: {v!r} is not a confounder of action {k}'s "
                        f"block {sorted(i for i, b in block_of.items() if b == block_of[k])}"
                    )
        out["action_mechanisms"].append({"terms": terms})
    interventions = _list(spec["interventions"], "interventions", k_total)
    out["interventions"] = [_noise(x, f"interventions[{i}]") for i, x in enumerate(interventions)]
    return out


def read_spec(path_or_dict: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read (if a path) and validate a spec; returns the normalised dict."""
    if not isinstance(path_or_dict, str | os.PathLike):
        return validate_spec(path_or_dict)
    path = Path(path_or_dict)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read SCM spec {str(path)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read SCM spec {str(path)!r}: it is not UTF-8 (JSON) text") from exc
    data = parse_json(text, f"{str(path)!r}", "an SCM spec", "check the file", error=SpecError)
    return validate_spec(data)


def write_spec(spec: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a (validated) spec as indented JSON, atomically."""
    from jointeffects.fileio import write_text

    write_text(json.dumps(spec, indent=2) + "\n", path)


def _actions(actions: Any) -> list[str]:
    if not isinstance(actions, list) or not actions:
        raise SpecError("actions: must be a non-empty list of names")
    for i, a in enumerate(actions):
        if not isinstance(a, str) or not a:
            raise SpecError(f"actions[{i}]: {a!r} is not a non-empty string")
        if "+" in a:
            raise SpecError(
                f"actions[{i}]: {a!r} contains '+', which joins actions into a block "
                "(tv+email); rename the action"
            )
    dupes = sorted({a for a in actions if actions.count(a) > 1})
    if dupes:
        raise SpecError(f"actions: names must be unique, repeated {dupes}")
    return list(actions)


def _list(value: Any, where: str, n: int) -> list[Any]:
    if not isinstance(value, list) or len(value) != n:
        got = f"{len(value)} entries" if isinstance(value, list) else type(value).__name__
        raise SpecError(f"{where}: needs one entry per action ({n}), got {got}")
    return value


def _number(value: Any, where: str) -> float:
    try:
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        ok = ok and math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        ok = False
    if not ok:
        shown = repr(value)
        raise SpecError(f"{where}: {shown[:40]} is not a finite number")
    return float(value)


def _noise(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) != {"dist", "mean", "std"}:
        raise SpecError(f"{where}: must be an object with exactly 'dist', 'mean' and 'std'")
    if value["dist"] not in FAMILIES:
        raise SpecError(f"{where}.dist: {value['dist']!r} is unknown; use one of {list(FAMILIES)}")
    mean = _number(value["mean"], f"{where}.mean")
    std = _number(value["std"], f"{where}.std")
    if std < 0:
        raise SpecError(f"{where}.std: {std!r} is negative; give a std >= 0")
    return {"dist": value["dist"], "mean": mean, "std": std}


def _terms(terms: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(terms, list):
        raise SpecError(f"{where}: must be a list of terms")
    out = []
    for t, term in enumerate(terms):
        here = f"{where}[{t}]"
        if not isinstance(term, Mapping) or set(term) != {"coef", "powers"}:
            raise SpecError(f"{here}: must be an object with exactly 'coef' and 'powers'")
        coef = _number(term["coef"], f"{here}.coef")
        powers = term["powers"]
        if not isinstance(powers, Mapping):
            raise SpecError(f"{here}.powers: must be an object mapping variable -> power")
        clean: dict[str, int] = {}
        for v, p in powers.items():
            try:
                parse_variable(v)
            except SpecError as exc:
                raise SpecError(f"{here}.powers: {exc}") from None
            if isinstance(p, bool) or not isinstance(p, int) or p < 0:
                raise SpecError(f"{here}.powers.{v}: {p!r} is not a non-negative integer")
            if p > MAX_POWER:
                raise SpecError(
                    f"{here}.powers.{v}: {p} is too large; powers are at most {MAX_POWER}"
                )
            clean[v] = int(p)
        out.append({"coef": coef, "powers": clean})
    return out


def _outcome_terms(value: Any, k_total: int) -> tuple[list[dict[str, Any]], dict[int, int]]:
    if not isinstance(value, list) or not value:
        raise SpecError("outcome_terms: must be a non-empty list of {'block', 'terms'} objects")
    block_of: dict[int, int] = {}
    out = []
    for b, entry in enumerate(value):
        where = f"outcome_terms[{b}]"
        if not isinstance(entry, Mapping) or set(entry) != {"block", "terms"}:
            raise SpecError(f"{where}: must be an object with exactly 'block' and 'terms'")
        block = entry["block"]
        if not isinstance(block, list) or not block:
            raise SpecError(f"{where}.block: must be a non-empty list of action indices")
        for j in block:
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < k_total:
                raise SpecError(f"{where}.block: {j!r} is not an action index in 0..{k_total - 1}")
            if j in block_of:
                raise SpecError(
                    f"{where}.block: action {j} is already in outcome_terms[{block_of[j]}]; "
                    "blocks must partition the actions"
                )
            block_of[j] = b
        terms = _terms(entry["terms"], f"{where}.terms")
        for t, term in enumerate(terms):
            for v in term["powers"]:
                kind, j = parse_variable(v)
                if kind == "V" or j not in block:
                    raise SpecError(
                        f"{where}.terms[{t}].powers: {v!r} is outside block {block}; an outcome "
                        "block may use only its own A<j> and C<j>"
                    )
        out.append({"block": list(block), "terms": terms})
    left = sorted(set(range(k_total)) - set(block_of))
    if left:
        raise SpecError(
            f"outcome_terms: actions {left} are in no block; blocks must partition the actions"
        )
    return out, block_of
