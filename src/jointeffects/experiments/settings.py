"""The paper's figures (Section 7, Appendix E) as lists of settings, at three scales.

A *setting* fixes the number of actions K and how many rows each regime gets; a figure is a
list of settings, a set of methods and a number of SCMs. Row counts are rows *sampled* per
regime; as in the paper each dataset is split 80 % / 20 % into training and test data, and
every method is evaluated on the test part of the joint-intervention data.

Scales: ``paper`` is Appendix E's protocol, ``quick`` keeps each figure's shape with fewer
rows and SCMs (``reproduce fig2a`` runs in well under a minute on 2 cores), ``tiny`` is a
seconds-long smoke test used by the test suite.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from jointeffects.errors import SpecError
from jointeffects.experiments.methods import METHODS

SCALES = ("quick", "paper", "tiny")

#: Fraction of each sampled regime used for training (Section 7.1).
TRAIN_FRACTION = 0.8


@dataclass(frozen=True)
class Setting:
    """Sizes of one point of a figure.

    Attributes
    ----------
    K : int
        Number of actions.
    n_obs, n_sint : int
        Rows sampled from the observational regime and from each single-intervention regime
        (what our estimator, the pooled baseline and the prior method use).
    n_base : int
        Rows sampled from its own regime for a single-regime baseline (observational-only,
        joint topline); the joint test set is the held-out 20 % of ``n_base`` joint rows.
    ratio : float, optional
        N_sint / N_obs, the x axis of fig2b and figB.
    n_tot : int, optional
        N_tot = N_obs + K·N_sint, the x axis of fig2c and figA.
    """

    K: int
    n_obs: int
    n_sint: int
    n_base: int
    ratio: float | None = None
    n_tot: int | None = None

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): the setting's identity in the store."""
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def n_test(self) -> int:
        """Rows of the joint-intervention test set."""
        return self.n_base - n_train(self.n_base)


def n_train(n_rows: int) -> int:
    """Training rows of a regime with ``n_rows`` sampled rows (the 80 % split)."""
    return int(round(TRAIN_FRACTION * n_rows))


@dataclass(frozen=True)
class Scale:
    """One scale of a figure: its settings and the number of SCMs per setting."""

    n_scms: int
    settings: tuple[Setting, ...]
    sizes: str  # human-readable summary quoted by --help and the README


@dataclass(frozen=True)
class Figure:
    """A figure of the paper: methods, axes and its scales."""

    name: str
    title: str
    methods: tuple[str, ...]
    x: str | None  # Setting attribute on the x axis; None = bar chart (fig2a)
    facets: tuple[str, ...]  # Setting attributes that split the figure into panel columns
    scales: dict[str, Scale]


def _fig2a(n: int) -> tuple[Setting, ...]:
    return (Setting(K=5, n_obs=n, n_sint=n, n_base=n),)


def _fig2b(Ks: tuple[int, ...], per_regime: tuple[int, ...], ratios: tuple[float, ...]):
    # N_tot = N_obs + K·N_sint = (K+1)·per_regime fixed, ratio = N_sint/N_obs varies (App. E).
    out = []
    for K in Ks:
        for per in per_regime:
            total = (K + 1) * per
            for r in ratios:
                n_sint = int(round(r * total / (1 + K * r)))
                n_obs = total - K * n_sint
                out.append(Setting(K, n_obs, n_sint, total, ratio=float(r), n_tot=total))
    return tuple(out)


def _fig2c(Ks: tuple[int, ...], totals: tuple[int, ...]) -> tuple[Setting, ...]:
    # N_obs = N_sint = N_tot/(K+1); the topline gets N_tot joint rows (App. E).
    out = []
    for K in Ks:
        for total in totals:
            per = int(round(total / (K + 1)))
            out.append(Setting(K, per, per, total, n_tot=total))
    return tuple(out)


def _scale(n_scms: int, settings: tuple[Setting, ...], sizes: str) -> Scale:
    return Scale(n_scms, settings, f"{sizes}; {n_scms} SCMs")


_RATIOS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
_DECADES = (10**3, 10**4, 10**5, 10**6, 10**7)

FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure(
            "fig2a",
            "Fig. 2(a): joint effect, K=5",
            ("paper", "topline", "pooled", "observational", "structured", "projected", "prior"),
            None,
            (),
            {
                "paper": _scale(100, _fig2a(10**6), "K=5, 10^6 rows per regime"),
                "quick": _scale(20, _fig2a(3 * 10**4), "K=5, 3·10^4 rows per regime"),
                "tiny": _scale(3, _fig2a(400), "K=5, 400 rows per regime"),
            },
        ),
        Figure(
            "fig2b",
            "Fig. 2(b): share of single-interventional data, N_tot fixed",
            ("paper", "topline", "observational", "structured", "projected", "prior"),
            "ratio",
            (),
            {
                "paper": _scale(
                    100,
                    _fig2b((5,), (10**4,), _RATIOS),
                    "K=5, N_tot=6·10^4, N_sint/N_obs in 0.05..10 (8 ratios)",
                ),
                "quick": _scale(
                    10,
                    _fig2b((5,), (2000,), (0.05, 0.2, 1.0, 5.0)),
                    "K=5, N_tot=1.2·10^4, N_sint/N_obs in {0.05, 0.2, 1, 5}",
                ),
                "tiny": _scale(2, _fig2b((5,), (300,), (0.2, 2.0)), "K=5, N_tot=1800, 2 ratios"),
            },
        ),
        Figure(
            "fig2c",
            "Fig. 2(c): convergence in N_tot, K=5",
            ("paper", "topline", "structured", "projected", "prior"),
            "n_tot",
            (),
            {
                "paper": _scale(100, _fig2c((5,), _DECADES), "K=5, N_tot in 10^3..10^7"),
                "quick": _scale(
                    10,
                    _fig2c((5,), (10**3, 10**4, 6 * 10**4)),
                    "K=5, N_tot in {10^3, 10^4, 6·10^4}",
                ),
                "tiny": _scale(2, _fig2c((5,), (600, 1200)), "K=5, N_tot in {600, 1200}"),
            },
        ),
        Figure(
            "figA",
            "Fig. A: convergence in N_tot for several K",
            ("paper", "topline", "structured", "projected", "prior"),
            "n_tot",
            ("K",),
            {
                "paper": _scale(
                    100, _fig2c((2, 3, 5, 10), _DECADES), "K in {2,3,5,10}, N_tot in 10^3..10^7"
                ),
                "quick": _scale(
                    5,
                    _fig2c((2, 3, 5, 10), (10**3, 10**4)),
                    "K in {2,3,5,10}, N_tot in {10^3, 10^4}",
                ),
                "tiny": _scale(2, _fig2c((2, 3), (300, 600)), "K in {2,3}, N_tot in {300, 600}"),
            },
        ),
        Figure(
            "figB",
            "Fig. B: share of single-interventional data for several N_tot and K",
            ("paper", "topline", "observational", "structured", "projected", "prior"),
            "ratio",
            ("K", "n_tot"),
            {
                "paper": _scale(
                    100,
                    _fig2b((2, 5, 10), (10**3, 10**4, 10**5), _RATIOS),
                    "K in {2,5,10}, N_tot=(K+1)·{10^3,10^4,10^5}, 8 ratios in 0.05..10",
                ),
                "quick": _scale(
                    5,
                    _fig2b((2, 5), (500, 2000), (0.1, 1.0, 10.0)),
                    "K in {2,5}, N_tot=(K+1)·{500, 2000}, N_sint/N_obs in {0.1, 1, 10}",
                ),
                "tiny": _scale(
                    2, _fig2b((2, 3), (200,), (0.5, 2.0)), "K in {2,3}, N_tot=(K+1)·200, 2 ratios"
                ),
            },
        ),
    )
}


def get_figure(name: str) -> Figure:
    """Look up a figure by name, with a helpful error."""
    if name not in FIGURES:
        raise SpecError(f"unknown figure {name!r}; choose one of {sorted(FIGURES)}")
    unknown = [m for m in FIGURES[name].methods if m not in METHODS]
    if unknown:  # pragma: no cover - a registry mistake, not user input
        raise SpecError(f"figure {name} names unregistered methods {unknown}")
    return FIGURES[name]


def scale_summary() -> str:
    """Every figure's sizes at every scale, as plain text (quoted by --help and the README)."""
    lines = []
    for fig in FIGURES.values():
        lines.append(f"{fig.name} ({', '.join(fig.methods)}):")
        for scale in SCALES:
            s = fig.scales[scale]
            n = len(s.settings)
            lines.append(f"  {scale}: {s.sizes} ({n} setting{'s' if n > 1 else ''})")
    return "\n".join(lines)
