"""Data-parallel training over the processes ``torchrun`` starts (DistributedDataParallel).

    torchrun --nproc_per_node N -m vaekit train CONFIG.yaml [key=value ...]

A process is rank r of W when torchrun's variables are set (RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). The global batch is ``train.batch_size``: each global
batch of the one-process run (same permutation, same generator) is cut into W consecutive shards
and rank r trains on shard r. With W·B_r/B weights on the local losses (1 but in an epoch's last,
shorter batch) the averaged gradient is the one process's:

    ∇ (1/B) Σ_{i<B} ℓ_i = (1/W) Σ_r (W·B_r/B) · ∇ (1/B_r) Σ_{i ∈ shard r} ℓ_i

Random numbers drawn for examples are each rank's rows of the global batch's draws
(``GlobalBatchNoise``), so W ranks reproduce the one-process run up to the order of floating-point
sums, and a run resumes on any number of processes. What needs more than one example (β-TCVAE's
estimates of q(z), MMD, free bits, FactorVAE's and a GAN's discriminators, BatchNorm) is computed
per rank on its local batch. Gloo on CPUs, NCCL on GPUs; rank 0 alone prints and writes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import re
import sys
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from vaekit.config import RunConfig, TrainConfig, to_dict

BACKENDS = ("auto", "gloo", "nccl")
_training_started = False     # set on a rank when its training loop begins: its errors may be its own from then on


class DistributedError(RuntimeError):
    """The processes of a distributed run cannot train together (launch, agreement, lost contact)."""


def launched() -> bool:
    """Whether this process is a rank started by torchrun (or another launcher setting its variables)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


@dataclasses.dataclass(frozen=True)
class Distributed:
    """This process's place in a distributed run, with the collectives the trainer needs."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, num_rows: int, batch_size: int) -> tuple[slice, int]:
        """This rank's rows of a global batch of ``num_rows`` ≤ ``batch_size`` examples, and how many:
        rows [r·b, (r+1)·b) with b = batch_size / W, so a full batch splits evenly and an epoch's last,
        shorter batch fills the ranks in order. A rank left without rows runs the step on the first
        min(b, num_rows) rows with count 0 (weight 0), so that it draws and all-reduces as the others."""
        local = batch_size // self.world_size
        start, stop = min(self.rank * local, num_rows), min((self.rank + 1) * local, num_rows)
        return (slice(start, stop), stop - start) if stop > start else (slice(0, min(local, num_rows)), 0)

    def gradient_averager(self, parameters: list[nn.Parameter]) -> DistributedDataParallel:
        """DDP over the parameters of one optimizer: ``averager(loss).backward()`` averages their
        gradients over the ranks (bucketed all-reduce during the backward pass). One per optimizer,
        because FactorVAE and a GAN step two optimizers on two losses of one forward pass. Every
        parameter must get a gradient in every step (DDP's default; true of every vaekit model)."""
        return DistributedDataParallel(_LossPassthrough(parameters),
                                       device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def sum_tensor_over_ranks(self, tensor: torch.Tensor) -> torch.Tensor:
        """Σ_r tensor_r (same shape on every rank), on the CPU."""
        summed = tensor.to(self.device)
        dist.all_reduce(summed)
        return summed.cpu()

    def sum_over_ranks(self, totals: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Σ_r totals_r for every key (all ranks hold the same keys, in the same order)."""
        stacked = torch.stack([torch.as_tensor(value) for value in totals.values()])
        return dict(zip(totals, self.sum_tensor_over_ranks(stacked)))

    def decide(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank: a decision taken on one clock (the time limit)."""
        tensor = torch.tensor([int(flag)], device=self.device)
        dist.broadcast(tensor, src=0)
        return bool(tensor.item())

    def agree(self, what: str, value: Any, advice: str) -> None:
        """Stop on every rank, in one line, unless ``value`` (JSON-able) is the same on all of them."""
        digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).digest()
        mine = torch.tensor(list(digest[:8]), dtype=torch.int64, device=self.device)
        gathered = [torch.empty_like(mine) for _ in range(self.world_size)]
        dist.all_gather(gathered, mine)
        differ = [rank for rank, other in enumerate(gathered) if not torch.equal(other, gathered[0])]
        if differ:
            short = [bytes(tensor.tolist()[:4]).hex() for tensor in (gathered[0], gathered[differ[0]])]
            raise DistributedError(f"{what} differs between ranks: rank {', '.join(map(str, differ))} "
                                   f"{'has' if len(differ) == 1 else 'have'} another than rank 0 "
                                   f"(SHA-256 {short[1]}… vs {short[0]}…); {advice}")

    def begin_training(self) -> None:
        """From here on an error may be this rank's own, so it is printed with the rank (``error_prefix``)."""
        global _training_started
        _training_started = True


class _LossPassthrough(nn.Module):
    """One optimizer's parameters as a module whose forward returns the loss it is given: the call
    lets DDP see which parameters the loss's graph reaches before the backward pass."""

    def __init__(self, parameters: list[nn.Parameter]):
        super().__init__()
        self.shared = nn.ParameterList(parameters)         # the model's own tensors, not copies

    def forward(self, loss: torch.Tensor) -> torch.Tensor:
        return loss


def distributed_session(config: RunConfig) -> contextlib.AbstractContextManager[Distributed | None]:
    """None in a plain process. Under torchrun: check the launch, set this rank's threads, join the
    process group (timeout ``train.distributed_timeout_minutes``), agree on the config, yield this
    rank's ``Distributed``; leave the group at the end. Launch problems raise ``DistributedError``
    before any file is written."""
    return _session(config.train, True, "the config", to_dict(config),
                    "start every rank with the same CONFIG.yaml and key=value overrides")


def evaluation_session(train: TrainConfig, settings: Any) -> contextlib.AbstractContextManager[Distributed | None]:
    """As ``distributed_session``, for ``torchrun --nproc_per_node N -m vaekit evaluate RUN_DIR``: the
    ranks agree on ``settings`` (the run's config and the evaluation's, JSON-able), and the batch
    size need not divide (each rank estimates whole batches of test examples)."""
    return _session(train, False, "the run's config and evaluation settings", settings,
                    "start every rank with the same RUN_DIR, options and key=value overrides")


@contextlib.contextmanager
def _session(train: TrainConfig, check_batch: bool, what: str, settings: Any, advice: str
             ) -> Iterator[Distributed | None]:
    if not launched():
        yield None
        return
    distributed, backend = _from_environment(train, check_batch)
    torch.set_num_threads(train.threads or max(1, _cores() // distributed.local_world_size))
    address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    try:
        dist.init_process_group(backend, rank=distributed.rank, world_size=distributed.world_size,
                                timeout=timedelta(minutes=train.distributed_timeout_minutes))
        distributed.agree(what, settings, advice)
        yield distributed
        _leave_together()
    except RuntimeError as error:
        if not _failed_collective(error):
            raise
        raise DistributedError(_explained(error, address)) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _leave_together() -> None:
    """Free this rank's DDP reducers (they hold the process group, and gloo's threads abort the
    process with "terminate called without an active exception" when the interpreter destroys them
    at exit), then wait for every rank, so that no rank tears its connections down while rank 0 is
    still writing the last checkpoint."""
    gc.collect()
    dist.barrier()


def _from_environment(train: TrainConfig, check_batch: bool = True) -> tuple[Distributed, str]:
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise DistributedError(f"RANK and WORLD_SIZE are set but {' and '.join(missing)} not: start the ranks "
                               "with torchrun, or set MASTER_ADDR and MASTER_PORT too")
    try:
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    except ValueError as error:
        raise DistributedError(f"torchrun's variables must be integers: {error}") from None
    if check_batch and train.batch_size % world_size:
        lower = train.batch_size - train.batch_size % world_size
        hint = " or ".join(str(size) for size in (lower, lower + world_size) if size > 0)
        raise DistributedError(f"train.batch_size={train.batch_size} is the global batch, split evenly over the "
                               f"{world_size} processes: it must be a multiple of {world_size} (e.g. {hint})")
    if train.backend not in BACKENDS:
        raise DistributedError(f"train.backend must be one of {', '.join(BACKENDS)}, got {train.backend!r}")
    cuda = torch.cuda.is_available()
    backend = ("nccl" if cuda else "gloo") if train.backend == "auto" else train.backend
    if backend == "nccl" and not cuda:
        raise DistributedError("train.backend=nccl needs CUDA GPUs and torch sees none on this machine "
                               "(torch.cuda.is_available() is False): use train.backend=gloo (or auto) on CPUs")
    if not dist.is_backend_available(backend):
        raise DistributedError(f"train.backend={backend}: this torch build has no {backend} backend")
    device = torch.device("cpu")
    if backend == "nccl":
        if local_rank >= torch.cuda.device_count():
            raise DistributedError(f"LOCAL_RANK {local_rank} has no GPU: this machine has "
                                   f"{torch.cuda.device_count()} CUDA device(s); start at most that many "
                                   "processes per machine (--nproc_per_node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return Distributed(rank, world_size, local_rank, local_world_size, device), backend


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _failed_collective(error: RuntimeError) -> bool:
    """torch's DistError, or the RuntimeError gloo or NCCL raise inside a backward pass (a peer died)."""
    return isinstance(error, dist.DistError) or any(word in str(error) for word in ("gloo", "NCCL", "ProcessGroup"))


def _explained(error: RuntimeError, address: str) -> str:
    """One line for a failed rendezvous or collective."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    detail = re.sub(r"^\[[^\]]*\.(cc|cpp):\d+\]\s*", "", first_line).split(". ")[0]     # gloo's "[file.cc:537] "
    if "EADDRINUSE" in first_line or "address already in use" in first_line.lower():
        return (f"the rendezvous port {address} (MASTER_ADDR:MASTER_PORT) is in use by another program: "
                "start torchrun with another --master-port (or --rdzv-endpoint HOST:PORT)")
    if not _training_started:
        return (f"the ranks could not meet at {address} ({detail}): check MASTER_ADDR/MASTER_PORT, that every "
                "rank was started, and train.distributed_timeout_minutes")
    return (f"lost contact with another rank during training ({detail}): it stopped (see its error or "
            "torchrun's summary); the run folder keeps its last complete checkpoint: continue with --resume")


def quiet_other_ranks() -> None:
    """On a rank other than 0: no output but errors (stdout to /dev/null, warnings off)."""
    if launched() and os.environ["RANK"] != "0":
        sys.stdout = open(os.devnull, "w")
        warnings.simplefilter("ignore")


def error_prefix() -> str | None:
    """How this process starts an error line: '' alone or on rank 0 before training; 'rank N: ' on
    every rank once training runs (an error may then be one rank's own); None on other ranks before
    that, when every rank meets the same problem and rank 0 reports it."""
    if not launched():
        return ""
    rank = os.environ["RANK"]
    if _training_started:
        return f"rank {rank}: "
    return "" if rank == "0" else None
