"""Latency of one decode in ``vaekit serve``: what a drag on the latent map waits for.

Two timings per model, medians over --repeats calls on this CPU:

- model: ``vaekit.serve.decode.decode_images`` (``torch.no_grad()``: p(x|z), its mean and one pixel
  draw) for one latent, and per latent in a batch of 64;
- http: ``POST /api/decode {"points": [[x, y]]}`` through the whole FastAPI app (TestClient: routing,
  validation, the map's inverse projection, the decode, JSON of two images), no network socket.

The weights are the untrained initialisation of each preset's network (a decode costs the same for
any weights); the run folders are written to a temporary folder. The map's test codes come from the
data set's test split (MNIST rows are skipped when its files are not under VAEKIT_DATA).

    OMP_NUM_THREADS=1 python bench/serve_latency.py            # writes bench/results/serve_latency.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from vaekit.config import load_config, save_config
from vaekit.data import DataError, load_dataset
from vaekit.models import MODELS
from vaekit.presets import preset_path
from vaekit.runs import load_run
from vaekit.serve.app import create_app
from vaekit.serve.decode import decode_images

with warnings.catch_warnings():        # starlette's note that httpx will become httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from host import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")
CASES = [("digits_vae", ["model.latent_dim=2"], (1, 8, 8)),
         ("mnist_vae", ["model.latent_dim=2"], (1, 28, 28)),
         ("mnist_vae", [], (1, 28, 28)),                          # 784-400-20: the map is a PCA projection
         ("mnist_conv_vae", [], (1, 28, 28))]


def median_ms(call, repeats: int) -> float:
    call()                                                        # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def run_folder(folder: Path, preset: str, overrides: list[str], image_shape: tuple[int, ...]) -> Path:
    """A run folder (config.yaml + checkpoint/) of the preset's untrained model."""
    config = load_config(preset_path(preset), [*overrides, f"run_dir={folder}", f"data.root={DATA_ROOT}"])
    torch.manual_seed(0)
    model = MODELS[config.model.kind](dataclasses.replace(config.model, image_shape=image_shape))
    model.save(folder / "checkpoint")
    save_config(dataclasses.replace(config, model=model.config), folder / "config.yaml")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "serve_latency.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for number, (preset, overrides, image_shape) in enumerate(CASES):
            try:
                load_dataset("digits" if preset.startswith("digits") else "mnist", "test", root=DATA_ROOT)
            except DataError as error:
                print(f"skipped {preset}: {error}")
                continue
            folder = run_folder(Path(temporary) / f"run{number}", preset, overrides, image_shape)
            client = TestClient(create_app(folder))
            info = client.get("/api/info").json()
            model = load_run(folder)[1].eval()
            one, batch = torch.randn(1, info["latent_dim"]), torch.randn(64, info["latent_dim"])
            rows.append({
                "preset": preset, "overrides": overrides, "architecture": model.config.architecture,
                "latent_dim": info["latent_dim"], "projection": info["projection"],
                "image_shape": list(image_shape),
                "model_ms_one": median_ms(lambda: decode_images(model, one), args.repeats),
                "model_ms_per_latent_batch64": median_ms(lambda: decode_images(model, batch), args.repeats // 4) / 64,
                "http_ms_one": median_ms(lambda: client.post("/api/decode", json={"points": [[0.3, -0.2]]}),
                                         args.repeats // 2)})
    print(f"{'preset':16} {'latent':>6} {'map':>8} {'image':>9} {'model ms':>9} {'ms/latent@64':>12} {'http ms':>8}")
    for row in rows:
        print(f"{row['preset']:16} {row['latent_dim']:>6} {row['projection']:>8} "
              f"{'x'.join(map(str, row['image_shape'][1:])):>9} {row['model_ms_one']:9.3f} "
              f"{row['model_ms_per_latent_batch64']:12.4f} {row['http_ms_one']:8.2f}")
    result = {"machine": machine(), "torch_threads": torch.get_num_threads(), "repeats": args.repeats, "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
