"""Test metrics of a sentence model, per sentence and per word (Bowman et al. 2016, Table 2; He et al. 2019, §6).

For a test sentence x of n words (n + 1 predicted tokens with its <eos>):
    NLL(x) = −log p(x): exact for a language model, Σ_{t=1}^{n+1} −log p(x_t | x_<t); for a sentence
             VAE −L_k(x), the importance-sampled estimate of ``log_likelihood_estimate`` (k = 500 in
             He et al. 2019), an upper bound on −log p(x) in expectation;
    PPL    = exp(Σ_x NLL(x) / Σ_x (n_x + 1)), the per-word perplexity (the <eos> counts as a word).
A sentence VAE also gets ELBO(x) = log p(x|z) − KL(q(z|x) || p(z)) with one z ~ q(z|x), its two terms,
the perplexity exp(−Σ ELBO / Σ (n + 1)) it bounds from above, and the collapse diagnostics (KL per
dimension, active units, I_q(x; z)) of ``vaekit.evaluate.diagnostics``. All in nats per sentence.
"""
from __future__ import annotations

import math

import torch

from vaekit.config import EvalConfig
from vaekit.data.text import PAD
from vaekit.distributions import kl_term
from vaekit.evaluate.diagnostics import collapse_diagnostics
from vaekit.evaluate.estimators import estimate_by_batches
from vaekit.evaluate.likelihood import log_likelihood_estimate
from vaekit.models.sentence_vae import LanguageModel


def perplexity(total_nll: float, num_tokens: int) -> float:
    """exp(total NLL in nats / number of predicted tokens)."""
    return math.exp(total_nll / num_tokens)


def _nll_summary(log_px: torch.Tensor, num_tokens: int) -> dict[str, float]:
    n = len(log_px)
    return {"nll": float(-log_px.mean()),
            "nll_standard_error": float(log_px.std() / math.sqrt(n)) if n > 1 else 0.0,
            "perplexity": perplexity(float(-log_px.double().sum()), num_tokens)}


@torch.no_grad()
def evaluate_text(model, tokens: torch.Tensor, config: EvalConfig = EvalConfig(), progress: bool = False,
                  distributed=None) -> dict:
    """NLL per sentence, perplexity per word and, for a sentence VAE, ELBO, KL and collapse diagnostics
    on sentences ``tokens`` (N, T). Batches hold sentences of similar length (sorted), so that little
    time goes into <pad>; ``config.batch_size × config.sample_chunk`` sentences are decoded at once.
    Under torchrun (``distributed``) the ranks share the importance-sampled NLL, batch by batch, with
    one process's numbers (``estimators.estimate_by_batches``)."""
    model.eval()
    tokens = model.check_input(tokens if config.max_examples is None else tokens[:config.max_examples], "test data")
    lengths = (tokens != PAD).sum(1)
    tokens = tokens[lengths.argsort(stable=True)]
    num_tokens = int(lengths.sum())
    results: dict = {"num_examples": len(tokens), "num_tokens": num_tokens}
    batches = [tokens[i:i + config.batch_size] for i in range(0, len(tokens), config.batch_size)]
    if isinstance(model, LanguageModel):
        log_px = torch.cat([model.marginal(len(x)).log_prob(x) for x in batches])
        return {**results, **_nll_summary(log_px, num_tokens)}
    log_likelihood, kl = [], []
    prior = model.prior()
    for x in batches:
        posterior = model.encode(x)
        log_likelihood.append(model.decode(posterior.sample()).log_prob(x))
        kl.append(kl_term(posterior, prior))
    log_likelihood, kl = torch.cat(log_likelihood), torch.cat(kl)
    elbo = log_likelihood - kl
    diagnostics = collapse_diagnostics(model, tokens, config.batch_size, max_examples=len(tokens))
    results.update({
        "elbo": float(elbo.mean()), "reconstruction": float(-log_likelihood.mean()), "kl": float(kl.mean()),
        "perplexity_elbo": perplexity(float(-elbo.double().sum()), num_tokens),
        "kl_per_dimension": diagnostics["kl_per_dimension"], "active_units": diagnostics["active_units"],
        "mutual_information": diagnostics["mutual_information"],
    })
    if config.importance_samples > 0:
        def estimate(rows):      # one batch of sentences, decoded in whole chunks (a recurrent decoder)
            return log_likelihood_estimate(model, rows, config.importance_samples, config.sample_chunk, len(rows),
                                           rows_per_decode=None)
        log_px = estimate_by_batches(estimate, tokens, config.batch_size, distributed,
                                     f"log p(x), k={config.importance_samples}" if progress else None,
                                     dtype=next(model.parameters()).dtype)
        results.update({"importance_samples": config.importance_samples, **_nll_summary(log_px, num_tokens)})
    return results
