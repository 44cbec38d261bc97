"""Resumable downloads, checksums, the lock file and fetch end to end (local HTTP server)."""

from __future__ import annotations

import hashlib
import json
import os
import socket

import numpy as np
import pytest

from salloss.data import open_dataset
from salloss.data.download import ChecksumLock, download, verify
from salloss.data.fetch import default_lock_path, fetch
from salloss.data.sources import Archive
from salloss.errors import ConfigError, DataError

PAYLOAD = os.urandom(300_000)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_plain(http_server, tmp_path):
    (http_server.folder / "a.bin").write_bytes(PAYLOAD)
    out = download(f"{http_server.base_url}/a.bin", tmp_path / "dl" / "a.bin", backoff=0)
    assert out.read_bytes() == PAYLOAD
    assert not (tmp_path / "dl" / "a.bin.part").exists()


def test_download_resumes_with_range_after_a_drop(http_server, tmp_path):
    (http_server.folder / "a.bin").write_bytes(PAYLOAD)
    http_server.drop_after = 100_000
    out = download(f"{http_server.base_url}/a.bin", tmp_path / "a.bin", backoff=0)
    assert out.read_bytes() == PAYLOAD
    ranges = [r["range"] for r in http_server.requests]
    assert ranges[0] == "" and ranges[1].startswith("bytes=") and int(ranges[1][6:-1]) > 0


def test_download_resumes_a_part_left_by_an_earlier_run(http_server, tmp_path):
    (http_server.folder / "a.bin").write_bytes(PAYLOAD)
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:1234])
    download(f"{http_server.base_url}/a.bin", tmp_path / "a.bin", backoff=0)
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD
    assert http_server.requests == [{"path": "/a.bin", "range": "bytes=1234-"}]


def test_download_restarts_when_server_ignores_range(http_server, tmp_path):
    (http_server.folder / "a.bin").write_bytes(PAYLOAD)
    http_server.honour_range = False
    (tmp_path / "a.bin.part").write_bytes(b"garbage" * 10)
    download(f"{http_server.base_url}/a.bin", tmp_path / "a.bin", backoff=0)
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_download_complete_part_gets_416(http_server, tmp_path):
    (http_server.folder / "a.bin").write_bytes(PAYLOAD)
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)
    download(f"{http_server.base_url}/a.bin", tmp_path / "a.bin", backoff=0)
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_download_html_instead_of_archive_is_refused(http_server, tmp_path):
    (http_server.folder / "a.zip").write_bytes(PAYLOAD)
    http_server.html = True
    with pytest.raises(DataError, match="web page"):
        download(f"{http_server.base_url}/a.zip", tmp_path / "a.zip", backoff=0)


def test_download_404(http_server, tmp_path):
    with pytest.raises(DataError, match="HTTP 404"):
        download(f"{http_server.base_url}/missing.zip", tmp_path / "m.zip", backoff=0)


def test_verify_md5_mismatch_prints_both_sums(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"hello")
    lock = ChecksumLock(tmp_path / "lock.json")
    wrong = "0" * 32
    with pytest.raises(DataError) as info:
        verify(path, md5=wrong, lock=lock, key="d/x.zip", url="u")
    assert wrong in str(info.value) and _md5(b"hello") in str(info.value)


def test_lock_records_sha256_then_verifies(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"first version")
    lock_path = tmp_path / "checksums.lock.json"
    verify(path, md5=None, lock=ChecksumLock(lock_path), key="d/x.zip", url="u")
    content = json.loads(lock_path.read_text())
    first = hashlib.sha256(b"first version").hexdigest()
    assert content["archives"]["d/x.zip"]["sha256"] == first
    verify(path, md5=None, lock=ChecksumLock(lock_path), key="d/x.zip", url="u")  # same: fine
    path.write_bytes(b"second version")
    with pytest.raises(DataError) as info:
        verify(path, md5=None, lock=ChecksumLock(lock_path), key="d/x.zip", url="u")
    assert first in str(info.value)
    assert hashlib.sha256(b"second version").hexdigest() in str(info.value)


def _mit1003_archives(layouts, tmp_path, www):
    src = tmp_path / "src"
    expected = layouts.write_mit1003(src)
    stimuli = layouts.zip_tree(src, www / "ALLSTIMULI.zip", ["ALLSTIMULI"])
    maps = layouts.zip_tree(src, www / "ALLFIXATIONMAPS.zip", ["ALLFIXATIONMAPS"])
    return expected, stimuli, maps


def test_fetch_end_to_end(http_server, tmp_path, layouts):
    expected, stimuli, _ = _mit1003_archives(layouts, tmp_path, http_server.folder)
    base = http_server.base_url
    archives = [
        Archive("ALLSTIMULI.zip", f"{base}/ALLSTIMULI.zip", md5=_md5(stimuli.read_bytes())),
        Archive("ALLFIXATIONMAPS.zip", f"{base}/ALLFIXATIONMAPS.zip"),  # sha256 -> lock
    ]
    root = tmp_path / "data" / "mit1003"
    fetch("mit1003", root, archives=archives, backoff=0)
    assert not list(root.rglob("__MACOSX")) and not list(root.rglob("._*"))
    lock = json.loads(default_lock_path(root).read_text())
    assert list(lock["archives"]) == ["mit1003/ALLFIXATIONMAPS.zip"]
    dataset = open_dataset("mit1003", root)
    assert sorted(dataset.ids) == sorted(expected)
    np.testing.assert_array_equal(dataset.by_id("i10").stimulus, expected["i10"]["stimulus"])
    np.testing.assert_array_equal(dataset.by_id("i2").fixations, expected["i2"]["fixations"])
    n_requests = len(http_server.requests)
    fetch("mit1003", root, archives=archives, backoff=0)  # second run: nothing to do
    assert len(http_server.requests) == n_requests


def test_fetch_checksum_mismatch_refuses_and_sets_file_aside(http_server, tmp_path, layouts):
    _, stimuli, _ = _mit1003_archives(layouts, tmp_path, http_server.folder)
    archive = Archive("ALLSTIMULI.zip", f"{http_server.base_url}/ALLSTIMULI.zip", md5="f" * 32)
    root = tmp_path / "root"
    with pytest.raises(DataError) as info:
        fetch("mit1003", root, archives=[archive], backoff=0)
    assert "f" * 32 in str(info.value) and _md5(stimuli.read_bytes()) in str(info.value)
    assert not (root / "ALLSTIMULI").exists()
    assert (root / "archives" / "ALLSTIMULI.zip.corrupt").exists()


def test_fetch_offline_says_where_to_put_the_archive(tmp_path, layouts):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/ALLSTIMULI.zip"
    root = tmp_path / "root"
    with pytest.raises(DataError) as info:
        fetch("mit1003", root, archives=[Archive("ALLSTIMULI.zip", url)], timeout=2, backoff=0)
    message = str(info.value)
    assert url in message and str(root / "archives" / "ALLSTIMULI.zip") in message


def test_fetch_uses_archive_placed_by_hand(tmp_path, layouts):
    src = tmp_path / "src"
    expected = layouts.write_mit300(src)
    root = tmp_path / "root"
    archive = layouts.zip_tree(src, root / "BenchmarkIMAGES.zip", ["BenchmarkIMAGES"])
    unreachable = Archive("BenchmarkIMAGES.zip", "http://127.0.0.1:9/x.zip",
                          md5=_md5(archive.read_bytes()))
    fetch("mit300", root, archives=[unreachable])
    assert open_dataset("mit300", root).ids == list(expected)


def test_fetch_refuses_unknown_things(tmp_path):
    with pytest.raises(ConfigError, match="folder"):
        fetch("folder", tmp_path)
    with pytest.raises(ConfigError, match="known"):
        fetch("fiwi", tmp_path, urls={"nope.zip": "http://x"})
    with pytest.raises(ConfigError, match="fetchable"):
        fetch("nope", tmp_path)


def test_fetch_synthetic_generates(tmp_path):
    fetch("synthetic", tmp_path / "s", n_images=3, long_side=48)
    assert len(open_dataset("mit1003", tmp_path / "s")) == 3
