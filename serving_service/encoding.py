"""Responses with item lists, written as protobuf wire bytes without building a message
object per item.

An item's fixed fields (id, title, genres, year) are encoded once per version and row, by
protobuf itself, and kept; a response is those bytes with each item's score appended (a
protobuf parser accepts fields in any order), framed as the repeated `items` field. The
result parses to exactly the message the generated classes would build.

Items answered from a top list (movierec.serving.top_lists; Ranked.list_key) are encoded once per
list: later calls for as many items or fewer slice those bytes.
"""

from __future__ import annotations

import array
import functools
import itertools
import threading
import weakref

import numpy as np

from movierec.kinds.versions import VersionInfo
from movierec.store.catalog import CatalogIndex
from movierec_client.v1 import common_pb2, serving_pb2

MODEL_FIELD = b"\x0a"  # field 1, length-delimited: the ModelVersion of every response
ITEMS_FIELD = b"\x12"  # field 2, length-delimited: repeated ScoredItem
STRATEGY_FIELD = b"\x1a"  # RecommendResponse field 3
REASON_FIELD = b"\x22"  # RecommendResponse field 4
CANDIDATES_FROM_FIELD = b"\x2a"  # RecommendResponse field 5, a ModelVersion
SCORE_FIELD = b"\x25"  # ScoredItem field 4, 32-bit: the score
RATINGS_FIELD = b"\x12"  # PredictResponse field 2, packed floats
SCORES_FIELD = b"\x1a"  # PredictResponse field 3, packed floats
SCORE_TYPE_FIELD = b"\x20"  # PredictResponse field 4, varint
PREDICT_STRATEGY_FIELD = b"\x2a"  # PredictResponse field 5
FALLBACK_FIELD = b"\x32"  # PredictResponse field 6, packed varints
MAX_CACHED_ITEMS = 200_000
"""Items whose encoding a version keeps; beyond it (huge catalogues) items are encoded on
each use, so memory stays bounded."""
MAX_LISTED_BYTES = 16 << 20
"""Memory a version's encoded top lists may take; lists beyond it are encoded per call."""


def varint(value: int) -> bytes:
    """Protobuf base-128 encoding of a non-negative integer."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field."""
    return tag + varint(len(payload)) + payload


@functools.lru_cache(maxsize=16)
def strategy_field(strategy: str) -> bytes:
    """The `strategy` field of a RecommendResponse."""
    return field(STRATEGY_FIELD, strategy.encode())


@functools.lru_cache(maxsize=64)
def model_field(info: VersionInfo, tag: bytes = MODEL_FIELD) -> bytes:
    """The `model` field (a ModelVersion) of every response of a version, or another
    ModelVersion field."""
    return field(
        tag,
        common_pb2.ModelVersion(
            name=info.name, version=info.version, kind=info.kind, objective=info.objective
        ).SerializeToString(),
    )


def predict_response(
    info: VersionInfo, scores: np.ndarray, is_rating: bool, strategy: str, fallback: tuple
) -> bytes:
    """A serialized PredictResponse: the scores packed straight from the array (and again
    as `ratings` for a rating version)."""
    packed = np.asarray(scores, dtype="<f4").tobytes()
    out = [model_field(info)]
    if packed:
        if is_rating:
            out.append(field(RATINGS_FIELD, packed))
        out.append(field(SCORES_FIELD, packed))
    out.append(
        SCORE_TYPE_FIELD + varint(serving_pb2.RATING if is_rating else serving_pb2.RELEVANCE)
    )
    if strategy:
        out.append(field(PREDICT_STRATEGY_FIELD, strategy.encode()))
    if fallback:
        out.append(field(FALLBACK_FIELD, b"".join(varint(i) for i in fallback)))
    return b"".join(out)


class ItemEncoder:
    """Encodes the items of one loaded version.

    Args:
        info: The version, for the `model` field of responses.
        index: Its catalogue index.
    """

    def __init__(self, info: VersionInfo, index: CatalogIndex):
        self._index = weakref.ref(index)  # so that an encoder keyed by its index can go
        self.model_field = model_field(info)
        self._frames: dict[int, bytes] = {}
        self._lists: dict[tuple[int, int], tuple[bytes, array.array]] = {}
        self.list_bytes = 0
        """Memory of the encoded top lists kept."""
        self._lock = threading.Lock()

    def _framed(self, row: int) -> bytes:
        """The item's `items` field up to its score's 4 bytes: field tag and length, the
        fixed fields, the score's tag (every item's length is its fixed fields' + 5)."""
        cached = self._frames.get(row)
        if cached is not None:
            return cached
        index = self._index()
        assert index is not None, "encoders serve only versions whose index lives"
        catalog = index.catalog
        position = row - 1
        fixed = common_pb2.ScoredItem(
            item_id=int(catalog.item_ids[position]),
            title=str(catalog.item_titles[position]),
            genres=index.genres_of(position),
            year=int(catalog.item_years[position]),
        ).SerializeToString()
        framed = ITEMS_FIELD + varint(len(fixed) + 5) + fixed + SCORE_FIELD
        if len(self._frames) < MAX_CACHED_ITEMS:
            with self._lock:
                self._frames[row] = framed
        return framed

    def items(
        self, rows: np.ndarray, scores: np.ndarray, list_key: tuple[int, int] | None = None
    ) -> bytes:
        """The repeated `items` field of rows [n] with scores [n], in order; with the
        list_key of a Ranked, kept for later calls on that list."""
        n = len(rows)
        if list_key is not None:
            kept = self._lists.get(list_key)
            if kept is not None and len(kept[1]) >= n:
                encoded, ends = kept
                return encoded[: ends[n - 1]] if n else b""
        packed = np.asarray(scores, dtype="<f4").tobytes()
        frames = self._frames
        parts = [
            (frames.get(row) or self._framed(row)) + packed[4 * i : 4 * i + 4]
            for i, row in enumerate(rows.tolist())
        ]
        encoded = b"".join(parts)
        if list_key is not None:
            self._keep(list_key, encoded, array.array("I", itertools.accumulate(map(len, parts))))
        return encoded

    def _keep(self, list_key: tuple[int, int], encoded: bytes, ends: array.array) -> None:
        """Keeps a list's encoded prefix (replacing a shorter one) while memory allows."""
        with self._lock:
            kept = self._lists.get(list_key)
            if kept is not None and len(kept[1]) >= len(ends):
                return
            size = len(encoded) + ends.itemsize * len(ends)
            if kept is not None:
                size -= len(kept[0]) + kept[1].itemsize * len(kept[1])
            if self.list_bytes + size <= MAX_LISTED_BYTES:
                self._lists[list_key] = (encoded, ends)
                self.list_bytes += size

    def recommend_response(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        strategy: str,
        reason: str,
        candidates_from: VersionInfo | None = None,
        list_key: tuple[int, int] | None = None,
    ) -> bytes:
        """A serialized RecommendResponse (list_key as for `items`)."""
        tail = b""
        if strategy:
            tail += strategy_field(strategy)
        if reason:
            tail += field(REASON_FIELD, reason.encode())
        if candidates_from is not None:
            tail += model_field(candidates_from, CANDIDATES_FROM_FIELD)
        return self.model_field + self.items(rows, scores, list_key) + tail

    def similar_items_response(
        self, rows: np.ndarray, scores: np.ndarray, list_key: tuple[int, int] | None = None
    ) -> bytes:
        """A serialized SimilarItemsResponse (list_key as for `items`)."""
        return self.model_field + self.items(rows, scores, list_key)
