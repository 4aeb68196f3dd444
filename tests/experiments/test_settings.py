"""Figure settings follow Appendix E's size rules at every scale."""

from __future__ import annotations

import pytest

from jointeffects.errors import SpecError
from jointeffects.experiments.methods import METHODS
from jointeffects.experiments.settings import FIGURES, SCALES, get_figure, n_train, scale_summary


def _all_settings():
    return [
        (fig.name, scale, s)
        for fig in FIGURES.values()
        for scale in SCALES
        for s in fig.scales[scale].settings
    ]


@pytest.mark.parametrize("figure, scale, setting", _all_settings())
def test_sizes_follow_appendix_e(figure, scale, setting):
    K = setting.K
    if figure == "fig2a":
        assert setting.n_obs == setting.n_sint == setting.n_base
    if figure in ("fig2b", "figB"):  # N_obs + K·N_sint = N_tot = n_base
        assert setting.n_obs + K * setting.n_sint == setting.n_tot
        assert setting.n_base == setting.n_tot
        assert setting.n_sint / setting.n_obs == pytest.approx(setting.ratio, rel=0.02)
    if figure in ("fig2c", "figA"):  # N_obs = N_sint, topline on N_tot joint rows
        assert setting.n_obs == setting.n_sint
        assert abs((K + 1) * setting.n_obs - setting.n_tot) <= K + 1
        assert setting.n_base == setting.n_tot
    assert n_train(setting.n_base) + setting.n_test == setting.n_base
    assert setting.n_test == pytest.approx(0.2 * setting.n_base, abs=1)


def test_paper_scale_is_appendix_e():
    fig2a = FIGURES["fig2a"].scales["paper"]
    assert fig2a.n_scms == 100 and fig2a.settings[0].n_obs == 10**6
    assert {s.n_tot for s in FIGURES["fig2b"].scales["paper"].settings} == {6 * 10**4}
    ratios = [s.ratio for s in FIGURES["fig2b"].scales["paper"].settings]
    assert min(ratios) == 0.05 and max(ratios) == 10
    totals = [s.n_tot for s in FIGURES["fig2c"].scales["paper"].settings]
    assert min(totals) == 10**3 and max(totals) == 10**7
    assert {s.K for s in FIGURES["figA"].scales["paper"].settings} == {2, 3, 5, 10}


def test_every_figure_names_registered_methods():
    for fig in FIGURES.values():
        assert get_figure(fig.name) is fig
        assert set(fig.methods) <= set(METHODS)
    assert FIGURES["fig2a"].methods == (
        "paper",
        "topline",
        "pooled",
        "observational",
        "structured",
        "projected",
        "prior",
    )
    for name in FIGURES:  # the prior method (Saengkyongam & Silva 2020) is in every figure
        assert "prior" in FIGURES[name].methods


def test_unknown_figure_is_refused():
    with pytest.raises(SpecError, match=r"unknown figure 'fig9'; choose one of \['fig2a'"):
        get_figure("fig9")


def test_scale_summary_quotes_every_scale():
    text = scale_summary()
    for fig in FIGURES.values():
        for scale in SCALES:
            assert f"  {scale}: {fig.scales[scale].sizes}" in text
    assert "K=5, 10^6 rows per regime; 100 SCMs" in text
