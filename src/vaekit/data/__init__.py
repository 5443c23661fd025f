"""Data: built-in image and text sets with verified downloads, user files, binarization, noise, minibatches."""
from vaekit.data.batches import iterate_minibatches, split_train_valid
from vaekit.data.binarize import binarize_dynamic, binarize_static, binarize_threshold
from vaekit.data.cache import DataError, data_root, fetch
from vaekit.data.datasets import DATASETS, ImageData, load_dataset
from vaekit.data.idx import read_idx
from vaekit.data.noise import corrupt
from vaekit.data.text import TextData, Vocabulary, is_text_data, load_text
from vaekit.data.user_data import load_array_file, load_image_folder

__all__ = [
    "DATASETS",
    "DataError",
    "ImageData",
    "TextData",
    "Vocabulary",
    "binarize_dynamic",
    "binarize_static",
    "binarize_threshold",
    "corrupt",
    "data_root",
    "fetch",
    "is_text_data",
    "iterate_minibatches",
    "load_array_file",
    "load_dataset",
    "load_image_folder",
    "load_text",
    "read_idx",
    "split_train_valid",
]
