import hashlib
from pathlib import Path

import pytest

from vaekit.data import DataError, data_root, fetch

URL = "https://example.org/files/blob.bin"
PAYLOAD = b"vaekit test payload\n" * 1000
MD5 = hashlib.md5(PAYLOAD).hexdigest()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("VAEKIT_DATA", raising=False)
    assert data_root() == Path.home() / ".cache" / "vaekit"
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"


def test_fetch_existing_file_is_verified_without_network_or_writes(tmp_path, fake_network):
    destination = tmp_path / "blob.bin"
    destination.write_bytes(PAYLOAD)
    assert fetch(URL, destination, md5=MD5, sha256=SHA256) == destination
    assert fake_network.requested == []
    assert sorted(tmp_path.iterdir()) == [destination]


def test_fetch_existing_file_with_wrong_checksum(tmp_path, fake_network):
    destination = tmp_path / "blob.bin"
    destination.write_bytes(PAYLOAD + b"x")
    actual = hashlib.md5(PAYLOAD + b"x").hexdigest()
    with pytest.raises(DataError) as error:
        fetch(URL, destination, md5=MD5)
    message = str(error.value)
    assert str(destination) in message and MD5 in message and actual in message
    assert fake_network.requested == []


def test_fetch_downloads_verifies_and_leaves_no_temporary_file(tmp_path, fake_network):
    fake_network.serve(URL, PAYLOAD)
    destination = tmp_path / "cache" / "blob.bin"
    assert fetch(URL, destination, md5=MD5, sha256=SHA256) == destination
    assert destination.read_bytes() == PAYLOAD
    assert list(destination.parent.iterdir()) == [destination]
    assert fake_network.requested == [URL]


def test_fetch_rejects_a_download_with_wrong_checksum(tmp_path, fake_network):
    fake_network.serve(URL, PAYLOAD[:-1])
    destination = tmp_path / "blob.bin"
    with pytest.raises(DataError, match=SHA256):
        fetch(URL, destination, sha256=SHA256)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("download", [False, True])
def test_fetch_missing_file_says_where_to_get_it_and_where_to_put_it(tmp_path, fake_network, download):
    destination = tmp_path / "blob.bin"
    with pytest.raises(DataError) as error:
        fetch(URL, destination, md5=MD5, download=download)
    message = str(error.value)
    assert URL in message and str(destination) in message and "VAEKIT_DATA" in message
    assert fake_network.requested == ([URL] if download else [])
    assert list(tmp_path.iterdir()) == []
