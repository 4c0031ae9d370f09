"""Responses with item lists, written as protobuf wire bytes without building a message
object per item.

An item's fixed fields (id, title, genres, year) are encoded once per version and row, by
protobuf itself, and kept; a response is those bytes with each item's score appended (a
protobuf parser accepts fields in any order), framed as the repeated `items` field. The
result parses to exactly the message the generated classes would build.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from movierec.catalog import CatalogIndex
from movierec.registry import VersionInfo
from movierec.v1 import common_pb2, serving_pb2

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
        self.index = index
        self.model_field = model_field(info)
        self._frames: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def _framed(self, row: int) -> bytes:
        """The item's `items` field up to its score's 4 bytes: field tag and length, the
        fixed fields, the score's tag (every item's length is its fixed fields' + 5)."""
        cached = self._frames.get(row)
        if cached is not None:
            return cached
        catalog = self.index.catalog
        position = row - 1
        fixed = common_pb2.ScoredItem(
            item_id=int(catalog.item_ids[position]),
            title=str(catalog.item_titles[position]),
            genres=self.index.genres_of(position),
            year=int(catalog.item_years[position]),
        ).SerializeToString()
        framed = ITEMS_FIELD + varint(len(fixed) + 5) + fixed + SCORE_FIELD
        if len(self._frames) < MAX_CACHED_ITEMS:
            with self._lock:
                self._frames[row] = framed
        return framed

    def items(self, rows: np.ndarray, scores: np.ndarray) -> bytes:
        """The repeated `items` field of rows [n] with scores [n], in order."""
        packed = np.asarray(scores, dtype="<f4").tobytes()
        frames = self._frames
        return b"".join(
            (frames.get(row) or self._framed(row)) + packed[4 * i : 4 * i + 4]
            for i, row in enumerate(rows.tolist())
        )

    def recommend_response(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        strategy: str,
        reason: str,
        candidates_from: VersionInfo | None = None,
    ) -> bytes:
        """A serialized RecommendResponse."""
        tail = b""
        if strategy:
            tail += field(STRATEGY_FIELD, strategy.encode())
        if reason:
            tail += field(REASON_FIELD, reason.encode())
        if candidates_from is not None:
            tail += model_field(candidates_from, CANDIDATES_FROM_FIELD)
        return self.model_field + self.items(rows, scores) + tail

    def similar_items_response(self, rows: np.ndarray, scores: np.ndarray) -> bytes:
        """A serialized SimilarItemsResponse."""
        return self.model_field + self.items(rows, scores)
