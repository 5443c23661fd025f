"""The wheel carries the presets, experiment settings and the MNIST subset: built, installed into a fresh virtual
environment and run from a folder outside the checkout."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from vaekit.data import mnist_subset
from vaekit.experiments import EXPERIMENTS
from vaekit.presets import available_presets

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
ENV = {**{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
       "PIP_DISABLE_PIP_VERSION_CHECK": "1", "OMP_NUM_THREADS": "1"}


def run(command: list, cwd: Path | None = None) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=ENV, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, bin/ of a fresh environment holding only it). torch and the other dependencies come
    from this interpreter's site-packages, named in a .pth file: a folder a .pth line adds is not a
    site folder, so the editable install of vaekit there stays inactive."""
    folder = tmp_path_factory.mktemp("packaging")
    source = folder / "source"               # a copy: the build leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", folder / "dist", source])
    wheel, = (folder / "dist").glob("vaekit-*.whl")
    env = folder / "env"
    run([sys.executable, "-m", "venv", "--without-pip", env])
    run([sys.executable, "-m", "pip", "--python", env / "bin" / "python", "install", "--quiet", "--no-deps",
         "--no-index", wheel])
    site, = env.glob("lib/python*/site-packages")
    dependencies = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "vaekit_test_dependencies.pth").write_text("\n".join(dependencies) + "\n")
    return wheel, env / "bin"


def test_the_wheel_holds_every_preset_and_experiment_setting_and_the_mnist_subset(installed):
    wheel = zipfile.ZipFile(installed[0])
    names = set(wheel.namelist())
    assert {f"vaekit/configs/{name}.yaml" for name in available_presets()} <= names
    assert {f"vaekit/configs/experiments/{name}.yaml" for name in EXPERIMENTS.names()} <= names
    assert {"vaekit/data/embedded/mnist_subset.npz", "vaekit/data/embedded/README.md"} <= names
    assert hashlib.sha256(wheel.read("vaekit/data/embedded/mnist_subset.npz")).hexdigest() == mnist_subset.SHA256


def test_the_installed_vaekit_is_the_wheel_and_lists_the_presets(installed, tmp_path):
    _, bin_dir = installed
    find = "import importlib.util; print(importlib.util.find_spec('vaekit').origin)"  # no import: no torch to load
    location = run([bin_dir / "python", "-c", find], cwd=tmp_path)
    assert location.startswith(str(bin_dir.parent / "lib"))
    listed = run([bin_dir / "vaekit", "presets"], cwd=tmp_path).splitlines()
    assert any(line.startswith("mnist_vae ") for line in listed)


def test_the_installed_vaekit_loads_the_mnist_subset_from_the_wheel(installed, tmp_path):
    _, bin_dir = installed
    code = ("from vaekit.data import load_dataset, mnist_subset; data = load_dataset('mnist-subset', 'test'); "
            "print(mnist_subset.SUBSET_FILE); print(tuple(data.images.shape), len(data.labels.unique()))")
    location, shapes = run([bin_dir / "python", "-c", code], cwd=tmp_path).splitlines()
    assert location.startswith(str(bin_dir.parent / "lib")) and shapes == "(1000, 1, 28, 28) 10"


def test_train_a_preset_by_name_outside_the_checkout(installed, tmp_path):
    run([installed[1] / "vaekit", "train", "digits_vae", "train.epochs=1", "train.progress=false", "run_dir=run"],
        cwd=tmp_path)
    assert (tmp_path / "run" / "checkpoint").is_dir() and (tmp_path / "run" / "metrics.csv").is_file()


def test_a_quick_experiment_reads_its_shipped_settings(installed, tmp_path, shared_data):
    run([installed[1] / "vaekit", "experiment", "linear-ae-pca", f"data_root={shared_data}", "train_size=500",
         "epochs=2", "code_sizes=[2]", "--quick", "--out", "report"], cwd=tmp_path)
    settings = json.loads((tmp_path / "report" / "results.json").read_text())["settings"]
    assert settings["lr_decay"] == 0.967 and settings["test_size"] == 2000   # the quick section, not the defaults
    assert (tmp_path / "report" / "report.md").is_file()
