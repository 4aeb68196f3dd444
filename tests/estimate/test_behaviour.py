"""The pinned outputs of a fixed set of fits (see ``behaviour.py``) do not change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from behaviour import PINNED, fixed_data, outputs

from jointeffects.estimate import load_model

#: A structured model file of format 6 (before ψ had its own degree) and its saved-model
#: queries, as pinned then.
FORMAT6 = PINNED.parent / "format6"


@pytest.fixture(scope="module")
def computed():
    return outputs()


def test_every_pinned_file_is_recomputed(computed):
    tables, files = computed
    names = {f"{n}.csv" for n in tables} | set(files)
    assert names == {p.name for p in PINNED.iterdir()}


def test_tables_equal_the_pinned_ones(computed):
    tables, _ = computed
    for name, table in tables.items():
        pinned = pd.read_csv(PINNED / f"{name}.csv", keep_default_na=False)
        assert list(table.columns) == list(pinned.columns), name
        for column in table.columns:
            new, old = table[column].to_numpy(), pinned[column].to_numpy()
            if np.issubdtype(new.dtype, np.number) and new.dtype != bool:
                np.testing.assert_allclose(new, old, rtol=0, atol=1e-12, err_msg=name)
            else:
                assert [str(v) for v in new] == [str(v) for v in old], (name, column)


def test_model_files_are_byte_identical(computed):
    _, files = computed
    for name, content in files.items():
        assert content == (PINNED / name).read_bytes(), name


def test_a_format_6_structured_file_reads_and_predicts_as_before():
    saved = load_model(FORMAT6 / "structured-model.json")
    assert saved.estimator.psi_degrees is None
    assert saved.estimator.psi_degree_ == saved.estimator.degree_
    _, _, queries = fixed_data()
    table = saved.predict_table(queries, level=0.9)
    pinned = pd.read_csv(FORMAT6 / "structured-saved.csv", keep_default_na=False)
    for column in ("prediction", "lower", "upper"):
        np.testing.assert_allclose(table[column], pinned[column], rtol=0, atol=1e-12)
    assert [str(v) for v in table["trusted"]] == [str(v) for v in pinned["trusted"]]
