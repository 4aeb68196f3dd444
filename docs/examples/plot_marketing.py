"""
Response curves of a marketing mix
==================================

Four channels whose spend reacts to hidden demand, one experiment per channel: fit the
structure-aware estimator, then draw each channel's response curve with its 90 % band against
the simulator's true curves.
"""

# %%
import numpy as np

from jointeffects import (
    StructuredEstimator,
    marketing_example,
    plot_response_curves,
    response_curves,
)

rng = np.random.default_rng(1)
scm = marketing_example()
regimes = [(), *((a,) for a in scm.actions)]
data = {r: scm.sample(2_000 if r else 5_000, intervened=r, rng=rng) for r in regimes}
est = StructuredEstimator(random_state=0).fit(data, outcome="sales")
print("learned ancestors:", est.ancestors_)

# %%
# Curves with the analytic sandwich band
# --------------------------------------
# Only the sum of the curves is identified, so each is the change of sales from the
# observational medians.
curves = response_curves(est, data, grid=25, intervals="sandwich", outcome="sales")
print(curves.groupby("action")[["effect_change", "lower", "upper"]].agg(["min", "max"]).round(2))

# %%
plot_response_curves(curves, truth_scm=scm)
