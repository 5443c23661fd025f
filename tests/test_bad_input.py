"""Bad input of every kind the README promises to handle, given to the CLI as a user would.

Each case prepares its own folder (a damaged data file, config or run folder). One subprocess
then runs every case's command through ``vaekit.cli.main``, with the case's folder as the
working directory, and records the exit status and stderr; an exception escaping ``main`` is
recorded with its traceback. For each case: exit status 2, exactly one line on stderr that
names the file or key, no traceback, nothing written outside the run folder, and no marker file
from a payload (no code runs from input).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from vaekit.cli import main
from vaekit.data.datasets import IDX_FILES

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "digits_vae.yaml")
MARKER = "MARKER"          # a payload that runs creates this file in its case folder

DRIVER = textwrap.dedent("""
    import contextlib, io, json, os, sys, traceback, warnings
    from vaekit.cli import main
    cases, results = json.load(open(sys.argv[1])), {}
    for case in cases:
        os.chdir(case["cwd"])
        warnings.simplefilter("always")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main(case["argv"])
            except SystemExit as exit:
                status = exit.code
            except BaseException:
                traceback.print_exc()
                status = "raised"
        results[case["id"]] = {"status": status, "stderr": stderr.getvalue()}
    json.dump(results, open(sys.argv[2], "w"))
""")


class Payload:
    """Unpickling this runs ``touch MARKER``: proof that a loader executed code from its input."""

    def __init__(self, folder: Path):
        self.command = f"touch {shlex.quote(str(folder / MARKER))}"

    def __reduce__(self):
        return os.system, (self.command,)


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]                          # "{case}" and "{run}" are replaced by the case's folders
    prepare: Callable[[Path], None]          # writes the bad input into the case folder
    names: str                               # the error line must contain this (a file or a key)


# data files -----------------------------------------------------------------------------------
def npy(array_of: Callable[[Path], np.ndarray], **save) -> Callable[[Path], None]:
    return lambda folder: np.save(folder / "bad.npy", array_of(folder), **save)


def with_nan(_):
    images = np.random.default_rng(0).random((10, 8, 8), dtype=np.float32)
    images[3, 2, 2] = np.nan
    return images


def with_inf(_):
    images = np.zeros((10, 8, 8), np.float32)
    images[7, 0, 0] = np.inf
    return images


def truncated_npy(folder: Path) -> None:
    np.save(folder / "bad.npy", np.zeros((100, 8, 8), np.float32))
    raw = (folder / "bad.npy").read_bytes()
    (folder / "bad.npy").write_bytes(raw[: len(raw) // 2])


def lying_npy_header(folder: Path) -> None:
    """A .npy header announcing 2³¹ images of 28x28 bytes (1.7 TB), followed by 64 bytes."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (2 ** 31, 28, 28)}
    with open(folder / "bad.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        file.write(bytes(64))


def not_a_zip(folder: Path) -> None:
    (folder / "bad.npz").write_bytes(b"PK\x03\x04 this is not a zip archive" * 10)


def image_folder(files: dict[str, bytes | tuple[int, int]]) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        images = folder / "images"
        images.mkdir()
        for name, content in files.items():
            if isinstance(content, bytes):
                (images / name).write_bytes(content)
            else:
                Image.new("L", content).save(images / name)
    return prepare


def corrupt_mnist_cache(folder: Path) -> None:
    (folder / "root" / "mnist").mkdir(parents=True)
    for name in IDX_FILES["train"]:
        (folder / "root" / "mnist" / name).write_bytes(b"\x1f\x8b not really gzip")


# configs ----------------------------------------------------------------------------------------
def yaml_file(text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "bad.yaml").write_text(text.replace("{case}", str(folder)))


def alias_bomb() -> str:
    """model.hidden holds 9 nested lists, the last 9⁹ ones once its aliases are expanded."""
    levels = ["    - &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    levels += [f"    - &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
    return "\n".join(["model:", "  hidden:", *levels]) + "\n"


# run folders --------------------------------------------------------------------------------------
WEIGHTS = Path("run/checkpoint/model.safetensors")


def flip_last_byte(folder: Path, name: Path = WEIGHTS) -> None:
    raw = bytearray((folder / name).read_bytes())
    raw[-1] ^= 0xFF
    (folder / name).write_bytes(bytes(raw))


def remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / "run" / name).unlink()


def overwrite(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / "run" / name).write_bytes(content)


def truncate(name: str) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        raw = (folder / "run" / name).read_bytes()
        (folder / "run" / name).write_bytes(raw[: len(raw) // 2])
    return prepare


def pickled_payload(folder: Path) -> None:
    torch.save({"epoch": 1, "payload": Payload(folder)}, folder / "run" / "checkpoint" / "trainer.pt")


def nothing(_: Path) -> None:
    pass


TRAIN = ["train", PRESET, "run_dir={case}/out", "train.epochs=1", "train.progress=false"]


def train_on(data: str) -> list[str]:
    return [*TRAIN, f"data.name={{case}}/{data}"]


CASES = [
    # data
    Case("npy-nan", train_on("bad.npy"), npy(with_nan), "bad.npy"),
    Case("npy-inf", train_on("bad.npy"), npy(with_inf), "bad.npy"),
    Case("npy-out-of-range", train_on("bad.npy"), npy(lambda _: np.full((10, 8, 8), 3.0, np.float32)), "bad.npy"),
    Case("npy-empty", train_on("bad.npy"), npy(lambda _: np.zeros((0, 8, 8), np.float32)), "bad.npy"),
    Case("npy-ragged", train_on("bad.npy"),
         npy(lambda _: np.array([np.zeros(3), np.zeros(4)], dtype=object), allow_pickle=True), "bad.npy"),
    Case("npy-strings", train_on("bad.npy"), npy(lambda _: np.array([["a"] * 64] * 4)), "bad.npy"),
    Case("npy-pickle-payload", train_on("bad.npy"),
         npy(lambda folder: np.array([Payload(folder)], dtype=object), allow_pickle=True), "bad.npy"),
    Case("npy-truncated", train_on("bad.npy"), truncated_npy, "bad.npy"),
    Case("npy-header-announces-2^31-images", train_on("bad.npy"), lying_npy_header, "bad.npy"),
    Case("npy-wrong-shape", train_on("bad.npy"), npy(lambda _: np.zeros((10, 5), np.float32)), "bad.npy"),
    Case("npz-not-a-zip", train_on("bad.npz"), not_a_zip, "bad.npz"),
    Case("folder-broken-image", train_on("images"),
         image_folder({"a.png": (8, 8), "b.png": b"\x89PNG\r\n\x1a\n broken"}), "b.png"),
    Case("folder-mixed-sizes", train_on("images"), image_folder({"a.png": (8, 8), "b.png": (9, 9)}), "b.png"),
    Case("folder-without-images", train_on("images"), image_folder({"notes.txt": b"hello"}), "images"),
    Case("mnist-cache-not-gzip", [*TRAIN, "data.name=mnist", "data.root={case}/root"], corrupt_mnist_cache,
         "train-images-idx3-ubyte.gz"),
    # configs and overrides
    Case("yaml-invalid", ["train", "{case}/bad.yaml"], yaml_file("model: [unclosed\n"), "bad.yaml"),
    Case("yaml-not-a-mapping", ["train", "{case}/bad.yaml"], yaml_file("- a\n- b\n"), "bad.yaml"),
    Case("yaml-alias-bomb", ["train", "{case}/bad.yaml", "run_dir={case}/out"], yaml_file(alias_bomb()),
         "model.hidden"),
    Case("yaml-python-tag", ["train", "{case}/bad.yaml"],
         yaml_file(f"model: !!python/object/apply:os.system ['touch {{case}}/{MARKER}']\n"), "bad.yaml"),
    Case("yaml-unknown-key", ["train", "{case}/bad.yaml", "run_dir={case}/out"],
         yaml_file("model:\n  latnt_dim: 2\n"), "model.latnt_dim"),
    Case("yaml-wrong-type", ["train", "{case}/bad.yaml", "run_dir={case}/out"],
         yaml_file("model:\n  latent_dim: two\n"), "model.latent_dim"),
    Case("yaml-negative-size", ["train", "{case}/bad.yaml", "run_dir={case}/out"],
         yaml_file("model:\n  latent_dim: -3\n"), "model.latent_dim"),
    Case("config-missing", ["train", "{case}/missing.yaml"], nothing, "missing.yaml"),
    Case("override-negative-size", [*TRAIN, "model.latent_dim=-1"], nothing, "model.latent_dim"),
    Case("override-zero-latent", [*TRAIN, "model.latent_dim=0"], nothing, "model.latent_dim"),
    Case("override-zero-hidden", [*TRAIN, "model.hidden=[16, 0]"], nothing, "model.hidden[1]"),
    Case("override-negative-lr", [*TRAIN, "train.lr=-1"], nothing, "train.lr"),
    Case("override-zero-batch", [*TRAIN, "train.batch_size=0"], nothing, "train.batch_size"),
    Case("override-nan-lr", [*TRAIN, "train.lr=.nan"], nothing, "train.lr"),
    Case("override-probability-above-1", [*TRAIN, "data.valid_fraction=1.5"], nothing, "data.valid_fraction"),
    Case("override-size-beyond-memory", [*TRAIN, "model.latent_dim=100000000000"], nothing, "out of memory"),
    Case("override-wrong-type", [*TRAIN, "train.epochs=many"], nothing, "train.epochs"),
    Case("override-unknown-key", [*TRAIN, "train.epoch=3"], nothing, "train.epoch"),
    Case("override-without-value", [*TRAIN, "model.latent_dim"], nothing, "model.latent_dim"),
    # run folders
    *[Case(f"weights-flipped-byte-{command}", argv, flip_last_byte, "model.safetensors")
      for command, argv in (("evaluate", ["evaluate", "{run}"]), ("sample", ["sample", "{run}"]),
                            ("report", ["report", "{run}"]), ("interpolate", ["interpolate", "{run}"]),
                            ("resume", ["train", "--resume", "{run}"]))],
    Case("weights-truncated", ["report", "{run}"], truncate("checkpoint/model.safetensors"), "model.safetensors"),
    Case("weights-missing", ["evaluate", "{run}"], remove("checkpoint/model.safetensors"), "model.safetensors"),
    Case("model-json-missing", ["sample", "{run}"], remove("checkpoint/model.json"), "model.json"),
    Case("model-json-damaged", ["evaluate", "{run}"], overwrite("checkpoint/model.json", b'{"kind": "va'),
         "model.json"),
    Case("model-json-unknown-kind", ["evaluate", "{run}"],
         overwrite("checkpoint/model.json", b'{"kind": "transformer", "config": {}}'), "model.json"),
    Case("trainer-missing", ["train", "--resume", "{run}"], remove("checkpoint/trainer.pt"), "trainer.pt"),
    Case("trainer-not-a-checkpoint", ["train", "--resume", "{run}"],
         overwrite("checkpoint/trainer.pt", b"\x80\x04 garbage"), "trainer.pt"),
    Case("trainer-pickle-payload", ["train", "--resume", "{run}"], pickled_payload, "trainer.pt"),
    Case("config-yaml-missing", ["evaluate", "{run}"], remove("config.yaml"), "config.yaml"),
    Case("config-yaml-damaged", ["evaluate", "{run}"], overwrite("config.yaml", b"model: [unclosed"),
         "config.yaml"),
    Case("config-yaml-python-tag", ["sample", "{run}"],
         lambda folder: (folder / "run" / "config.yaml").write_text(
             f"model: !!python/object/apply:os.system ['touch {folder / MARKER}']\n"), "config.yaml"),
    Case("run-folder-missing", ["evaluate", "{case}/no-such-run"], nothing, "no-such-run"),
    # command-line options
    Case("option-zero-samples", ["sample", "{run}", "-n", "0"], nothing, "-n/--num"),
    Case("option-negative-pairs", ["interpolate", "{run}", "--pairs", "-1"], nothing, "--pairs"),
    Case("option-zero-examples", ["evaluate", "{run}", "--max-examples", "0"], nothing, "--max-examples"),
    Case("option-not-a-number", ["evaluate", "{run}", "-k", "many"], nothing, "-k/--importance-samples"),
    Case("option-unknown-estimator", ["evaluate", "{run}", "--estimator", "mcmc"], nothing, "--estimator"),
    Case("option-port-out-of-range", ["serve", "{run}", "--port", "70000"], nothing, "--port"),
    Case("option-unknown-command", ["evaluat", "{run}"], nothing, "evaluat"),
    Case("option-disentanglement-without-dsprites", ["evaluate", "{run}", "--disentanglement"], nothing,
         "--disentanglement"),
    Case("experiment-negative-epochs", ["experiment", "linear-ae-pca", "--quick", "epochs=-1",
                                        "--out", "{case}/out"], nothing, "epochs"),
]


def files_in(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", PRESET, f"run_dir={folder}", "train.epochs=1", "train.progress=false",
                 "model.hidden=[16]", "evaluate.importance_samples=5"]) == 0
    shutil.rmtree(folder / "checkpoint.old", ignore_errors=True)       # no earlier checkpoint to fall back to
    return folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, trained_run) -> dict[str, dict]:
    """Prepare every case, run them all in one subprocess; per case: status, stderr, files before/after."""
    root = tmp_path_factory.mktemp("bad-input")
    specs, before = [], {}
    for case in CASES:
        folder = root / case.id
        folder.mkdir()
        if "{run}" in " ".join(case.argv):
            shutil.copytree(trained_run, folder / "run")
        case.prepare(folder)
        before[case.id] = files_in(folder)
        argv = [arg.replace("{case}", str(folder)).replace("{run}", str(folder / "run")) for arg in case.argv]
        specs.append({"id": case.id, "cwd": str(folder), "argv": argv})
    (root / "cases.json").write_text(json.dumps(specs))
    subprocess.run([sys.executable, "-c", DRIVER, str(root / "cases.json"), str(root / "results.json")],
                   check=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    results = json.loads((root / "results.json").read_text())
    for case in CASES:
        results[case.id].update(folder=root / case.id, before=before[case.id])
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_clear_line_and_exit_status_2(case, outcomes):
    outcome = outcomes[case.id]
    stderr, folder = outcome["stderr"], outcome["folder"]
    assert "Traceback" not in stderr, stderr
    assert outcome["status"] == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("vaekit ", "vaekit:")) and ": error: " in lines[0], stderr
    assert case.names in lines[0], lines[0]
    assert not (folder / MARKER).exists(), "a payload in the input ran"
    written = files_in(folder) - outcome["before"]
    assert not [name for name in written if not name.startswith("run")], written
    assert not (folder / "out").exists(), "a run folder was made for input that was refused"


def test_a_damaged_checkpoint_falls_back_to_the_previous_one_with_a_warning(trained_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    shutil.copytree(run / "checkpoint", run / "checkpoint.old")
    flip_last_byte(tmp_path)
    assert main(["sample", str(run), "--out", str(tmp_path / "samples.png")]) == 0
    error = capsys.readouterr().err
    assert "warning:" in error and "model.safetensors does not match the SHA-256" in error
    assert "checkpoint.old" in error and (tmp_path / "samples.png").is_file()


def test_vaekit_load_refuses_a_saved_model_with_a_flipped_byte(trained_run, tmp_path):
    import vaekit

    vaekit.load(trained_run).save(tmp_path / "model")
    assert vaekit.load(tmp_path / "model") is not None
    flip_last_byte(tmp_path, Path("model/model.safetensors"))
    with pytest.raises(ValueError, match="model.safetensors does not match the SHA-256 recorded in model.json"):
        vaekit.load(tmp_path / "model")


def test_an_idx_header_announcing_2_31_images_fails_fast_without_allocating(tmp_path):
    from vaekit.data import DataError
    from vaekit.data.idx import read_idx

    path = tmp_path / "lying-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + np.array([2 ** 31, 28, 28], ">u4").tobytes() + bytes(64))
    tracemalloc.start()
    with pytest.raises(DataError, match="is truncated: its header announces shape"):
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20          # the 1.7 TB the header announces is never allocated
