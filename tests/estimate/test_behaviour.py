"""The pinned outputs of a fixed set of fits (see ``behaviour.py``) do not change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from behaviour import PINNED, outputs


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
