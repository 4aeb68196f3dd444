"""
Intervals and their flags
=========================

Pointwise 90 % intervals for the joint effect from the analytic sandwich and from the
bootstrap, on one SCM of the paper's family, and the share of queries whose interval holds
the exact effect.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

from jointeffects import (
    JointEffectsWarning,
    StructuredEstimator,
    bootstrap_intervals,
    sample_polynomial_scm,
    sandwich_intervals,
)

rng = np.random.default_rng(2)
scm = sample_polynomial_scm(K=3, rng=rng)
data = {r: scm.sample(2_000, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}
queries = scm.sample(200, intervened=scm.actions, rng=rng)[list(scm.actions)]
truth = scm.joint_effect(queries)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", JointEffectsWarning)
    est = StructuredEstimator(random_state=0).fit(data, outcome="Y")
    tables = {
        "sandwich": sandwich_intervals(est, data, queries),
        "bootstrap": bootstrap_intervals(est, data, queries, n_boot=30, random_state=0),
    }
for message in caught:
    print(f"{message.category.__name__}: {message.message}")

# %%
# Coverage and width
# ------------------
# When the structured model fails its residual specification test, every sandwich interval
# is flagged (``trusted`` is False, and ``note`` says why): the band is then not to be relied
# on, and the bootstrap of the same estimator, which refits everything, is the safer choice.
# Queries outside some regime's training range are flagged as extrapolation.
for name, table in tables.items():
    inside = (table["lower"] <= truth) & (truth <= table["upper"])
    width = (table["upper"] - table["lower"]).median() / truth.std()
    print(
        f"{name:9s} covers {inside.mean():.2f} of the queries, median width "
        f"{width:.2f} sd of the effect, trusted {table['trusted'].mean():.2f}"
    )

# %%
order = np.argsort(truth)
fig, ax = plt.subplots(figsize=(7, 3.5))
table = tables["sandwich"].iloc[order]
ax.fill_between(np.arange(len(order)), table["lower"], table["upper"], alpha=0.3, label="90 % band")
ax.plot(np.arange(len(order)), table["estimate"], linewidth=1, label="estimate")
ax.plot(np.arange(len(order)), truth[order], ".", markersize=3, color="black", label="truth")
ax.set_xlabel("query (sorted by the true effect)")
ax.set_ylabel("E[Y | do(a)]")
ax.legend()
fig.tight_layout()
