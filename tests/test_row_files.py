"""Training rows written to shard files and read back through tf.data: every row once per
pass, rows whole, a new reproducible order each pass, bad columns refused."""

import numpy as np
import pytest

from movierec.training.row_files import read_batches, write_rows


def write_numbered(folder, count, block_rows=16):
    users = np.arange(count, dtype=np.int32)
    halves = users.astype(np.float32) / 2
    files = write_rows(
        folder, count, lambda rows: {"user": users[rows], "half": halves[rows]}, 7, block_rows
    )
    return users, files


def passes(dataset, count=2):
    return [[(u.numpy(), h.numpy()) for u, h in dataset] for _ in range(count)]


@pytest.mark.parametrize("count", [5, 16, 1000, 1013])
def test_every_row_once_per_pass_whole_and_reshuffled(tmp_path, count):
    users, files = write_numbered(tmp_path, count)
    assert files.names == ("user", "half") and files.dtypes == ("int32", "float32")
    data = read_batches(files, 64, seed=3)
    assert int(data.cardinality()) == -(-count // 64)
    seen = passes(data)
    orders = [np.concatenate([u for u, _ in batches]) for batches in seen]
    for order, batches in zip(orders, seen, strict=True):
        assert sorted(order.tolist()) == users.tolist()  # every row once
        assert [len(u) for u, _ in batches[:-1]] == [64] * (len(batches) - 1)
        assert all(np.array_equal(h, u.astype(np.float32) / 2) for u, h in batches)  # whole rows
    if count > 64:
        assert not np.array_equal(orders[0], orders[1])  # reshuffled each pass
    again = np.concatenate([u.numpy() for u, _ in read_batches(files, 64, seed=3)])
    assert np.array_equal(again, orders[0])  # the same seed, the same order
    written = np.concatenate([u.numpy() for u, _ in read_batches(files, 64, None)])
    assert sorted(written.tolist()) == users.tolist()
    if count > 64:
        assert not np.array_equal(written, users)  # written in a random order


def test_large_row_counts_fill_several_shards_and_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr("movierec.training.row_files.CHUNK_ROWS", 64)
    users, files = write_numbered(tmp_path, 5000, block_rows=8)
    assert len(files.shards) == 32 and files.tail is None
    assert sum((tmp_path / name).stat().st_size for name in tmp_path.iterdir()) == 5000 * 8
    order = np.concatenate([u.numpy() for u, _ in read_batches(files, 1000, seed=1)])
    assert sorted(order.tolist()) == users.tolist()


def test_columns_must_be_four_byte_and_stay_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr("movierec.training.row_files.CHUNK_ROWS", 4)
    with pytest.raises(ValueError, match="int32 and float32 only"):
        write_rows(tmp_path, 10, lambda rows: {"user": rows}, 0)  # int64
    with pytest.raises(ValueError, match="no rows"):
        write_rows(tmp_path, 0, lambda rows: {}, 0)
    calls = []

    def changing(rows):
        calls.append(1)
        return {"a" if len(calls) == 1 else "b": rows.astype(np.int32)}

    with pytest.raises(ValueError, match="columns changed"):
        write_rows(tmp_path, 10, changing, 0, block_rows=2)


def test_blocks_are_an_eighth_of_a_batch_within_bounds():
    from movierec.training.row_files import block_rows_for

    assert [block_rows_for(size) for size in (1, 256, 1024, 4096, 100_000)] == [
        16,
        32,
        128,
        512,
        1024,
    ]
