"""Documented example SCMs for walk-throughs: a marketing mix with saturating channels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jointeffects.simulate.scm import AdditiveSCM

#: Channels of the marketing example, in topological order (search follows tv, email search).
CHANNELS = ("tv", "search", "social", "email")

# Per channel: intercept of the spend mechanism, its own noise std, the confounder's weight in
# the spend, and the sales response β·a − γ·a² + δ·c + ε·a·c (concave over the spend range:
# the vertex β/2γ lies beyond each channel's 99 % spend, i.e. diminishing returns).
_SPEND = {"tv": (4.0, 0.6, 0.8), "search": (1.5, 0.4, 0.5), "social": (3.0, 0.5, 0.6),
          "email": (0.5, 0.3, 0.3)}  # fmt: skip
_RESPONSE = {"tv": (6.0, 0.45, 1.0, 0.1), "search": (4.0, 0.4, 1.0, 0.1),
             "social": (2.0, 0.2, 0.8, 0.05), "email": (3.0, 0.5, 0.6, 0.1)}  # fmt: skip
# Observational mean and std of each channel's spend (the experiments randomise spend with
# the same mean and spread, so the support assumption holds).
_MARGINAL = {"tv": (4.0, 1.0), "search": (2.5, 0.69), "social": (3.0, 0.78),
             "email": (1.25, 0.47)}  # fmt: skip


def _term(coef: float, **powers: int) -> dict[str, Any]:
    return {"coef": coef, "powers": powers}


def marketing_spec() -> dict[str, Any]:
    """The marketing-mix SCM as a ``jointeffects.scm/1`` spec (see :func:`marketing_example`)."""
    outcome_terms, mechanisms = [], []
    for j, channel in enumerate(CHANNELS):
        beta, gamma, delta, eps = _RESPONSE[channel]
        a, c = f"A{j}", f"C{j}"
        outcome_terms.append(
            {
                "block": [j],
                "terms": [
                    _term(beta, **{a: 1}),
                    _term(-gamma, **{a: 2}),
                    _term(delta, **{c: 1}),
                    _term(eps, **{a: 1, c: 1}),
                ],
            }
        )
        base, _, weight = _SPEND[channel]
        terms = [_term(base), _term(weight, **{c: 1}), _term(1.0, V=1)]
        if channel == "search":
            terms.append(_term(0.25, A0=1))  # tv spend drives search spend
        if channel == "email":
            terms.append(_term(0.3, A1=1))  # email follows search
        mechanisms.append({"terms": terms})
    gaussian = {"dist": "gaussian", "mean": 0.0}
    return {
        "format": "jointeffects.scm/1",
        "actions": list(CHANNELS),
        "outcome": "sales",
        "noise": {
            "U": {"dist": "gaussian", "mean": 20.0, "std": 1.0},
            "V": [{**gaussian, "std": _SPEND[c][1]} for c in CHANNELS],
            "W": [{**gaussian, "std": 1.0} for _ in CHANNELS],
        },
        "outcome_terms": outcome_terms,
        "action_mechanisms": mechanisms,
        "interventions": [
            {"dist": "gaussian", "mean": _MARGINAL[c][0], "std": _MARGINAL[c][1]} for c in CHANNELS
        ],
    }


def marketing_example() -> AdditiveSCM:
    """A marketing-mix SCM: weekly spend on four channels and the resulting sales.

    Spend (in $k) on ``tv``, ``search``, ``social`` and ``email`` is set by planners who react
    to an unobserved, channel-specific demand signal C_k, which also drives ``sales``
    directly: the observational data are confounded. Search spend follows tv spend and email
    spend follows search. Sales (in $k) are additive over the channels with diminishing
    returns, ``sales = 20 + Σ_k (β_k a_k − γ_k a_k² + δ_k C_k + ε_k a_k C_k) + U``, concave
    over each channel's spend range. The experiments randomise one channel's spend with the
    same mean and spread as observed (so the support assumption holds).

    Returns
    -------
    AdditiveSCM
    """
    return AdditiveSCM(marketing_spec())


def marketing_queries() -> pd.DataFrame:
    """Media plans to evaluate: the typical plan, single-channel shifts, a bold joint plan and
    one plan outside the data's range (flagged as an extrapolation by ``predict``)."""
    typical = np.array([_MARGINAL[c][0] for c in CHANNELS])
    sd = np.array([_MARGINAL[c][1] for c in CHANNELS])
    rows = [typical]
    for j in range(len(CHANNELS)):
        for step in (-1.0, 1.0):
            row = typical.copy()
            row[j] += step * sd[j]
            rows.append(row)
    rows.append(typical + sd)  # every channel up one sd at once
    rows.append(typical - sd)
    rows.append(typical + np.array([5.0, 0.0, 0.0, 0.0]))  # tv far beyond any week seen
    return pd.DataFrame(np.round(rows, 3), columns=list(CHANNELS))


MARKETING_README = """\
# Marketing-mix example (simulated)

Weekly spend (in $k) on four channels — `tv`, `search`, `social`, `email` — and the week's
`sales` (in $k), simulated from the additive SCM in `spec.json` (format `jointeffects.scm/1`).
Planners raise spend when they expect demand to be high, and demand also raises sales, so the
observational data are confounded: regressing sales on spend overstates every channel.

- `obs.csv` (observational, {n_obs} rows): ordinary weeks, spend chosen by the planners.
- `tv.csv`, `search.csv`, `social.csv`, `email.csv` (do(channel), {n_exp} rows each): one
  lift test per channel — that channel's spend randomised, the others as usual.
- `joint.csv` (do(all channels), {n_exp} rows): a held-out joint experiment, **not** used for
  fitting; it checks the additive prediction (`--validate-with`).
- `queries.csv` ({n_q} rows): media plans to evaluate; the last is far outside the data and
  is flagged as an extrapolation.
- `spec.json`: the true SCM; `jointeffects simulate --scm spec.json` draws more data.

Additivity: sales are a sum of one saturating (concave) response per channel, plus the
demand effects and noise. Under this assumption the joint effect of setting all four spends
is identified from the observational weeks plus the four single-channel tests, although no
week ever had all four spends set at once.

    jointeffects fit --outcome sales --data obs.csv --data tv=tv.csv --data search=search.csv \\
        --data social=social.csv --data email=email.csv --validate-with joint.csv --out model.json
    jointeffects predict --model model.json --at queries.csv --interval 0.9 --out predictions.csv
    jointeffects curves --model model.json --truth spec.json --out curves.png
    jointeffects report --model model.json --pair tv,search --out report.html
"""
