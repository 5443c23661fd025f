"""One likelihood table: what each richer posterior, prior and bound buys, on the same data.

Rows (all with Burda et al.'s 784-200-200-50 tanh networks or their 2-layer version with ReLU, Bernoulli
likelihood, Adam, batch 100, the learning rate decaying ×0.1 over the planned epochs):
VAE, IWAE k = 5 and 50 (DReG encoder gradient), VAE and IWAE k = 50 with two stochastic
layers, planar-flow posterior (K = 10), IAF posterior (2 steps), VampPrior (K = 500; ReLU
networks and the paper's KL warm-up, which keeps its third of the planned epochs: see its preset).
Data: dynamic MNIST (Burda et al.'s protocol: 60,000 training images binarized afresh every
batch) and the statically binarized MNIST of Larochelle & Murray (50,000 training images; the
flow papers' and pythae's protocol). Each model trains for the same wall-clock budget; its test
NLL is −L_k (k = 5000 by default) with its standard error over test images, beside the ELBO,
the gap ELBO − L_k, active units, the budget used, and the papers' and pythae's figures.

    python bench/likelihood.py --minutes 120 --k 5000                  # the issue's budget: 2 h per model
    python bench/likelihood.py --minutes 6 --k 5000 --test-examples 1000 --jobs 2   # what the README shows
    python bench/likelihood.py --rows vae,vamp --datasets static --minutes 1 --k 100 --test-examples 200
    python bench/likelihood.py --table                                  # print the stored results again

Rows are merged into the JSON by (dataset, row), so a table can be filled over several runs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from vaekit.experiments.tighter_bounds import MODEL_ROWS, mixture_safe_chunk
from vaekit.presets import PRESET_DIR

ROOT = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("VAEKIT_DATA") or ROOT.parent / "shared" / "data")

ROWS = MODEL_ROWS          # name: (label, preset, overrides), shared with the tighter-bounds experiment
DATASETS = {
    "dynamic": ["data.name=mnist", "data.binarize=dynamic", "data.valid_fraction=0.0"],
    "static": ["data.name=binarized-mnist", "data.binarize=none", "data.valid_fraction=0.0"],
}
# (dataset, row): (nats, source) — ../shared/PAPERS.md §3
PAPER = {
    ("dynamic", "vae"): (86.76, "Burda et al. 2016, Table 1"),
    ("dynamic", "iwae5"): (85.54, "Burda et al. 2016, Table 1"),
    ("dynamic", "iwae50"): (84.78, "Burda et al. 2016, Table 1"),
    ("dynamic", "vae2"): (85.33, "Burda et al. 2016, Table 1"),
    ("dynamic", "iwae2"): (82.90, "Burda et al. 2016, Table 1"),
    ("dynamic", "iaf"): (79.10, "Kingma et al. 2016 via VLAE Table 2 (ResNet VAE + IAF)"),
    ("static", "vae"): (89.9, "Rezende & Mohamed 2015 via pythae"),
    ("static", "iwae50"): (87.1, "Burda et al. 2016 via pythae"),
    ("static", "planar"): (85.10, "Rezende & Mohamed 2015, K=80 (ELBO)"),
    ("static", "iaf"): (79.88, "Kingma et al. 2016 via VLAE Table 1"),
    ("static", "vamp"): (85.57, "Tomczak & Welling 2018 via pythae"),
}
PYTHAE = {("static", "vae"): 89.78, ("static", "iwae50"): 86.82, ("static", "vamp"): 85.79}
# the targets: (dataset, row or "best"): nats
TARGETS = {("dynamic", "best"): 83.0, ("dynamic", "iwae2"): 84.0, ("static", "vamp"): 85.79, ("static", "iwae50"): 86.82}


def run_row(dataset: str, row: str, minutes: float, k: int, test_examples: int | None, threads: int,
            run_root: str) -> dict:
    """Train one (dataset, row) for ``minutes`` and evaluate it; runs in a worker process."""
    import torch
    torch.set_flush_denormal(True)           # before the first parallel op, so OpenMP workers inherit it
    torch.set_num_threads(threads)
    from vaekit import Trainer
    from vaekit.config import EvalConfig, load_config
    from vaekit.evaluate import evaluate_model
    from vaekit.runs import build_model, load_data, test_images, train_run

    label, preset, overrides = ROWS[row]
    run_dir = Path(run_root) / f"{dataset}-{row}"
    shutil.rmtree(run_dir, ignore_errors=True)
    config = load_config(PRESET_DIR / preset, [*overrides, *DATASETS[dataset], f"run_dir={run_dir}",
                                                     f"data.root={DATA_ROOT}", f"train.threads={threads}",
                                                     "train.progress=false"])
    # calibrate: seconds per optimizer step over 30 steps (after 10 warm-up steps) of a throwaway model
    data = load_data(config, "train")
    torch.manual_seed(config.train.seed)
    probe = build_model(config, data)
    steps_per_epoch = math.ceil(len(data.images) / config.train.batch_size)
    trainer = Trainer(dataclasses.replace(config.train, epochs=2, epoch_size=30 * config.train.batch_size),
                      config.objective, binarize=config.data.binarize)
    history = trainer.fit(probe, data)
    step_seconds = history.epochs[-1]["seconds"] / 30
    epochs = max(1, int(minutes * 60 / (step_seconds * steps_per_epoch)))
    warm_up = config.objective.kl_schedule          # a KL warm-up keeps its share of the preset's epochs
    warm_up = dataclasses.replace(warm_up, steps=max(1, round(warm_up.steps * epochs / config.train.epochs))) \
        if warm_up.steps else warm_up
    config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, epochs=epochs, lr_decay=0.1 ** (1 / epochs), time_limit_minutes=minutes,
        checkpoint_every=max(1, epochs // 10)), objective=dataclasses.replace(config.objective, kl_schedule=warm_up))
    started = time.perf_counter()
    model, history = train_run(config)
    train_seconds = time.perf_counter() - started
    evaluation = EvalConfig(importance_samples=k, sample_chunk=mixture_safe_chunk(model, k), batch_size=100,
                            max_examples=test_examples)
    started = time.perf_counter()
    metrics = evaluate_model(model, test_images(config, model).images, evaluation)
    eval_seconds = time.perf_counter() - started
    return {
        "dataset": dataset, "row": row, "label": label, "preset": preset, "overrides": overrides,
        "epochs_planned": epochs, "epochs": len(history.epochs), "steps": history.epochs[-1]["step"],
        "train_minutes": round(train_seconds / 60, 2), "budget_minutes": minutes,
        "eval_seconds": round(eval_seconds, 1), "importance_samples": k, "test_examples": metrics["num_examples"],
        "nll": round(metrics["nll"], 3), "nll_standard_error": round(metrics["nll_standard_error"], 3),
        "elbo": round(metrics["elbo"], 3), "gap": round(-metrics["nll"] - metrics["elbo"], 3),   # L_k − ELBO ≥ 0
        "kl": round(metrics["kl"], 3), "active_units": metrics["active_units"],
        "threads": threads,
    }


def verdicts(results: dict) -> list[dict]:
    """Each target: met / not met with the measured figure (never adjusted)."""
    found = []
    for (dataset, row), target in TARGETS.items():
        rows = [r for r in results.values() if r["dataset"] == dataset and (row == "best" or r["row"] == row)]
        if not rows:
            continue
        best = min(rows, key=lambda r: r["nll"])
        name = f"{dataset}: best model ({best['label']})" if row == "best" else f"{dataset}: {best['label']}"
        found.append({"target": name, "limit": target, "measured": best["nll"], "met": best["nll"] <= target})
    return found


def print_table(stored: dict) -> None:
    results, host = stored["results"], stored.get("host", {})
    print(f"latest host: {host.get('machine', '?')}; float32 GEMM {host.get('gemm_gflops_1thread', 0):.1f} GFLOP/s "
          f"on 1 thread, {host.get('gemm_gflops', 0):.1f} on {host.get('threads', '?')} (GEMM/thr: each row's host)")
    header = (f"{'data':8} {'model':40} {'NLL (−L_k)':>15} {'ELBO':>8} {'gap':>6} {'AU':>4} {'epochs':>7} "
              f"{'train min':>9} {'GEMM/thr':>8} {'paper':>7} {'pythae':>7}")
    print(header)
    print("-" * len(header))
    for key in sorted(results, key=lambda key: (list(DATASETS).index(results[key]["dataset"]),
                                                list(ROWS).index(results[key]["row"]))):
        r = results[key]
        paper = PAPER.get((r["dataset"], r["row"]), (None, ""))[0]
        pythae = PYTHAE.get((r["dataset"], r["row"]))
        print(f"{r['dataset']:8} {r['label']:40} {r['nll']:8.2f} ± {r['nll_standard_error']:4.2f} {-r['elbo']:8.2f} "
              f"{r['gap']:6.2f} {r['active_units']:4d} {r['epochs']:7d} {r['train_minutes']:9.1f} "
              f"{r.get('gemm_gflops_1thread', float('nan')):8.1f} "
              f"{paper if paper else '–':>7} {pythae if pythae else '–':>7}")
    examples = "/".join(str(n) for n in sorted({r["test_examples"] for r in results.values()}))
    samples = "/".join(str(k) for k in sorted({r["importance_samples"] for r in results.values()}))
    budgets = "/".join(f"{m:g}" for m in sorted({r["budget_minutes"] for r in results.values()}))
    print(f"(NLL and −ELBO in nats on the first {examples} test images, k = {samples}; "
          f"training budget {budgets} min per model on {'/'.join(str(t) for t in sorted({r['threads'] for r in results.values()}))} thread(s))")
    for verdict in verdicts(results):
        print(f"target {verdict['target']} ≤ {verdict['limit']}: {'met' if verdict['met'] else 'NOT met'} "
              f"({verdict['measured']:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0, help="training budget per model (wall clock)")
    parser.add_argument("--k", type=int, default=5000, help="importance samples of the test NLL")
    parser.add_argument("--test-examples", type=int, default=None, help="first N test images (default: all)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {', '.join(ROWS)}")
    parser.add_argument("--datasets", default="dynamic,static", help="comma-separated: dynamic, static")
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once (processes)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per job (default: cores / jobs)")
    parser.add_argument("--run-root", default=str(ROOT / "runs" / "bench-likelihood"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "likelihood.json"))
    parser.add_argument("--table", action="store_true", help="only print the stored table")
    args = parser.parse_args()
    out = Path(args.out)
    stored = json.loads(out.read_text()) if out.is_file() else {"results": {}}
    if args.table:
        print_table(stored)
        return
    rows, datasets = args.rows.split(","), args.datasets.split(",")
    unknown = [r for r in rows if r not in ROWS] + [d for d in datasets if d not in DATASETS]
    if unknown:
        sys.exit(f"unknown row or dataset: {', '.join(unknown)}; rows: {', '.join(ROWS)}; datasets: dynamic, static")
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)

    import torch
    from host import gemm_gflops, machine
    torch.set_num_threads(1)
    one_thread = gemm_gflops(1024, 1024, 1024, repeats=10)
    torch.set_num_threads(threads * args.jobs)
    stored["host"] = {"machine": machine(), "threads": threads * args.jobs, "gemm_gflops_1thread": one_thread,
                      "gemm_gflops": gemm_gflops(1024, 1024, 1024, repeats=10)}
    command = "python bench/likelihood.py " + " ".join(sys.argv[1:])
    jobs = [(dataset, row) for dataset in datasets for row in rows]
    print(f"{len(jobs)} models, {args.minutes:g} min each, {args.jobs} at a time with {threads} thread(s) each")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_row, dataset, row, args.minutes, args.k, args.test_examples, threads,
                               args.run_root): (dataset, row) for dataset, row in jobs}
        for future, (dataset, row) in futures.items():
            result = future.result()
            result["command"] = command
            result["gemm_gflops_1thread"] = round(one_thread, 1)     # hosts differ from day to day: per row
            stored["results"][f"{dataset}/{row}"] = result
            stored["verdicts"] = verdicts(stored["results"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(stored, indent=2))
            print(f"{dataset}/{row}: NLL {result['nll']:.2f} ± {result['nll_standard_error']:.2f}, "
                  f"ELBO {result['elbo']:.2f}, {result['epochs']} epochs in {result['train_minutes']:.1f} min")
    print()
    print_table(stored)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
