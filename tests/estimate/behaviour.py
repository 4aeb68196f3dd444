"""A fixed set of fits whose outputs are pinned in ``tests/data/behaviour/``.

Predictions, intervals, curves, saved-model queries and model files of every estimator, on
seeded simulator data. ``test_behaviour.py`` recomputes them and compares: numbers to 1e-12,
model files byte for byte. Regenerate the pinned files (only on purpose, when a change of
results is intended and explained) with::

    python tests/estimate/behaviour.py
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from jointeffects import sample_polynomial_scm
from jointeffects.estimate import (
    AdditiveProjection,
    GaussianNoiseJointEstimator,
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
    StructuredEstimator,
    as_regime_data,
    bootstrap_intervals,
    fit_uncertainty,
    load_model,
    response_curves,
    sandwich_intervals,
    save_model,
    support_diagnostics,
)

PINNED = Path(__file__).resolve().parents[1] / "data" / "behaviour"
ROWS = 500


def estimators(dag: dict) -> dict[str, object]:
    return {
        "paper": JointEffectEstimator(random_state=0),
        "structured": StructuredEstimator(random_state=0),
        "projected": AdditiveProjection(random_state=0),
        "prior": GaussianNoiseJointEstimator(dag=dag),
        "topline": JointTopline(random_state=0),
        "pooled": PooledBaseline(random_state=0),
        "observational": ObservationalBaseline(random_state=0),
    }


def outputs() -> tuple[dict[str, pd.DataFrame], dict[str, bytes]]:
    """The tables and model files of the fixed fits (one BLAS thread, so that the last digits
    do not depend on the machine's thread count)."""
    with threadpool_limits(1):
        return _outputs()


def fixed_data():
    """The SCM, its regimes' data and the joint queries every pinned output uses."""
    scm = sample_polynomial_scm(3, rng=np.random.default_rng(11))
    rng = np.random.default_rng(12)
    regimes = [(), *[(a,) for a in scm.actions], tuple(scm.actions)]
    data = as_regime_data({r: scm.sample(ROWS, intervened=r, rng=rng) for r in regimes})
    queries = scm.sample(25, intervened=tuple(scm.actions), rng=rng)[list(scm.actions)]
    return scm, data, queries


def _outputs() -> tuple[dict[str, pd.DataFrame], dict[str, bytes]]:
    scm, data, queries = fixed_data()
    mixed = [scm.actions[0]]
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, bytes] = {}
    warnings.simplefilter("ignore")
    fitted = {}
    for name, est in estimators({a: scm.parents(a) for a in scm.actions}).items():
        train = (
            dict(data.regimes)
            if name == "topline"
            else {r: v for r, v in data.regimes.items() if len(r) < len(scm.actions)}
        )
        est.fit(train, actions=scm.actions)
        fitted[name] = (est, train)
        tables[f"{name}-predict"] = pd.DataFrame(
            {"joint": est.predict(queries.to_numpy())}
            | (
                {}
                if name in ("topline", "pooled", "observational", "prior")
                else {"mixed": est.predict(queries.to_numpy(), intervened=mixed)}
            )
        )
    for name in ("paper", "structured", "projected", "prior", "topline"):
        est, train = fitted[name]
        tables[f"{name}-bootstrap"] = bootstrap_intervals(
            est, train, queries, n_boot=8, random_state=3
        )
    est, train = fitted["paper"]
    tables["paper-bootstrap-mixed"] = bootstrap_intervals(
        est, train, queries, intervened=mixed, n_boot=8, random_state=3
    )
    est, train = fitted["structured"]
    tables["structured-sandwich"] = sandwich_intervals(est, train, queries)
    tables["structured-sandwich-mixed"] = sandwich_intervals(est, train, queries, intervened=mixed)
    tables["structured-curves"] = response_curves(est, train, grid=7, intervals="sandwich")
    est, train = fitted["paper"]
    tables["paper-curves"] = response_curves(est, train, grid=7, n_boot=8, random_state=4)
    with tempfile.TemporaryDirectory() as tmp:
        for name, n_boot in (("paper", 6), ("structured", 0), ("observational", 4)):
            est, train = fitted[name]
            train_data = as_regime_data(train, actions=scm.actions)
            path = Path(tmp) / f"{name}.json"
            save_model(
                est,
                path,
                support_diagnostics(train_data),
                fit_uncertainty(est, train_data, n_boot=n_boot, rng=5),
            )
            files[f"{name}-model.json"] = path.read_bytes()
            saved = load_model(path)
            tables[f"{name}-saved"] = saved.predict_table(queries, level=0.9)
            tables[f"{name}-saved-contrast"] = saved.predict_table(
                queries, level=0.8, base=queries.iloc[0].to_numpy()
            )
    return tables, files


def write() -> None:
    tables, files = outputs()
    PINNED.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        table.to_csv(PINNED / f"{name}.csv", index=False, float_format="%.17g")
    for name, content in files.items():
        (PINNED / name).write_bytes(content)


if __name__ == "__main__":
    write()
