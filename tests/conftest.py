"""Test-session settings shared by every test."""

from __future__ import annotations

import os

# One BLAS thread per test process: the pytest-xdist workers share the cores without
# oversubscribing them, and results do not depend on the machine's thread count. The
# variables must be set before numpy loads its BLAS; threadpool_limits covers a BLAS that
# some plugin loaded earlier.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)
