"""Posterior collapse, shown and cured: a sentence VAE on Penn Treebank, and a PixelCNN VAE on MNIST.

With an autoregressive decoder p(x|z) = Π_t p(x_t | x_<t, z) strong enough to model x alone, the
ELBO E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)) has an optimum at q(z|x) = p(z): the decoder ignores z,
KL = I_q(x; z) = 0 and no latent unit is active (Bowman et al. 2016; He et al. 2019). Four runs of
the same sentence VAE (LSTM encoder, LSTM decoder reading z in its initial state and at every step):
  (a) plain      ELBO from the start, no word dropout
  (b) annealing  KL weight by a sigmoid schedule + word dropout (Bowman et al. 2016)
  (c) cyclical   KL weight in M cycles, each rising over a fraction R then held at 1 (Fu et al. 2019)
  (d) Li et al.  autoencoder pre-training (z = μ(x), KL weight 0), decoder reset, then free bits
                 (Li et al. 2019)
  (e) free bits  free bits alone, from the start (Kingma et al. 2016): what (d) adds pre-training to
and an LSTM language model with the same decoder and no latent on the same budget: the exact NLL
the VAE's importance-sampled NLL (−L_k, He et al. 2019: k = 500) is compared with. Every epoch logs
KL, I_q(x; z) (He et al.'s minibatch estimator) and active units on validation sentences.
The image side: a VAE whose decoder is a PixelCNN (masked convolutions), with and without free bits.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from vaekit.config import EvalConfig, ModelConfig, ObjectiveConfig, ScheduleConfig, TrainConfig
from vaekit.data import binarize_static
from vaekit.data.text import load_text
from vaekit.evaluate import evaluate_model
from vaekit.evaluate.text import evaluate_text
from vaekit.experiments.common import dataset, train_model
from vaekit.experiments.registry import experiment
from vaekit.experiments.report import Report
from vaekit.models import MODELS
from vaekit.train import Trainer
from vaekit.viz.text import homotopies, prior_sentences

RUNS = ("a: plain", "b: annealing + word dropout", "c: cyclical annealing", "d: AE pre-training + free bits",
        "e: free bits")
LM = "LSTM language model"
CURVES = (("valid_reconstruction", "−E_q log p(x|z) (nats)"), ("valid_kl", "KL (nats)"),
          ("valid_mutual_information", "I_q(x; z) (nats)"), ("valid_active_units", "active units"))


@dataclass(frozen=True)
class Settings:
    data_root: str | None = None
    train_size: int | None = None          # PTB training sentences (None: all 42,068)
    valid_size: int = 1000                 # validation sentences for the per-epoch curves
    test_size: int = 500                   # test sentences for NLL, PPL, KL, MI, AU
    latent_dim: int = 32                   # Fu et al. / Li et al. PTB sizes
    embedding_dim: int = 256
    rnn_hidden: int = 256
    epochs: int = 12
    epoch_size: int = 4000                 # sentences per epoch (a fresh random subset each time)
    batch_size: int = 32
    lr: float = 1e-3
    grad_clip: float = 5.0
    embedding_dropout: float = 0.5         # (b), (c), (d) and the LM; (a) has none
    word_dropout: float = 0.25             # (b): Bowman's <unk> replacement rate
    anneal_fraction: float = 0.5           # (b): the sigmoid rises over this fraction of all steps
    cycles: int = 4                        # (c): M
    cycle_ratio: float = 0.5               # (c): R
    pretrain_epochs: int = 4               # (d): autoencoder epochs before the decoder reset
    free_bits: float = 0.5                 # (d), (e): λ per latent dimension, nats
    runs: tuple[str, ...] = ("a", "b", "c", "d", "e")   # which of the runs above to train
    language_model: bool = True            # train the LSTM LM baseline
    images: bool = True                    # the PixelCNN part
    importance_samples: int = 500          # k of −L_k (He et al. 2019)
    sample_chunk: int = 100
    eval_batch: int = 20
    num_sentences: int = 8                 # prior samples and homotopies shown
    # the image side: PixelCNN decoder on dynamically binarized MNIST
    image_train_size: int | None = None
    image_test_size: int = 500
    image_latent_dim: int = 32
    pixelcnn_channels: int = 16
    pixelcnn_layers: int = 5
    image_epochs: int = 6
    image_epoch_size: int | None = 20000
    image_free_bits: float = 0.25
    image_importance_samples: int = 100
    seed: int = 0


def text_runs(settings: Settings, total_steps: int) -> dict[str, tuple[dict, ObjectiveConfig, dict]]:
    """name → (model fields, objective, train fields) of the four sentence VAEs."""
    plain = dict(word_dropout=0.0, embedding_dropout=0.0)
    dropout = dict(word_dropout=0.0, embedding_dropout=settings.embedding_dropout)
    sigmoid = ScheduleConfig(kind="sigmoid", steps=max(1, int(settings.anneal_fraction * total_steps)))
    cyclical = ScheduleConfig(kind="cyclical", steps=total_steps, cycles=settings.cycles, ratio=settings.cycle_ratio)
    return {
        RUNS[0]: (plain, ObjectiveConfig(), {}),
        RUNS[1]: ({**dropout, "word_dropout": settings.word_dropout}, ObjectiveConfig(kl_schedule=sigmoid), {}),
        RUNS[2]: (dropout, ObjectiveConfig(kl_schedule=cyclical), {}),
        RUNS[3]: (dropout, ObjectiveConfig(free_bits=settings.free_bits),
                  {"pretrain_epochs": settings.pretrain_epochs, "reset_decoder": True}),
        RUNS[4]: (dropout, ObjectiveConfig(free_bits=settings.free_bits), {}),
    }


def train(model_config: ModelConfig, data: torch.Tensor, valid: torch.Tensor, objective: ObjectiveConfig,
          train_config: TrainConfig):
    torch.manual_seed(train_config.seed)
    model = MODELS[model_config.kind](model_config)
    history = Trainer(train_config, objective).fit(model, data, valid)
    return model, history.epochs


@experiment("posterior-collapse", "A sentence VAE with an LSTM decoder trained on the plain ELBO collapses (KL → 0, "
            "no active unit); KL annealing with word dropout, cyclical annealing, and AE pre-training with free "
            "bits each keep information in z, at a test NLL close to an LSTM language model's. A PixelCNN decoder "
            "on images collapses the same way, and free bits prevent it.", Settings)
def run(report: Report, settings: Settings) -> None:
    root = settings.data_root
    train_text = load_text("ptb", "train", root)
    vocabulary = train_text.vocabulary
    tokens = _subset(train_text.tokens, settings.train_size, settings.seed)
    valid = load_text("ptb", "valid", root, vocabulary=vocabulary).tokens[:settings.valid_size]
    test = _subset(load_text("ptb", "test", root, vocabulary=vocabulary).tokens, settings.test_size, settings.seed)
    steps_per_epoch = -(-min(settings.epoch_size, len(tokens)) // settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    base = ModelConfig(kind="sentence-vae", architecture="lstm", latent_dim=settings.latent_dim,
                       embedding_dim=settings.embedding_dim, rnn_hidden=settings.rnn_hidden,
                       vocab_size=len(vocabulary), image_shape=())
    train_config = TrainConfig(epochs=settings.epochs, epoch_size=settings.epoch_size, batch_size=settings.batch_size,
                               lr=settings.lr, grad_clip=settings.grad_clip, seed=settings.seed, progress=False)
    evaluation = EvalConfig(importance_samples=settings.importance_samples, sample_chunk=settings.sample_chunk,
                            batch_size=settings.eval_batch)
    report.record(train_sentences=len(tokens), test_sentences=len(test), vocabulary=len(vocabulary),
                  steps_per_run=total_steps)

    measured, curves, texts = {}, {}, {}
    chosen = {name: spec for name, spec in text_runs(settings, total_steps).items() if name[0] in settings.runs}
    if not chosen:
        raise ValueError(f"runs must name some of {', '.join(name[0] for name in RUNS)}, got {settings.runs}")
    for name, (fields, objective, extra) in chosen.items():
        model, rows = train(dataclasses.replace(base, **fields), tokens, valid, objective,
                            dataclasses.replace(train_config, **extra))
        torch.manual_seed(settings.seed)
        measured[name] = evaluate_text(model, test, evaluation)
        curves[name] = rows
        half = settings.num_sentences
        texts[name] = {"prior": prior_sentences(model, vocabulary, settings.num_sentences, settings.seed),
                       "homotopy": homotopies(model, vocabulary, test[:1], test[half:half + 1], steps=7)[0]}
    if settings.language_model:
        lm, _ = train(dataclasses.replace(base, kind="language-model", embedding_dropout=settings.embedding_dropout),
                      tokens, valid, ObjectiveConfig(name="language-model"), train_config)
        measured[LM] = evaluate_text(lm, test, evaluation)
        texts[LM] = {"prior": prior_sentences(lm, vocabulary, settings.num_sentences, settings.seed)}
    report.record(text=measured, curves=curves)

    images = _images(report, settings) if settings.images else {}
    _checks(report, measured, images)
    _tables(report, settings, measured, images, texts)
    _figure(report, curves, steps_per_epoch)


def _subset(tokens: torch.Tensor, size: int | None, seed: int) -> torch.Tensor:
    if size is None or size >= len(tokens):
        return tokens
    return tokens[torch.randperm(len(tokens), generator=torch.Generator().manual_seed(seed))[:size]]


def _images(report: Report, settings: Settings) -> dict:
    """PixelCNN-decoder VAEs on dynamically binarized MNIST, with and without free bits."""
    train_images = dataset("mnist", "train", settings.image_train_size, settings.data_root, settings.seed)
    test_images = binarize_static(dataset("mnist", "test", settings.image_test_size, settings.data_root,
                                          settings.seed).images, settings.seed)
    config = ModelConfig(kind="vae", architecture="pixelcnn", latent_dim=settings.image_latent_dim, hidden=(256,),
                         pixelcnn_channels=settings.pixelcnn_channels, pixelcnn_layers=settings.pixelcnn_layers)
    found = {}
    for name, free_bits in (("PixelCNN VAE, plain ELBO", 0.0),
                            (f"PixelCNN VAE, free bits λ={settings.image_free_bits:g}", settings.image_free_bits)):
        model = train_model(config, train_images, epochs=settings.image_epochs, objective=ObjectiveConfig(
            free_bits=free_bits), binarize="dynamic", seed=settings.seed, epoch_size=settings.image_epoch_size)
        torch.manual_seed(settings.seed)
        metrics = evaluate_model(model, test_images, EvalConfig(importance_samples=settings.image_importance_samples,
                                                                sample_chunk=50, batch_size=20))
        found[name] = {key: metrics[key] for key in ("elbo", "kl", "active_units", "nll", "nll_standard_error",
                                                     "reconstruction_nll", "kl_per_dimension")}
    report.record(images=found)
    return found


def _checks(report: Report, measured: dict, images: dict) -> None:
    if RUNS[0] in measured:
        plain = measured[RUNS[0]]
        report.check("(a) the plain sentence VAE collapses: KL < 0.5 nats per sentence and no active unit",
                     plain["kl"] < 0.5 and plain["active_units"] == 0,
                     f"KL {plain['kl']:.2f}, MI {plain['mutual_information']:.2f}, AU {plain['active_units']}")
    cures = []                                   # the runs that did keep information in z
    for name in (name for name in RUNS[1:] if name in measured):
        m = measured[name]
        if report.check(f"({name}) keeps information in z: KL ≥ 3 nats, MI ≥ 1 nat, ≥ 3 active units",
                        m["kl"] >= 3 and m["mutual_information"] >= 1 and m["active_units"] >= 3,
                        f"KL {m['kl']:.2f}, MI {m['mutual_information']:.2f}, AU {m['active_units']}"):
            cures.append(name)
    if LM in measured:
        lm = measured[LM]
        best = min(cures, key=lambda name: measured[name]["nll"], default=None)
        gap = float("inf") if best is None else measured[best]["nll"] - lm["nll"]
        report.check("the best cure (of the runs that kept information in z) has a test NLL within 3 nats of the "
                     "LSTM language model's", gap <= 3,
                     f"no run kept information in z; LM {lm['nll']:.2f}" if best is None else
                     f"best ({best}) {measured[best]['nll']:.2f} vs LM {lm['nll']:.2f}: gap {gap:+.2f} nats")
    if not images:
        return
    (_, plain_image), (_, fb_image) = images.items()
    report.check("PixelCNN decoder: free bits keep more KL and more active units than the plain ELBO",
                 fb_image["kl"] > plain_image["kl"] and fb_image["active_units"] > plain_image["active_units"],
                 f"plain: KL {plain_image['kl']:.2f}, AU {plain_image['active_units']}; free bits: KL "
                 f"{fb_image['kl']:.2f}, AU {fb_image['active_units']}")


def _tables(report: Report, settings: Settings, measured: dict, images: dict, texts: dict) -> None:
    rows = []
    for name, m in measured.items():
        vae = "kl" in m
        rows.append([name, m["nll"], m["nll_standard_error"], m["perplexity"], m["kl"] if vae else "—",
                     m["mutual_information"] if vae else "—", m["active_units"] if vae else "—",
                     -m["elbo"] if vae else "—"])
    rows += [["Bowman et al. 2016, LSTM LM (PTB)", "≈100", "", "116", "—", "—", "—", "—"],
             ["Bowman et al. 2016, VAE (PTB; their NLL is the −ELBO bound)", "", "", "119", "≈2", "", "", "≈101"],
             ["He et al. 2019 Table 1: plain / annealed LSTM VAE (Yahoo, Yelp)", "", "", "", "0.0", "0.0", "0", ""]]
    report.table(f"Penn Treebank test, {settings.test_size} sentences (nats per sentence; NLL of a VAE is −L_k with "
                 f"k = {settings.importance_samples}; PPL per word incl. <eos>)",
                 ["run", "NLL", "± s.e.", "PPL", "KL", "MI", "AU", "−ELBO"], rows)
    if images:
        report.table("PixelCNN decoder on binarized MNIST test images (nats per image; NLL: −L_k, "
                     f"k = {settings.image_importance_samples})", ["run", "NLL", "± s.e.", "−ELBO", "KL", "AU"],
                     [[name, m["nll"], m["nll_standard_error"], -m["elbo"], m["kl"], m["active_units"]]
                      for name, m in images.items()])
    report.table("Sentences decoded from z ~ p(z) (greedy | sampled); the LM samples p(x)",
                 ["run", "greedy", "sampled"],
                 [[name, greedy, sampled] for name, t in texts.items() for greedy, sampled in t["prior"][:4]])
    report.table("Homotopies (Bowman et al. Table 8): greedy decodes along the line between two test sentences' codes",
                 ["run", "step", "sentence"],
                 [[name, step, sentence] for name, t in texts.items() if "homotopy" in t
                  for step, sentence in enumerate(t["homotopy"])])


def _figure(report: Report, curves: dict, steps_per_epoch: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(CURVES), figsize=(16, 3.4))
    for axis, (key, label) in zip(axes, CURVES):
        for name, rows in curves.items():
            axis.plot([row["step"] for row in rows], [row[key] for row in rows], "o-", ms=3, label=name)
        axis.set(xlabel="training step", ylabel=label)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle("Sentence VAEs on Penn Treebank: validation terms during training", fontsize=10)
    figure.tight_layout()
    report.figure("collapse_curves", figure, "Reconstruction, KL, mutual information I_q(x; z) and active units on "
                  "validation sentences after every epoch: the plain run's KL and MI fall to zero, the cures keep "
                  f"them up ({steps_per_epoch} steps per epoch).")
