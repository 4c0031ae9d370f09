"""The dataset downloader against a loopback HTTP server serving archives the tests build:
verified by pinned sha256 or the publisher's md5, unpacked atomically, refused whole."""

import functools
import hashlib
import http.server
import io
import pathlib
import threading
import zipfile

import pytest

from movierec.data import archives, datasets
from movierec.data.archives import ARCHIVES, Archive, download_archive, progress_bar
from movierec.errors import DatasetError


@pytest.fixture
def served(tmp_path):
    """(folder served, base URL) of an HTTP server on 127.0.0.1; stopped afterwards."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def build_zip(path: pathlib.Path, folder: str, files: dict[str, bytes]) -> bytes:
    """Writes a zip holding folder/<name> for each file; returns its bytes."""
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(f"{folder}/{name}", data)
    return path.read_bytes()


RATINGS = b"userId,movieId,rating,timestamp\n1,1,4.0,100\n"
MOVIES = b"movieId,title,genres\n1,Toy Story (1995),Animation\n"


def test_every_named_dataset_has_an_archive_and_the_pinned_ones_a_size_and_digest():
    assert set(ARCHIVES) == set(datasets.LAYOUTS)
    pinned = {name for name, a in ARCHIVES.items() if a.sha256}
    assert pinned == {"ml-100k", "ml-1m", "ml-latest-small", "ml-25m"}
    assert all(len(ARCHIVES[n].sha256 or "") == 64 and ARCHIVES[n].size for n in pinned)
    assert ARCHIVES["ml-10m"].folder == "ml-10M100K"


def test_a_pinned_archive_is_verified_unpacked_and_installed(served, tmp_path):
    root, base = served
    data = build_zip(root / "ml-x.zip", "ml-x", {"ratings.csv": RATINGS, "movies.csv": MOVIES})
    archive = Archive("ml-x", "ml-x.zip", "ml-x", len(data), hashlib.sha256(data).hexdigest())
    seen = []
    folder = download_archive(archive, tmp_path / "cache", base, lambda d, t: seen.append((d, t)))
    assert folder == tmp_path / "cache" / "ml-x"
    assert (folder / "ratings.csv").read_bytes() == RATINGS
    assert seen[-1] == (len(data), len(data))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["ml-x"]  # no temporary left


def test_an_unpinned_archive_is_checked_against_the_published_md5(served, tmp_path):
    root, base = served
    data = build_zip(root / "ml-10m.zip", "ml-10M100K", {"ratings.dat": b"1::1::5::1\n"})
    (root / "ml-10m.zip.md5").write_text(f"MD5 (ml-10m.zip) = {hashlib.md5(data).hexdigest()}\n")
    folder = download_archive(ARCHIVES["ml-10m"], tmp_path / "cache", base)
    assert folder.name == "ml-10m" and (folder / "ratings.dat").is_file()  # renamed


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("digest", "has sha256"),
        ("size", "bytes, expected"),
        ("md5", "the published one is"),
        ("folder", "has no folder ml-x/"),
        ("missing", "cannot download"),
    ],
)
def test_a_bad_download_is_refused_and_leaves_nothing(served, tmp_path, tamper, message):
    root, base = served
    folder_name = "other" if tamper == "folder" else "ml-x"
    data = build_zip(root / "ml-x.zip", folder_name, {"ratings.csv": RATINGS})
    digest, size = hashlib.sha256(data).hexdigest(), len(data)
    archive = Archive("ml-x", "ml-x.zip", "ml-x", size, digest)
    if tamper == "digest":
        archive = Archive("ml-x", "ml-x.zip", "ml-x", size, "0" * 64)
    elif tamper == "size":
        archive = Archive("ml-x", "ml-x.zip", "ml-x", size + 1, digest)
    elif tamper == "md5":
        archive = Archive("ml-x", "ml-x.zip", "ml-x")
        (root / "ml-x.zip.md5").write_text("0" * 32 + "  ml-x.zip\n")
    elif tamper == "missing":
        (root / "ml-x.zip").unlink()
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=message):
        download_archive(archive, cache, base)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_ml_100k_files_are_checked_one_by_one_after_the_archive(served, tmp_path, data_dir):
    root, base = served
    files = {p.name: p.read_bytes() for p in (data_dir / "ml-100k").iterdir() if p.is_file()}
    good = build_zip(root / "ml-100k.zip", "ml-100k", files)
    registry = {
        "ml-100k": Archive(
            "ml-100k", "ml-100k.zip", "ml-100k", len(good), hashlib.sha256(good).hexdigest()
        )
    }
    folder = datasets.download_dataset("ml-100k", tmp_path / "cache", base, archives=registry)
    assert len(datasets.read_dataset("ml-100k", folder).ratings) == 100_000

    tampered = build_zip(root / "ml-100k.zip", "ml-100k", {**files, "u.data": b"1\t1\t5\t0\n"})
    registry = {
        "ml-100k": Archive(
            "ml-100k", "ml-100k.zip", "ml-100k", len(tampered), hashlib.sha256(tampered).hexdigest()
        )
    }
    cache = tmp_path / "cache2"
    with pytest.raises(DatasetError, match="u.data has sha256"):
        datasets.download_dataset("ml-100k", cache, base, archives=registry)
    assert list(cache.iterdir()) == []


def test_unknown_downloads_name_the_known_ones(tmp_path):
    with pytest.raises(DatasetError, match="no download is known for ml-7; known: ml-100k"):
        datasets.download_dataset("ml-7", tmp_path, archives={"ml-100k": ARCHIVES["ml-100k"]})


def test_the_progress_bar_redraws_one_line_and_ends_it():
    out = io.StringIO()
    show = progress_bar("ml-x", out)
    for done in (0, 2**20, 2**21, 2**21):
        show(done, 2**21)
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("100% 2.0/2.0 MiB\n")
    assert archives.CHUNK_BYTES == 1 << 20


def test_the_cli_downloads_into_a_cache_and_refuses_what_it_cannot_verify(served, tmp_path, capsys):
    from movierec_client.cli import main

    root, base = served
    data = build_zip(root / "ml-10m.zip", "ml-10M100K", {"ratings.dat": b"1::1::5::1\n"})
    (root / "ml-10m.zip.md5").write_text(f"{hashlib.md5(data).hexdigest()}  ml-10m.zip\n")
    cache = tmp_path / "cache"
    assert main(["download", "ml-10m", "--cache", str(cache), "--base-url", base]) == 0
    assert (cache / "ml-10m" / "ratings.dat").is_file()
    assert "\r" not in capsys.readouterr().err  # no bar redrawn into what is no terminal
    (root / "ml-10m.zip.md5").write_text("0" * 32 + "\n")
    other = tmp_path / "other"
    assert main(["download", "ml-10m", "--cache", str(other), "--base-url", base]) == 2
    assert list(other.iterdir()) == []
