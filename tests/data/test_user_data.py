import numpy as np
import pytest
import torch
from PIL import Image

from vaekit.data import DataError, load_array_file, load_image_folder
from vaekit.data.user_data import as_image_tensor


def test_uint8_images_without_channel(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "faces.npy", array)
    data = load_array_file(tmp_path / "faces.npy")
    assert data.images.shape == (5, 1, 28, 28) and data.images.dtype == torch.float32 and data.labels is None
    torch.testing.assert_close(data.images[:, 0] * 255, torch.from_numpy(array).float())


def test_flat_float_rows_become_square_images(tmp_path):
    array = np.random.default_rng(0).random((4, 784))
    np.save(tmp_path / "flat.npy", array)
    images = load_array_file(tmp_path / "flat.npy").images
    assert images.shape == (4, 1, 28, 28)
    torch.testing.assert_close(images[2, 0, 1], torch.from_numpy(array[2, 28:56]).float())


@pytest.mark.parametrize(
    "shape, expected",
    [((2, 6, 7, 3), (2, 3, 6, 7)), ((2, 6, 7, 1), (2, 1, 6, 7)), ((2, 3, 6, 7), (2, 3, 6, 7))],
)
def test_channel_layouts(shape, expected):
    array = np.random.default_rng(0).random(shape)
    images = as_image_tensor(array, "x.npy")
    assert images.shape == expected
    if shape[-1] == 3:
        torch.testing.assert_close(images[1, 2], torch.from_numpy(array[1, :, :, 2]).float())


@pytest.mark.parametrize("shape", [(4, 10), (2, 5, 6, 7), (2, 2, 2, 2, 2), (5,)])
def test_unusable_shapes(shape):
    with pytest.raises(DataError, match=rf"data\.npy: expected images of shape .*got shape \({shape[0]},"):
        as_image_tensor(np.zeros(shape), "data.npy")


def test_nan_names_count_and_first_sample():
    array = np.full((10, 4, 4), 0.5)
    array[7, 1, 2] = np.nan
    array[9, 0, 0] = np.inf
    with pytest.raises(DataError, match=r"bad\.npy: 2 values are NaN or infinite; the first bad sample is index 7"):
        as_image_tensor(array, "bad.npy")


def test_out_of_range_suggests_dividing_by_255():
    with pytest.raises(DataError, match=r"grey\.npy: values lie in \[0\.0, 200\.0\], expected \[0, 1\].*Divide by 255"):
        as_image_tensor(np.linspace(0, 200, 32).reshape(2, 4, 4), "grey.npy")
    with pytest.raises(DataError, match=r"values lie in \[-1\.0, 1\.0\]") as error:
        as_image_tensor(np.linspace(-1, 1, 32).reshape(2, 4, 4), "centred.npy")
    assert "Divide by 255" not in str(error.value)


def test_empty_and_non_numeric():
    with pytest.raises(DataError, match="empty.npy: the array is empty"):
        as_image_tensor(np.zeros((0, 28, 28)), "empty.npy")
    with pytest.raises(DataError, match="expected numbers"):
        as_image_tensor(np.array([["a"]]), "text.npy")


def test_npz_keys(tmp_path):
    np.savez(tmp_path / "two.npz", images=np.zeros((2, 4, 4)), other=np.zeros((2, 4, 4)))
    assert load_array_file(tmp_path / "two.npz", key="images").images.shape == (2, 1, 4, 4)
    with pytest.raises(DataError, match=r"two\.npz holds the arrays \['images', 'other'\]"):
        load_array_file(tmp_path / "two.npz")
    with pytest.raises(DataError, match="not 'labels'"):
        load_array_file(tmp_path / "two.npz", key="labels")


def _save(path, size=(6, 5), mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255)).save(path)


def test_image_folder_with_class_subfolders(tmp_path):
    names = ["fox", "cat", "eel", "ant", "dog", "bee"]  # created out of order: labels follow sorted names
    for name in names:
        for index in range(2):
            _save(tmp_path / "pets" / name / f"{index}.png", value=10 * ord(name[0]) % 256 + index)
    data = load_image_folder(tmp_path / "pets")
    assert data.images.shape == (12, 1, 5, 6)  # PIL size is (width, height)
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    expected = [(10 * ord(name[0]) % 256 + index) / 255 for name in sorted(names) for index in range(2)]
    torch.testing.assert_close(data.images[:, 0, 0, 0], torch.tensor(expected))


def test_image_folder_flat_rgb_with_a_grey_image(tmp_path):
    _save(tmp_path / "a.png", mode="RGB", value=255)
    _save(tmp_path / "b.jpg", mode="L", value=255)
    data = load_image_folder(tmp_path)
    assert data.images.shape == (2, 3, 5, 6) and data.labels is None
    assert data.images[0, :, 0, 0].tolist() == [1.0, 0.0, 1.0]
    assert torch.all(data.images[1] > 0.95)


def test_image_folder_mismatched_sizes(tmp_path):
    _save(tmp_path / "a.png", size=(8, 8))
    _save(tmp_path / "b.png", size=(8, 9))
    with pytest.raises(DataError, match=r"b\.png is 8x9 pixels but .*a\.png is 8x8"):
        load_image_folder(tmp_path)


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="holds no images"):
        load_image_folder(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png cannot be read as an image"):
        load_image_folder(tmp_path)
