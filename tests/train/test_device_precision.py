"""train.device, train.precision and train.compile: one-line refusals, autocast that keeps the ELBO,
fp16 loss scaling that resumes exactly, a compiled model that trains as the eager one."""
import os
import subprocess
import sys

import pytest
import torch

from vaekit import VAE, Trainer
from vaekit.cli import main
from vaekit.config import ConfigError, ObjectiveConfig, TrainConfig
from vaekit.objectives import OBJECTIVES
from vaekit.train import load_checkpoint
from vaekit.train.device import autocast, resolve_device

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")


def tiny_vae() -> VAE:
    torch.manual_seed(0)                                 # the same initial weights on every call
    return VAE(latent_dim=3, hidden=(32,), image_shape=(1, 6, 6))


def binary_data(n: int = 96) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, 1, 6, 6), 0.3), generator=torch.Generator().manual_seed(1))


def trainer(run_dir=None, **fields) -> Trainer:
    return Trainer(TrainConfig(**{"epochs": 2, "batch_size": 32, "progress": False, **fields}), run_dir=run_dir)


def test_auto_is_cuda_when_torch_sees_a_gpu_else_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("key, value, message", [
    ("device", "tpu", "train.device must be one of auto, cpu, cuda, got 'tpu'"),
    ("precision", "fp8", "train.precision must be one of fp32, bf16, fp16, got 'fp8'"),
])
def test_unknown_names_are_refused(key, value, message):
    with pytest.raises(ConfigError, match=message):
        trainer(**{key: value})


@no_gpu
def test_cuda_without_a_gpu_is_one_line_before_the_run_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["train", "digits_vae", "train.device=cuda", f"run_dir={run_dir}", "train.epochs=1"])
    error = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in error and "train.device=cuda needs a CUDA GPU" in error, error
    assert not run_dir.exists()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("objective", [ObjectiveConfig(), ObjectiveConfig(name="iwae", num_samples=8)],
                         ids=["elbo", "iwae-8"])
def test_autocast_keeps_the_bound_within_a_thousandth(precision, objective):
    """On the CPU, the ELBO and the IWAE bound (log-sum-exp over k) of a tiny model under bf16/fp16
    autocast are within 1e-3 (relative) of fp32 (observed: at most 3e-5), and the terms come out in fp32."""
    model, x = tiny_vae(), binary_data()
    torch.manual_seed(3)
    _, exact = OBJECTIVES[objective.name](model, x, objective, step=0, dataset_size=len(x))
    torch.manual_seed(3)
    with autocast(torch.device("cpu"), precision):
        _, mixed = OBJECTIVES[objective.name](model, x, objective, step=0, dataset_size=len(x))
    for key in exact:
        assert mixed[key].dtype == torch.float32, key
    bound = "elbo" if "elbo" in exact else next(iter(exact))
    assert abs(float(mixed[bound]) - float(exact[bound])) <= 1e-3 * abs(float(exact[bound])), (mixed, exact)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_resumes_exactly(tmp_path, precision):
    """Two epochs in one go = one epoch, then a resume (fp16: the loss scale is in the checkpoint);
    the weights stay fp32 and the ELBO rises."""
    data = binary_data()
    straight = tiny_vae()
    history = trainer(tmp_path / "straight", precision=precision, grad_clip=5.0).fit(straight, data)
    assert history.epochs[-1]["train_elbo"] > history.epochs[0]["train_elbo"]
    assert all(parameter.dtype == torch.float32 for parameter in straight.parameters())
    trainer(tmp_path / "split", precision=precision, grad_clip=5.0, epochs=1).fit(tiny_vae(), data)
    resumed = tiny_vae()
    trainer(tmp_path / "split", precision=precision, grad_clip=5.0).fit(resumed, data, resume=True)
    for (name, expected), got in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(expected, got), name
    _, state = load_checkpoint(tmp_path / "split")
    assert ("grad_scaler" in state) == (precision == "fp16")


def test_fp32_cpu_checkpoint_holds_what_it_held_before(tmp_path):
    trainer(tmp_path, epochs=1).fit(tiny_vae(), binary_data())
    _, state = load_checkpoint(tmp_path)
    assert set(state) == {"epoch", "step", "optimizer", "scheduler", "data_rng", "torch_rng", "weights_sha256"}


def test_compile_unavailable_is_one_line(tmp_path):
    """No C++ compiler (CXX points nowhere, empty kernel cache): Trainer(compile=True) refuses in one line."""
    script = ("from vaekit.config import TrainConfig; from vaekit.train import Trainer\n"
              "Trainer(TrainConfig(compile=True, device='cpu'))\n")
    env = {**os.environ, "CXX": str(tmp_path / "no-compiler"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache"),
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0 and "train.compile=true: torch.compile cannot build kernels for cpu" in last, \
        result.stderr[-2000:]


@pytest.mark.slow
def test_compiled_model_trains_like_the_eager_one(tmp_path):
    """One epoch of 3 full batches: same losses and weights as eager up to 1e-4, and checkpoint keys
    without ``_orig_mod.``."""
    data = binary_data()
    eager, compiled = tiny_vae(), tiny_vae()
    compiled.load_state_dict(eager.state_dict())
    expected = trainer(epochs=1).fit(eager, data).epochs[-1]
    got = trainer(tmp_path, epochs=1, compile=True).fit(compiled, data).epochs[-1]
    assert got["train_elbo"] == pytest.approx(expected["train_elbo"], rel=1e-4)
    for (name, want), have in zip(eager.state_dict().items(), compiled.state_dict().values()):
        torch.testing.assert_close(have, want, rtol=1e-4, atol=1e-5, msg=name)
    saved, _ = load_checkpoint(tmp_path)
    assert list(saved.state_dict()) == list(eager.state_dict())
