"""The documentation's generated pages agree with the result files they quote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
RESULTS = DOCS.parent / "benchmarks" / "results"


@pytest.fixture(scope="module")
def docs_scripts():
    sys.path.insert(0, str(DOCS))
    try:
        import make_reproduction
        import validation_pages

        yield make_reproduction, validation_pages
    finally:
        sys.path.remove(str(DOCS))


def test_reproduction_page_is_built_from_the_recorded_runs(docs_scripts):
    make_reproduction, _ = docs_scripts
    assert (DOCS / "reproduction.md").read_text() == make_reproduction.build(), (
        "docs/reproduction.md is stale: run python docs/make_reproduction.py"
    )


@pytest.mark.parametrize(
    "page, result",
    [
        ("allocation", "allocation"),
        ("speed", "interval_speed"),
        ("speed", "fit_speed"),
        ("speed", "stream_memory"),
        ("efficiency", "structured"),
        ("decisions", "decisions"),
    ],
)
def test_validation_pages_quote_their_result_files(docs_scripts, page, result):
    _, validation_pages = docs_scripts
    stamp = json.loads((RESULTS / f"{result}.json").read_text())["stamp"]
    text = validation_pages.PAGES_BY_NAME[page]()
    assert validation_pages.stamp_line(stamp) in text


def test_coverage_page_has_a_section_per_result_file(docs_scripts):
    _, validation_pages = docs_scripts
    files = sorted(RESULTS.glob("coverage*.json"))
    assert files, "no coverage result file: run benchmarks/bench_coverage.py"
    text = validation_pages.coverage_page()
    for path in files:
        assert validation_pages.stamp_line(json.loads(path.read_text())["stamp"]) in text


def test_a_missing_result_file_is_an_error_not_an_empty_page(docs_scripts, monkeypatch, tmp_path):
    _, validation_pages = docs_scripts
    monkeypatch.setattr(validation_pages, "RESULTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="allocation.json is missing"):
        validation_pages.allocation_page()
    with pytest.raises(FileNotFoundError, match="coverage.json is missing"):
        validation_pages.coverage_page()
