"""Messages that say what is really wrong: the delimiter, a duplicate column, a pandas index
column, a folder or a compressed/binary file given as a table, a damaged model file or store."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest

from conftest import refused, table
from jointeffects.experiments.runner import plan
from jointeffects.experiments.store import ResultsStore

CSV = table().to_csv(index=False)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (CSV.replace(",", ";").encode(), r"delimiter looks wrong \(.* use semicolons\)"),
        (CSV.replace(",", "\t").encode(), r"delimiter looks wrong \(the file seems to use tabs\)"),
        (b"sep=;\n" + CSV.replace(",", ";").encode(), r"Excel's 'sep=;' line: the delimiter"),
        (CSV.replace("search", "tv", 1).encode(), r"duplicate column name\(s\) \['tv'\]"),
        (table().to_csv().encode(), r"column 'Unnamed: 0' is a pandas index column.*index=False"),
        (CSV.replace("search", "", 1).encode(), r"column 2 has no name in the header"),
        (gzip.compress(CSV.encode()), "is gzip-compressed; decompress it"),
        (b"\x00\x01\x02binary\xff" * 50, "holds binary data, not CSV text"),
        ("tv,search,sales\n1,2,3\n".encode("utf-16"), r"binary data|not UTF-8"),
        (b"tv,search,sales\n\xe9,1,2\n", "not UTF-8 text"),
        (b"PK\x03\x04" + b"x" * 100, r"zip archive \(an Excel \.xlsx\?\)"),
    ],
)  # fmt: skip
def test_unreadable_tables_are_named_for_what_they_are(work, content, match):
    (work / "obs.csv").write_bytes(content)
    data = ["--data", work / "obs.csv", "--data", f"tv={work / 'tv.csv'}"]
    refused(["fit", "--outcome", "sales", *data, "--out", work / "m.json"], match, work)


def test_a_parquet_file_named_csv_is_recognised(work):
    table().to_parquet(work / "q.parquet")
    (work / "q.csv").write_bytes((work / "q.parquet").read_bytes())
    refused(["predict", "--model", work / "model.json", "--at", work / "q.csv", "--out",
             work / "p.csv"], "is a Parquet file; rename it", work)  # fmt: skip


def test_duplicate_columns_in_a_query_file(work):
    (work / "q.csv").write_text("tv,search,tv\n1,2,3\n")
    refused(["predict", "--model", work / "model.json", "--at", work / "q.csv", "--out",
             work / "p.csv"], r"duplicate column name\(s\) \['tv'\]", work)  # fmt: skip


def test_a_folder_given_as_a_data_file(work):
    (work / "obs").mkdir()
    refused(["fit", "--outcome", "sales", "--data", work / "obs", "--out", work / "m.json"],
            "is a folder, not a table file", work)  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda p: p.__setitem__("comment", "x"), r"top level has unknown key\(s\) \['comment'\]"),
        (lambda p: p.pop("diagnostics"), r"model file top level lacks \['diagnostics'\]"),
    ],
)  # fmt: skip
def test_top_level_keys_of_a_model_file_are_named(work, edit, match):
    payload = json.loads((work / "model.json").read_text())
    edit(payload)
    (work / "odd.json").write_text(json.dumps(payload))
    refused(["report", "--model", work / "odd.json", "--out", work / "r.html"], match, work)


def _store(folder):
    config, _ = plan("fig2a", "tiny", 1, 0)
    with ResultsStore(folder) as store:
        store.open_run(config, "0")
    return folder / "results.sqlite"


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE runs SET config = 'not json {'",
        "UPDATE runs SET config = '[1, 2]'",
        'UPDATE runs SET config = \'{"figure": "fig2a"}\'',
        "DROP TABLE runs; CREATE TABLE runs (x TEXT); INSERT INTO runs VALUES ('y')",
    ],
)
def test_a_damaged_store_says_so_and_how_to_start_a_new_one(tmp_path, damage):
    path = _store(tmp_path / "store")
    with sqlite3.connect(path) as db:
        db.executescript(damage)
    db.close()
    refused(["results", tmp_path / "store", "--no-figures"],
            r"store .* is damaged.*start a new one with --out NEWDIR", tmp_path)  # fmt: skip


def test_a_store_that_is_not_a_database(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "results.sqlite").write_text("garbage, not sqlite\n" * 100)
    refused(["results", tmp_path / "store"], "is damaged.*--out NEWDIR", tmp_path)


def test_a_huge_model_file_is_refused_before_reading(work, monkeypatch):
    from jointeffects.estimate.modelfile import format as modelfile

    monkeypatch.setattr(modelfile, "MAX_FILE_BYTES", 1000)
    refused(["report", "--model", work / "model.json", "--out", work / "r.html"],
            r"model file .* is 0\.0 GiB, larger than any model file", work)  # fmt: skip
