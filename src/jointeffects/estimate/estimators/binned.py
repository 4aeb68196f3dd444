"""Ancestor discovery from row sums: a binned two-sample test and a dependence F-test.

The streaming counterpart of :func:`~.ancestors.discover_ancestors`. For every experiment
do(A_B) and every action A_m outside B it combines, as that function does,

- an F-test of whether A_m depends on the randomised A_B within the experiment (cubic
  regression against a constant), here from the centred co-moments of
  [monomials(a_B), a_m], and
- a chi-square test of homogeneity of A_m between the observational regime and do(A_B) on
  bins at the quantiles of the first :data:`PILOT_ROWS` observational rows (adjacent bins
  merged until every expected count is at least :data:`MIN_EXPECTED`),

so both need only sums over rows: bin counts and co-moments. The p-values are combined by
Bonferroni and the Benjamini–Hochberg procedure controls the false discovery rate over the
pairs (:func:`~.ancestors.decide_ancestors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from jointeffects.estimate.estimators.ancestors import decide_ancestors
from jointeffects.estimate.estimators.structured_stats import Comoments
from jointeffects.estimate.learners.basis import polynomial_columns
from jointeffects.estimate.regimes import Regime, regime_label
from jointeffects.estimate.regimes.passes import SourceReader, compute

#: Observational rows whose quantiles give the bin edges (the first ones of the regime).
PILOT_ROWS = 50_000

#: Bins per action before merging.
BINS = 20

#: Smallest expected count of a merged bin in either sample.
MIN_EXPECTED = 5.0

#: Degree of the dependence regression within an experiment.
DEPENDENCE_DEGREE = 3


def bin_edges(pilot: np.ndarray, bins: int = BINS) -> list[np.ndarray]:
    """Inner bin edges of each action: the distinct ``j / bins`` quantiles of the pilot rows."""
    levels = np.arange(1, bins) / bins
    return [np.unique(np.quantile(pilot[:, k], levels)) for k in range(pilot.shape[1])]


def bin_counts(X: np.ndarray, edges: list[np.ndarray]) -> list[np.ndarray]:
    """Rows per bin of each action (a value on an edge goes to the bin above it)."""
    counts = []
    for k, e in enumerate(edges):
        # rows below each edge, from one sort rather than a binary search per row
        below = np.searchsorted(np.sort(X[:, k]), e, side="left")
        counts.append(np.diff(below, prepend=0, append=len(X)))
    return counts


def binned_pvalue(first: np.ndarray, second: np.ndarray) -> float:
    """Chi-square test that two samples' bin counts come from one distribution."""
    n1, n2 = float(first.sum()), float(second.sum())
    if n1 == 0 or n2 == 0:
        return 1.0
    share = min(n1, n2) / (n1 + n2)
    groups: list[tuple[float, float]] = []
    a = b = 0.0
    for c1, c2 in zip(first, second, strict=True):
        a, b = a + c1, b + c2
        if (a + b) * share >= MIN_EXPECTED:
            groups.append((a, b))
            a = b = 0.0
    if a + b > 0:
        if groups:
            last = groups.pop()
            groups.append((last[0] + a, last[1] + b))
        else:
            groups.append((a, b))
    if len(groups) < 2:
        return 1.0
    table = np.array(groups)
    pooled = table.sum(axis=1) / (n1 + n2)
    expected = np.outer(pooled, [n1, n2])
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(stats.chi2.sf(statistic, len(groups) - 1))


def dependence_pvalue(moments: Comoments, n_inputs: int, target: int) -> float:
    """F-test of "column ``target`` depends on the first ``n_inputs`` columns" (linear
    regression on them against a constant), from the co-moments of the columns."""
    C = moments.comoment
    rss0 = float(C[target, target])
    dof = moments.count - n_inputs - 1
    if rss0 <= 0 or dof <= 0:
        return 1.0
    inputs = slice(0, n_inputs)
    Cxx, Cxt = C[inputs, inputs], C[inputs, target]
    scale = np.sqrt(np.clip(np.diag(Cxx), 0, None))
    scale[~(scale > 1e-12 * max(1.0, scale.max()))] = np.inf  # constant columns drop out
    beta, *_ = np.linalg.lstsq(Cxx / np.outer(scale, scale), Cxt / scale, rcond=None)
    rss1 = max(rss0 - float(Cxt / scale @ beta), 0.0)
    if rss1 <= 1e-14 * rss0:
        return 0.0
    f_stat = ((rss0 - rss1) / n_inputs) / (rss1 / dof)
    return float(stats.f.sf(f_stat, n_inputs, dof))


@dataclass
class Summary:
    """What the binned discovery needs of one regime: bin counts of every action, the
    actions' moments (observational regime) and the co-moments of [monomials(a_B), a]
    (experiment on B)."""

    counts: list[np.ndarray]
    moments: Comoments | None = None
    dependence: Comoments | None = None

    def merge(self, other: Summary) -> Summary:
        """The summary of both sets of rows (a new object)."""
        return Summary(
            [a + b for a, b in zip(self.counts, other.counts, strict=True)],
            _merged(self.moments, other.moments),
            _merged(self.dependence, other.dependence),
        )


def _merged(a: Comoments | None, b: Comoments | None) -> Comoments | None:
    return a if b is None else b if a is None else a.merge(b)


@dataclass(frozen=True)
class Summarise:
    """Task of a pass: the :class:`Summary` of a chunk ``(X, y, start)`` of one regime.

    Parameters
    ----------
    edges : list of ndarray
        Inner bin edges of each action.
    block : tuple of int
        Columns of the experiment's actions (empty: the observational regime).
    center, scale : ndarray of shape (n_actions,)
        Standardisation of the dependence regression's inputs (any fixed one gives the same
        test; values near the data's keep it well conditioned).
    """

    edges: list[np.ndarray]
    block: tuple[int, ...]
    center: np.ndarray
    scale: np.ndarray

    def __call__(self, X: np.ndarray, y: np.ndarray, start: int) -> Summary:
        counts = bin_counts(X, self.edges)
        if not self.block:
            return Summary(counts, moments=Comoments.of(X))
        cols = list(self.block)
        U = (X[:, cols] - self.center[cols]) / self.scale[cols]
        inputs = polynomial_columns(U, tuple(range(len(cols))), DEPENDENCE_DEGREE)
        others = [m for m in range(X.shape[1]) if m not in self.block]
        return Summary(counts, dependence=Comoments.of(np.column_stack([inputs, X[:, others]])))


def discover_binned(
    summaries: dict[Regime, Summary],
    blocks: tuple[Regime, ...],
    actions: tuple[str, ...],
    level: float,
) -> tuple[dict[str, tuple[str, ...]], pd.DataFrame]:
    """Ancestor sets and the test table, as :func:`~.ancestors.discover_ancestors` returns
    them, from the :class:`Summary` of every regime (``()`` the observational one)."""
    observational = summaries[()].counts
    rows = []
    for block in blocks:
        summary = summaries[block]
        assert summary.dependence is not None
        others = [m for m, a in enumerate(actions) if a not in block]
        n_inputs = summary.dependence.mean.size - len(others)
        for t, m in enumerate(others):
            p_dep = dependence_pvalue(summary.dependence, n_inputs, n_inputs + t)
            p_bin = binned_pvalue(observational[m], summary.counts[m])
            rows.append(
                {
                    "experiment": regime_label(block),
                    "block": block,
                    "action": actions[m],
                    "p_dependence": p_dep,
                    "p_two_sample": p_bin,
                    "pvalue": min(1.0, 2 * min(p_dep, p_bin)),
                }
            )
    return decide_ancestors(rows, actions, level)


def summarise(
    readers: dict[Regime, SourceReader], actions: tuple[str, ...]
) -> dict[Regime, Summary]:
    """The first pass of a learned structure: the :class:`Summary` of every regime, with bin
    edges from the first :data:`PILOT_ROWS` observational rows (``()`` must be a key)."""
    pilot = readers[()].head(PILOT_ROWS)
    center, scale = pilot.mean(axis=0), pilot.std(axis=0)
    scale[~(scale > 0)] = 1.0
    edges = bin_edges(pilot)
    index = {a: j for j, a in enumerate(actions)}
    tasks = {r: Summarise(edges, tuple(index[a] for a in r), center, scale) for r in readers}
    return compute({r: reader.reduce(tasks[r]) for r, reader in readers.items()})
