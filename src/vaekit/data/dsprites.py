"""dSprites (Matthey, Higgins, Hassabis & Lerchner 2017; Higgins et al. 2017, β-VAE): 737,280 binary
64×64 images of one white sprite, every combination of six factors exactly once.

Factor grid, as the official file's metadata (`latents_possible_values`) gives it:

| k | factor      | size | values                                                        |
|---|-------------|------|---------------------------------------------------------------|
| 0 | color       | 1    | 1 (white)                                                     |
| 1 | shape       | 3    | 1 square, 2 ellipse, 3 heart                                  |
| 2 | scale       | 6    | linspace(0.5, 1, 6)                                           |
| 3 | orientation | 40   | linspace(0, 2π, 40): both ends are in, so 0 and 2π draw alike |
| 4 | posX        | 32   | linspace(0, 1, 32)                                            |
| 5 | posY        | 32   | linspace(0, 1, 32)                                            |

Index layout: the image with factor classes c = (c_0, ..., c_5) is `imgs[i]` with the mixed-radix
number i = Σ_k c_k · Π_{l>k} s_l (posY varies fastest), i.e. `np.ravel_multi_index(c, sizes)`.

Two sources share one interface, `DSprites`:
- the official file `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` (`load_dsprites`: download,
  md5 check, cache under `<data root>/dsprites/`);
- `render`, a procedural generator of the same grid (`DSprites.procedural()`), for machines
  without the file. The official images were drawn as vector shapes in LÖVE on a canvas of size 1
  and rasterised at 64×64 without anti-aliasing (the author, deepmind/dsprites-dataset issues #2
  and #3); the generator does the same: pixel (row r, column j) is white when its centre
  (j + ½, r + ½) lies inside the sprite. The constants below are this module's reconstruction,
  not published values:
  * sprite centre (16 + 32·posX, 16 + 32·posY) pixels, x to the right, y down: a step of
    32/31 ≈ 1 pixel, the smallest that still changes the image (the dataset's stated rule);
  * reference size L = `SPRITE_SIZE` pixels times the scale: square of side L, ellipse with axes
    L × L/2 (long axis horizontal at orientation 0), heart of width L (the curve
    x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t, lobes up); L is chosen so the mean
    pixel of the whole set is 0.043, the value other code bases normalise dSprites with (mean
    0.043, standard deviation 0.202); the generated set has 0.0429;
  * rotation by the orientation angle about the centre of the sprite's bounding box, clockwise
    on screen (y down).
  The factor grid and index layout are exact; the geometry is a close approximation, and the
  pixels are not the official ones. Rendering all 737,280 images takes about 15 s on one core;
  `DSprites.procedural(cache=True)` keeps them bit-packed in `procedural_cache_path()` (7.5 MB).

For training, `load_dataset("dsprites", split)` returns a fixed random subset (`split_indices`:
60,000 "train", 10,000 "test" images; the whole set as float32 would take 12 GB), read from the
official file when it is in the cache and rendered otherwise; "dsprites-official" insists on
the official file.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from vaekit.atomic import atomic_write
from vaekit.data.cache import DataError, data_root, fetch

URL = "https://github.com/deepmind/dsprites-dataset/raw/master/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
FILE_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
MD5 = "7da33b31b13a06f4b04a70402ce90c2e"
FOLDER = "dsprites"

FACTOR_NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES = (1, 3, 6, 40, 32, 32)
FACTOR_VALUES = (
    np.array([1.0]),
    np.array([1.0, 2.0, 3.0]),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2 * np.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)
NUM_IMAGES = int(np.prod(FACTOR_SIZES))  # 737,280
IMAGE_SIZE = 64
LATENT_FACTORS = (1, 2, 3, 4, 5)  # the factors that vary: disentanglement_lib's "dsprites_full"

SQUARE, ELLIPSE, HEART = 0, 1, 2  # shape classes
SPRITE_SIZE = 21.4               # L: square side, ellipse long axis and heart width at scale 1, pixels
CENTRE_MIN, CENTRE_SPAN = 16.0, 32.0  # centre = CENTRE_MIN + CENTRE_SPAN · position, pixels
ELLIPSE_ASPECT = 0.5             # short axis / long axis
HEART_GRID = 512                 # resolution of the heart's inside-table over its unit box
WINDOW = 2 * int(np.ceil(SPRITE_SIZE / np.sqrt(2))) + 2  # rendered square around the centre, pixels
CHUNK = 4096                     # images rendered at once

PROCEDURAL_VERSION = 1           # part of the cached file's name; raise it when the geometry changes
SPLIT_SIZES = {"train": 60_000, "test": 10_000}  # the fixed subsets that load_dataset("dsprites") returns
SPLIT_SEED = 0


def factor_index(classes: np.ndarray) -> np.ndarray:
    """Index into the official `imgs` of each row of six factor classes (n, 6); returns (n,) int64."""
    classes = np.asarray(classes)
    if classes.ndim != 2 or classes.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"expected factor classes of shape (n, 6), got {classes.shape}")
    return np.ravel_multi_index(tuple(classes.T), FACTOR_SIZES).astype(np.int64)


def factors_from_index(index: np.ndarray) -> np.ndarray:
    """The six factor classes (n, 6) of official indices (n,): the inverse of `factor_index`."""
    return np.stack(np.unravel_index(np.asarray(index), FACTOR_SIZES), axis=1).astype(np.int64)


def render(classes: np.ndarray) -> np.ndarray:
    """Procedural images (n, 64, 64) uint8 in {0, 1} of six factor classes per row (n, 6)."""
    classes = np.asarray(classes, dtype=np.int64)
    factor_index(classes)  # validates the shape
    if ((classes < 0) | (classes >= np.array(FACTOR_SIZES))).any():
        raise ValueError(f"factor classes must lie in [0, size) for sizes {FACTOR_SIZES}")
    images = np.zeros((len(classes), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for start in range(0, len(classes), CHUNK):
        _render_chunk(classes[start:start + CHUNK], images[start:start + CHUNK])
    return images


def _render_chunk(classes: np.ndarray, out: np.ndarray) -> None:
    """Draw each sprite inside a WINDOW×WINDOW square around its centre (it never leaves that square)."""
    size = SPRITE_SIZE * FACTOR_VALUES[2][classes[:, 2]]                       # (n,) pixels
    angle = FACTOR_VALUES[3][classes[:, 3]]
    centre_x = CENTRE_MIN + CENTRE_SPAN * FACTOR_VALUES[4][classes[:, 4]]
    centre_y = CENTRE_MIN + CENTRE_SPAN * FACTOR_VALUES[5][classes[:, 5]]
    left = np.clip(np.rint(centre_x).astype(np.int64) - WINDOW // 2, 0, IMAGE_SIZE - WINDOW)
    top = np.clip(np.rint(centre_y).astype(np.int64) - WINDOW // 2, 0, IMAGE_SIZE - WINDOW)
    steps = np.arange(WINDOW)
    # Pixel centres relative to the sprite centre, in units of its size: (n, WINDOW) each.
    dx = ((left[:, None] + steps + 0.5) - centre_x[:, None]) / size[:, None]
    dy = ((top[:, None] + steps + 0.5) - centre_y[:, None]) / size[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    # Sprite coordinates (u, v) = R(−angle)(p − centre): u = a(x) + b(y), v = c(x) + d(y).
    terms = ((cos * dx).astype(np.float32), (sin * dy).astype(np.float32),
             (-sin * dx).astype(np.float32), (cos * dy).astype(np.float32))
    inside = np.zeros((len(classes), WINDOW, WINDOW), bool)                   # (n, rows, columns)
    for shape, test in ((SQUARE, _in_square), (ELLIPSE, _in_ellipse), (HEART, _in_heart)):
        chosen = np.flatnonzero(classes[:, 1] == shape)
        if len(chosen):
            inside[chosen] = test(*(term[chosen] for term in terms))
    rows = (top[:, None] + steps)[:, :, None]
    columns = (left[:, None] + steps)[:, None, :]
    out[np.arange(len(classes))[:, None, None], rows, columns] = inside


def _in_square(ux, uy, vx, vy):
    """|u| ≤ ½ and |v| ≤ ½, with u = ux[columns] + uy[rows], v = vx[columns] + vy[rows]."""
    u = ux[:, None, :] + uy[:, :, None]
    v = vx[:, None, :] + vy[:, :, None]
    return (np.abs(u) <= 0.5) & (np.abs(v) <= 0.5)


def _in_ellipse(ux, uy, vx, vy):
    """(u / ½)² + (v / (½·aspect))² ≤ 1."""
    u = 2 * ux[:, None, :] + 2 * uy[:, :, None]
    v = (2 / ELLIPSE_ASPECT) * vx[:, None, :] + (2 / ELLIPSE_ASPECT) * vy[:, :, None]
    return u * u + v * v <= 1


def _in_heart(ux, uy, vx, vy):
    """Look (u, v) up in the heart's inside-table over [−½, ½]², bordered by one row of zeros."""
    table = _heart_table()
    u = (ux * HEART_GRID)[:, None, :] + (uy * HEART_GRID + (HEART_GRID / 2 + 1))[:, :, None]
    v = (vx * HEART_GRID)[:, None, :] + (vy * HEART_GRID + (HEART_GRID / 2 + 1))[:, :, None]
    columns = np.clip(np.floor(u), 0, HEART_GRID + 1).astype(np.intp)
    rows = np.clip(np.floor(v), 0, HEART_GRID + 1).astype(np.intp)
    return table[rows, columns]


def heart_outline(num_points: int = 1000) -> np.ndarray:
    """The heart as a closed polygon (num_points, 2) of (x, y), y down, width 1, bounding box centred at 0."""
    t = np.linspace(0, 2 * np.pi, num_points, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))  # screen y points down
    x, y = x - (x.max() + x.min()) / 2, y - (y.max() + y.min()) / 2
    return np.stack([x, y], axis=1) / (x.max() - x.min())


@lru_cache(maxsize=1)
def _heart_table() -> np.ndarray:
    """Inside-table (HEART_GRID + 2)² of the heart polygon at cell centres, by the even-odd rule per row."""
    outline = heart_outline()
    start, end = outline, np.roll(outline, -1, axis=0)
    centres = (np.arange(HEART_GRID) + 0.5) / HEART_GRID - 0.5
    table = np.zeros((HEART_GRID + 2, HEART_GRID + 2), bool)
    for row, y in enumerate(centres):
        crosses = (start[:, 1] > y) != (end[:, 1] > y)
        a, b = start[crosses], end[crosses]
        crossings = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])  # (m,) x positions
        table[row + 1, 1:-1] = (crossings[None, :] > centres[:, None]).sum(1) % 2 == 1
    return table


class DSprites:
    """dSprites as ground-truth data: factors in, images out, from the official array or the generator.

    `factor_indices` chooses the factors that `sample_factors` draws and the `factor_*` attributes
    describe (default: the five that vary, as disentanglement_lib's "dsprites_full"); the others are
    drawn uniformly when images are made. Factors are class indices (0 ≤ c_k < size_k).
    """

    def __init__(self, images: np.ndarray | None = None, factor_indices: Sequence[int] = LATENT_FACTORS,
                 packed: bool = False, source: str = "procedural"):
        """`images`: the official (737280, 64, 64) array, or with `packed` the same packed by
        np.packbits along the last axis (737280, 64, 8); None renders every image on demand."""
        factor_indices = tuple(int(k) for k in factor_indices)
        if not factor_indices or sorted(set(factor_indices)) != sorted(factor_indices) or \
                not all(0 <= k < len(FACTOR_SIZES) for k in factor_indices):
            raise ValueError(f"factor_indices must be distinct numbers in 0..5, got {factor_indices}")
        expected = (NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE // 8 if packed else IMAGE_SIZE)
        if images is not None and tuple(images.shape) != expected:
            raise ValueError(f"{source}: expected dSprites images of shape {expected}, got {tuple(images.shape)}")
        self._images, self._packed, self.source = images, packed, source
        self.factor_indices = factor_indices
        self.factor_names = tuple(FACTOR_NAMES[k] for k in factor_indices)
        self.factor_sizes = tuple(FACTOR_SIZES[k] for k in factor_indices)
        self.factor_values = tuple(FACTOR_VALUES[k] for k in factor_indices)
        self.observation_shape = (1, IMAGE_SIZE, IMAGE_SIZE)

    @classmethod
    def procedural(cls, factor_indices: Sequence[int] = LATENT_FACTORS, cache: bool = False,
                   root: str | os.PathLike | None = None) -> "DSprites":
        """The generator; with `cache`, all images are rendered once into `procedural_cache_path(root)`
        (bit-packed, 377 MB in memory) and read from there afterwards."""
        if not cache:
            return cls(None, factor_indices)
        packed = load_procedural_cache(root)
        return cls(packed, factor_indices, packed=True, source="procedural (cached)")

    @property
    def num_factors(self) -> int:
        return len(self.factor_indices)

    def __len__(self) -> int:
        return NUM_IMAGES

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """Classes of the chosen factors, each uniform and independent: (num, num_factors) int64."""
        return np.stack([rng.integers(size, size=num) for size in self.factor_sizes], axis=1).astype(np.int64)

    def all_factors(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """All six classes (n, 6) from the chosen ones (n, num_factors); the rest drawn uniformly."""
        factors = np.asarray(factors, dtype=np.int64)
        if factors.ndim != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(f"expected factors of shape (n, {self.num_factors}), got {factors.shape}")
        classes = np.zeros((len(factors), len(FACTOR_SIZES)), np.int64)
        classes[:, list(self.factor_indices)] = factors
        for k, size in enumerate(FACTOR_SIZES):
            if k not in self.factor_indices and size > 1:
                if rng is None:
                    raise ValueError(f"factor {FACTOR_NAMES[k]} is not chosen and varies: pass rng to draw it")
                classes[:, k] = rng.integers(size, size=len(factors))
        return classes

    def images_for(self, factors: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Images (n, 64, 64) uint8 in {0, 1} for classes of the chosen factors (n, num_factors)."""
        return self.images_at(factor_index(self.all_factors(factors, rng)))

    def images_at(self, index: np.ndarray) -> np.ndarray:
        """Images (n, 64, 64) uint8 at official indices (n,)."""
        index = np.asarray(index, dtype=np.int64)
        if self._images is None:
            return render(factors_from_index(index))
        if self._packed:
            return np.unpackbits(self._images[index], axis=-1)
        return np.asarray(self._images[index], dtype=np.uint8)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """Images as a float tensor (n, 1, 64, 64) in {0, 1}, the input of a representation function."""
        return torch.from_numpy(self.images_for(factors, rng)).unsqueeze(1).float()


def load_dsprites(root: str | os.PathLike | None = None, download: bool = True,
                  factor_indices: Sequence[int] = LATENT_FACTORS) -> DSprites:
    """The official dSprites from `official_path(root)` (downloaded and md5-checked when missing)."""
    path = fetch(URL, official_path(root), md5=MD5, download=download)
    try:
        with np.load(path) as archive:
            images = archive["imgs"]
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as error:
        raise DataError(f"{path} cannot be read as dSprites ({error}); delete it to download it again.") from error
    if images.shape != (NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(f"{path} holds imgs of shape {images.shape}, expected {(NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE)}; "
                        f"delete it to download it again.")
    return DSprites(images, factor_indices, source=str(path))


def official_path(root: str | os.PathLike | None = None) -> Path:
    """Where the official file lives: `<data root>/dsprites/dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`."""
    return data_root(root) / FOLDER / FILE_NAME


def procedural_cache_path(root: str | os.PathLike | None = None) -> Path:
    """Where the rendered full set lives: `<data root>/dsprites/dsprites_procedural_v<version>_64x64.npz`."""
    return data_root(root) / FOLDER / f"dsprites_procedural_v{PROCEDURAL_VERSION}_64x64.npz"


def load_procedural_cache(root: str | os.PathLike | None = None) -> np.ndarray:
    """The bit-packed full procedural set (737280, 64, 8), rendered and written atomically if absent.

    The .npz holds `imgs_packbits` (np.packbits of the images along the last axis) and
    `latents_classes` (737280, 6), row i the factor classes of image i.
    """
    path = procedural_cache_path(root)
    if not path.exists():
        packed = np.empty((NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE // 8), np.uint8)
        for start in range(0, NUM_IMAGES, 8 * CHUNK):
            index = np.arange(start, min(start + 8 * CHUNK, NUM_IMAGES))
            packed[index] = np.packbits(render(factors_from_index(index)), axis=-1)
        with atomic_write(path) as file:
            np.savez_compressed(file, imgs_packbits=packed, latents_classes=factors_from_index(np.arange(NUM_IMAGES)))
        return packed
    try:
        with np.load(path) as archive:
            packed = archive["imgs_packbits"]
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as error:
        raise DataError(f"{path} cannot be read as the procedural dSprites ({error}); delete it to render it again.") \
            from error
    if packed.shape != (NUM_IMAGES, IMAGE_SIZE, IMAGE_SIZE // 8):
        raise DataError(f"{path} holds images of shape {packed.shape}; delete it to render it again.")
    return packed


def split_indices(split: str) -> np.ndarray:
    """The official indices of a fixed random subset: "train" 60,000 and "test" 10,000 disjoint images,
    the first 60,000 and next 10,000 of one permutation of all 737,280 (seed 0), each sorted."""
    if split not in SPLIT_SIZES:
        raise DataError(f"dSprites has the splits {tuple(SPLIT_SIZES)}; got split={split!r}.")
    order = np.random.default_rng(SPLIT_SEED).permutation(NUM_IMAGES)
    start = 0 if split == "train" else SPLIT_SIZES["train"]
    return np.sort(order[start:start + SPLIT_SIZES[split]])


def dsprites_ground_truth(name: str = "dsprites", root: str | os.PathLike | None = None) -> DSprites:
    """The ground truth a run on data ``name`` was trained from: the official file for
    "dsprites-official" or when it is cached, the procedural set otherwise (as ``load_dataset``)."""
    if name == "dsprites-official" or official_path(root).exists():
        return load_dsprites(root)
    return DSprites.procedural()
