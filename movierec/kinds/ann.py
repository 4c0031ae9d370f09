"""Approximate top-k over large catalogues: a faiss inverted-file index (IVF, exact inner
products within the probed lists) over a version's item vectors.

The index holds items 1..I at ids 0..I-1 (the OOV row is never indexed). Scores are the
same inner products brute force computes, so the item bias, folded into the vectors as an
extra column by the kinds, ranks as it does exactly. Exclusions (seen items, the request's
exclusions) are exact and the list is still k long: the search asks for k more items than
there are exclusions and drops them (faster than an id selector in the scan).
faiss is imported only here, only for catalogues above the threshold.

NLIST, NPROBE and SIMILAR_NPROBE were chosen on a synthetic 1,000,000-item dot version
(32 dimensions, Zipf popularity): the figures are in bench/RESULTS.md, "Measurements
behind choices in the code", and `python -m bench.catalog` measures them through the data
plane.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

ANN_FILE_SUFFIX = ".faiss"
DEFAULT_MIN_ITEMS = 200_000
"""Catalogues of at least this many items are searched approximately."""
NLIST = 1024
NPROBE = 16
"""Lists probed by Recommend's index."""
SIMILAR_NPROBE = 256
"""Lists probed by SimilarItems' index: cosine neighbours of random-like embeddings spread
over many lists, so it probes more than Recommend for the same recall (bench/RESULTS.md)."""
TRAIN_PER_LIST = 64


class AnnIndex:
    """An IVF inner-product index over vectors [I + 1, D] (row 0 ignored).

    Args:
        index: A trained, filled faiss index (see build or load).
        nprobe: Lists probed per query.
    """

    def __init__(self, index, nprobe: int = NPROBE):
        import faiss

        self._faiss = faiss
        self.index = index
        self.nprobe = nprobe

    @classmethod
    def build(cls, vectors: np.ndarray, seed: int = 0) -> AnnIndex:
        """Trains and fills an index over vectors[1:]."""
        import faiss

        items = np.ascontiguousarray(vectors[1:], dtype=np.float32)
        lists = max(1, min(NLIST, len(items) // TRAIN_PER_LIST))
        quantizer = faiss.IndexFlatIP(items.shape[1])
        index = faiss.IndexIVFFlat(quantizer, items.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = items[rng.choice(len(items), min(len(items), TRAIN_PER_LIST * lists), False)]
        index.train(sample)
        index.add(items)
        return cls(index)

    @classmethod
    def load(cls, handle: BinaryIO) -> AnnIndex:
        """An index written by save, read from a file open for reading (a version's file
        is opened with ModelStore.open_version_file, never by path)."""
        import faiss

        return cls(faiss.deserialize_index(np.frombuffer(handle.read(), dtype=np.uint8)))

    def save(self, path: pathlib.Path) -> None:
        """Writes the index to a file."""
        self._faiss.write_index(self.index, str(path))

    @property
    def size(self) -> int:
        """Items indexed."""
        return int(self.index.ntotal)

    def top_k(
        self, query: np.ndarray, k: int, excluded_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best item rows (1..I) for query [D] and their inner products, best first,
        never an excluded row (inner rows, exact).
        """
        excluded = np.unique(excluded_rows) - 1 if len(excluded_rows) else excluded_rows
        wanted = k + len(excluded)  # filtering afterwards beats a selector in the scan
        self.index.nprobe = self.nprobe
        distances, ids = self.index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), wanted
        )
        if len(excluded):
            keep = ~np.isin(ids[0], excluded)
            ids, distances = ids[:, keep][:, :k], distances[:, keep][:, :k]
        found = ids[0] >= 0
        return ids[0][found].astype(np.int64) + 1, distances[0][found]


RECOMMEND_FILE = "recommend" + ANN_FILE_SUFFIX
"""The index of a version's scoring vectors (Recommend)."""
SIMILAR_FILE = "similar" + ANN_FILE_SUFFIX
"""The index of its unit item vectors (SimilarItems: inner product = cosine)."""


def write_indexes(folder: pathlib.Path, candidates: np.ndarray, unit_items: np.ndarray) -> None:
    """Builds both indexes of a version and writes them into its (staging) folder."""
    AnnIndex.build(candidates).save(folder / RECOMMEND_FILE)
    AnnIndex.build(unit_items).save(folder / SIMILAR_FILE)


def attach_indexes(scorer, open_file: Callable[[str], BinaryIO | None], min_items: int) -> None:
    """Gives a scorer of a catalogue of at least min_items items its two indexes: read
    from the version's files when they were written at publish, else built now.

    Args:
        scorer: The version's scorer.
        open_file: open_file(file name) opens a file of the version, or is None when the
            version has no such file.
        min_items: Smaller catalogues get no index.

    Raises:
        ValueError: an index that does not cover the catalogue.
    """
    if scorer.catalog.num_items < min_items:
        return
    indexes: list[AnnIndex | None] = []
    for name, vectors, width, nprobe in (
        (RECOMMEND_FILE, lambda: scorer.candidates, scorer.candidates.shape[1], NPROBE),
        (SIMILAR_FILE, lambda: scorer.unit_items, scorer.item_vectors.shape[1], SIMILAR_NPROBE),
    ):
        if name == RECOMMEND_FILE and not scorer.inner_product:
            indexes.append(None)  # scores that are no inner product: exact, or two-stage
            continue
        handle = open_file(name)
        if handle is None:
            index = AnnIndex.build(vectors())
        else:
            with handle:
                index = AnnIndex.load(handle)
        index.nprobe = nprobe
        if index.size != scorer.catalog.num_items or index.index.d != width:
            raise ValueError(f"{name} indexes {index.size} items of width {index.index.d}")
        indexes.append(index)
    scorer.ann, scorer.similar_ann = indexes
