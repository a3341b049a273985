"""Exported Apify dataset files, read incrementally: one item at a time, never the whole file.

Three shapes are accepted, told apart by the first value in the file:

- a JSON array of items (what the Apify console and ``GET /v2/datasets/{id}/items``
  export), parsed with ijson (its C backend, yajl2_c), prefix ``item``;
- an object with an ``items`` array (``{"items": [...], "total": ...}``, the shape of the
  API's paginated answer), prefix ``items.item``;
- JSON Lines / NDJSON: one item per line, parsed line by line with orjson; blank lines
  are skipped.

Memory stays flat: ijson holds one item (and a 64 KiB read buffer), JSON Lines one line.
A file that is not valid JSON raises ``MalformedDataset`` naming the file, the item index
(0-based, as in ``raw_apify.profile_items.item_index``) and the byte offset or line.
An import reads the file twice - once for the dataset's fingerprint (its id), once to land
it - so a malformed file is found before the first row is written: all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

from loaders.apify_linkedin.helpers import MalformedDataset

ARRAY, WRAPPED, JSON_LINES = "JSON array", "object with an items array", "JSON Lines"
_PREFIX = {ARRAY: "item", WRAPPED: "items.item"}
_BUFFER = 64 * 1024
_MAX_LINE = 16 * 2**20  # the longest first line read to tell JSON Lines from one object


@dataclass(frozen=True)
class DatasetFile:
    """An exported dataset file and its detected shape (``ARRAY``, ``WRAPPED`` or
    ``JSON_LINES``). ``items()`` can be iterated any number of times."""

    path: Path
    shape: str
    start: int = 0  # 3 after a UTF-8 byte order mark

    def items(self) -> Iterator[Any]:
        """The file's items in order, parsed one at a time."""
        with self.path.open("rb") as f:
            f.seek(self.start)
            if self.shape == JSON_LINES:
                yield from _json_lines(self.path, f)
            else:
                yield from _json_items(self.path, f, _PREFIX[self.shape])


def open_dataset(path: Path) -> DatasetFile:
    """The dataset file at ``path`` with its shape, detected from its first value (reads
    no more than the first item). Raises ``MalformedDataset`` for anything else."""
    with path.open("rb") as f:
        head = f.read(_BUFFER)
        start = 3 if head.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 byte order mark
        head = head[start:].lstrip()
        if not head:  # an empty file: no items (the import fails as an empty dataset)
            return DatasetFile(path, JSON_LINES, start)
        if head[:1] == b"[":
            return DatasetFile(path, ARRAY, start)
        if head[:1] != b"{":
            raise MalformedDataset(
                f"{path.name} is malformed: it starts with {head[:20]!r}; expected a JSON "
                "array of items, an object with an items array, or JSON Lines"
            )
        f.seek(start)
        if _first_object_wraps_items(f):
            return DatasetFile(path, WRAPPED, start)
        f.seek(start)
        first = f.readline(_MAX_LINE).strip()
        if first.startswith(b"{") and not _parses(first):
            raise MalformedDataset(
                f"{path.name} is malformed: line 1 is not a complete JSON item and the file's "
                "first object has no items array; expected a JSON array of items, an object "
                "with an items array, or JSON Lines (one item per line)"
            )
        return DatasetFile(path, JSON_LINES, start)


def _parses(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _first_object_wraps_items(f: BinaryIO) -> bool:
    """True when the file's first object has an ``items`` array (the wrapper shape); False
    when it closes without one (then each line is an item). Stops at whichever comes first."""
    try:
        for prefix, event, _value in ijson.parse(f, multiple_values=True, buf_size=_BUFFER):
            if prefix == "items" and event == "start_array":
                return True
            if prefix == "" and event == "end_map":
                return False
    except ijson.JSONError:
        return False  # the first line may still be a valid JSON Lines item: reported there
    return False


def _json_items(path: Path, f: BinaryIO, prefix: str) -> Iterator[Any]:
    index = 0
    try:
        for item in ijson.items(f, prefix, use_float=True, buf_size=_BUFFER):
            yield item
            index += 1
    except ijson.JSONError as exc:
        # ijson reads ahead by one buffer: the offset is where parsing stopped, within 64 KiB
        raise MalformedDataset(
            f"{path.name} is malformed at item {index} (near byte {f.tell():,}): "
            f"{_first_line(exc)}; nothing from this file was landed"
        ) from None


def _json_lines(path: Path, f: BinaryIO) -> Iterator[Any]:
    index, offset = 0, f.tell()
    for number, line in enumerate(f, start=1):
        if line.strip():
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise MalformedDataset(
                    f"{path.name} is malformed at line {number} (item {index}, byte "
                    f"{offset:,}): not valid JSON ({exc.msg}); expected one JSON item per line; "
                    "nothing from this file was landed"
                ) from None
            yield item
            index += 1
        offset += len(line)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
