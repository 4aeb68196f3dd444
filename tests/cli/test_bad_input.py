"""Bad input to the practitioner commands: one-line error, exit status 2, no partial output."""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointeffects.cli.main import main

ACTIONS = ("tv", "search")


def _table(n=40, seed=0, **columns):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({a: rng.normal(size=n) for a in ACTIONS})
    frame["sales"] = frame.sum(axis=1) + rng.normal(size=n)
    for name, value in columns.items():
        frame[name] = value
    return frame


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    for name, seed in [("obs", 0), ("tv", 1), ("search", 2), ("joint", 3)]:
        _table(seed=seed).to_csv(folder / f"{name}.csv", index=False)
    _table(seed=4)[list(ACTIONS)].to_csv(folder / "queries.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def model(files):
    path = files / "model.json"
    result = CliRunner().invoke(main, ["fit", "--outcome", "sales", *_good_data(files),
                                       "--n-boot", "0", "--out", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def _good_data(folder):
    return ["--data", str(folder / "obs.csv"), "--data", f"tv={folder / 'tv.csv'}",
            "--data", f"search={folder / 'search.csv'}"]  # fmt: skip


def _expect_error(args, match, out):
    """Exit 2, exactly one line on stderr matching ``match``, and ``out`` not created."""
    before = set(out.parent.iterdir())
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or "Usage:" in result.stderr, result.stderr
    assert re.search(match, result.stderr), result.stderr
    assert set(out.parent.iterdir()) == before  # no output, no temporary file left
    return result


def _write(folder, name, frame_or_text):
    path = folder / name
    if isinstance(frame_or_text, pd.DataFrame):
        frame_or_text.to_csv(path, index=False)
    else:
        path.write_bytes(frame_or_text)
    return path


BAD_TV = {
    "missing column": (_table().drop(columns="search"), r"lacks column\(s\) \['search'\]"),
    "misspelled column": (
        _table().rename(columns={"search": "serch"}),
        r"lacks column\(s\) \['search'\] \(did you mean 'serch'\?\)",
    ),
    "extra column": (_table(radio=1.0), r"unexpected column\(s\) \['radio'\]"),
    "non-numeric": (_table(search=["x"] * 40), r"column 'search' is not numeric"),
    "NaN": (_table(tv=[np.nan] + [1.0] * 39), "NaN or infinite"),
    "inf": (_table(tv=[np.inf] + [1.0] * 39), "NaN or infinite"),
    "too few rows": (_table(n=5), r"has 5 rows; at least 10"),
}


@pytest.mark.parametrize("case", list(BAD_TV))
def test_bad_experiment_tables(case, files, tmp_path):
    frame, match = BAD_TV[case]
    bad = _write(tmp_path, "bad.csv", frame)
    out = tmp_path / "model.json"
    args = ["fit", "--outcome", "sales", "--data", files / "obs.csv", "--data", f"tv={bad}",
            "--out", out]  # fmt: skip
    _expect_error(args, match, out)


@pytest.mark.parametrize(
    ("content", "name", "match"),
    [
        (None, "missing.csv", r"file '.*missing.csv' does not exist"),
        (b"", "empty.csv", r"is empty"),
        (b"tv,search,sales\n", "header.csv", r"has no data rows"),
        (b"\x00\x01garbage", "broken.parquet", r"cannot read '.*broken.parquet' as parquet"),
        (b'tv,search,sales\n1,2,"3\n', "quote.csv", r"cannot read '.*quote.csv' as csv"),
        (b"tv;search\n", "data.txt", r"unknown table format '.txt'"),
    ],
)
def test_unreadable_files(content, name, match, tmp_path):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "model.json"
    _expect_error(["fit", "--outcome", "sales", "--data", path, "--out", out], match, out)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--data", "tv=SAME"], r"regime 'tv' is given twice"),
        (["--data", "radio=SAME"], r"regime 'radio' names no action 'radio'"),
        (["--data", "tv+search=SAME", "--data", "search+tv=SAME"], r"given twice"),
        (["--outcome", "sale"], r"outcome column 'sale' not found \(did you mean 'sales'\?\)"),
        (["--validate-with", "obs=SAME"], r"not the observational regime"),
        (["--regime-col", "regime"], r"--regime-col reads one long table"),
    ],
)
def test_bad_fit_options(extra, match, files, tmp_path):
    out = tmp_path / "model.json"
    extra = [str(files / "tv.csv") if x == "SAME" else x.replace("SAME", str(files / "tv.csv"))
             for x in extra]  # fmt: skip
    outcome = [] if "--outcome" in extra else ["--outcome", "sales"]
    _expect_error(["fit", *outcome, *_good_data(files), *extra, "--out", out], match, out)


def test_no_observational_data(files, tmp_path):
    out = tmp_path / "model.json"
    args = ["fit", "--outcome", "sales", "--data", f"tv={files / 'tv.csv'}", "--out", out]
    _expect_error(args, r"no observational data", out)


@pytest.mark.parametrize(
    ("queries", "extra", "match"),
    [
        (_table()[["tv"]], [], r"query columns \['tv'\] do not match.*missing \['search'\]"),
        (_table()[["tv", "search"]], ["--intervened", "tv,radio"], r"unknown action.*radio"),
        (_table(tv=["a"] * 40)[["tv", "search"]], [], r"non-numeric"),
        (_table()[["tv", "search"]], ["--interval", "0.9"], r"holds no uncertainty"),
        (_table()[["tv", "search"]], ["--interval", "1.5"], r"not a coverage level"),
    ],
)
def test_bad_queries(queries, extra, match, model, tmp_path):
    at = _write(tmp_path, "q.csv", queries)
    out = tmp_path / "pred.csv"
    _expect_error(["predict", "--model", model, "--at", at, *extra, "--out", out], match, out)


def test_failed_predict_leaves_an_existing_output_untouched(model, tmp_path):
    at = _write(tmp_path, "q.csv", _table()[["tv"]])
    out = tmp_path / "pred.csv"
    out.write_text("old content\n")
    _expect_error(["predict", "--model", model, "--at", at, "--out", out], "do not match", out)
    assert out.read_text() == "old content\n"


def _resealed(text):
    """A deliberate edit: the checksum recomputed, so the fields themselves must refuse it."""
    import json

    from jointeffects.estimate.modelfile.format import _checksum

    payload = json.loads(text)
    payload["checksum"] = _checksum(payload)
    return json.dumps(payload)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (lambda t: t[: len(t) // 3], r"not valid JSON \(truncated or edited\?\)"),
        (
            lambda t: _resealed(t.replace('"outcome": "sales"', '"outcome": 7')),
            r"'estimator\.outcome'",
        ),  # fmt: skip
        (lambda t: re.sub(r'"b": [-0-9.e+]+', '"b": 0.5', t, count=1), r"checksum does not"),
    ],
)
@pytest.mark.parametrize("command", ["predict", "curves", "report"])
def test_damaged_model_files(text, match, command, model, files, tmp_path):
    damaged = tmp_path / "model.json"
    damaged.write_text(text(model.read_text()))
    out = tmp_path / ("out.png" if command == "curves" else "out.html")
    extra = ["--at", files / "queries.csv"] if command == "predict" else []
    out = tmp_path / "pred.csv" if command == "predict" else out
    _expect_error([command, "--model", damaged, *extra, "--out", out], match, out)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"model file '.*model.json' does not exist"),
        (b"", r"not valid JSON \(truncated or edited\?\)"),
        (b"\xff\xfe\x00binary", r"cannot read model file .*can't decode"),
        (b"[1, 2]", r"must be a JSON object \(a jointeffects model file\)"),
        (b'{"format": "jointeffects.model/9"}', r"format 'jointeffects.model/9' is not"),
        (b'{"format": "jointeffects.model/2"}', r"not 'jointeffects.model/3' or .*5'.*; refit the"),
        (b'{"format": "jointeffects.model/4", "checksum": NaN}', r"holds NaN, which is not"),
    ],
)
def test_unusable_model_files(content, match, files, tmp_path):
    model = tmp_path / "model.json"
    if content is not None:
        model.write_bytes(content)
    out = tmp_path / "pred.csv"
    args = ["predict", "--model", model, "--at", files / "queries.csv", "--out", out]
    _expect_error(args, match, out)


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [
        ("--intervened", "", r"--intervened '' names no action; give actions like 'tv,search'"),
        ("--intervened", " , ", r"names no action"),
        ("--at", "missing.csv", r"file '.*missing.csv' does not exist"),
        ("--out", "pred.txt", r"a table must end in \.csv"),
    ],
)
def test_bad_predict_options(option, value, match, model, files, tmp_path):
    args = {"--model": model, "--at": files / "queries.csv", "--out": tmp_path / "pred.csv"}
    args[option] = tmp_path / value if option in ("--at", "--out") else value
    _expect_error(["predict", *(x for pair in args.items() for x in pair)], match, args["--out"])


def test_bad_figure_format(model, tmp_path):
    out = tmp_path / "curves.xyz"
    _expect_error(["curves", "--model", model, "--out", out], r"a figure must end in \.png", out)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    result = CliRunner().invoke(main, ["example", "marketing", "--out", str(folder), "--rows",
                                       "100"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder / "spec.json"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, r"cannot read SCM spec '.*spec.json': No such file"),
        (b"\xff\xfe\x00binary", r"cannot read SCM spec '.*spec.json': it is not UTF-8"),
        (b"{", r"'.*spec.json' is not valid JSON"),
        (b"[1]", r"SCM spec '.*spec.json': an SCM spec must be a JSON object"),
        (b'{"format": "jointeffects.scm/1"}', r"SCM spec '.*spec.json': missing field\(s\)"),
    ],
)
@pytest.mark.parametrize("command", ["simulate", "curves"])
def test_bad_scm_specs(content, match, command, model, tmp_path):
    path = tmp_path / "spec.json"
    if content is not None:
        path.write_bytes(content)
    if command == "simulate":
        out = tmp_path / "sim.csv"
        args = ["simulate", "--scm", path, "--out", out]
    else:
        out = tmp_path / "curves.png"
        args = ["curves", "--model", model, "--truth", path, "--out", out]
    _expect_error(args, match, out)


def test_truth_with_other_actions_is_one_line(model, spec, tmp_path):
    out = tmp_path / "curves.png"
    result = _expect_error(["curves", "--model", model, "--truth", spec, "--out", out],
                           r"--truth has actions \['tv', 'search', 'social', 'email'\]; the "
                           r"model has \['tv', 'search'\]", out)  # fmt: skip
    assert "Usage:" not in result.stderr


def test_bad_report_pair_and_simulate_regime(model, files, spec, tmp_path):
    out = tmp_path / "r.html"
    _expect_error(["report", "--model", model, "--pair", "tv,radio", "--out", out],
                  r"--pair names unknown action 'radio'", out)  # fmt: skip
    out = tmp_path / "sim.csv"
    _expect_error(["simulate", "--scm", spec, "--regime", "tv+emial", "--out", out],
                  r"names no action 'emial' \(did you mean 'email'\?\)", out)  # fmt: skip
    _expect_error(["simulate", "--scm", files / "obs.csv", "--out", out], r"not valid JSON", out)


def test_missing_output_folder(files, tmp_path):
    out = tmp_path / "nope" / "model.json"
    args = ["fit", "--outcome", "sales", *_good_data(files), "--n-boot", "0", "--out", out]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2 and "folder" in result.stderr
    assert not out.parent.exists()


# -- property: random malformed tables never crash with a traceback -------------------------

_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(10**6), 10**6),
    st.text(alphabet=string.ascii_letters + " ,;\"'\n", max_size=4),
    st.none(),
)
_names = st.sampled_from(["tv", "search", "sales", "serch", "Sales", "", "tv"])


@st.composite
def tables(draw):
    columns = draw(st.lists(_names, min_size=0, max_size=4))
    n = draw(st.integers(0, 14))
    data = {f"{c}": [draw(_cells) for _ in range(n)] for c in columns}
    return pd.DataFrame(data)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=tables(), as_queries=st.booleans())
def test_random_malformed_tables_never_crash(table, as_queries, files, model):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        table.to_csv(path, index=False)
        out = Path(tmp) / ("p.csv" if as_queries else "m.json")
        if as_queries:
            args = ["predict", "--model", model, "--at", path, "--out", out]
        else:
            args = ["fit", "--outcome", "sales", "--data", files / "obs.csv", "--data",
                    f"tv={path}", "--n-boot", "0", "--out", out]  # fmt: skip
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code in (0, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        if result.exit_code == 2:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
            assert not out.exists()
        else:
            assert out.exists()
