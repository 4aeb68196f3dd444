"""
Joint effects on the paper's family
===================================

Draw one SCM of the paper's random family, sample the observational regime and one
experiment per action, and compare the paper's estimator with the structure-aware one
against the exact joint effect.
"""

# %%
# Data: the observational regime plus one experiment per action
# -------------------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np

from jointeffects import (
    JointEffectEstimator,
    StructuredEstimator,
    SupportWarning,
    sample_polynomial_scm,
)

rng = np.random.default_rng(0)
scm = sample_polynomial_scm(K=5, rng=rng)
regimes = [(), *((a,) for a in scm.actions)]
data = {r: scm.sample(10_000, intervened=r, rng=rng) for r in regimes}
print({r or "observational": len(table) for r, table in data.items()})

# %%
# Queries and the truth
# ---------------------
# Query points come from the joint intervention; the simulator knows E[Y | do(a)] exactly.
queries = scm.sample(2_000, intervened=scm.actions, rng=rng)[list(scm.actions)]
truth = scm.joint_effect(queries)
print(f"sd of the true effect over the queries: {truth.std():.3f}")

# %%
# Fit both estimators
# -------------------
# The relative error is the RMSE against the truth divided by the sd of the truth:
# 1 is no better than predicting a constant. In this family the experiments often reach a
# little outside the observational range, and ``fit`` says so with a ``SupportWarning``.
predictions = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", SupportWarning)
    for est in (JointEffectEstimator(), StructuredEstimator(random_state=0)):
        predictions[type(est).__name__] = est.fit(data, outcome="Y").predict(queries)
print("fit warned:", caught[0].message)
for name, pred in predictions.items():
    rel = np.sqrt(np.mean((pred - truth) ** 2)) / truth.std()
    print(f"{name:22s} relative error {rel:.2f}")

# %%
# Predictions against the truth
# -----------------------------
fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
for ax, (name, pred) in zip(axes, predictions.items(), strict=True):
    ax.scatter(truth, pred, s=4, alpha=0.4)
    lims = [truth.min(), truth.max()]
    ax.plot(lims, lims, color="black", linewidth=1)
    ax.set_title(name)
    ax.set_xlabel("true E[Y | do(a)]")
axes[0].set_ylabel("estimate")
fig.tight_layout()
