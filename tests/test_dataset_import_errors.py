"""`movierec dataset import` on bad input: exit 2, a message naming file, line and column,
and a data folder left as it was."""

import gzip
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from movierec_client.commands import run

GOOD = "user\titem\tweight\ttime\r\n1\t10\t3\t100\r\n2\t10\t1\t200\r\n"


def snapshot(root):
    return sorted(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    )


@pytest.fixture
def data_dir(tmp_path):
    """A data folder already holding dataset "taken"."""
    (tmp_path / "good.tsv").write_text(GOOD, newline="")
    folder = tmp_path / "data"
    assert import_file(folder, tmp_path / "good.tsv", "taken") == 0
    return folder


def import_file(folder, path, name="new", *flags):
    columns = ["--user-column", "user", "--item-column", "item"]
    if not any(flag in flags for flag in ("--user-column", "--rating-column")):
        columns += ["--weight-column", "weight", "--time-column", "time"]
    argv = ["dataset", "import", name, "--interactions", str(path), "--data-dir", str(folder)]
    return run([*argv, *columns, *flags])


CASES = [
    # (case, file contents, extra flags, message)
    (
        "misspelled column",
        GOOD,
        ["--user-column", "User", "--item-column", "item"],
        r"bad\.tsv line 1: column 'User' \(--user-column\) is not in the header; the header's"
        r" columns, split at '\\t', are: user, item, weight, time",
    ),
    (
        "a column name with a space, after a separator with one",
        "user, item\n1, 10\n",
        ["--user-column", "user", "--item-column", "item"],
        r"column 'item' \(--item-column\) is not in the header; the header's columns, split at"
        r" ',', are: user, ' item'",
    ),
    (
        "missing rating column",
        GOOD,
        ["--user-column", "user", "--item-column", "item", "--rating-column", "stars"],
        r"line 1: column 'stars' \(--rating-column\) is not in the header",
    ),
    (
        "non-integer id",
        GOOD + "3\tabc\t1\t300\r\n",
        [],
        r"bad\.tsv line 4 column 'item': 'abc' is not an integer: ids must be 64-bit integers,"
        r" because the contract's ids are int64",
    ),
    (
        "fractional id after a blank line",
        GOOD + "\r\n3.5\t10\t1\t300\r\n",
        [],
        r"line 5 column 'user': '3\.5' is not an integer: ids must be 64-bit",
    ),
    (
        "id beyond int64",
        GOOD + "99999999999999999999\t10\t1\t300\r\n",
        [],
        r"line 4 column 'user': 99999999999999999999 is out of the 64-bit range",
    ),
    ("empty file", "", [], r"bad\.tsv is empty: line 1 must be a header"),
    ("header only", "user\titem\tweight\ttime\r\n", [], r"has a header \(line 1\) but no rows"),
    (
        "too many fields",
        GOOD + "3\t10\t1\t300\textra\r\n",
        [],
        r"bad\.tsv line 4 has 5 fields, too many: the header \(line 1\) has 4",
    ),
    (
        "too few fields",
        "user\titem\tweight\ttime\r\n1\t10\t3\r\n",
        [],
        r"bad\.tsv line 2 has 3 fields, too few: the header \(line 1\) has 4",
    ),
    (
        "non-numeric weight",
        GOOD + "3\t10\tlots\t300\r\n",
        [],
        r"line 4 column 'weight': the weight 'lots' is not a number",
    ),
    (
        "negative weight",
        GOOD + "3\t10\t-2\t300\r\n",
        [],
        r"bad\.tsv line 4 column 'weight': the weight -2\.0 is negative: weights must be >= 0",
    ),
    (
        "non-numeric rating",
        "user,item,stars\n1,10,4\n2,10,five\n",
        ["--user-column", "user", "--item-column", "item", "--rating-column", "stars"],
        r"bad\.tsv line 3 column 'stars': the rating 'five' is not a number",
    ),
    (
        "infinite rating",
        "user,item,stars\n1,10,4\n2,10,inf\n",
        ["--user-column", "user", "--item-column", "item", "--rating-column", "stars"],
        r"line 3 column 'stars': the rating 'inf' is not a finite number",
    ),
    (
        "unparsable time",
        GOOD + "3\t10\t1\tyesterday\r\n",
        [],
        r"bad\.tsv line 4 column 'time': 'yesterday' is not a time: give integer unix seconds"
        r" or ISO-8601",
    ),
    (
        "bytes that are not UTF-8",
        (GOOD + "3\t10\t1\t2024-01-01").encode() + b"\xff\r\n",
        [],
        r"bad\.tsv line 4 column 'time': byte 18 of the line is not UTF-8 text",
    ),
    (
        "separator of two characters",
        GOOD,
        ["--separator", "::"],
        r"--separator must be one character",
    ),
    (
        "duplicate name",
        GOOD,
        ["--name-is-taken"],
        r"dataset taken already exists in .*; pass --replace to replace it",
    ),
]


@pytest.mark.parametrize(
    ("contents", "flags", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_exits_2_naming_file_line_and_column_and_writes_nothing(
    tmp_path, data_dir, capsys, contents, flags, message
):
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(contents if isinstance(contents, bytes) else contents.encode())
    before = snapshot(data_dir)
    name = "taken" if "--name-is-taken" in flags else "new"
    flags = [flag for flag in flags if flag != "--name-is-taken"]
    capsys.readouterr()
    assert import_file(data_dir, bad, name, *flags) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert re.search(message, error), error
    assert snapshot(data_dir) == before


def test_a_gzip_file_names_the_line_of_its_decompressed_text(tmp_path, data_dir, capsys):
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(gzip.compress((GOOD + "3\t10\t1\t300\t9\r\n").encode()))
    assert import_file(data_dir, bad) == 2
    assert "bad.tsv.gz line 4 has 5 fields, too many" in capsys.readouterr().err


def test_a_parquet_file_names_the_row(tmp_path, data_dir, capsys):
    bad = tmp_path / "bad.parquet"
    table = {"user": ["1", "x2"], "item": [10, 10], "weight": [1.0, 2.0], "time": [1, 2]}
    pq.write_table(pa.table(table), bad)
    before = snapshot(data_dir)
    assert import_file(data_dir, bad) == 2
    error = capsys.readouterr().err
    assert "bad.parquet row 2 column 'user': 'x2' is not an integer: ids must be 64-bit" in error
    pq.write_table(pa.table({**table, "user": [1, 2], "weight": [1.0, -1.0]}), bad)
    assert import_file(data_dir, bad) == 2
    assert "bad.parquet row 2 column 'weight': the weight -1.0 is negative" in (
        capsys.readouterr().err
    )
    assert snapshot(data_dir) == before


def test_an_items_file_with_too_many_fields_or_a_bad_id_is_refused(tmp_path, data_dir, capsys):
    good = tmp_path / "good.tsv"
    items = tmp_path / "items.csv"
    flags = ["--items", str(items), "--items-id-column", "id", "--title-column", "title"]
    before = snapshot(data_dir)
    items.write_text('id,title\n10,"Heat, the film"\n11,Up,extra\n')
    assert import_file(data_dir, good, "new", *flags) == 2
    assert "items.csv line 3 has 3 fields, too many" in capsys.readouterr().err
    items.write_text("id,title\n10,Heat\nten,Up\n")
    assert import_file(data_dir, good, "new", *flags) == 2
    assert "items.csv line 3 column 'id': 'ten' is not an integer" in capsys.readouterr().err
    assert snapshot(data_dir) == before


def test_list_and_show_describe_imported_datasets(data_dir, capsys):
    assert run(["dataset", "list", "--data-dir", str(data_dir)]) == 0
    listed = capsys.readouterr().out
    assert "taken" in listed and "implicit" in listed
    assert run(["dataset", "show", "taken", "--data-dir", str(data_dir)]) == 0
    shown = capsys.readouterr().out
    assert "2 interactions (implicit, weighted by column 'weight') of 2 users and 1 items" in shown
    assert "sha256" in shown
    assert run(["dataset", "show", "nothing", "--data-dir", str(data_dir)]) == 2
    assert "no dataset 'nothing' is imported into" in capsys.readouterr().err
