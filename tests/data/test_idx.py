import gzip

import numpy as np
import pytest

from vaekit.data import DataError, read_idx
from vaekit.data.idx import write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["array.idx", "array.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(dtype)
    write_idx(tmp_path / name, array)
    loaded = read_idx(tmp_path / name)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1  # writable, so torch.from_numpy takes it without a warning


def test_big_endian_layout(tmp_path):
    write_idx(tmp_path / "a.idx", np.array([1, 256], dtype=np.int32))
    assert (tmp_path / "a.idx").read_bytes() == bytes.fromhex("0000 0C01 00000002 00000001 00000100")


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(bytes.fromhex("0102 0801 00000001 05"))
    with pytest.raises(DataError, match="not an IDX file.*01 02 08 01") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_unknown_type_code(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(bytes.fromhex("0000 0A01 00000001 05"))
    with pytest.raises(DataError, match="00 00 0A 01"):
        read_idx(path)


def test_truncated_data(tmp_path):
    path = tmp_path / "short.idx.gz"
    write_idx(path, np.zeros((4, 3, 3), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-5]))
    with pytest.raises(DataError, match=r"truncated.*\(4, 3, 3\).*36 bytes.*holds 31") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.idx.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_idx(path)
