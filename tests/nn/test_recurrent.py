import math

import pytest
import torch

from vaekit.data.text import BOS, EOS, PAD, UNK
from vaekit.nn.recurrent import RecurrentDecoder, RecurrentEncoder


def decoder_inputs(rows=2000, width=10, vocab_size=20):
    """<bos>, then words 4..vocab_size-1, with the last 3 positions of every other row <pad>."""
    words = torch.randint(4, vocab_size, (rows, width))
    words[:, 0] = BOS
    words[::2, -3:] = PAD
    return words


def embedding_inputs(decoder, z, inputs):
    seen = []
    handle = decoder.embedding.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    decoder(z, inputs)
    handle.remove()
    return seen[0]


def test_word_dropout_replaces_words_by_unk_at_its_rate_and_only_in_training():
    decoder = RecurrentDecoder(20, 4, 4, latent_dim=2, word_dropout=0.3)
    inputs = decoder_inputs()
    z = torch.zeros(len(inputs), 2)
    read = embedding_inputs(decoder.train(), z, inputs)
    words = (inputs != BOS) & (inputs != PAD)
    assert torch.equal(read[~words], inputs[~words])                 # <bos> and <pad> are never dropped
    replaced = read[words] != inputs[words]
    assert (read[words][replaced] == UNK).all()
    rate, count = replaced.double().mean().item(), int(words.sum())
    assert abs(rate - 0.3) < 5 * math.sqrt(0.3 * 0.7 / count)
    assert torch.equal(embedding_inputs(decoder.eval(), z, inputs), inputs)


def test_embedding_dropout_zeroes_and_rescales_only_in_training():
    decoder = RecurrentDecoder(20, 64, 4, latent_dim=0, embedding_dropout=0.5)
    inputs = decoder_inputs(rows=200)
    z = torch.zeros(len(inputs), 0)
    seen = []
    decoder.embedding_dropout.register_forward_hook(lambda module, args, output: seen.append((args[0], output)))
    decoder.train()(z, inputs)
    before, after = seen[-1]
    kept = after != 0
    torch.testing.assert_close(after[kept], 2 * before[kept])
    real = (inputs != PAD).unsqueeze(-1).expand_as(before)           # <pad> embeds to 0 (padding_idx)
    assert abs((~kept[real]).double().mean().item() - 0.5) < 0.01
    decoder.eval()(z, inputs)
    assert torch.equal(seen[-1][0], seen[-1][1])


def test_rates_outside_zero_one_are_rejected():
    with pytest.raises(ValueError, match=r"model.word_dropout must lie in \[0, 1\), got 1.0"):
        RecurrentDecoder(20, 4, 4, 2, word_dropout=1.0)
    with pytest.raises(ValueError, match="model.embedding_dropout"):
        RecurrentDecoder(20, 4, 4, 2, embedding_dropout=-0.1)


def test_generation_step_by_step_reproduces_teacher_forcing():
    decoder = RecurrentDecoder(12, 5, 6, latent_dim=3).eval()
    z = torch.randn(4, 3)
    inputs = torch.cat([torch.full((4, 1), BOS), torch.randint(4, 12, (4, 5))], 1)
    states = decoder(z, inputs)                                      # (4, 6, 6)
    state = None
    for t in range(inputs.shape[1]):
        logits, state = decoder.step(z, inputs[:, t], state)
        torch.testing.assert_close(logits, decoder.logits(states[:, t]))
    assert torch.isinf(logits[:, [PAD, BOS]]).all() and torch.isfinite(logits[:, 2:]).all()


def test_encoder_reads_the_state_at_each_rows_last_token():
    torch.manual_seed(0)
    encoder = RecurrentEncoder(10, 4, 5, out_features=6)
    short, long = [4, 5, EOS], [6, 7, 8, 9, EOS]
    batch = torch.tensor([short + [PAD, PAD], long])
    with torch.no_grad():
        out = encoder(batch)
        for row, tokens in zip(out, (short, long)):
            states, _ = encoder.lstm(encoder.embedding(torch.tensor([tokens])))
            torch.testing.assert_close(row, encoder.output(states[0, -1]))
        torch.testing.assert_close(encoder(torch.tensor([short])), out[:1])    # padding changes nothing
