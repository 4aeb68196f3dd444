"""Every validation rule at the estimators' public boundary gives a clear, actionable error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression

from jointeffects.errors import DataError, IdentificationError
from jointeffects.estimate import (
    JointEffectEstimator,
    JointTopline,
    ObservationalBaseline,
    PooledBaseline,
)

ACTIONS = ["tv", "email", "search"]


def _table(rng: np.random.Generator, n: int = 50, columns=(*ACTIONS, "sales")) -> pd.DataFrame:
    return pd.DataFrame(rng.normal(size=(n, len(columns))), columns=list(columns))


@pytest.fixture
def datasets() -> dict:
    rng = np.random.default_rng(0)
    return {(): _table(rng), **{(a,): _table(rng) for a in ACTIONS}}


def _fit(datasets, **kwargs):
    return JointEffectEstimator(learner=LinearRegression()).fit(datasets, outcome="sales", **kwargs)


def test_missing_action_column_is_named_with_a_suggestion(datasets):
    datasets[("tv",)] = datasets[("tv",)].rename(columns={"email": "emial"})
    with pytest.raises(DataError, match=r"lacks column\(s\) \['email'\] \(did you mean 'emial'"):
        _fit(datasets)


def test_extra_column_is_refused(datasets):
    datasets[("email",)] = datasets[("email",)].assign(radio=1.0)
    with pytest.raises(DataError, match=r"unexpected column\(s\) \['radio'\]"):
        _fit(datasets)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(datasets, bad):
    datasets[("search",)].iloc[3, 0] = bad
    with pytest.raises(DataError, match=r"do\(search\).*NaN or infinite"):
        _fit(datasets)


def test_non_numeric_column_is_refused(datasets):
    datasets[()]["tv"] = "high"
    with pytest.raises(DataError, match="column 'tv' is not numeric"):
        _fit(datasets)


def test_too_small_regime_is_refused(datasets):
    datasets[("tv",)] = datasets[("tv",)].head(3)
    with pytest.raises(DataError, match=r"regime do\(tv\) has 3 rows; at least 10"):
        _fit(datasets)


def test_unknown_action_in_regime_key(datasets):
    datasets[("radio",)] = datasets.pop(("tv",))
    with pytest.raises(DataError, match=r"names no action 'radio'.*actions are \['tv'"):
        _fit(datasets)


def test_overlapping_blocks_are_refused(datasets):
    datasets[("tv", "email")] = datasets[("tv",)]
    with pytest.raises(DataError, match="both intervene on 'tv'; blocks must be disjoint"):
        _fit(datasets)


def test_no_observational_data(datasets):
    del datasets[()]
    with pytest.raises(DataError, match="needs observational data"):
        _fit(datasets)


def test_duplicate_regime_names(datasets):
    datasets["tv"] = datasets[("tv",)]
    with pytest.raises(DataError, match=r"do\(tv\) is given twice"):
        _fit(datasets)


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(...\) first"):
        JointEffectEstimator().predict(np.zeros((2, 3)))


def test_wrong_number_of_columns_at_predict(datasets):
    est = _fit(datasets)
    with pytest.raises(DataError, match="query has 2 columns; expected 3"):
        est.predict(np.zeros((4, 2)))
    with pytest.raises(DataError, match=r"missing \['search'\]"):
        est.predict(pd.DataFrame(np.zeros((4, 2)), columns=["tv", "email"]))
    with pytest.raises(DataError, match="NaN or infinite"):
        est.predict(np.full((1, 3), np.nan))


def test_unidentified_queries_are_refused(datasets):
    del datasets[("search",)]
    est = _fit(datasets)
    X = np.zeros((2, 3))
    with pytest.raises(IdentificationError, match=r"no experiment intervenes on \['search'\]"):
        est.predict(X)
    with pytest.raises(IdentificationError, match=r"unknown action\(s\) \['radio'\]"):
        est.predict(X, intervened=["radio"])
    assert np.all(np.isfinite(est.predict(X, intervened=["tv", "email"])))


def test_partial_block_is_refused(datasets):
    datasets[("tv", "email")] = datasets.pop(("tv",))
    del datasets[("email",)]
    est = _fit(datasets)
    with pytest.raises(IdentificationError, match=r"splits the block experiment do\(tv, email\)"):
        est.predict(np.zeros((1, 3)), intervened=["tv"])
    est.predict(np.zeros((1, 3)), intervened=["tv", "email"])


def test_long_table_with_regime_column(datasets):
    labels = {(): "obs", ("tv",): "tv", ("email",): "email", ("search",): "search"}
    long = pd.concat([t.assign(regime=labels[k]) for k, t in datasets.items()])
    est_long = _fit(long, regime_col="regime")
    est_dict = _fit(datasets)
    X = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(est_long.predict(X), est_dict.predict(X))
    with pytest.raises(DataError, match="regime column 'regim' not in the table"):
        _fit(long, regime_col="regim")
    with pytest.raises(DataError, match="without regime_col"):
        _fit(long)


def test_array_input_and_column_order_from_data(datasets):
    arrays = {
        tuple(ACTIONS.index(a) for a in key): (t[ACTIONS].to_numpy(), t["sales"].to_numpy())
        for key, t in datasets.items()
    }
    est_arr = JointEffectEstimator(learner=LinearRegression()).fit(arrays, actions=ACTIONS)
    shuffled = {k: t[["sales", "search", "tv", "email"]] for k, t in datasets.items()}
    est_df = _fit(shuffled)
    assert est_df.actions_ == ("search", "tv", "email")  # order from the observational table
    X = pd.DataFrame(np.random.default_rng(2).normal(size=(4, 3)), columns=ACTIONS)
    np.testing.assert_allclose(est_arr.predict(X.to_numpy()), est_df.predict(X))


@pytest.mark.parametrize(
    "cls", [JointEffectEstimator, ObservationalBaseline, PooledBaseline, JointTopline]
)
def test_sklearn_parameter_contract(cls):
    est = cls(learner=LinearRegression(), random_state=3)
    assert est.get_params()["random_state"] == 3
    copy = clone(est.set_params(random_state=4))
    assert copy.get_params()["random_state"] == 4
    assert not hasattr(copy, "actions_")


def test_topline_needs_joint_data_and_answers_joint_queries_only(datasets):
    with pytest.raises(DataError, match=r"JointTopline needs do\(tv, email, search\) data"):
        JointTopline(learner=LinearRegression()).fit(datasets, outcome="sales")
    datasets[tuple(ACTIONS)] = datasets[()]
    top = JointTopline(learner=LinearRegression()).fit(datasets, outcome="sales")
    with pytest.raises(IdentificationError, match="answers only joint queries"):
        top.predict(np.zeros((1, 3)), intervened=["tv"])
