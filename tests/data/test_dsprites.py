import hashlib
import itertools
import math

import numpy as np
import pytest
import torch

from vaekit.data import DataError, load_dataset
from vaekit.data import dsprites
from vaekit.data.dsprites import (FACTOR_SIZES, FACTOR_VALUES, SPRITE_SIZE, DSprites, factor_index,
                                  factors_from_index, load_dsprites, official_path, render)

SQUARE, ELLIPSE, HEART = 0, 1, 2


def classes(shape=SQUARE, scale=5, orientation=0, pos_x=15, pos_y=15):
    return np.array([[0, shape, scale, orientation, pos_x, pos_y]])


def sweep(column, values, **fixed):
    """Rows of six classes that differ only in one column."""
    rows = np.repeat(classes(**fixed), len(values), axis=0)
    rows[:, column] = values
    return rows


def centroid(images):
    """(x, y) of the white pixel centres of each image, columns to the right and rows down: (n, 2)."""
    rows, columns = np.arange(64) + 0.5, np.arange(64) + 0.5
    area = images.sum((1, 2))
    return np.stack([(images.sum(1) * columns).sum(1) / area, (images.sum(2) * rows).sum(1) / area], axis=1)


def test_factor_grid_is_the_official_metadata():
    # latents_sizes and latents_possible_values as printed in deepmind/dsprites-dataset's notebook
    assert FACTOR_SIZES == (1, 3, 6, 40, 32, 32) and dsprites.NUM_IMAGES == 737_280
    assert FACTOR_VALUES[1].tolist() == [1, 2, 3]
    np.testing.assert_allclose(FACTOR_VALUES[2], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    np.testing.assert_allclose(FACTOR_VALUES[3][[0, 1, 13, 39]], [0, 0.16110732, 2.0943951, 6.28318531], atol=1e-8)
    for column in (4, 5):
        np.testing.assert_allclose(FACTOR_VALUES[column][[0, 1, 15, 31]], [0, 0.03225806, 0.48387097, 1], atol=1e-8)


def test_index_layout_is_the_official_mixed_radix():
    sizes = np.array(FACTOR_SIZES)
    bases = np.concatenate((sizes[::-1].cumprod()[::-1][1:], [1]))  # the notebook's latents_bases
    rng = np.random.default_rng(0)
    some = np.stack([rng.integers(size, size=500) for size in FACTOR_SIZES], axis=1)
    assert factor_index(some).tolist() == (some @ bases).tolist()
    assert factors_from_index([0, 1, 32, 1024]).tolist() == [
        [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0]]
    index = rng.integers(dsprites.NUM_IMAGES, size=500)
    assert factor_index(factors_from_index(index)).tolist() == index.tolist()
    # "We varied one latent at a time, starting from Position Y, then Position X, etc."
    order = np.array(list(itertools.islice(itertools.product(*(range(size) for size in FACTOR_SIZES)), 5000)))
    assert factor_index(order).tolist() == list(range(5000))


def test_images_for_factors_are_the_images_at_their_index():
    rng = np.random.default_rng(1)
    data = DSprites.procedural(factor_indices=range(6))
    factors = data.sample_factors(50, rng)
    assert np.array_equal(data.images_for(factors), render(factors))
    assert np.array_equal(data.images_for(factors), data.images_at(factor_index(factors)))

    class IndexCodedArray:  # stands in for the official imgs: image i holds i in its first three pixels
        shape = (dsprites.NUM_IMAGES, 64, 64)

        def __getitem__(self, index):
            images = np.zeros((len(index), 64, 64), np.uint8)
            images[:, 0, :3] = np.stack([index // 65536, index // 256 % 256, index % 256], axis=1)
            return images

    official = DSprites(IndexCodedArray(), factor_indices=(1, 2, 3, 4, 5), source="stand-in")
    five = official.sample_factors(50, rng)
    digits = official.images_for(five)[:, 0, :3].astype(np.int64)
    full = np.concatenate([np.zeros((50, 1), np.int64), five], axis=1)  # color has one value
    assert (digits @ [65536, 256, 1]).tolist() == factor_index(full).tolist()


def test_bit_packed_images_unpack_to_the_rendered_ones():
    packed = np.zeros((dsprites.NUM_IMAGES, 64, 8), np.uint8)  # untouched pages cost no memory
    index = np.array([0, 5000, 737_279])
    packed[index] = np.packbits(render(factors_from_index(index)), axis=-1)
    data = DSprites(packed, packed=True)
    assert np.array_equal(data.images_at(index), render(factors_from_index(index)))


def test_generated_images_are_binary_64x64_and_inside_the_canvas():
    rng = np.random.default_rng(2)
    data = DSprites.procedural()
    assert data.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert data.factor_sizes == (3, 6, 40, 32, 32) and data.num_factors == 5
    factors = data.sample_factors(400, rng)
    assert factors.shape == (400, 5) and factors.dtype == np.int64
    assert (factors >= 0).all() and (factors < np.array(data.factor_sizes)).all()
    images = data.images_for(factors)
    assert images.shape == (400, 64, 64) and images.dtype == np.uint8
    assert set(np.unique(images)) == {0, 1} and (images.sum((1, 2)) > 0).all()
    edges = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    assert edges.sum() == 0  # sprites never touch the border, as in the official set
    observations = data.sample_observations_from_factors(factors[:10], rng)
    assert observations.shape == (10, 1, 64, 64) and observations.dtype == torch.float32
    assert torch.equal(observations[:, 0], torch.from_numpy(images[:10]).float())


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_position_moves_the_sprite_by_32_over_31_pixels_a_step(shape):
    steps = np.arange(32)
    along_x = centroid(render(sweep(4, steps, shape=shape, orientation=7, pos_y=3)))
    along_y = centroid(render(sweep(5, steps, shape=shape, orientation=7, pos_x=28)))
    # the same sprite translated by 32/31 px a step; rasterisation moves a centroid by < 0.5 px
    np.testing.assert_allclose(along_x[:, 0] - along_x[0, 0], 32 * steps / 31, atol=0.5)
    np.testing.assert_allclose(along_x[:, 1], along_x[0, 1], atol=0.5)
    np.testing.assert_allclose(along_y[:, 1] - along_y[0, 1], 32 * steps / 31, atol=0.5)  # posY moves down
    np.testing.assert_allclose(along_y[:, 0], along_y[0, 0], atol=0.5)


def test_square_centre_and_side_in_pixels():
    # centre (16 + 32 posX, 16 + 32 posY); an axis-aligned square of side l covers floor(l) or ceil(l)
    # pixel centres in each direction
    for pos_x, pos_y in [(0, 0), (31, 31), (10, 20)]:
        image = render(classes(SQUARE, scale=5, pos_x=pos_x, pos_y=pos_y))
        np.testing.assert_allclose(centroid(image)[0], [16 + 32 * pos_x / 31, 16 + 32 * pos_y / 31], atol=0.5)
        for scale in range(6):
            image = render(classes(SQUARE, scale=scale, pos_x=pos_x, pos_y=pos_y))[0]
            side = SPRITE_SIZE * FACTOR_VALUES[2][scale]
            assert image.any(0).sum() in (math.floor(side), math.ceil(side))
            assert image.any(1).sum() in (math.floor(side), math.ceil(side))


def test_areas_follow_the_shapes_and_grow_with_the_square_of_the_scale():
    outline = dsprites.heart_outline()
    heart_area = 0.5 * abs(np.dot(outline[:, 0], np.roll(outline[:, 1], -1))
                           - np.dot(outline[:, 1], np.roll(outline[:, 0], -1)))  # shoelace, width 1
    unit_area = {SQUARE: 1.0, ELLIPSE: math.pi / 4 * dsprites.ELLIPSE_ASPECT, HEART: heart_area}
    for shape, area in unit_area.items():
        pixels = render(sweep(2, np.arange(6), shape=shape, orientation=3)).sum((1, 2))
        expected = area * (SPRITE_SIZE * FACTOR_VALUES[2]) ** 2
        assert (np.diff(pixels) > 0).all()
        np.testing.assert_allclose(pixels, expected, rtol=0.1)


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_rotation_preserves_area_and_turns_about_the_centre(shape):
    images = render(sweep(3, np.arange(40), shape=shape, scale=5, pos_x=16, pos_y=16))
    area = images.sum((1, 2))
    np.testing.assert_allclose(area, area.mean(), rtol=0.05)
    assert np.array_equal(images[0], images[39])  # orientations 0 and 2π are both in the grid
    if shape != HEART:  # symmetric shapes keep their centroid at the centre 16 + 32·16/31
        np.testing.assert_allclose(centroid(images), 16 + 32 * 16 / 31, atol=0.5)


def test_orientation_turns_clockwise_on_screen():
    centre = 16 + 32 * 16 / 31
    angles = FACTOR_VALUES[3]
    quarter = int(np.argmin(np.abs(angles - np.pi / 2)))
    ellipse = render(sweep(3, [0, quarter], shape=ELLIPSE, pos_x=16, pos_y=16))
    assert ellipse[0].any(0).sum() > 1.8 * ellipse[0].any(1).sum()  # long axis horizontal at 0
    assert ellipse[1].any(1).sum() > 1.8 * ellipse[1].any(0).sum()  # vertical after a quarter turn
    heart = centroid(render(sweep(3, [0, quarter], shape=HEART, pos_x=16, pos_y=16)))
    assert heart[0, 1] < centre - 0.5  # upright: lobes up, so the mass sits above the centre
    assert heart[1, 0] > centre + 0.5  # a quarter turn clockwise (y down) turns "up" into "right"


def test_official_loader_offline_names_file_url_and_target(tmp_path, fake_network):
    with pytest.raises(DataError) as error:
        load_dsprites(root=tmp_path)
    message = str(error.value)
    assert dsprites.URL in message and str(official_path(tmp_path)) in message and dsprites.FILE_NAME in message
    assert fake_network.requested == [dsprites.URL]
    with pytest.raises(DataError, match="download=False"):
        load_dsprites(root=tmp_path, download=False)
    assert not official_path(tmp_path).exists()


def test_official_loader_rejects_a_wrong_checksum(tmp_path, fake_network):
    path = official_path(tmp_path)
    path.parent.mkdir()
    np.savez(path, imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(DataError) as error:
        load_dsprites(root=tmp_path)
    message = str(error.value)
    assert str(path) in message and dsprites.MD5 in message and hashlib.md5(path.read_bytes()).hexdigest() in message
    assert fake_network.requested == []


def test_official_loader_rejects_a_download_with_a_wrong_checksum(tmp_path, fake_network):
    fake_network.serve(dsprites.URL, b"not the dSprites file")
    with pytest.raises(DataError, match=dsprites.MD5):
        load_dsprites(root=tmp_path)
    assert not official_path(tmp_path).exists()


@pytest.mark.parametrize("arrays", [{"imgs": np.zeros((2, 64, 64), np.uint8)}, {"images": np.zeros(3)}])
def test_official_loader_rejects_unexpected_content(tmp_path, monkeypatch, arrays):
    path = official_path(tmp_path)
    path.parent.mkdir()
    np.savez(path, **arrays)
    monkeypatch.setattr(dsprites, "MD5", hashlib.md5(path.read_bytes()).hexdigest())
    with pytest.raises(DataError, match=str(path)):
        load_dsprites(root=tmp_path, download=False)


def test_load_dataset_renders_fixed_disjoint_splits_without_the_official_file(tmp_path, fake_network):
    test = load_dataset("dsprites", "test", root=tmp_path)
    assert test.name == "dsprites-procedural-test" and test.images.shape == (10_000, 1, 64, 64)
    assert test.images.dtype == torch.float32 and set(test.images.unique().tolist()) == {0.0, 1.0}
    index = test.labels.numpy()
    assert np.array_equal(test.images[:20, 0].numpy(), render(factors_from_index(index[:20])))
    train = dsprites.split_indices("train")
    assert len(train) == 60_000 and len(np.intersect1d(train, index)) == 0
    assert np.array_equal(index, dsprites.split_indices("test"))  # the same subset every time
    assert fake_network.requested == []
    with pytest.raises(DataError, match=dsprites.URL):
        load_dataset("dsprites-official", "test", root=tmp_path)
