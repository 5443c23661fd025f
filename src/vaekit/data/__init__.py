"""Image data: built-in sets with verified downloads, user files, binarization, noise, minibatches."""
from vaekit.data.batches import iterate_minibatches, split_train_valid
from vaekit.data.binarize import binarize_dynamic, binarize_static, binarize_threshold
from vaekit.data.cache import DataError, data_root, fetch
from vaekit.data.datasets import DATASETS, ImageData, load_dataset
from vaekit.data.idx import read_idx
from vaekit.data.noise import corrupt
from vaekit.data.user_data import load_array_file, load_image_folder

__all__ = [
    "DATASETS",
    "DataError",
    "ImageData",
    "binarize_dynamic",
    "binarize_static",
    "binarize_threshold",
    "corrupt",
    "data_root",
    "fetch",
    "iterate_minibatches",
    "load_array_file",
    "load_dataset",
    "load_image_folder",
    "read_idx",
    "split_train_valid",
]
