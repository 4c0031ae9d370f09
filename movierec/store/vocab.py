"""Id vocabularies: raw dataset ids to the inner row indices of embedding tables."""

from __future__ import annotations

import numpy as np

OOV_INDEX = 0
"""Row reserved for ids unseen in training; its embedding and bias are zero."""


class IdVocabulary:
    """Maps raw ids to inner indices 1..N (0 is the out-of-vocabulary row) and back.

    Args:
        ids: Raw ids, any order, duplicates allowed; stored sorted and unique.
    """

    def __init__(self, ids: np.ndarray):
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids = np.unique(ids)  # sorted unique ids (a catalogue's) are taken as they are
        self.ids = ids

    def __len__(self) -> int:
        """Number of rows an embedding table needs: the known ids plus the OOV row."""
        return len(self.ids) + 1

    def lookup(self, raw_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maps raw ids to inner indices.

        Args:
            raw_ids: Raw ids, shape [n].

        Returns:
            (indices int64 [n], known bool [n]); unknown ids get OOV_INDEX.
        """
        raw = np.asarray(raw_ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(raw.shape, OOV_INDEX, dtype=np.int64), np.zeros(raw.shape, bool)
        rows = np.asarray(self.ids.searchsorted(raw), dtype=np.int64)
        known = self.ids.take(rows, mode="clip") == raw
        # In place: at 25 million ids each temporary array is another 200 MB.
        rows += 1
        rows[~known] = OOV_INDEX
        return rows, known

    def raw_ids(self, indices: np.ndarray) -> np.ndarray:
        """Maps inner indices 1..N back to raw ids (index 0 has no raw id)."""
        return self.ids[np.asarray(indices, dtype=np.int64) - 1]
