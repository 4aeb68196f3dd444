"""Memory estimates checked before the work: refuse what cannot fit, with the number.

The estimates are deliberately simple upper-end figures (float64 arrays the command holds at
once); they exist to turn a MemoryError after minutes into a message after milliseconds.
"""

from __future__ import annotations

import math
import os

from jointeffects.errors import SizeError

#: Share of the available memory a command may plan to use.
BUDGET_SHARE = 0.8


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3  # unknown platform: assume a modest machine


def human(n_bytes: float) -> str:
    """``1.5e9`` → ``'1.4 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n_bytes) < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def check_memory(n_bytes: float, what: str, hint: str) -> None:
    """Raise :class:`SizeError` if ``n_bytes`` exceeds the share of memory a command may use.

    Parameters
    ----------
    n_bytes : float
        Estimated peak memory.
    what : str
        What needs it, e.g. ``"simulate -n 1000000000000"``.
    hint : str
        What to do instead, e.g. ``"draw fewer rows"``.
    """
    budget = BUDGET_SHARE * available_memory()
    if n_bytes > budget:
        raise SizeError(
            f"{what} needs about {human(n_bytes)} of memory, more than the {human(budget)} "
            f"this machine can spare; {hint}"
        )


def table_bytes(rows: int, columns: int) -> float:
    """A float64 table, its DataFrame copy and its formatted CSV text, about 4 copies."""
    return 4.0 * rows * columns * 8


def n_monomials(n_actions: int, degree: int) -> int:
    """Monomials of degree 1..``degree`` in ``n_actions`` variables (the design's columns)."""
    return math.comb(n_actions + degree, degree) - 1


def design_bytes(n_actions: int, degree: int, cv: int, n_fits: int, chunk: int = 16384) -> float:
    """Peak memory of fitting ``n_fits`` polynomial ridge learners from sufficient statistics.

    Each fitted learner keeps its per-fold and total comoment matrices (``cv + 1`` of shape
    (p+1, p+1)); the solve needs about ten more p × p arrays (basis map, factor, SVD) and a
    chunk of expanded rows.
    """
    p = n_monomials(n_actions, degree) + 1
    kept = n_fits * (cv + 1) * p * p * 8.0
    return kept + 10.0 * p * p * 8 + 2.0 * chunk * p * 8
