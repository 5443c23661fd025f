"""Trainer behaviour: errors that name where, checkpoints that survive damage, logs, limits."""
import shutil

import pytest
import torch

from vaekit import VAE, Trainer, TrainingError
from vaekit.atomic import atomic_write
from vaekit.config import TrainConfig
from vaekit.train import CheckpointError, load_checkpoint
from vaekit.train.logging import read_metrics


def tiny_vae() -> VAE:
    return VAE(latent_dim=2, hidden=(16,), image_shape=(1, 4, 4))


def binary_data(n: int = 64) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, 1, 4, 4), 0.3))


def trainer(tmp_path=None, **fields) -> Trainer:
    return Trainer(TrainConfig(**{"epochs": 2, "batch_size": 16, "progress": False, **fields}), run_dir=tmp_path)


def test_nan_in_the_data_is_reported_with_its_example():
    data = binary_data()
    data[37, 0, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="training data: 1 NaN/Inf values, first in example 37"):
        trainer().fit(tiny_vae(), data)


def test_grey_data_with_dynamic_binarization_must_lie_in_unit_interval():
    with pytest.raises(ValueError, match=r"intensities in \[0, 1\], got range \[0, 255\]"):
        Trainer(TrainConfig(epochs=1, progress=False), binarize="dynamic").fit(tiny_vae(), binary_data() * 255)


def test_non_finite_loss_names_epoch_and_batch():
    run = trainer()
    calls = {"count": 0}
    objective = run.objective

    def poisoned(model, x, config, **context):
        calls["count"] += 1
        loss, terms = objective(model, x, config, **context)
        return (loss * float("nan"), terms) if calls["count"] == 7 else (loss, terms)

    run.objective = poisoned
    with pytest.raises(TrainingError, match="non-finite loss .* at epoch 2, batch 2"):
        run.fit(tiny_vae(), binary_data())


def test_run_folder_holds_checkpoint_csv_and_tensorboard_events(tmp_path):
    model = tiny_vae()
    trainer(tmp_path, epochs=3).fit(model, binary_data(), valid=binary_data(32))
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert {"train_elbo", "train_kl", "valid_elbo", "seconds", "valid_active_units", "valid_mutual_information",
            "valid_kl_d00", "valid_kl_d01"} <= rows[0].keys()
    assert rows[-1]["valid_kl_d00"] + rows[-1]["valid_kl_d01"] == pytest.approx(rows[-1]["valid_kl"], rel=1e-4)
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    restored, state = load_checkpoint(tmp_path)
    assert state["epoch"] == 3 and state["step"] == 12
    for key, value in model.state_dict().items():
        assert torch.equal(value, restored.state_dict()[key])


def test_damaged_checkpoint_is_detected_and_the_previous_one_used(tmp_path):
    trainer(tmp_path, epochs=1).fit(tiny_vae(), binary_data())
    shutil.copytree(tmp_path / "checkpoint", tmp_path / "checkpoint.old")    # as if killed mid-swap
    weights = tmp_path / "checkpoint" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)               # same size, damaged data
    with pytest.warns(UserWarning, match="resuming from the previous checkpoint .*checkpoint.old"):
        _, state = load_checkpoint(tmp_path)
    assert state["epoch"] == 1
    shutil.rmtree(tmp_path / "checkpoint.old")
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_checkpoint(tmp_path)


def test_resume_without_checkpoint_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint/ folder"):
        trainer(tmp_path).fit(tiny_vae(), binary_data(), resume=True)


def test_resume_continues_to_more_epochs(tmp_path):
    model = tiny_vae()
    trainer(tmp_path, epochs=2).fit(model, binary_data())
    history = trainer(tmp_path, epochs=4).fit(tiny_vae(), binary_data(), resume=True)
    assert [row["epoch"] for row in history.epochs] == [1, 2, 3, 4]
    assert load_checkpoint(tmp_path)[1]["step"] == 16


def test_time_limit_stops_after_the_epoch_that_passes_it(tmp_path):
    history = trainer(tmp_path, epochs=50, time_limit_minutes=1e-9).fit(tiny_vae(), binary_data())
    assert len(history.epochs) == 1 and load_checkpoint(tmp_path)[1]["epoch"] == 1


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")

    with pytest.raises(OSError, match="disk full"), atomic_write(target) as file:
        file.write(b"half")
        raise OSError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_same_seed_same_weights():
    first, second = tiny_vae(), tiny_vae()
    second.load_state_dict(first.state_dict())
    data = binary_data()
    trainer(seed=3).fit(first, data)
    trainer(seed=3).fit(second, data)
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key])


def test_epoch_size_draws_a_fresh_subset_each_epoch(monkeypatch):
    seen = []
    run = Trainer(TrainConfig(epochs=3, batch_size=8, epoch_size=16, progress=False))
    objective = run.objective

    def recording(model, x, config, **context):
        seen.append(x.clone())
        return objective(model, x, config, **context)

    run.objective = recording
    bits = 2 ** torch.arange(16)
    data = ((torch.arange(64).unsqueeze(1) & bits) > 0).float().view(64, 1, 4, 4)     # image n encodes n in binary
    history = run.fit(tiny_vae(), data)
    assert len(seen) == 3 * 2 and all(len(x) == 8 for x in seen)       # 16 examples per epoch, batches of 8
    assert [row["step"] for row in history.epochs] == [2, 4, 6]
    ids = [set((torch.cat(seen[2 * e:2 * e + 2]).view(16, 16).long() * bits).sum(1).tolist()) for e in range(3)]
    assert all(len(epoch) == 16 for epoch in ids) and ids[0] != ids[1] != ids[2]


def test_resuming_with_a_different_model_names_the_changed_fields(tmp_path):
    trainer(tmp_path, epochs=1).fit(tiny_vae(), binary_data())
    wider = VAE(latent_dim=2, hidden=(32,), image_shape=(1, 4, 4))
    with pytest.raises(CheckpointError, match="differs from the one given in: hidden"):
        trainer(tmp_path, epochs=2).fit(wider, binary_data(), resume=True)
