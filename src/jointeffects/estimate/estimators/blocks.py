"""Which regimes an estimator needs, and which blocks of experiments answer a query."""

from __future__ import annotations

import numpy as np

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate.regimes import Regime, RegimeData, RegimeStreams, regime_label


def check_regime(data: RegimeData | RegimeStreams, regime: Regime, who: str) -> None:
    """Raise a DataError naming what ``who`` needs if ``regime`` has no data."""
    if regime not in data.regimes:
        have = [regime_label(r) for r in data.regimes]
        raise DataError(f"{who} needs {regime_label(regime)} data; got regimes {have}")


def require_regime(data: RegimeData, regime: Regime, who: str) -> tuple[np.ndarray, np.ndarray]:
    """Return a regime's data or raise a DataError naming what ``who`` needs."""
    check_regime(data, regime, who)
    return data.regimes[regime]


def experiment_blocks(data: RegimeData | RegimeStreams) -> tuple[Regime, ...]:
    """The experiments' blocks, checked to be disjoint, in the order of their first action."""
    blocks = [regime for regime in data.regimes if regime]
    if not blocks:
        raise DataError("no experiment given: add at least one regime that intervenes on an action")
    owner: dict[str, Regime] = {}
    for block in blocks:
        for action in block:
            if action in owner:
                raise DataError(
                    f"experiments {regime_label(owner[action])} and {regime_label(block)} "
                    f"both intervene on '{action}'; blocks must be disjoint (pass one "
                    "experiment per action or per block of a partition)"
                )
            owner[action] = block
    order = {a: j for j, a in enumerate(data.actions)}
    return tuple(sorted(blocks, key=lambda b: order[b[0]]))


def blocks_for_query(blocks: tuple[Regime, ...], intervened: Regime) -> list[Regime]:
    """The blocks whose union is ``intervened``; refuses queries the experiments don't identify."""
    covered = {a for block in blocks for a in block}
    missing = [a for a in intervened if a not in covered]
    if missing:
        raise IdentificationError(
            f"no experiment intervenes on {missing}: the effect of intervening on them is "
            f"not identified; experiments cover {[regime_label(b) for b in blocks]}"
        )
    chosen = [b for b in blocks if set(b) & set(intervened)]
    partial = [b for b in chosen if not set(b) <= set(intervened)]
    if partial:
        raise IdentificationError(
            f"intervening on {list(intervened)} splits the block experiment "
            f"{regime_label(partial[0])}; only unions of blocks are identified — intervene "
            f"on all of {list(partial[0])} or none"
        )
    return chosen
