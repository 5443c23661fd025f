"""Sentences decoded from codes: prior samples, reconstructions and homotopies (Bowman et al. 2016, §5.2).

A homotopy decodes greedily along the path z(t) = (1 − t) μ(x_0) + t μ(x_1) between the posterior
means of two sentences (Bowman et al., Table 8); every decoded sentence should be grammatical and
the topic should shift smoothly. With a collapsed posterior all lines read the same.
"""
from __future__ import annotations

import torch

from vaekit.data.text import Vocabulary
from vaekit.viz.interpolate import interpolate


def decode_rows(vocabulary: Vocabulary, tokens: torch.Tensor) -> list[str]:
    """The words of each row (..., L) up to its <eos>, flattened to a list."""
    return [vocabulary.text(row) for row in tokens.reshape(-1, tokens.shape[-1]).tolist()]


@torch.no_grad()
def prior_sentences(model, vocabulary: Vocabulary, num: int, seed: int = 0) -> list[tuple[str, str]]:
    """(greedy, sampled) decodings of p(x|z) for ``num`` codes z ~ p(z) (a language model: of p(x))."""
    model.eval()
    likelihood = model.sample(num, generator=torch.Generator().manual_seed(seed))
    greedy = decode_rows(vocabulary, likelihood.greedy())
    torch.manual_seed(seed)
    return list(zip(greedy, decode_rows(vocabulary, likelihood.sample())))


@torch.no_grad()
def reconstructed_sentences(model, vocabulary: Vocabulary, tokens: torch.Tensor) -> list[tuple[str, str]]:
    """(sentence, greedy decoding of p(x | μ(x))) for every row of ``tokens``."""
    model.eval()
    return list(zip(decode_rows(vocabulary, tokens), decode_rows(vocabulary, model.reconstruct(tokens).greedy())))


@torch.no_grad()
def homotopies(model, vocabulary: Vocabulary, first: torch.Tensor, second: torch.Tensor, steps: int = 5,
               method: str = "linear") -> list[list[str]]:
    """For each pair of rows (first[p], second[p]): the ``steps`` greedy decodings along the path
    between their posterior means, first sentence's end first."""
    model.eval()
    path = interpolate(model.code(first), model.code(second), steps, method)   # (S, P, D)
    decoded = model.decode(path.transpose(0, 1)).greedy()                      # (P, S, L)
    return [decode_rows(vocabulary, pair) for pair in decoded]
