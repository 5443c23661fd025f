"""Data-parallel training under torchrun (2 gloo ranks on 127.0.0.1): the one-process run's weights,
resume on another number of processes, a killed rank, bad launches in one line."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.train import load_checkpoint
from vaekit.train.distributed import Distributed
from vaekit.train.global_noise import GlobalBatchNoise
from vaekit.train.logging import read_metrics

PRESET = str(Path(__file__).resolve().parents[2] / "configs" / "digits_vae.yaml")
# 1025 examples per epoch in batches of 64: 16 full batches, then 1 example, which rank 1 does not get
# (it steps with weight 0 on that example, and draws as rank 0 does)
SMALL = ["model.hidden=[32]", "train.epoch_size=1025", "train.threads=1", "train.progress=false",
         "train.checkpoint_every=1", "evaluate.importance_samples=10"]
TIMEOUT = 120
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
                      "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE")


@pytest.fixture(scope="module", autouse=True)
def grey_digits(tmp_path_factory):
    """SMALL trains the digits preset on 1,200 grey 8×8 images written here (no scikit-learn import)."""
    rng = np.random.default_rng(0)
    prototypes = rng.random((10, 64)) ** 2
    images = np.clip(prototypes[rng.integers(0, 10, 1200)] + 0.1 * rng.standard_normal((1200, 64)), 0, 1)
    path = tmp_path_factory.mktemp("data") / "grey_digits.npy"
    np.save(path, (images.reshape(-1, 8, 8) * 255).astype(np.uint8))
    SMALL.append(f"data.name={path}")
    yield
    SMALL.remove(f"data.name={path}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def plain(*args: str, command: str = "train") -> list[str]:
    return [sys.executable, "-m", "vaekit", command, *args]


def torchrun(*args: str, processes: int = 2, port: int | None = None, nodes: tuple[str, ...] = (),
             command: str = "train") -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}", *nodes,
            "--master_addr=127.0.0.1", f"--master_port={port or free_port()}", "-m", "vaekit", command, *args]


def launch(command: list[str], **variables: str) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if key not in LAUNCHER_VARIABLES}
    environment.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **variables)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                            start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Wait for ``process``; past ``timeout`` kill its whole session (torchrun and its ranks) and fail."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{process.args} hung for {timeout} s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_one_error_line(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "vaekit train: error:" in line]
    assert len(lines) == 1, result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def assert_same_run(first: Path, second: Path) -> None:
    """Same weights and per-epoch terms up to the order of floating-point sums."""
    expected, got = (load_file(str(run / "checkpoint" / "model.safetensors")) for run in (first, second))
    assert expected.keys() == got.keys()
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-5, msg=key)
    rows = [read_metrics(run / "metrics.csv") for run in (first, second)]
    assert [row["epoch"] for row in rows[0]] == [row["epoch"] for row in rows[1]]
    for expected_row, row in zip(*rows):
        for key in ("train_elbo", "train_kl", "valid_elbo"):
            assert row[key] == pytest.approx(expected_row[key], rel=1e-4), key


def test_shards_of_a_global_batch_are_consecutive_and_cover_it():
    for num_rows, counts in ((64, [32, 32]), (40, [32, 8]), (5, [5, 0]), (1, [1, 0])):
        shards = [Distributed(rank, 2, rank, 2, torch.device("cpu")).shard(num_rows, 64) for rank in range(2)]
        assert [count for _, count in shards] == counts
        assert [list(range(num_rows))[rows][:count] for rows, count in shards] == \
            [list(range(sum(counts[:rank]), sum(counts[:rank + 1]))) for rank in range(2)]
        if counts[1] == 0:                       # no rows: the step runs on row 0.. with weight 0, and draws
            assert shards[1][0] == slice(0, num_rows)


def test_a_ranks_draws_are_its_rows_of_the_global_batchs_draws():
    torch.manual_seed(3)
    posterior = torch.distributions.Normal(torch.zeros(10, 3), torch.ones(10, 3))
    expected = [posterior.rsample((2,)), torch.rand(10, 4), torch.randn_like(torch.ones(10, 3)), torch.rand(7)]
    state_after = torch.get_rng_state()
    for start, stop in ((0, 6), (6, 10)):                                     # uneven shards of 10 rows
        torch.manual_seed(3)
        with GlobalBatchNoise(slice(start, stop), 10):
            local = torch.distributions.Normal(torch.zeros(stop - start, 3), torch.ones(stop - start, 3))
            got = [local.rsample((2,)), torch.rand((stop - start, 4)),
                   torch.randn_like(torch.ones(stop - start, 3)), torch.rand(7)]
        assert torch.equal(got[0], expected[0][:, start:stop])                # z = μ + σ ε, (K, B, D)
        assert torch.equal(got[1], expected[1][start:stop]) and torch.equal(got[2], expected[2][start:stop])
        assert torch.equal(got[3], expected[3])                                # no batch dimension: as drawn
        assert torch.equal(torch.get_rng_state(), state_after)                # the generator advanced as one process's


def test_two_ranks_train_the_one_process_run_and_resume_on_either(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    runs = [launch(plain(PRESET, *SMALL, "train.epochs=2", f"run_dir={one}")),
            launch(torchrun(PRESET, *SMALL, "train.epochs=2", f"run_dir={two}"))]
    single, ranks = (finish(run) for run in runs)
    assert single.returncode == 0 and ranks.returncode == 0, single.stderr + ranks.stderr
    assert_same_run(one, two)
    assert ranks.stdout.count("run folder:") == 1 and ranks.stdout.count("epoch 2/2") == 1   # rank 0 only
    assert "error" not in ranks.stderr and "warning" not in ranks.stderr, ranks.stderr
    model = vaekit.load(two)                                    # rank 0's checkpoint in one process
    for key, value in load_file(str(two / "checkpoint" / "model.safetensors")).items():
        assert torch.equal(model.state_dict()[key], value)

    resumed = [launch(torchrun("--resume", str(one), "train.epochs=3")),       # 1 process → 2
               launch(plain("--resume", str(two), "train.epochs=3"))]          # 2 processes → 1
    for result in (finish(run) for run in resumed):
        assert result.returncode == 0, result.stderr
    assert_same_run(one, two)
    assert load_checkpoint(two)[1]["epoch"] == 3


def test_an_evaluation_shared_by_two_ranks_gives_the_one_process_numbers(tmp_path):
    """torchrun -m vaekit evaluate: each rank estimates every other batch of test images (7 batches of
    50 and one of 10 here); rank 0 alone prints and writes metrics.json, equal to one process's."""
    run = tmp_path / "run"
    trained = finish(launch(plain(PRESET, *SMALL, "train.epochs=1", f"run_dir={run}")))
    assert trained.returncode == 0, trained.stderr
    options = ("-k", "20", "evaluate.batch_size=50")
    single = finish(launch(plain(str(run), *options, command="evaluate")))
    assert single.returncode == 0, single.stderr
    alone = json.loads((run / "report" / "metrics.json").read_text())
    (run / "report" / "metrics.json").unlink()
    shared = finish(launch(torchrun(str(run), *options, command="evaluate")))
    assert shared.returncode == 0, shared.stderr
    assert shared.stdout.count("written:") == 1 and "error" not in shared.stderr, shared.stderr
    together = json.loads((run / "report" / "metrics.json").read_text())
    assert alone["num_examples"] > 50 * 2
    for key in ("nll", "nll_standard_error", "elbo", "decoder_evaluations"):
        assert together.get(key, together.get(f"estimator_{key}")) == pytest.approx(
            alone.get(key, alone.get(f"estimator_{key}")), rel=1e-6), key


def worker_pids(launcher: int) -> dict[int, int]:
    """Rank → pid of the processes torchrun started."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == launcher:
                variables = dict(item.split("=", 1) for item in (entry / "environ").read_text().split("\0")
                                 if "=" in item)
                found[int(variables["RANK"])] = int(entry.name)
        except (OSError, KeyError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_rank_leaves_a_resumable_run_folder(tmp_path):
    run = tmp_path / "run"
    launcher = launch(torchrun(PRESET, *SMALL, "train.epochs=500", f"run_dir={run}"))
    deadline = time.time() + TIMEOUT
    while not (run / "metrics.csv").exists() or len((run / "metrics.csv").read_text().splitlines()) < 3:
        assert launcher.poll() is None, finish(launcher).stderr
        assert time.time() < deadline, "the run never finished 2 epochs"
        time.sleep(0.05)
    ranks = worker_pids(launcher.pid)
    assert sorted(ranks) == [0, 1]
    os.kill(ranks[1], signal.SIGKILL)
    result = finish(launcher, timeout=60)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "vaekit train: error:" in line]
    assert all("rank 0: lost contact with another rank during training" in line for line in errors), errors
    assert len(errors) <= 1                     # rank 0 says so, unless torchrun stopped it first
    assert not any(alive(pid) for pid in ranks.values())
    _, state = load_checkpoint(run)
    assert 2 <= state["epoch"] < 500
    assert vaekit.load(run) is not None
    resumed = finish(launch(plain("--resume", str(run), f"train.epochs={state['epoch'] + 1}")))
    assert resumed.returncode == 0, resumed.stderr
    assert [row["epoch"] for row in read_metrics(run / "metrics.csv")] == list(range(1, state["epoch"] + 2))


@pytest.mark.parametrize("setting, message", [
    ("train.batch_size=63", r"train.batch_size=63 is the global batch.* multiple of 2 \(e.g. 62 or 64\)"),
    pytest.param("train.backend=nccl", r"train.backend=nccl needs CUDA GPUs",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_a_bad_launch_stops_in_one_line_before_the_run_folder(tmp_path, setting, message):
    result = finish(launch(torchrun(PRESET, *SMALL, setting, f"run_dir={tmp_path / 'run'}")))
    assert_one_error_line(result, message)
    assert not (tmp_path / "run").exists()


def test_ranks_started_with_different_configs_stop_in_one_line(tmp_path):
    port = free_port()
    nodes = [launch(torchrun(PRESET, *SMALL, f"model.latent_dim={latent_dim}", f"run_dir={tmp_path / 'run'}",
                             processes=1, port=port, nodes=("--nnodes=2", f"--node_rank={node}")))
             for node, latent_dim in enumerate((8, 4))]
    first, second = (finish(node) for node in nodes)
    assert_one_error_line(first, r"the config differs between ranks: rank 1 has another than rank 0 "
                                 r"\(SHA-256 [0-9a-f]{8}… vs [0-9a-f]{8}…\); start every rank with the same")
    assert second.returncode != 0 and "vaekit train: error:" not in second.stderr
    assert not (tmp_path / "run").exists()


def test_a_rendezvous_port_in_use_stops_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rank = finish(launch(plain(PRESET, *SMALL, f"run_dir={tmp_path / 'run'}"), RANK="0", WORLD_SIZE="2",
                             LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)))
        launcher = finish(launch(torchrun(PRESET, *SMALL, f"run_dir={tmp_path / 'run'}", port=port)))
    assert_one_error_line(rank, rf"the rendezvous port 127.0.0.1:{port} .* is in use by another program")
    assert launcher.returncode != 0 and "address already in use" in launcher.stderr   # torchrun's own report
    assert not (tmp_path / "run").exists()
