import pytest

from movierec.data import datasets
from movierec.errors import DatasetError


@pytest.fixture(scope="module")
def ml100k(data_dir):
    return datasets.load_dataset("ml-100k", data_dir)


def test_ml_100k_has_its_documented_sizes(ml100k):
    assert len(ml100k.ratings) == 100_000
    assert ml100k.ratings["user_id"].nunique() == 943
    assert len(ml100k.items) == 1682
    assert len(ml100k.users) == 943
    assert len(ml100k.genres) == 19 and ml100k.genres[0] == "unknown"
    assert ml100k.rating_scale == (1.0, 5.0)
    assert list(ml100k.ratings.dtypes.astype(str)) == ["int64", "int64", "float32", "int64"]


def test_ml_100k_items_carry_title_year_and_genres(ml100k):
    star_wars = ml100k.items.set_index("item_id").loc[50]
    assert star_wars["title"] == "Star Wars (1977)"
    assert star_wars["year"] == 1977
    assert star_wars["genres"] == ("Action", "Adventure", "Romance", "Sci-Fi", "War")


def test_ml_100k_item_without_release_date_has_year_zero(ml100k):
    # item 267 is "unknown" with no release date in u.item
    assert ml100k.items.set_index("item_id").loc[267, "year"] == 0


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(DatasetError, match="unknown dataset 'ml-7k'.*ml-100k"):
        datasets.load_dataset("ml-7k")


def test_missing_dataset_in_named_folder_is_an_error_not_a_download(tmp_path):
    with pytest.raises(DatasetError, match="not found") as raised:
        datasets.locate_dataset("ml-100k", tmp_path)
    assert "--data-dir" in str(raised.value) and "MOVIEREC_DATA_DIR" in str(raised.value)
    assert "ml-100k/u.data" in str(raised.value)


def test_a_failed_download_says_how_to_name_a_data_folder(tmp_path, monkeypatch):
    # No folder named: the cache is tried, and the download fails (no network here).
    monkeypatch.delenv("MOVIEREC_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets, "DEFAULT_CACHE", tmp_path / "cache")

    def unreachable(name, cache, **_):
        raise DatasetError(f"cannot download {name} from https://files.example/: refused")

    monkeypatch.setattr(datasets, "download_dataset", unreachable)
    with pytest.raises(DatasetError) as raised:
        datasets.locate_dataset("ml-100k")
    message = str(raised.value)
    assert message.startswith("cannot download ml-100k from https://files.example/: refused")
    assert "--data-dir DIR" in message and "MOVIEREC_DATA_DIR=DIR" in message
    assert "movierec download ml-100k" in message


def test_csv_layout(tmp_path):
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,0.5,1\n"
    )
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '3,"Grumpier Old Men, The (1995)",Comedy|Romance\n'
        "5,Untitled,(no genres listed)\n"
    )
    data = datasets.read_dataset("ml-latest-small", tmp_path)
    assert data.ratings["rating"].tolist() == [4.0, 4.5, 0.5]
    assert data.rating_scale == (0.5, 5.0)
    items = data.items.set_index("item_id")
    assert items.loc[3, "title"] == "Grumpier Old Men, The (1995)"
    assert items.loc[3, "year"] == 1995
    assert items.loc[5, "genres"] == () and items.loc[5, "year"] == 0
    assert "Animation" in data.genres and "(no genres listed)" not in data.genres
    assert data.users is None


def test_dat_layout(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n2::661::3::978302109\n")
    (tmp_path / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "2::Caf\xe9 (1999)::Comedy\n".encode("latin-1")
    )
    (tmp_path / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    data = datasets.read_dataset("ml-1m", tmp_path)
    assert data.ratings["item_id"].tolist() == [1193, 661]
    assert data.rating_scale == (1.0, 5.0)
    items = data.items.set_index("item_id")
    assert items.loc[661, "genres"] == ("Animation", "Children's", "Musical")
    assert items.loc[2, "title"] == "Caf\xe9 (1999)"
    assert data.users["age"].tolist() == [1, 56]


def test_malformed_dat_line_names_the_line(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n2::661::3\n")
    (tmp_path / "movies.dat").write_text("1193::X (1975)::Drama\n")
    with pytest.raises(DatasetError, match="ratings.dat line 2 has 3 fields"):
        datasets.read_dataset("ml-1m", tmp_path)
