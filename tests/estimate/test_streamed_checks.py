"""What a streamed fit computes besides the fit: the support diagnostics and the structured
sandwich read chunk streams to the numbers of the in-memory data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jointeffects.errors import DataError
from jointeffects.estimate import StructuredEstimator, as_regime_data
from jointeffects.estimate.diagnostics import support_diagnostics
from jointeffects.estimate.modelfile.format import fit_uncertainty
from jointeffects.estimate.regimes import RegimeChunks
from jointeffects.estimate.uncertainty.sandwich import specification_test
from jointeffects.simulate import sample_polynomial_scm

N = 2501  # rows per regime: not a multiple of the chunk sizes or of the sampling key blocks

pytestmark = pytest.mark.filterwarnings("ignore::jointeffects.errors.SupportWarning")


@pytest.fixture(scope="module")
def data():
    scm = sample_polynomial_scm(K=3, rng=np.random.default_rng(7))
    rng = np.random.default_rng(8)
    return {r: scm.sample(N, intervened=r, rng=rng) for r in [(), *((a,) for a in scm.actions)]}


def streams(data, size):
    def chunks(frame):
        return RegimeChunks(lambda: (frame.iloc[a : a + size] for a in range(0, len(frame), size)))

    return {r: chunks(frame) for r, frame in data.items()}


def test_streamed_support_diagnostics_equal_the_held_ones_below_the_sample_size(data):
    held = support_diagnostics(data)
    streamed = support_diagnostics(streams(data, 700))
    pd.testing.assert_frame_equal(streamed.support, held.support)
    assert (streamed.lower, streamed.upper) == (held.lower, held.upper)
    assert (streamed.reference, streamed.grid) == (held.reference, held.grid)
    assert streamed.warnings == held.warnings


def test_sampled_quantiles_do_not_depend_on_the_chunks_and_are_close(data):
    a = support_diagnostics(streams(data, 700), sample_rows=500).support
    b = support_diagnostics(streams(data, 1234), sample_rows=500).support
    pd.testing.assert_frame_equal(a, b)
    full = support_diagnostics(data).support
    exact = ["rows", "min", "max"]
    pd.testing.assert_frame_equal(a[exact], full[exact])
    sd = np.array([data[()][act].std() for act in full["action"]])
    central = ["q25", "q50", "q75"]
    gap = np.abs(a[central].to_numpy() - full[central].to_numpy()) / sd[:, None]
    assert gap.max() < 0.25  # a 500-row sample's quartiles: s.e. about 0.06 sd
    assert not np.array_equal(a[central], full[central])  # it is a sample


def test_streamed_sandwich_equals_the_held_one(data):
    held = as_regime_data(data)
    fit = StructuredEstimator(structure_test="binned", random_state=0).fit(held)
    chunked = StructuredEstimator(structure_test="binned", random_state=0).fit(streams(data, 600))
    u_held = fit_uncertainty(fit, held, n_boot=0)
    u_stream = fit_uncertainty(chunked, streams(data, 900), n_boot=0)
    np.testing.assert_allclose(u_stream.covariance, u_held.covariance, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(u_stream.neighbour.coef_, u_held.neighbour.coef_, atol=1e-8)
    assert (u_stream.lighter is None) == (u_held.lighter is None)
    assert u_stream.misfit == u_held.misfit
    stat, dof, _ = specification_test(fit, held)
    assert specification_test(chunked, streams(data, 400)) == pytest.approx((stat, dof, _))


def test_bootstrap_of_streams_is_refused(data):
    fit = StructuredEstimator(structure_test="binned", random_state=0).fit(streams(data, 900))
    with pytest.raises(DataError, match="bootstrap intervals resample rows"):
        fit_uncertainty(fit, streams(data, 900), n_boot=5)
