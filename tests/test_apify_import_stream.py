"""Streaming imports of exported Apify datasets (issue 15, item 7): every accepted file shape
is read incrementally and landed in batches; a file bigger than a batch lands each item
exactly once; a re-run lands nothing new; a malformed file names where it broke and lands
nothing. Real PostgreSQL, the published item shapes from testing.apify. Memory and time are
measured in benchmarks/bench_apify_import.py, not here."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg
import pytest
from test_apify_support import job_rows, reset_apify_state

from loaders.apify_linkedin.files import ARRAY, JSON_LINES, WRAPPED, open_dataset
from loaders.apify_linkedin.helpers import MalformedDataset
from loaders.apify_linkedin.run import import_dataset
from loaders.apify_linkedin.source import KeySet
from testing.apify import ApifyTestServer, Faults

N = 230  # items per generated file: several batches of BATCH
BATCH = 40
UNPARSED = ["not an object", 42, {"inputUrl": "https://example.com/x", "error": "Not found"}]


@pytest.fixture
def db(warehouse):
    reset_apify_state(warehouse)
    return warehouse


def published_items(n: int = N) -> list:
    """n items of the three published shapes (flat, experience[], experiences[]), each its
    own profile, with a few unusable items among them."""
    server = ApifyTestServer(seed=3, faults=Faults(shape="mixed"))
    items: list = [server.item(f"https://www.linkedin.com/in/stream-{i:04d}", 0) for i in range(n)]
    for offset, bad in enumerate(UNPARSED):
        items.insert(10 + offset * 50, bad)
    return items


def write(path: Path, items: list, shape: str = ARRAY) -> Path:
    if shape == JSON_LINES:
        path.write_bytes(b"".join(orjson.dumps(i) + b"\n" for i in items))
    elif shape == WRAPPED:
        path.write_bytes(orjson.dumps({"total": len(items), "items": items, "offset": 0}))
    else:
        path.write_bytes(orjson.dumps(items, option=orjson.OPT_INDENT_2))
    return path


def landed(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        if not conn.execute("select to_regclass('raw_apify.profile_items')").fetchone()[0]:
            return []
        return conn.execute(
            "select dataset_id, item_index, item_key from raw_apify.profile_items"
            " order by item_index"
        ).fetchall()


def run(path: Path, db: str, tmp_path: Path, messages: list[str] | None = None):
    sink = messages.append if messages is not None else (lambda _m: None)
    return import_dataset(
        path,
        observed_at="2026-02-01T00:00:00Z",
        database_url=db,
        progress=sink,
        pipelines_dir=tmp_path / "dlt",
        batch_rows=BATCH,
        progress_every=100,
    )


def test_a_file_bigger_than_a_batch_lands_every_item_exactly_once(db, tmp_path):
    items = published_items()
    messages: list[str] = []
    result = run(write(tmp_path / "big.json", items), db, tmp_path, messages)

    (job,) = result.jobs
    assert job.status == "completed" and job.items_landed == len(items) > 5 * BATCH
    rows = landed(db)
    assert [r[1] for r in rows] == list(range(len(items)))  # each item once, in file order
    assert len({r[2] for r in rows}) == len(items)
    assert job.total_profiles == N and job.metadata["unparsed_items"] == len(UNPARSED)
    assert any("warning:" in m and f"{len(UNPARSED)} of" in m for m in messages)
    # progress for long work: both passes report every 100 items
    assert [m.strip() for m in messages if m.startswith("  ")] == [
        "checked: 100 items",
        "checked: 200 items",
        "landing: 100 items",
        "landing: 200 items",
    ]


def test_a_rerun_in_any_accepted_shape_lands_no_duplicates(db, tmp_path):
    items = published_items()
    first = run(write(tmp_path / "a.json", items), db, tmp_path)
    before = landed(db)
    for shape in (ARRAY, WRAPPED, JSON_LINES):
        again = run(write(tmp_path / f"again-{shape[:4]}.txt", items, shape), db, tmp_path)
        assert again.jobs[0].status == "completed" and again.jobs[0].items_landed == 0
        assert again.jobs[0].total_profiles == N
    assert landed(db) == before and len(before) == len(items)
    datasets = {j["dataset_id"] for j in job_rows(db)}
    assert datasets == {first.jobs[0].dataset_id}  # same items, same dataset, same keys


@pytest.mark.parametrize(
    ("shape", "where"),
    [(ARRAY, "is malformed at item 122 (near byte"), (JSON_LINES, "is malformed at line 121")],
)
def test_a_file_malformed_after_several_batches_lands_nothing_then_converges(
    db, tmp_path, shape, where
):
    items = published_items()
    path = write(tmp_path / "broken.json", items, shape)
    good = path.read_bytes()
    cut = good.index(b"stream-0119") if shape == ARRAY else None
    if shape == ARRAY:  # stream-0119 (item 122: 3 unusable items come first) breaks there
        end = good.index(b"\n  }", cut)
        path.write_bytes(good[:end] + b"\n  ,,\n" + good[end:])
    else:
        lines = good.splitlines(keepends=True)
        lines[120] = lines[120][:-20] + b"\n"
        path.write_bytes(b"".join(lines))

    result = run(path, db, tmp_path)

    (job,) = job_rows(db)
    assert result.jobs[0].status == job["status"] == "failed"
    assert job["error_message"].startswith("broken.json ") and where in job["error_message"]
    assert "nothing from this file was landed" in job["error_message"]
    assert landed(db) == []
    # the fixed file lands every item once
    fixed = run(write(path, items, shape), db, tmp_path)
    assert fixed.jobs[0].status == "completed" and len(landed(db)) == len(items)


def test_shape_detection_and_unusable_files(tmp_path):
    items = [{"linkedinUrl": "https://www.linkedin.com/in/a", "fullName": "A"}, {"x": 1.5}]
    for shape in (ARRAY, WRAPPED, JSON_LINES):
        dataset = open_dataset(write(tmp_path / "f", items, shape))
        assert dataset.shape == shape and list(dataset.items()) == items
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + write(bom, items).read_bytes())
    assert list(open_dataset(bom).items()) == items  # a UTF-8 byte order mark is skipped
    (tmp_path / "empty.json").write_bytes(b" \n")
    assert list(open_dataset(tmp_path / "empty.json").items()) == []  # then "is empty"
    (tmp_path / "one.json").write_bytes(b'{\n  "fullName": "A"\n}\n')
    with pytest.raises(MalformedDataset, match="one.json is malformed: line 1 is not a"):
        open_dataset(tmp_path / "one.json")
    (tmp_path / "csv.json").write_bytes(b"linkedinUrl,fullName\n")
    with pytest.raises(MalformedDataset, match="csv.json is malformed: it starts with"):
        open_dataset(tmp_path / "csv.json")


def test_keyset_remembers_keys_across_its_merges():
    keys = KeySet(flush_at=4)
    values = [0, 2**64 - 1, 7, 2**63, 5, 11, 3, 9, 2**40]
    assert all(keys.add_new(v) for v in values)
    assert not any(keys.add_new(v) for v in values)  # in the sorted array or the recent set
    assert len(keys) == len(values)
