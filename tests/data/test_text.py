import gzip
import hashlib
import shutil

import pytest
import torch

from vaekit.data import DataError, TextData, Vocabulary, load_dataset, load_text, split_train_valid
from vaekit.data.text import BOS, EOS, PAD, PTB_MD5, PTB_URL, SPECIALS, UNK, check_tokens, encode_sentences

# line numbers:  1..9 train, 10 test, 11 train, 12 train (an empty line is line 4, a long one line 7)
LINES = ["the cat sat", "the dog sat", "a cat ran", "", "the <unk> sat", "dog", "w w w w w w w w",
         "the cat", "a dog", "the bird sat", "cat", "the"]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_vocabulary_is_specials_then_words_by_count_then_alphabet(text_file):
    data = load_text(str(text_file), "train", max_length=6)
    # train lines: all but line 10; line 7 (8 words + <eos> > 6) is dropped but its words still count
    assert data.vocabulary.words == SPECIALS + ("w", "the", "cat", "dog", "sat", "a", "ran")
    assert SPECIALS == ("<pad>", "<bos>", "<eos>", "<unk>") and (PAD, BOS, EOS, UNK) == (0, 1, 2, 3)


def test_rows_are_ids_then_eos_then_padding_and_the_rules_are_counted(text_file):
    data = load_text(str(text_file), "train", max_length=6)
    assert data.skipped_empty == 1 and data.dropped_long == 1
    ids = data.vocabulary.index
    expected = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"], ["the", "<unk>", "sat"],
                ["dog"], ["the", "cat"], ["a", "dog"], ["cat"], ["the"]]
    rows = [[ids[w] for w in words] + [EOS] + [PAD] * (3 - len(words)) for words in expected]
    assert data.tokens.dtype == torch.int64 and data.tokens.tolist() == rows
    assert data.lengths.tolist() == [len(words) + 1 for words in expected]
    assert data.sentences()[3] == "the <unk> sat" and data.name == "tiny-train"


def test_test_split_is_every_tenth_line_and_unknown_words_become_unk(text_file):
    test = load_text(str(text_file), "test")
    train_vocabulary = load_text(str(text_file), "train").vocabulary
    assert test.vocabulary == train_vocabulary                  # built from the train lines
    assert test.tokens.tolist() == [[train_vocabulary.index["the"], UNK, train_vocabulary.index["sat"], EOS]]
    assert "bird" not in train_vocabulary.index


def test_a_sentence_of_exactly_max_length_tokens_is_kept(text_file):
    kept = load_text(str(text_file), "train", max_length=9)     # "w" × 8 + <eos> = 9 tokens
    assert kept.dropped_long == 0 and kept.tokens.shape[1] == 9
    with pytest.raises(DataError, match="no sentence of at most 1 tokens"):
        load_text(str(text_file), "train", max_length=1)


def test_reserved_words_and_bad_bytes_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("fine words\nnot <eos> here\n")
    with pytest.raises(DataError, match=r"bad.txt, line 2: the word <eos> is reserved"):
        load_text(str(path))
    path.write_bytes(b"ok\nok\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"bad.txt, line 3: not UTF-8"):
        load_text(str(path))


def test_load_dataset_dispatches_text_files_and_rejects_unknown_splits(text_file):
    data = load_dataset(str(text_file), "train")
    assert isinstance(data, TextData) and len(data) == 10
    with pytest.raises(DataError, match="splits"):
        load_text(str(text_file), "valid")


def test_encode_given_vocabulary_and_decode_back():
    vocabulary = Vocabulary(SPECIALS + ("b", "a"))
    tokens, dropped = encode_sentences([["a", "b", "zzz"], ["b"]], vocabulary)
    assert dropped == 0 and tokens.tolist() == [[5, 4, UNK, EOS], [4, EOS, PAD, PAD]]
    assert vocabulary.text([BOS, 5, 4, EOS, 4, PAD]) == "a b"
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(("a",) + SPECIALS)
    with pytest.raises(ValueError, match="'a' appears twice"):
        Vocabulary(SPECIALS + ("a", "a"))


def test_vocabulary_file_round_trips(tmp_path):
    vocabulary = Vocabulary(SPECIALS + ("x", "y"))
    assert Vocabulary.load(vocabulary.save(tmp_path / "vocab.json")) == vocabulary
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DataError, match="broken.json is not a vocabulary file"):
        Vocabulary.load(tmp_path / "broken.json")


def test_split_train_valid_partitions_sentences(text_file):
    data = load_text(str(text_file))
    train, valid = split_train_valid(data, 0.3, seed=0)
    assert isinstance(train, TextData) and len(train) + len(valid) == len(data) == 10
    together = sorted(map(tuple, torch.cat([train.tokens, valid.tokens]).tolist()))
    assert together == sorted(map(tuple, data.tokens.tolist())) and train.vocabulary is data.vocabulary


def test_check_tokens_says_what_is_wrong():
    good = torch.tensor([[4, 5, EOS], [4, EOS, PAD]])
    assert check_tokens(good, 6) is good
    cases = [(good.float(), "int64 token ids of shape"), (good[0], "int64 token ids of shape"),
             (torch.tensor([[4, 9, EOS]]), r"\[0, 6\).*got 9 in sentence 0, position 1"),
             (torch.tensor([[4, EOS], [BOS, EOS]]), "sentence 1 contains <bos>"),
             (torch.tensor([[4, EOS], [PAD, PAD]]), "sentence 1 is empty"),
             (torch.tensor([[4, PAD, 5]]), "sentence 0 has a token after <pad>")]
    for tokens, message in cases:
        with pytest.raises(ValueError, match=message):
            check_tokens(tokens, 6, "batch")


@pytest.mark.parametrize("split, sentences, width", [("train", 42068, 83), ("valid", 3370, 75), ("test", 3761, 78)])
def test_penn_treebank_from_the_shared_copy(require_shared_data, split, sentences, width):
    data = load_text("ptb", split, require_shared_data("ptb"), download=False)
    # Mikolov's 10k vocabulary = 9,998 words + <unk> + end of sentence; vaekit adds <pad> and <bos>
    assert len(data.vocabulary) == 10002
    assert data.tokens.shape == (sentences, width) and data.skipped_empty == data.dropped_long == 0
    assert (data.tokens[torch.arange(sentences), data.lengths - 1] == EOS).all()
    if split == "train":        # 887,521 words + 42,068 <eos>: the 929k training tokens of PTB
        assert int(data.lengths.sum()) == 929589 and data.vocabulary.words[4:6] == ("the", "N")
        assert data.sentences()[1] == "pierre <unk> N years old will join the board as a nonexecutive director nov. N"


def test_penn_treebank_checksums_are_checked(require_shared_data, tmp_path, fake_network):
    packed = require_shared_data("ptb") / "ptb" / "ptb.valid.txt.gz"
    (tmp_path / "ptb").mkdir()
    shutil.copy(packed, tmp_path / "ptb" / "ptb.test.txt.gz")   # a valid gzip of the wrong split
    with pytest.raises(DataError) as error:
        load_text("ptb", "test", tmp_path, vocabulary=Vocabulary(SPECIALS + ("a",)))
    assert PTB_MD5["test"] in str(error.value) and PTB_MD5["valid"] in str(error.value)
    plain = tmp_path / "ptb" / "ptb.valid.txt"                  # a plain text copy is read as downloaded
    plain.write_bytes(gzip.decompress(packed.read_bytes()))
    assert hashlib.md5(plain.read_bytes()).hexdigest() == PTB_MD5["valid"]
    assert len(load_text("ptb", "valid", tmp_path, vocabulary=Vocabulary(SPECIALS + ("a",)))) == 3370
    with pytest.raises(DataError, match=PTB_URL.format(split="train").replace(".", r"\.")):
        load_text("ptb", "train", tmp_path, download=True)     # offline: the error names the URL
    assert fake_network.requested == [PTB_URL.format(split="train")]
