"""The text commands a user types: the PTB presets on a small text file of one sentence a line."""
import json
import math
import random
import re
from pathlib import Path

import pytest

from html_checks import assert_self_contained
from vaekit.cli import main
from vaekit.data import Vocabulary

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SMALL = ["data.valid_split=", "model.embedding_dim=8", "model.rnn_hidden=16", "train.epochs=2",
         "train.batch_size=16", "train.progress=false", "evaluate.importance_samples=10"]


@pytest.fixture(scope="module")
def sentences_file(tmp_path_factory):
    rng = random.Random(0)
    subjects, verbs, objects = ["the cat", "a dog", "the man"], ["sees", "likes"], ["the ball", "a bird", "fish"]
    lines = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}" for _ in range(100)]
    path = tmp_path_factory.mktemp("text") / "sentences.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, sentences_file):
    folder = tmp_path_factory.mktemp("cli") / "vae"
    overrides = [f"data.name={sentences_file}", f"run_dir={folder}", "model.latent_dim=2", *SMALL]
    assert main(["train", str(CONFIGS / "ptb_sentence_vae.yaml"), *overrides]) == 0
    return folder


def test_train_writes_the_vocabulary_and_the_vocab_size(vae_run):
    vocabulary = Vocabulary.load(vae_run / "vocab.json")
    assert len(vocabulary) == 4 + 10 and "cat" in vocabulary.index          # 10 distinct words
    assert f"vocab_size: {len(vocabulary)}" in (vae_run / "config.yaml").read_text()


def predicted_test_tokens(path):
    """Words + <eos> of the test sentences: every 10th line."""
    return sum(len(line.split()) + 1 for line in path.read_text().splitlines()[9::10])


def test_evaluate_reports_nll_perplexity_and_kl(vae_run, sentences_file):
    assert main(["evaluate", str(vae_run), "-k", "20"]) == 0
    metrics = json.loads((vae_run / "report" / "metrics.json").read_text())
    assert metrics["num_examples"] == 10 and metrics["importance_samples"] == 20
    assert metrics["num_tokens"] == predicted_test_tokens(sentences_file)
    assert metrics["perplexity"] > 1 and metrics["kl"] >= 0 and len(metrics["kl_per_dimension"]) == 2


@pytest.mark.parametrize("command, name", [("sample", "samples.txt"), ("reconstruct", "reconstructions.txt"),
                                           ("interpolate", "interpolation.txt")])
def test_text_commands_print_and_write_sentences(vae_run, command, name, capsys):
    assert main([command, str(vae_run)]) == 0
    text = (vae_run / "report" / name).read_text()
    assert text in capsys.readouterr().out
    words = set(Vocabulary.load(vae_run / "vocab.json").words)
    label = re.compile(r"^\s*(\d+ )?(greedy|sampled|data|reconstructed|from|to):|^\s*\d\.\d\d ")
    sentence_lines = [line for line in text.splitlines()[1:] if line.strip() and not line.startswith("pair")]
    assert sentence_lines and all(label.match(line) for line in sentence_lines)
    for line in sentence_lines:
        assert set(label.sub("", line).split()) <= words
    if command == "interpolate":
        assert text.count("pair ") == 4 and "  0.00  " in text and "  1.00  " in text


def test_report_writes_curves_metrics_and_sentences(vae_run):
    assert main(["report", str(vae_run), "-k", "5", "--html"]) == 0
    names = {p.name for p in (vae_run / "report").iterdir()}
    assert {"loss_curve.png", "metrics.json", "samples.txt", "reconstructions.txt", "interpolation.txt",
            "report.html"} <= names
    page = assert_self_contained(vae_run / "report" / "report.html")       # the sentences as <pre> blocks
    assert [tag for tag, _ in page.tags].count("pre") == 3 and "latent traversals" in page.text
    assert all((vae_run / "report" / name).read_text() in page.text
               for name in ("samples.txt", "reconstructions.txt", "interpolation.txt"))


def test_language_model_trains_evaluates_and_samples(tmp_path, sentences_file):
    folder = tmp_path / "lm"
    assert main(["train", str(CONFIGS / "ptb_lstm_lm.yaml"), f"data.name={sentences_file}", f"run_dir={folder}",
                 *SMALL]) == 0
    assert main(["evaluate", str(folder)]) == 0
    metrics = json.loads((folder / "report" / "metrics.json").read_text())
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["nll"] * 10 / predicted_test_tokens(sentences_file)))
    assert main(["sample", str(folder), "-n", "3"]) == 0
    with pytest.raises(SystemExit, match="a language-model has no code"):
        main(["interpolate", str(folder)])


def test_binarizing_text_is_refused(tmp_path, sentences_file, capsys):
    assert main(["train", str(CONFIGS / "ptb_sentence_vae.yaml"), f"data.name={sentences_file}",
                 "data.binarize=dynamic", f"run_dir={tmp_path / 'x'}", *SMALL]) == 2
    assert "data.binarize must be none for text" in capsys.readouterr().err
