"""The dlt source: dataset items -> ``raw_apify.profile_items``.

Items stream in as the official client pages them; ``ItemCollector`` turns them into
pyarrow tables of at most ``ARROW_BATCH_ROWS`` rows (memory stays flat however big the
dataset is), drops items repeated verbatim within the dataset, and counts what it saw:
an item that is not a usable profile observation (no LinkedIn URL or no name, or not an
object at all) still lands, and is counted in ``unparsed_items``. The resource merges on ``item_key``
(sha256 of dataset id + canonical item JSON) with dlt's ``insert-only`` strategy: a row
already present is never rewritten, so loading the same dataset twice lands nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import numpy as np
import pyarrow as pa

from loaders.apify_linkedin import settings as s
from loaders.apify_linkedin.helpers import (
    FIELD_NAMES,
    ApifyError,
    ApifyRateLimited,
    EmptyDataset,
    MalformedDataset,
    canonical_json_bytes,
    item_fields,
    normalize_linkedin_url,
    observed_urls,
)
from outreach.tombstones import record_is_erased

# Pipeline settings are the "apify_linkedin" sections of .dlt/config.toml: uncompressed load
# files (gzip cost a third of the landing time at 100k items) of 10k rows each (memory stays
# flat as datasets grow; load COPYs the files in parallel).
WRITE_DISPOSITION = {"disposition": "merge", "strategy": "insert-only"}

_TS = pa.timestamp("us", tz="UTC")
ITEM_SCHEMA = pa.schema(
    [
        pa.field("item_key", pa.string(), nullable=False),
        pa.field("job_unique_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("dataset_id", pa.string()),
        pa.field("item_index", pa.int64()),
        pa.field("observed_at", _TS),
        pa.field("loaded_at", _TS),
        pa.field("linkedin_url", pa.string()),
        pa.field("input_url", pa.string()),
        pa.field("full_name", pa.string()),
        pa.field("first_name", pa.string()),
        pa.field("last_name", pa.string()),
        pa.field("headline", pa.string()),
        pa.field("job_title", pa.string()),
        pa.field("company_name", pa.string()),
        pa.field("company_linkedin_url", pa.string()),
        pa.field("experience", pa.string()),
        pa.field("item", pa.string()),
    ]
)
JSON_COLUMNS = {"experience", "item"}


def column_hints() -> dict[str, dict[str, Any]]:
    """Every text column stays text (never a parsed timestamp); JSON columns are jsonb."""
    hints: dict[str, dict[str, Any]] = {}
    for f in ITEM_SCHEMA:
        if f.name in JSON_COLUMNS:
            hints[f.name] = {"data_type": "json", "nullable": f.name != "item"}
        elif pa.types.is_string(f.type):
            hints[f.name] = {"data_type": "text", "nullable": f.name != "item_key"}
        elif pa.types.is_integer(f.type):
            hints[f.name] = {"data_type": "bigint", "nullable": False}
        else:
            hints[f.name] = {"data_type": "timestamp", "timezone": True, "nullable": False}
    hints["item_key"]["primary_key"] = True
    hints["item_key"]["unique"] = True  # a UNIQUE index: fast merges, no duplicate ever
    return hints


# experience / item travel as JSON text in arrow and are hinted json on purpose
JSON_TEXT_RESOURCES = (s.ITEMS_TABLE,)


@dlt.resource(
    name=s.ITEMS_TABLE,
    write_disposition=WRITE_DISPOSITION,
    primary_key="item_key",
    columns=column_hints(),
)
def profile_items(batches: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Profile items as pyarrow tables with ``ITEM_SCHEMA``."""
    yield from batches


@dlt.source(name=s.SOURCE_NAME)
def apify_linkedin_source(batches: Iterable[pa.Table], new_dataset: bool = False) -> Any:
    """The Apify LinkedIn source over already-fetched item batches (see ItemCollector).

    ``new_dataset``: none of this dataset's items is in raw_apify yet (every live run has a
    new dataset), so the rows are appended straight into the table instead of merged
    through a staging table - the merge would find nothing to skip. The UNIQUE index on
    item_key still refuses any duplicate.
    """
    resource = profile_items(batches)
    if new_dataset:
        resource.apply_hints(write_disposition="append")
    return resource


# ---------------------------------------------------------------------------- collecting
_U64 = 2**64 - 1


class KeySet:
    """A set of 64-bit keys at ~8 bytes a key: a sorted numpy array plus a Python set of
    the latest keys, merged into the array every ``flush_at`` keys. (A set of Python ints
    costs ~70 bytes a key: 70 MB per million items, growing with the dataset.)"""

    def __init__(self, flush_at: int = 65_536) -> None:
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()
        self._flush_at = flush_at

    def add_new(self, key: int) -> bool:
        """Add ``key`` (0 <= key < 2**64); False if it was already there."""
        if key in self._recent:
            return False
        done = self._sorted
        if done.size:
            wanted = np.uint64(key)  # not a Python int: one > 2**63 would cast the whole array
            at = done.searchsorted(wanted)
            if at < done.size and done[at] == wanted:
                return False
        self._recent.add(key)
        if len(self._recent) >= self._flush_at:
            recent = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
            merged = np.concatenate((done, recent))  # disjoint: recent keys are new ones
            merged.sort()
            self._sorted = merged
            self._recent = set()
        return True

    def __len__(self) -> int:
        return int(self._sorted.size) + len(self._recent)


_NO_FIELDS = (None,) * len(FIELD_NAMES)  # an item that is not an object: lands as given


def _constant(value: Any, n: int, dtype: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type=dtype), n)


@dataclass
class ItemCollector:
    """Turns dataset items into arrow batches and counts what arrived.

    Never raises while dlt iterates: an ApifyError ends the stream and is kept in
    ``error`` (``rate_limited`` for a 429 that outlasted the backoff), so the caller decides
    whether what was extracted gets loaded (partial success) or dropped.

    ``requested`` (normalised URLs) bounds what is remembered to the job's own profiles;
    without it (imports) the distinct observed profile URLs are only counted
    (``profiles_count``), as 64-bit hashes in a ``KeySet`` (~8 bytes a profile).
    """

    job_unique_id: str
    run_id: str | None
    dataset_id: str
    observed_at: datetime
    loaded_at: datetime
    requested: set[str] | None = None
    batch_rows: int = s.ARROW_BATCH_ROWS

    items_received: int = 0
    items_kept: int = 0  # distinct items handed to dlt
    duplicate_items: int = 0  # repeated verbatim within the dataset
    unparsed_items: int = 0  # landed, but not an object or no LinkedIn profile URL / name
    profiles_observed: int = 0  # items that are usable profile observations
    profile_urls: set[str] = field(default_factory=set)  # normalised URLs observed
    error: ApifyError | None = None
    rate_limited: ApifyRateLimited | None = None
    erased: frozenset[str] = frozenset()  # GDPR tombstones (outreach.tombstones)
    erased_items: int = 0  # items of erased people, dropped
    _seen: KeySet = field(default_factory=KeySet)  # first 8 bytes of each item key
    _observed: KeySet = field(default_factory=KeySet)  # profile URL hashes (imports)

    @property
    def profiles_count(self) -> int:
        """Distinct profiles observed: the job's own requested ones, or (imports) all."""
        return len(self._observed) if self.requested is None else len(self.profile_urls)

    def _table(self, rows: list[tuple]) -> pa.Table:
        n = len(rows)
        columns = list(zip(*rows, strict=True))
        arrays = {
            "item_key": pa.array(columns[0], pa.string()),
            "job_unique_id": _constant(self.job_unique_id, n, pa.string()),
            "run_id": _constant(self.run_id, n, pa.string()),
            "dataset_id": _constant(self.dataset_id, n, pa.string()),
            "item_index": pa.array(columns[1], pa.int64()),
            "observed_at": _constant(self.observed_at, n, _TS),
            "loaded_at": _constant(self.loaded_at, n, _TS),
        }
        for offset, name in enumerate(FIELD_NAMES, start=2):
            arrays[name] = pa.array(columns[offset], pa.string())
        arrays["item"] = pa.array(columns[-1], pa.binary()).cast(pa.string())
        return pa.table(arrays, schema=ITEM_SCHEMA)

    def batches(self, items: Iterable[Any]) -> Iterator[pa.Table]:
        prefix = hashlib.sha256(self.dataset_id.encode() + b"\n")
        seen, requested, urls, observed_keys = (
            self._seen,
            self.requested,
            self.profile_urls,
            self._observed,
        )
        rows: list[tuple] = []
        try:
            for index, raw in enumerate(items):
                self.items_received += 1
                if self.erased and record_is_erased(raw, self.erased):
                    self.erased_items += 1
                    continue
                canonical = canonical_json_bytes(raw)
                digest = prefix.copy()
                digest.update(canonical)
                key = digest.digest()
                short = int.from_bytes(key[:8], "little")
                if not seen.add_new(short):
                    self.duplicate_items += 1
                    continue
                fields = item_fields(raw) if raw.__class__ is dict else _NO_FIELDS
                observed = observed_urls(fields)
                if observed is None:
                    self.unparsed_items += 1
                else:
                    self.profiles_observed += 1
                    for url in observed:
                        if url and requested is None:
                            observed_keys.add_new(hash(url) & _U64)
                        elif url and url in requested:
                            urls.add(url)
                rows.append((key.hex(), index, *fields, canonical))
                if len(rows) >= self.batch_rows:
                    self.items_kept += len(rows)
                    yield self._table(rows)
                    rows = []
            if self.items_received == 0:
                raise EmptyDataset(
                    f"dataset {self.dataset_id} is empty: the actor returned no items"
                )
            if not self.profiles_observed:
                raise MalformedDataset(
                    f"dataset {self.dataset_id} is malformed: none of its {self.items_received} "
                    "items is a LinkedIn profile (an object with a LinkedIn profile URL and a name)"
                )
        except ApifyRateLimited as exc:
            self.rate_limited = exc
        except ApifyError as exc:
            self.error = exc
            return
        if rows:
            self.items_kept += len(rows)
            yield self._table(rows)

    def completed(self, requested: Iterable[str]) -> tuple[list[str], list[str]]:
        """(completed, skipped) among requested URLs (as given), by normalised URL."""
        done, skipped = [], []
        for url in requested:
            (done if normalize_linkedin_url(url) in self.profile_urls else skipped).append(url)
        return done, skipped


def dataset_fingerprint(items: Iterable[Any]) -> str:
    """A stable id for a dataset read from a file: sha256 over its canonical items."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(canonical_json_bytes(item))
        digest.update(b"\n")
    return digest.hexdigest()
