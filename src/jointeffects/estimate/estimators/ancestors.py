"""The DAG among the actions, as far as the estimators need it: each action's ancestors.

Under Assumption 2 an experiment do(A_B) changes the distribution of exactly the actions
downstream of the block B (generically: when the intervention changes A_B's law or cuts it
from its parents), so the ancestor sets can be read off the data we already have. A
user-given DAG can be passed instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.errors import DataError
from jointeffects.estimate.learners.basis import polynomial_columns
from jointeffects.estimate.regimes import Regime, RegimeData, regime_label


def _named_sets(
    mapping: Mapping[str, object], actions: tuple[str, ...], param: str, role: str
) -> dict[str, set[str]]:
    """``{action: [names]}`` (a single name may be a string) as sets, names checked."""
    sets: dict[str, set[str]] = {a: set() for a in actions}
    for action, listed in mapping.items():
        if action not in sets:
            raise DataError(f"{param} names unknown action '{action}'; actions are {list(actions)}")
        names = [listed] if isinstance(listed, str) else list(listed)  # type: ignore[call-overload]
        for name in names:
            if name not in sets:
                raise DataError(
                    f"{param} gives '{action}' the unknown {role} '{name}'; actions are "
                    f"{list(actions)}"
                )
            sets[action].add(str(name))
    return sets


def ancestors_from_dag(
    dag: Mapping[str, object], actions: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Transitive closure of a parent map ``{action: [parents]}``; unnamed actions: no parents."""
    parents = _named_sets(dag, actions, "dag", "parent")
    ancestors: dict[str, set[str]] = {}

    def visit(node: str, path: tuple[str, ...]) -> set[str]:
        if node in path:
            raise DataError(f"dag has a cycle through {' -> '.join((*path, node))}")
        if node not in ancestors:
            found: set[str] = set()
            for parent in parents[node]:
                found |= {parent} | visit(parent, (*path, node))
            ancestors[node] = found
        return ancestors[node]

    for action in actions:
        visit(action, ())
    return {a: tuple(x for x in actions if x in ancestors[a]) for a in actions}


def given_ancestors(
    ancestors: Mapping[str, object], actions: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Ancestor sets ``{action: [ancestors]}`` used as given (unnamed actions: none).

    Unlike :func:`ancestors_from_dag` the map is neither closed nor checked for cycles: sets
    learned by :func:`discover_ancestors` can hold a pair of actions each declared upstream
    of the other (a false discovery, harmless to the estimator: a ψ with an extra input), and
    a fit that reuses them must accept them. Names are checked, and no action may be its own
    ancestor.
    """
    sets = _named_sets(ancestors, actions, "ancestors", "ancestor")
    for a in actions:
        if a in sets[a]:
            raise DataError(f"ancestors gives '{a}' itself as an ancestor")
    return {a: tuple(x for x in actions if x in sets[a]) for a in actions}


def _dependence_pvalue(inputs: np.ndarray, target: np.ndarray, degree: int = 3) -> float:
    """F-test of "target depends on the inputs" by a polynomial regression against a constant."""
    spread = inputs.std(axis=0)
    Z = (inputs - inputs.mean(axis=0)) / np.where(spread > 0, spread, 1)
    columns = polynomial_columns(Z, tuple(range(Z.shape[1])), degree)
    design = np.column_stack([np.ones(len(Z)), columns])
    centred = target - target.mean()
    rss0 = float(centred @ centred)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    rss1 = float(resid @ resid)
    q, dof = design.shape[1] - 1, len(target) - design.shape[1]
    if rss0 <= 0 or dof <= 0:
        return 1.0
    if rss1 <= 1e-14 * rss0:
        return 0.0
    f_stat = ((rss0 - rss1) / q) / (rss1 / dof)
    return float(stats.f.sf(f_stat, q, dof))


def ks_pvalue(sorted_obs: np.ndarray, sample: np.ndarray) -> float:
    """``scipy.stats.ks_2samp(obs, sample, method="asymp").pvalue``, with ``obs`` sorted once
    for all the experiments.

    The same statistic, the largest gap between the two empirical CDFs over the pooled
    points (right-continuous, so a tie counts at its last copy), from one merge instead of
    ks_2samp's binary searches; then its p-value, as ks_2samp computes it.
    """
    n1, n2 = len(sorted_obs), len(sample)
    pooled = np.concatenate([sorted_obs, np.sort(sample)])
    order = np.argsort(pooled, kind="stable")  # a merge of the two sorted runs
    below1 = np.cumsum(order < n1)
    below2 = np.arange(1, n1 + n2 + 1) - below1
    values = pooled[order]
    last = np.append(values[1:] != values[:-1], True)
    gaps = below1[last] / n1 - below2[last] / n2
    low, high = np.clip(-gaps.min(), 0, 1), gaps.max()
    d = low if low > high else high
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))


def discover_ancestors(
    data: RegimeData, blocks: tuple[Regime, ...], level: float = 0.05
) -> tuple[dict[str, tuple[str, ...]], pd.DataFrame]:
    """Ancestor sets from each experiment's effect on the other actions.

    For every experiment do(A_B) and every action A_m outside B, two tests ask whether A_m is
    downstream of B:

    - *within the experiment*, an F-test of whether A_m depends on the randomised A_B (cubic
      regression against a constant). In do(A_B) the block is independent of everything
      upstream, so a dependence means B causes A_m. This test keeps its power when the
      intervention distribution matches the observational marginal of A_B, where the
      two-sample test below has none;
    - a Kolmogorov–Smirnov two-sample test of A_m's distribution between the observational
      regime and do(A_B).

    The two p-values are combined by Bonferroni (twice the smaller), and the
    Benjamini–Hochberg procedure controls the false discovery rate at ``level`` over all
    (experiment, action) pairs. A rejection makes B's actions ancestors of A_m. Missing an edge
    biases the structure-aware estimator; adding one only costs variance, so err on the side
    of rejecting.

    Returns
    -------
    ancestors : dict
        Action name → tuple of ancestor action names (in action order).
    tests : DataFrame
        One row per (experiment, action): both p-values, the combined p-value, the
        BH-adjusted q-value, and whether the action was declared a descendant.
    """
    index = {a: j for j, a in enumerate(data.actions)}
    X_obs = data.regimes[()][0]
    sorted_obs = np.sort(X_obs.T)  # one row per action
    rows = []
    for block in blocks:
        X_int = data.regimes[block][0]
        cols = [index[a] for a in block]
        for m, action in enumerate(data.actions):
            if action in block:
                continue
            p_dep = _dependence_pvalue(X_int[:, cols], X_int[:, m])
            p_ks = ks_pvalue(sorted_obs[m], X_int[:, m])
            rows.append(
                {
                    "experiment": regime_label(block),
                    "block": block,
                    "action": action,
                    "p_dependence": p_dep,
                    "p_two_sample": p_ks,
                    "pvalue": min(1.0, 2 * min(p_dep, p_ks)),
                }
            )
    return decide_ancestors(rows, data.actions, level)


def decide_ancestors(
    rows: list[dict[str, object]], actions: tuple[str, ...], level: float
) -> tuple[dict[str, tuple[str, ...]], pd.DataFrame]:
    """Benjamini–Hochberg at ``level`` over the (experiment, action) tests, and the ancestor
    sets their rejections give.

    Parameters
    ----------
    rows : list of dict
        One per test: ``experiment`` (label), ``block`` (tuple of actions), ``action``,
        ``p_dependence``, ``p_two_sample`` and their combined ``pvalue``.
    actions : tuple of str
    level : float
        False-discovery rate.

    Returns
    -------
    ancestors, tests
        As :func:`discover_ancestors` returns them.
    """
    columns = ["experiment", "block", "action", "p_dependence", "p_two_sample", "pvalue"]
    tests = pd.DataFrame(rows, columns=columns)
    found: dict[str, set[str]] = {a: set() for a in actions}
    tests["qvalue"] = stats.false_discovery_control(tests["pvalue"]) if len(tests) else []
    tests["descendant"] = tests["qvalue"] <= level
    for row in tests.itertuples():
        if row.descendant:
            found[str(row.action)] |= set(row.block)  # type: ignore[arg-type]
    ancestors = {a: tuple(x for x in actions if x in found[a]) for a in actions}
    return ancestors, tests.drop(columns="block")
