import itertools
import math

import pytest
import torch

from vaekit.data.text import BOS, EOS, PAD, UNK
from vaekit.distributions.autoregressive_text import AutoregressiveText
from vaekit.nn.recurrent import RecurrentDecoder

WORDS = (4, 5, 6)                  # a vocabulary of 3 words after the 4 specials
EMITTED = (UNK,) + WORDS           # what the decoder can emit besides <eos>


def decoder(latent_dim=2, vocab_size=7, seed=0):
    torch.manual_seed(seed)
    return RecurrentDecoder(vocab_size, embedding_dim=3, hidden=4, latent_dim=latent_dim).double().eval()


@torch.no_grad()
def by_hand(dec, z, row):
    """Σ_t log softmax(logits_t)[x_t] with the LSTM equations written out (gates i, f, g, o)."""
    lstm = dec.lstm
    if dec.initial is not None:
        c = dec.initial.weight @ z + dec.initial.bias
        h = torch.tanh(c)
    else:
        h = c = torch.zeros(lstm.hidden_size, dtype=torch.float64)
    total, previous = 0.0, BOS
    for token in row:
        if token == PAD:
            break
        x = torch.cat([dec.embedding.weight[previous], z])
        i, f, g, o = (lstm.weight_ih_l0 @ x + lstm.bias_ih_l0 + lstm.weight_hh_l0 @ h + lstm.bias_hh_l0).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        logits = dec.output.weight @ h + dec.output.bias
        allowed = [v for v in range(len(logits)) if v not in (PAD, BOS)]
        total += float(logits[token] - torch.logsumexp(logits[allowed], 0))
        previous = token
    return total


@pytest.mark.parametrize("latent_dim", [0, 2])
def test_log_prob_equals_the_chain_rule_by_hand(latent_dim):
    dec = decoder(latent_dim)
    z = torch.randn(3, latent_dim, dtype=torch.float64)
    x = torch.tensor([[4, 5, 6, 3, EOS], [6, EOS, PAD, PAD, PAD], [5, 5, EOS, PAD, PAD]])
    log_prob = AutoregressiveText(dec, z).log_prob(x)
    assert log_prob.shape == (3,)
    for b in range(3):
        assert log_prob[b].item() == pytest.approx(by_hand(dec, z[b], x[b].tolist()), abs=1e-10)


@pytest.mark.parametrize("latent_dim", [0, 2])
def test_probabilities_of_all_sentences_up_to_length_L_and_of_not_having_ended_sum_to_one(latent_dim):
    """Σ_{n<L} Σ_{w ∈ E^n} p(w, <eos>) + Σ_{w ∈ E^L} P(prefix w) = 1, E = the 4 emittable non-<eos> tokens."""
    width = 4
    rows = [list(words) + [EOS] + [PAD] * (width - n - 1)
            for n in range(width) for words in itertools.product(EMITTED, repeat=n)]
    rows += [list(words) for words in itertools.product(EMITTED, repeat=width)]   # prefixes without <eos>
    assert len(rows) == sum(4 ** n for n in range(width + 1)) == 341
    z = torch.randn(latent_dim, dtype=torch.float64)
    log_prob = AutoregressiveText(decoder(latent_dim), z).log_prob(torch.tensor(rows))
    assert log_prob.exp().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_padding_does_not_change_log_prob():
    dec = decoder()
    z = torch.randn(2, 2, dtype=torch.float64)
    x = torch.tensor([[4, EOS], [5, EOS]])
    alone = AutoregressiveText(dec, z).log_prob(x)
    padded = AutoregressiveText(dec, z).log_prob(torch.cat([x, torch.zeros(2, 5, dtype=torch.int64)], 1))
    beside_longer = AutoregressiveText(dec, torch.cat([z, z[:1]])).log_prob(
        torch.tensor([[4, EOS, PAD, PAD], [5, EOS, PAD, PAD], [4, 4, 4, EOS]]))[:2]
    torch.testing.assert_close(padded, alone, rtol=0, atol=1e-12)
    torch.testing.assert_close(beside_longer, alone, rtol=0, atol=1e-12)


def test_codes_of_shape_K_B_D_broadcast_against_sentences_B_T():
    dec = decoder()
    z = torch.randn(3, 2, 2, dtype=torch.float64)               # K = 3 samples for B = 2 sentences
    x = torch.tensor([[4, 5, EOS], [6, EOS, PAD]])
    log_prob = AutoregressiveText(dec, z).log_prob(x)
    assert log_prob.shape == (3, 2)
    for k, b in itertools.product(range(3), range(2)):
        assert log_prob[k, b].item() == pytest.approx(by_hand(dec, z[k, b], x[b].tolist()), abs=1e-10)


def test_sampling_frequencies_match_the_probabilities():
    dec = decoder(seed=3)
    z = torch.randn(2, dtype=torch.float64)
    distribution = AutoregressiveText(dec, z.expand(20000, 2), max_length=2)
    torch.manual_seed(0)
    samples = distribution.sample()
    assert samples.shape[0] == 20000 and samples.shape[1] <= 2
    assert not (samples == BOS).any()
    outcomes = [[EOS, PAD]] + [[w, EOS] for w in EMITTED] + [list(p) for p in itertools.product(EMITTED, repeat=2)]
    probabilities = AutoregressiveText(dec, z).log_prob(torch.tensor(outcomes)).exp()
    assert probabilities.sum().item() == pytest.approx(1.0, abs=1e-12)
    padded = torch.nn.functional.pad(samples, (0, 2 - samples.shape[1]), value=PAD)
    for outcome, p in zip(outcomes, probabilities.tolist()):
        frequency = (padded == torch.tensor(outcome)).all(1).double().mean().item()
        assert abs(frequency - p) < 5 * math.sqrt(p * (1 - p) / 20000), (outcome, frequency, p)


def test_sample_shape_comes_first_and_rows_stop_at_eos():
    distribution = AutoregressiveText(decoder(), torch.randn(5, 2, dtype=torch.float64), max_length=6)
    samples = distribution.sample((3,))
    assert samples.shape[:2] == (3, 5) and samples.shape[2] <= 6
    rows = samples.reshape(-1, samples.shape[2])
    for row in rows.tolist():
        if EOS in row:
            assert all(token == PAD for token in row[row.index(EOS) + 1:])
        else:
            assert len(row) == 6 and PAD not in row       # cut at max_length


def test_greedy_takes_the_most_probable_token_at_each_step():
    dec = decoder(seed=1)
    z = torch.randn(2, dtype=torch.float64)
    distribution = AutoregressiveText(dec, z, max_length=5)
    greedy = distribution.greedy().tolist()
    for t, chosen in enumerate(greedy):
        prefix = greedy[:t]
        candidates = torch.tensor([prefix + [v] for v in (EOS,) + EMITTED])
        scores = distribution.log_prob(candidates)
        assert scores.argmax().item() == ((EOS,) + EMITTED).index(chosen)
        if chosen == EOS:
            break


def test_gradients_stay_finite_with_never_predicted_tokens_masked():
    dec = RecurrentDecoder(9, 4, 5, 2).train()
    z = torch.randn(3, 2, requires_grad=True)
    x = torch.tensor([[4, 8, EOS], [5, EOS, PAD], [7, 7, EOS]])
    AutoregressiveText(dec, z).log_prob(x).sum().backward()
    assert torch.isfinite(z.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in dec.parameters() if p.grad is not None)
