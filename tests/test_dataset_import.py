"""movierec.data.imports: own interactions (CSV, TSV, gzip, Parquet) into a dataset folder."""

import gzip
import hashlib
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierec.data import datasets
from movierec.data.imported_datasets import list_imported, read_manifest
from movierec.data.imports import folder as folder_module
from movierec.data.imports.importer import ImportSpec, import_dataset
from movierec.data.imports.merge import merge_duplicates
from movierec.errors import DatasetError

PLAYS = "\ufeffuser\tartist\tplays\r\n2\t51\t13883\r\n2\t52\t11690\r\n\r\n3\t51\t5\r\n2\t51\t2\r\n"
"""Play counts as Last.fm exports them: TSV, CRLF, a UTF-8 byte order mark, a blank line,
and user 2's plays of artist 51 on two lines."""


def write(path, text, compress=False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def snapshot(root):
    """Every path under root (hidden ones too) with its size and mtime."""
    if not root.exists():
        return None
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    )


def test_a_tsv_of_play_counts_imports_as_implicit_feedback_with_duplicates_summed(tmp_path):
    source = write(tmp_path / "plays.tsv", PLAYS)
    spec = ImportSpec("plays", source, "user", "artist", weight_column="plays")
    manifest = import_dataset(spec, tmp_path / "data")

    assert manifest["feedback"] == "implicit" and manifest["rating_scale"] == [1.0, 1.0]
    assert (manifest["rows_read"], manifest["rows"], manifest["duplicates_merged"]) == (4, 3, 1)
    assert (manifest["users"], manifest["items"]) == (2, 2)
    assert manifest["has_timestamps"] is False and manifest["genres"] == []
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["sources"]["interactions"]["sha256"] == digest
    assert read_manifest(tmp_path / "data" / "plays") == manifest

    data = datasets.load_dataset("plays", tmp_path / "data")
    assert data.implicit and not data.has_timestamps
    # 2 -> 51 merged into the place of its later line: 13883 + 2 plays
    assert data.ratings["user_id"].tolist() == [2, 3, 2]
    assert data.ratings["item_id"].tolist() == [52, 51, 51]
    assert data.ratings["rating"].tolist() == [1.0, 1.0, 1.0]
    weights = np.load(tmp_path / "data" / "plays" / "weight.npy")
    assert weights.tolist() == [11690.0, 5.0, 13885.0]
    # no items file: an item's title is its id
    assert data.items.set_index("item_id")["title"].to_dict() == {51: "51", 52: "52"}


def test_ratings_keep_the_latest_of_a_duplicate_pair_by_time_then_by_line(tmp_path):
    # 1 -> 10 is rated three times: 5 at t=300, then 2 at t=100 (earlier though later in
    # the file), then 4 at t=300 (same time as the first, later line): 4 is kept.
    source = write(
        tmp_path / "ratings.csv",
        "userId,movieId,rating,when\n"
        "1,10,5,300\n"
        "1,10,2,100\n"
        "1,11,3.5,1970-01-01T00:01:40Z\n"
        "1,10,4,1970-01-01T00:05:00+00:00\n"
        "2,10,1,50\n",
    )
    spec = ImportSpec("rated", source, "userId", "movieId", "rating", time_column="when")
    manifest = import_dataset(spec, tmp_path)
    assert manifest["duplicates_merged"] == 2 and manifest["feedback"] == "ratings"
    assert manifest["rating_scale"] == [1.0, 5.0] and manifest["time_range"] == [50, 300]
    ratings = datasets.load_dataset("rated", tmp_path).ratings
    assert ratings.values.tolist() == [[1, 11, 3.5, 100], [1, 10, 4.0, 300], [2, 10, 1.0, 50]]


def test_iso_8601_times_with_and_without_offsets_are_unix_seconds(tmp_path):
    source = write(
        tmp_path / "t.csv",
        "u,i,t\n1,1,2024-05-01T12:30:00Z\n1,2,2024-05-01 12:30:00\n1,3,2024-05-01T14:30:00+02:00\n"
        "1,4,1714566600\n",
    )
    import_dataset(ImportSpec("t", source, "u", "i", time_column="t"), tmp_path)
    # 2024-05-01T12:30:00Z is 1714566600: 19844 days * 86400 + 12.5 h; no offset means UTC
    assert datasets.load_dataset("t", tmp_path).ratings["timestamp"].tolist() == [1714566600] * 4


def test_gzip_and_parquet_give_the_dataset_plain_text_gives(tmp_path):
    text = "user;item;score\n1;5;4.5\n2;5;1\n2;6;3\n"
    plain = write(tmp_path / "r.txt", text)
    packed = write(tmp_path / "r.txt.gz", text, compress=True)
    parquet = tmp_path / "r.parquet"
    pq.write_table(
        pa.table({"user": [1, 2, 2], "item": [5, 5, 6], "score": [4.5, 1.0, 3.0]}), parquet
    )
    frames = []
    for name, path in (("plain", plain), ("packed", packed), ("columnar", parquet)):
        spec = ImportSpec(name, path, "user", "item", "score", separator=";")
        assert import_dataset(spec, tmp_path / "data")["rows"] == 3
        frames.append(datasets.load_dataset(name, tmp_path / "data").ratings)
    assert frames[0].equals(frames[1]) and frames[0].equals(frames[2])
    assert frames[0]["rating"].tolist() == [4.5, 1.0, 3.0]


def test_an_items_file_gives_titles_and_genres_and_may_end_lines_early(tmp_path):
    plays = write(tmp_path / "plays.tsv", PLAYS)
    items = write(
        tmp_path / "artists.tsv",
        "id\tname\ttags\turl\r\n"
        '51\t"Weird Al" Yankovic\tcomedy|parody \turl\r\n'
        "51\tA second line for 51\trock\turl\r\n"
        "52\tDuran Duran\tpop|(no genres listed)\r\n"  # no url: a field no column reads
        "99\tNobody played me\trock\turl\r\n",
    )
    spec = ImportSpec(
        "tagged",
        plays,
        "user",
        "artist",
        items=items,
        items_id_column="id",
        title_column="name",
        genres_column="tags",
    )
    manifest = import_dataset(spec, tmp_path)
    assert manifest["genres"] == ["comedy", "parody", "pop"]  # rock: only items nobody played
    assert (manifest["items"], manifest["items_titled"], manifest["items_with_genres"]) == (2, 2, 2)
    data = datasets.load_dataset("tagged", tmp_path)
    assert data.genres == ("comedy", "parody", "pop")
    items = data.items.set_index("item_id")
    # a tab-separated file does not quote: the quotes are part of the name
    assert items.loc[51, "title"] == '"Weird Al" Yankovic'
    assert items.loc[51, "genres"] == ("comedy", "parody")
    assert items.loc[52, "genres"] == ("pop",)


def test_a_dataset_of_the_same_name_is_replaced_only_when_asked(tmp_path):
    first = write(tmp_path / "a.csv", "u,i\n1,1\n")
    second = write(tmp_path / "b.csv", "u,i\n1,1\n2,2\n")
    import_dataset(ImportSpec("d", first, "u", "i"), tmp_path / "data")
    with pytest.raises(DatasetError, match="already exists.*--replace"):
        import_dataset(ImportSpec("d", second, "u", "i"), tmp_path / "data")
    import_dataset(ImportSpec("d", second, "u", "i", replace=True), tmp_path / "data")
    assert read_manifest(tmp_path / "data" / "d")["rows"] == 2
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["d"]  # nothing left aside


def test_a_failed_write_leaves_nothing_and_puts_the_replaced_dataset_back(tmp_path, monkeypatch):
    source = write(tmp_path / "a.csv", "u,i\n1,1\n")
    import_dataset(ImportSpec("d", source, "u", "i"), tmp_path / "data")
    before = snapshot(tmp_path / "data")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder_module.pq, "write_table", disk_full)
    with pytest.raises(DatasetError, match="cannot write dataset d.*No space left"):
        import_dataset(ImportSpec("d", source, "u", "i", replace=True), tmp_path / "data")
    with pytest.raises(DatasetError, match="cannot write dataset e"):
        import_dataset(ImportSpec("e", source, "u", "i"), tmp_path / "new")
    assert snapshot(tmp_path / "data") == before
    assert not (tmp_path / "new").exists()  # the data folder it made is gone too


def test_the_data_folder_defaults_to_movierec_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "env"))
    import_dataset(ImportSpec("d", write(tmp_path / "a.csv", "u,i\n1,1\n"), "u", "i"))
    assert [name for name, _ in list_imported(tmp_path / "env")] == ["d"]
    assert datasets.dataset_traits("d") == datasets.DatasetTraits(True, False)


def test_dataset_names_resolve_to_imported_datasets_and_errors_list_them(tmp_path):
    import_dataset(ImportSpec("mine", write(tmp_path / "a.csv", "u,i\n1,1\n"), "u", "i"), tmp_path)
    datasets.check_dataset_name("mine", tmp_path)
    datasets.check_dataset_name("ml-100k", tmp_path)
    with pytest.raises(DatasetError, match=r"unknown dataset 'other'.*ml-100k.*imported.*: mine"):
        datasets.check_dataset_name("other", tmp_path)
    with pytest.raises(DatasetError, match="unknown dataset '../mine'"):
        datasets.check_dataset_name("../mine", tmp_path / "x")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "ml-100k"}, "MovieLens dataset's name"),
        ({"name": "a/b"}, "must be 1 to 64 letters"),
        ({"name": "columns"}, "the ratings caches' folder"),
        ({"rating_column": "r", "weight_column": "w"}, "exclude each other"),
        ({"items": "items.csv"}, "--items needs --items-id-column and --title-column"),
        ({"title_column": "t"}, "need --items"),
    ],
)
def test_flags_that_do_not_fit_together_are_refused(tmp_path, spec, message):
    values = {"name": "d", "interactions": tmp_path / "a.csv", "user_column": "u"}
    values["item_column"] = "i"
    with pytest.raises(DatasetError, match=message):
        import_dataset(ImportSpec(**{**values, **spec}), tmp_path)
    assert os.listdir(tmp_path) == []


def test_merging_sums_weights_and_keeps_the_latest_time():
    users = np.array([1, 1, 2, 1, 2], dtype=np.int64)
    items = np.array([7, 8, 7, 7, 7], dtype=np.int64)
    times = np.array([10, 20, 30, 5, 40], dtype=np.int64)
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    merged = merge_duplicates(users, items, times, weights, summed=True)
    # (1, 7): rows 0 and 3, latest is row 0 (t=10): 1 + 4 = 5 at t=10, in row 0's place;
    # (2, 7): rows 2 and 4, latest row 4 (t=40): 3 + 5 = 8
    assert merged.duplicates == 2
    assert merged.users.tolist() == [1, 1, 2] and merged.items.tolist() == [7, 8, 7]
    assert merged.amounts.tolist() == [5.0, 2.0, 8.0] and merged.times.tolist() == [10, 20, 40]
    assert merged.user_ids.tolist() == [1, 2] and merged.item_ids.tolist() == [7, 8]
    kept = merge_duplicates(users, items, times, weights, summed=False)
    assert kept.amounts.tolist() == [1.0, 2.0, 5.0]  # the latest rating of each pair


def test_pairs_sort_by_position_whether_or_not_key_and_position_fit_one_int64():
    from movierec.data.imports.merge import _sorted_with_positions

    key = np.array([5, 3, 5, 0, 3, 5], dtype=np.int64)
    packed = _sorted_with_positions(key, 6)  # 3 bits of key and 3 of position
    stable = _sorted_with_positions(key, 2**62)  # too wide: a stable argsort
    for keys, positions in (packed, stable):
        assert keys.tolist() == [0, 3, 3, 5, 5, 5]
        assert positions.tolist() == [3, 1, 4, 0, 2, 5]


def test_the_manifest_is_json_with_the_schema(tmp_path):
    source = write(tmp_path / "a.csv", "u,i,r\n1,1,2\n2,1,4\n")
    import_dataset(ImportSpec("d", source, "u", "i", "r"), tmp_path)
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["schema"]["rating"] == {"dtype": "float32", "from": "r"}
    assert manifest["schema"]["user_id"] == {"dtype": "int64", "from": "u"}
    assert "weight" not in manifest["schema"] and not (tmp_path / "d" / "weight.npy").exists()


@pytest.mark.parametrize(
    ("values", "seconds"),
    [
        (["1714566600", "-5"], [1714566600, -5]),  # integers: one cast
        (["2024-05-01T12:30:00Z", "2024-05-01T14:30:00.9+02:00"], [1714566600] * 2),  # zoned
        (["2024-05-01 12:30:00", "1970-01-01"], [1714566600, 0]),  # naive: UTC
        (["1714566600", "2024-05-01T12:30:00Z", "2024-05-01 12:30"], [1714566600] * 3),  # mixed
    ],
)
def test_times_read_in_every_form_whole_columns_or_mixed(values, seconds):
    from movierec.data.imports.times import parse_times

    parsed, bad = parse_times(pa.chunked_array([values]))
    assert bad is None and parsed.tolist() == seconds
    _, bad = parse_times(pa.chunked_array([[*values, "soon"]]))
    assert bad == len(values)


def test_a_folder_that_is_not_an_imported_dataset_is_never_replaced(tmp_path):
    (tmp_path / "data" / "mine").mkdir(parents=True)
    (tmp_path / "data" / "mine" / "notes.txt").write_text("keep me")
    source = write(tmp_path / "a.csv", "u,i\n1,1\n")
    with pytest.raises(DatasetError, match="is not an imported dataset; choose another name"):
        import_dataset(ImportSpec("mine", source, "u", "i", replace=True), tmp_path / "data")
    assert (tmp_path / "data" / "mine" / "notes.txt").read_text() == "keep me"


def test_spaces_around_numbers_and_times_are_taken_as_pyarrow_takes_them(tmp_path):
    source = write(tmp_path / "a.csv", "u, i, r, t\n1, 10, 4.5, 100\n2, 11, 1, 2024-05-01\n")
    spec = ImportSpec("spaced", source, "u", " i", " r", time_column=" t")
    import_dataset(spec, tmp_path)
    ratings = datasets.load_dataset("spaced", tmp_path).ratings
    assert ratings.values.tolist() == [[1, 10, 4.5, 100], [2, 11, 1.0, 1714521600]]
