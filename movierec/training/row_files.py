"""Training rows on disk: written once per job as shard files of fixed-size blocks, read
back through tf.data (imports TensorFlow; trainer job processes only).

A job writes the rows it fits on (the model's input columns and the label) in one seeded
random order, a block of rows at a time, each block stored column after column as 4-byte
values, the blocks spread over up to `MAX_SHARDS` files. Fitting then reads them with
`tf.data.FixedLengthRecordDataset`: each pass visits the shards in a new order, interleaves
a few of them, shuffles blocks in a bounded buffer and re-cuts the blocks into batches.
Memory while fitting is that buffer and the prefetched batches, not the ratings.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable

import numpy as np
import tensorflow as tf

BLOCK_ROWS = 128
"""Rows per block (one record of a shard file) unless the writer says otherwise."""
MAX_SHARDS = 32
"""Most shard files a job writes; fewer when there are fewer blocks."""
SHUFFLE_BLOCKS = 256
"""Blocks in the shuffle buffer of a pass."""
INTERLEAVED_SHARDS = 8
"""Shards read side by side in a pass."""
CHUNK_ROWS = 1 << 20
"""Rows gathered and written at a time (bounds the writer's memory)."""
_DTYPES = {"int32": tf.int32, "float32": tf.float32}


@dataclasses.dataclass(frozen=True)
class RowFiles:
    """Rows written by write_rows.

    Attributes:
        names: Column names, in storage order.
        dtypes: Their dtypes, "int32" or "float32".
        count: Rows in all.
        block_rows: Rows per block of the shards.
        shards: The shard files (whole blocks only).
        tail: The file of the last, short block (count % block_rows rows), or None.
    """

    names: tuple[str, ...]
    dtypes: tuple[str, ...]
    count: int
    block_rows: int
    shards: tuple[str, ...]
    tail: str | None

    @property
    def tail_rows(self) -> int:
        """Rows of the short last block."""
        return self.count % self.block_rows


def block_rows_for(batch_size: int) -> int:
    """Rows per block for batches of `batch_size`: eight blocks or more to a batch (16 to
    1,024 rows), so that each pass mixes blocks whose rows always travel together, in
    blocks large enough to read cheaply (`python -m bench.row_pipeline` measures the cost
    per block size; its figures are in bench/RESULTS.md)."""
    return min(1024, max(16, batch_size // 8))


def write_rows(
    folder: str | pathlib.Path,
    count: int,
    columns_of: Callable[[np.ndarray], dict[str, np.ndarray]],
    seed: int,
    block_rows: int = BLOCK_ROWS,
) -> RowFiles:
    """Writes `count` rows into shard files in `folder`, in a random order drawn from
    `seed`, gathering CHUNK_ROWS rows at a time.

    Args:
        folder: An existing folder the files go into.
        count: Rows in all (at least 1).
        columns_of: Given row numbers int64 [m] (into 0..count-1), the columns of those
            rows: 1-D int32 or float32 arrays of length m, the same names every call.
        seed: Seed of the order.
        block_rows: Rows per block.

    Returns:
        What read_batches reads.
    """
    if count < 1:
        raise ValueError("no rows to write")
    folder = pathlib.Path(folder)
    order = np.random.default_rng(seed).permutation(count)
    whole = count // block_rows
    per_shard = max(1, -(-whole // MAX_SHARDS))
    shards = [folder / f"rows-{index:03d}.bin" for index in range(-(-whole // per_shard))]
    tail = folder / "rows-tail.bin" if count % block_rows else None
    names: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    handles = [open(path, "wb") for path in shards]  # noqa: SIM115 (closed below)
    try:
        step = max(block_rows, CHUNK_ROWS // block_rows * block_rows)
        for start in range(0, count, step):
            rows = order[start : start + step]
            columns = columns_of(rows)
            if not names:
                names = tuple(columns)
                dtypes = tuple(_dtype_name(name, columns[name]) for name in names)
            if tuple(columns) != names:
                raise ValueError(f"columns changed from {names} to {tuple(columns)}")
            words = np.empty((len(names), len(rows)), dtype=np.int32)
            for position, name in enumerate(names):
                values = np.asarray(columns[name])
                if values.shape != (len(rows),) or _dtype_name(name, values) != dtypes[position]:
                    raise ValueError(f"column {name} does not match its first chunk")
                words[position] = values.view(np.int32)
            blocks_here = len(rows) // block_rows
            # [blocks, columns, block_rows]: each block's columns one after another.
            blocked = words[:, : blocks_here * block_rows].reshape(
                len(names), blocks_here, block_rows
            )
            blocked = np.ascontiguousarray(blocked.transpose(1, 0, 2))
            first = start // block_rows
            for shard in range(first // per_shard, -(-(first + blocks_here) // per_shard)):
                low = max(shard * per_shard - first, 0)
                high = min((shard + 1) * per_shard - first, blocks_here)
                handles[shard].write(blocked[low:high].tobytes())
            if len(rows) % block_rows:
                assert tail is not None
                rest = words[:, blocks_here * block_rows :]
                tail.write_bytes(np.ascontiguousarray(rest).tobytes())
    finally:
        for handle in handles:
            handle.close()
    return RowFiles(
        names=names,
        dtypes=dtypes,
        count=count,
        block_rows=block_rows,
        shards=tuple(str(path) for path in shards),
        tail=str(tail) if tail is not None else None,
    )


def _dtype_name(name: str, values: np.ndarray) -> str:
    dtype = np.asarray(values).dtype
    if dtype not in (np.int32, np.float32):
        raise ValueError(f"column {name} is {dtype}; rows hold int32 and float32 only")
    return dtype.name


def read_batches(files: RowFiles, batch_size: int, seed: int | None) -> tf.data.Dataset:
    """Batches of `batch_size` rows (the last one shorter) as a tuple of 1-D tensors in
    files.names order: rebatched(read_blocks(files, seed), files.count, batch_size)."""
    return rebatched(read_blocks(files, seed), files.count, batch_size)


def read_blocks(files: RowFiles, seed: int | None) -> tf.data.Dataset:
    """The blocks of the rows as tuples of 1-D tensors in files.names order: each pass in
    a new order drawn from `seed` (shards, then blocks in a buffer of SHUFFLE_BLOCKS), or
    in the order written when seed is None. Every row is visited once per pass; the same
    seed gives the same passes.
    """
    parts = []
    if files.shards:
        record_bytes = 4 * len(files.names) * files.block_rows
        shards = tf.data.Dataset.from_tensor_slices(list(files.shards))
        if seed is not None:
            shards = shards.shuffle(len(files.shards), seed=seed, reshuffle_each_iteration=True)
        parts.append(
            shards.interleave(
                lambda path: tf.data.FixedLengthRecordDataset(path, record_bytes),
                cycle_length=min(INTERLEAVED_SHARDS, len(files.shards)),
                block_length=1,
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        )
    if files.tail is not None:
        tail_bytes = 4 * len(files.names) * files.tail_rows
        parts.append(tf.data.FixedLengthRecordDataset(files.tail, tail_bytes))
    blocks = parts[0]
    for part in parts[1:]:
        blocks = blocks.concatenate(part)
    if seed is not None:
        blocks = blocks.shuffle(SHUFFLE_BLOCKS, seed=seed + 1, reshuffle_each_iteration=True)
    kinds = [_DTYPES[name] for name in files.dtypes]

    def decode(record: tf.Tensor) -> tuple[tf.Tensor, ...]:
        words = tf.reshape(tf.io.decode_raw(record, tf.int32), [len(kinds), -1])
        return tuple(
            words[position] if kind == tf.int32 else tf.bitcast(words[position], kind)
            for position, kind in enumerate(kinds)
        )

    return blocks.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def rebatched(blocks: tf.data.Dataset, count: int, batch_size: int) -> tf.data.Dataset:
    """Blocks of `count` rows in all (of any structure whose tensors share their first
    dimension) cut into batches of `batch_size` rows, the last one shorter.

    Under tf.distribute, each worker reads every block and keeps its share of each batch
    (the share is cut here, so what is done to blocks before is the same on every worker).
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (
        blocks.rebatch(batch_size)
        .apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
        .with_options(options)
    )
