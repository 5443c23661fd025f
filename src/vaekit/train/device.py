"""Where and how a run computes: ``train.device``, ``train.precision`` and ``train.compile``.

- device: ``auto`` (CUDA when torch sees a GPU, else the CPU) | ``cpu`` | ``cuda``. The model and
  the training data live there for the whole run; checkpoints hold CPU tensors, so a run resumes on
  any device.
- precision: ``fp32`` | ``bf16`` | ``fp16``: the objective runs under ``torch.autocast`` with that
  dtype (matrix products and convolutions in 16 bits, parameters and optimizer in fp32). The
  probabilistic terms stay in fp32 by type promotion: log p(x|z) compares 16-bit logits with fp32
  data, KL(q‖p) pairs a 16-bit q with an fp32 prior, so the sums over pixels and latents, and the
  log-sum-exp of the IWAE bound, are fp32. fp16 has a narrow exponent, so its loss is scaled
  (``torch.amp.GradScaler``: ∇(s·L)/s, with s halved and the step skipped when a gradient overflows).
  Both run on the CPU too (fp16 there is slow: for checking the GPU path, not for speed).
- compile: every child module of the model that holds parameters (the encoder and decoder
  networks) is compiled in place with ``nn.Module.compile``, so ``state_dict`` keys keep their
  names (no ``_orig_mod.`` prefix) and checkpoints match eager runs.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from vaekit.config import ConfigError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """``train.device`` as a torch device; a ConfigError for an unknown name or a missing GPU."""
    if name not in DEVICES:
        raise ConfigError(f"train.device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda needs a CUDA GPU and torch sees none on this machine "
                          "(torch.cuda.is_available() is False): use train.device=cpu (or auto)")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_precision(name: str) -> None:
    if name not in PRECISIONS:
        raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {name!r}")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context the objective runs in: nothing for fp32, ``torch.autocast`` otherwise."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 (None otherwise: fp32 and bf16 have fp32's exponent range)."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def check_compile(device: torch.device) -> None:
    """Compile and run a two-op function on ``device``, so that a machine where torch.compile cannot
    build kernels (no C++ compiler for the CPU, no Triton for a GPU) stops in one line before training."""
    import torch._dynamo                             # its exceptions; imported by torch.compile anyway
    try:
        torch.compile(_probe)(torch.ones(4, device=device))
    except (torch._dynamo.exc.BackendCompilerFailed, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"train.compile=true: torch.compile cannot build kernels for {device.type} on this "
                          f"machine ({reason[:200]}): install a C++ compiler (CPU) or Triton (GPU), "
                          "or set train.compile=false") from None


def _probe(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.sin() + 1


def compile_networks(model: nn.Module) -> None:
    """Compile, in place, each child module of ``model`` that holds parameters."""
    for child in model.children():
        if next(child.parameters(), None) is not None:
            child.compile()
