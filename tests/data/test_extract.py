"""Safe extraction: traversal, absolute paths and escaping symlinks are refused; junk dropped."""

from __future__ import annotations

import zipfile

import pytest

from salloss.data.extract import safe_extract
from salloss.errors import DataError


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "backslash", "symlink"])
def test_dangerous_members_refuse_the_whole_archive(tmp_path, layouts, kind):
    archive = layouts.evil_zip(tmp_path / f"{kind}.zip", kind)
    dest = tmp_path / "dest" / "inner"
    with pytest.raises(DataError, match=f"refusing to extract {archive}"):
        safe_extract(archive, dest)
    assert not (dest / "ok" / "fine.txt").exists()  # nothing written at all
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "dest" / "evil.txt").exists()


def test_symlink_inside_destination_is_kept(tmp_path, layouts):
    archive = layouts.evil_zip(tmp_path / "inner.zip", "inner-symlink")
    safe_extract(archive, tmp_path / "dest")
    link = tmp_path / "dest" / "ok" / "link"
    assert link.is_symlink() and link.read_bytes() == b"fine"


def test_junk_is_dropped(tmp_path, layouts):
    src = tmp_path / "src"
    layouts.write_mit300(src)
    archive = layouts.zip_tree(src, tmp_path / "a.zip", ["BenchmarkIMAGES"])
    names = zipfile.ZipFile(archive).namelist()
    assert any(n.startswith("__MACOSX/") for n in names)  # the fixture has junk to drop
    written = safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in written) == ["i1.jpg", "i10.jpg", "i2.jpg"]
    assert not (tmp_path / "out" / "__MACOSX").exists()


def test_not_a_zip(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="not a valid zip"):
        safe_extract(path, tmp_path / "out")
