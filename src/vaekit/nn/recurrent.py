"""LSTM encoder and decoder for sentences (Bowman et al. 2016, §3; He et al. 2019, App. B).

Encoder: h_t = LSTM(E x_t, h_{t−1}); its state at the last token of the sentence (<eos>) is mapped
linearly to the posterior's parameters, W h_n + b (e.g. (μ, log σ²)).

Decoder, reading x_0 = <bos>, x_1, ..., x_{T−1} to predict x_1, ..., x_T:
    c_0 = W_z z + b_z,  h_0 = tanh(c_0)                          (z sets the initial state)
    h_t = LSTM([E' x_{t−1}; z], (h_{t−1}, c_{t−1}))                (z is read at every step)
    logits_t = W_o h_t + b_o,  with <pad> and <bos> at −∞ (never predicted).
With no latent (latent_dim = 0) it is an LSTM language model: h_0 = c_0 = 0.

Regularizers of the decoder input, in training mode only: word dropout (Bowman et al. 2016, §3.3)
replaces each input word (not <bos>) by <unk> with probability ``word_dropout``; embedding
dropout (He et al. 2019's ``dropout_in``) applies dropout to the input embeddings.
"""
from __future__ import annotations

import torch
from torch import nn

from vaekit.data.text import BOS, PAD, UNK


class RecurrentEncoder(nn.Module):
    """Token ids (B, T), <pad>ded at the end → (B, out_features) from the state at each row's last token."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int, out_features: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embedding_dim, hidden, batch_first=True)
        self.output = nn.Linear(hidden, out_features)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        lengths = (tokens != PAD).sum(1)                                    # (B,)
        states, _ = self.lstm(self.embedding(tokens[:, :int(lengths.max())]))  # (B, T', H)
        last = states[torch.arange(len(tokens), device=tokens.device), lengths - 1]  # (B, H)
        return self.output(last)


class RecurrentDecoder(nn.Module):
    """An LSTM language model conditioned on z; ``forward`` teacher-forces, ``step`` generates."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int, latent_dim: int,
                 word_dropout: float = 0.0, embedding_dropout: float = 0.0):
        super().__init__()
        for name, rate in (("word_dropout", word_dropout), ("embedding_dropout", embedding_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"model.{name} must lie in [0, 1), got {rate}")
        self.latent_dim, self.word_dropout = latent_dim, word_dropout
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.initial = nn.Linear(latent_dim, hidden) if latent_dim > 0 else None
        self.lstm = nn.LSTM(embedding_dim + latent_dim, hidden, batch_first=True)
        self.output = nn.Linear(hidden, vocab_size)
        never = torch.zeros(vocab_size, dtype=torch.bool)
        never[[PAD, BOS]] = True
        self.register_buffer("never_predicted", never, persistent=False)

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(h_0, c_0), each (1, N, H), from codes z (N, D); None (zeros) without a latent."""
        if self.initial is None:
            return None
        cell = self.initial(z).unsqueeze(0)
        return torch.tanh(cell), cell

    def _inputs(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """[E' x; z] for input ids (N, T) and codes (N, D): (N, T, E + D)."""
        embedded = self.embedding_dropout(self.embedding(tokens))
        return torch.cat([embedded, z.unsqueeze(1).expand(-1, tokens.shape[1], -1)], -1)

    def forward(self, z: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """States h_1..h_T (N, T, H) after reading input ids (N, T) (starting with <bos>) given z (N, D)."""
        if self.training and self.word_dropout > 0:
            dropped = torch.rand(inputs.shape, device=inputs.device) < self.word_dropout
            inputs = inputs.masked_fill(dropped & (inputs != BOS) & (inputs != PAD), UNK)
        states, _ = self.lstm(self._inputs(inputs, z), self.initial_state(z))
        return states

    def step(self, z: torch.Tensor, token: torch.Tensor, state) -> tuple[torch.Tensor, tuple]:
        """Read one token per row (N,) from ``state`` (None: the initial state of z); (logits (N, V), state)."""
        if state is None:
            state = self.initial_state(z)
        states, state = self.lstm(self._inputs(token.unsqueeze(1), z), state)
        return self.logits(states[:, 0]), state

    def logits(self, states: torch.Tensor) -> torch.Tensor:
        """Unnormalised log p(x_t = v | x_<t, z) from states (..., H): (..., V)."""
        return self.output(states).masked_fill(self.never_predicted, float("-inf"))
