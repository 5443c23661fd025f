"""Encoder and decoder networks. Nothing probabilistic lives here."""
from vaekit.nn.conv import ConvDecoder, ConvEncoder, default_channels
from vaekit.nn.mlp import ACTIVATIONS, MLP, activation
from vaekit.nn.pixelcnn import MaskedConv2d, PixelCNN
from vaekit.nn.recurrent import RecurrentDecoder, RecurrentEncoder

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "ACTIVATIONS", "activation", "default_channels",
           "MaskedConv2d", "PixelCNN", "RecurrentEncoder", "RecurrentDecoder"]
