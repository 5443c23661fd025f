"""Command line: ``vaekit train|evaluate|sample|reconstruct|interpolate|report|experiment|presets``. Thin by design."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path


def _train(args) -> None:
    from vaekit.config import load_config
    from vaekit.presets import preset_path
    from vaekit.runs import CONFIG_FILE, train_run
    from vaekit.train.distributed import quiet_other_ranks

    quiet_other_ranks()                  # under torchrun, ranks other than 0 print errors only
    if args.resume:
        if args.config is not None:  # `train --resume RUN a.b=c`: the first override lands in `config`
            args.overrides.insert(0, args.config)
        config = load_config(Path(args.resume) / CONFIG_FILE, args.overrides + [f"run_dir={args.resume}"])
    else:
        if args.config is None:
            raise SystemExit("vaekit train: give a PRESET (see `vaekit presets`), a CONFIG.yaml or --resume RUN_DIR")
        config = load_config(preset_path(args.config), args.overrides)
    print(f"run folder: {config.run_dir}")
    train_run(config, resume=bool(args.resume))
    print(f"done: model and checkpoint in {config.run_dir}/checkpoint; `vaekit report {config.run_dir}` next")


def _evaluate(args) -> dict:
    import dataclasses

    import torch

    from vaekit.config import to_dict
    from vaekit.runs import load_run, report_dir
    from vaekit.train.distributed import evaluation_session

    if args.sample_quality and args.sample_quality_n < 4:
        raise ValueError(f"--sample-quality-n must be ≥ 4 (k = 3 nearest neighbours), got {args.sample_quality_n}")
    config, model = load_run(args.run_dir, args.overrides)
    if args.disentanglement and not config.data.name.startswith("dsprites"):
        raise ValueError(f"--disentanglement needs a model trained on dSprites (the metrics need its ground-truth "
                         f"factors); this run has data.name={config.data.name}")
    evaluation = config.evaluate
    if args.importance_samples is not None:
        evaluation = dataclasses.replace(evaluation, importance_samples=args.importance_samples)
    if args.max_examples is not None:
        evaluation = dataclasses.replace(evaluation, max_examples=args.max_examples)
    if args.estimator is not None:
        evaluation = dataclasses.replace(evaluation, estimator=args.estimator)
    if args.ais_steps is not None:
        evaluation = dataclasses.replace(evaluation, ais_steps=args.ais_steps)
    if args.ais_start is not None:
        evaluation = dataclasses.replace(evaluation, ais_start=args.ais_start)
    torch.manual_seed(config.train.seed)          # the z draws of the ELBO and of L_k: same numbers every time
    options = {key: value for key, value in vars(args).items() if key != "handler"}   # JSON-able, same on every rank
    with evaluation_session(config.train, {"config": to_dict(config), "evaluate": to_dict(evaluation),
                                           "options": options}) as distributed:
        results = _evaluate_metrics(args, config, model, evaluation, distributed)
        if distributed is not None and not distributed.is_main:
            return results                        # under torchrun rank 0 alone writes and prints
    if args.disentanglement or config.data.name.startswith("dsprites"):
        results["disentanglement"] = _disentanglement(args, config, model)
    if args.sample_quality:
        results.update(_sample_quality(args, config, model))
    path = report_dir(config) / "metrics.json"
    path.write_text(json.dumps(results, indent=2))
    for key, value in {**results, **results.get("disentanglement", {})}.items():
        if not isinstance(value, (list, dict)):
            print(f"{key:>22}: {value:.4f}" if isinstance(value, float) else f"{key:>22}: {value}")
    print(f"written: {path}")
    return results


def _evaluate_metrics(args, config, model, evaluation, distributed) -> dict:
    """The test metrics of ``vaekit evaluate``; under torchrun (``distributed``) the ranks share the
    log p(x) estimate of an image or sentence VAE or of a GAN's generator (each every W-th batch),
    and compute the rest each."""
    from vaekit.evaluate import evaluate_model
    from vaekit.evaluate.text import evaluate_text
    from vaekit.runs import test_images, test_sentences

    if model.input_kind == "tokens":
        metrics = evaluate_text(model, test_sentences(config, model).tokens, evaluation, progress=True,
                                distributed=distributed)
    elif model.kind == "gan":     # no density: log p(x) under N(g(z), σ² I) only for an estimator asked for by name
        from vaekit.evaluate.gan import evaluate_gan
        asked = args.estimator is not None or any(text.split("=", 1)[0].strip() == "evaluate.estimator"
                                                  for text in args.overrides)
        metrics = evaluate_gan(model, test_images(config, model).images, evaluation,
                               evaluation.estimator if asked else None, progress=True, distributed=distributed)
    else:
        metrics = evaluate_model(model, test_images(config, model).images, evaluation, progress=True,
                                 distributed=distributed)
    return {"dataset": config.data.name, "split": config.data.test_split, **metrics}


def _disentanglement(args, config, model) -> dict:
    """BetaVAE, FactorVAE, MIG, SAP, DCI of the model's posterior mean on dSprites images rendered
    from random factors (sizes from the command line; DCI with random forests)."""
    from vaekit.data.dsprites import dsprites_ground_truth
    from vaekit.evaluate.disentanglement import compute_all, model_representation

    print(f"disentanglement metrics on {args.metric_points} points and {args.votes} votes ...", flush=True)
    return compute_all(dsprites_ground_truth(config.data.name, config.data.root), model_representation(model),
                       random_state=config.train.seed, num_train=args.metric_points,
                       num_eval=args.metric_points // 2, votes_train=args.votes, votes_eval=args.votes // 2,
                       dci_method="random_forest")


def _sample_quality(args, config, model) -> dict:
    """Classifier-feature FD, precision, recall and sharpness of prior draws (mean images and pixel
    samples) and, as the floor, of test images, each against as many training images."""
    import dataclasses

    import torch

    from vaekit.evaluate import sample_quality
    from vaekit.runs import report_dir, seeded, test_images

    shape, reason = tuple(getattr(model, "image_shape", ())), None
    if model.input_kind != "images":
        reason = "a text run has no images to score"
    elif not hasattr(model, "sample"):
        reason = f"model.kind={model.kind} has no prior to sample from"
    elif shape != sample_quality.IMAGE_SHAPE:
        reason = (f"the feature classifier is an MNIST one for (1, 28, 28) images, this run's are {shape}; "
                  f"no classifier is trained for them")
    if reason:
        print(f"sample quality: skipped: {reason}")
        return {"sample_quality_skipped": reason}
    train_config = dataclasses.replace(config, data=dataclasses.replace(config.data, test_split="train"))
    test, train = test_images(config, model).images, test_images(train_config, model).images
    num = min(args.sample_quality_n, len(test), len(train))
    test = test[torch.randperm(len(test), generator=seeded(config.train.seed))[:num]]
    train = train[torch.randperm(len(train), generator=seeded(config.train.seed + 1))[:num]]
    print(f"sample quality of {num} prior draws and test images against {num} training images ...", flush=True)
    classifier, description = sample_quality.feature_classifier(
        report_dir(config) / "sample_quality_classifier.safetensors", config.data.root)
    image_sets = {**sample_quality.draw_images(model, num, seed=config.train.seed), "test": test}
    return {"sample_quality_classifier_layer": description["layer"],
            "sample_quality_classifier_data": description["data"],
            "sample_quality_classifier_test_accuracy": description["test_accuracy"],
            "sample_quality_num_samples": num, **sample_quality.sample_quality_metrics(classifier, image_sets, train),
            "sample_quality_note": sample_quality.NOT_INCEPTION}


def _sample(args) -> Path:
    import torch

    from vaekit.runs import load_run, report_dir, seeded
    from vaekit.viz import save_image_grid

    config, model = load_run(args.run_dir)
    if not hasattr(model, "sample"):
        raise SystemExit(f"vaekit sample: a {model.kind} has no prior to sample from; train a VAE")
    if model.input_kind == "tokens":
        return _sample_text(args, config, model)
    path = Path(args.out) if args.out else report_dir(config) / "samples.png"
    direct = {"gan": "z ~ N(0, I): generator output g(z) (a GAN has no pixel-noise model)",
              "realnvp": "z ~ N(0, I): x = f⁻¹(z) quantized to 8 bits (a flow has no p(x|z) to take a mean of)"}
    if model.kind in direct:      # images drawn directly: there is no p(x|z) to take a mean of
        with torch.no_grad():
            images = model.sample(2 * args.num, generator=seeded(args.seed))
        save_image_grid(path, images, columns=args.num, title=direct[model.kind])
        print(f"written: {path}")
        return path
    with torch.no_grad():
        likelihood = model.sample(args.num, generator=seeded(args.seed))
        torch.manual_seed(args.seed)
        rows = torch.cat([mean_or_sample(likelihood), likelihood.sample()])
    save_image_grid(path, rows, columns=args.num, row_labels=["mean", "sampled"] if args.num >= 4 else None,
                    title="z ~ N(0, I): mean of p(x|z) (top) and a draw x ~ p(x|z) (bottom)")
    print(f"written: {path}")
    return path


def _reconstruct(args) -> Path:
    import torch

    from vaekit.runs import load_run, report_dir, test_images
    from vaekit.viz import save_image_grid

    config, model = load_run(args.run_dir)
    if model.input_kind == "tokens":
        return _reconstruct_text(args, config, model)
    x = test_images(config, model).images[:args.num]
    with torch.no_grad():
        rows = torch.cat([x, mean_or_sample(model.reconstruct(x))])
    path = Path(args.out) if args.out else report_dir(config) / "reconstructions.png"
    save_image_grid(path, rows, columns=len(x), row_labels=["data", "reconstruction"],
                    title="test images and the mean of p(x | code(x))")
    print(f"written: {path}")
    return path


def _interpolate(args) -> Path:
    import torch

    from vaekit.runs import load_run, report_dir, test_images
    from vaekit.viz import interpolate, save_image_grid

    config, model = load_run(args.run_dir)
    if model.input_kind == "tokens":
        return _interpolate_text(args, config, model)
    x = test_images(config, model).images[:2 * args.pairs]
    with torch.no_grad():
        codes = model.code(x)                                                     # (2P, D)
        path_codes = interpolate(codes[0::2], codes[1::2], args.steps, args.method)  # (S, P, D)
        images = mean_or_sample(model.decode(path_codes.transpose(0, 1)))         # (P, S, C, H, W)
    path = Path(args.out) if args.out else report_dir(config) / "interpolation.png"
    save_image_grid(path, images.flatten(0, 1), columns=args.steps,
                    title=f"{args.method} interpolation between test codes")
    print(f"written: {path}")
    return path


def mean_or_sample(distribution):
    """E[x|z], or one draw x ~ p(x|z) where the decoder has no closed-form mean (PixelCNN)."""
    from vaekit.evaluate.summary import mean_or_none

    mean = mean_or_none(distribution)
    return distribution.sample() if mean is None else mean


def _write_lines(lines: list[str], path: Path) -> Path:
    text = "\n".join(lines) + "\n"
    print(text, end="")
    path.write_text(text)
    print(f"written: {path}")
    return path


def _sample_text(args, config, model) -> Path:
    from vaekit.runs import load_vocabulary, report_dir
    from vaekit.viz.text import prior_sentences

    source = "z ~ N(0, I), then p(x|z)" if model.kind == "sentence-vae" else "p(x)"
    lines = [f"{args.num} sentences from {source}: greedy decoding, then a draw"]
    for i, (greedy, sampled) in enumerate(prior_sentences(model, load_vocabulary(args.run_dir), args.num, args.seed)):
        lines += [f"{i + 1:3d} greedy:  {greedy}", f"    sampled: {sampled}"]
    return _write_lines(lines, Path(args.out) if args.out else report_dir(config) / "samples.txt")


def _reconstruct_text(args, config, model) -> Path:
    from vaekit.runs import load_vocabulary, report_dir, test_sentences
    from vaekit.viz.text import reconstructed_sentences

    if not hasattr(model, "encode"):
        raise SystemExit(f"vaekit reconstruct: a {model.kind} has no code to reconstruct from; train a sentence-vae")
    x = test_sentences(config, model).tokens[:args.num]
    lines = ["test sentences and the greedy decoding of p(x | μ(x))"]
    for i, (sentence, decoded) in enumerate(reconstructed_sentences(model, load_vocabulary(args.run_dir), x)):
        lines += [f"{i + 1:3d} data:          {sentence}", f"    reconstructed: {decoded}"]
    return _write_lines(lines, Path(args.out) if args.out else report_dir(config) / "reconstructions.txt")


def _interpolate_text(args, config, model) -> Path:
    from vaekit.runs import load_vocabulary, report_dir, test_sentences
    from vaekit.viz.text import decode_rows, homotopies

    if not hasattr(model, "encode"):
        raise SystemExit(f"vaekit interpolate: a {model.kind} has no code to interpolate; train a sentence-vae")
    vocabulary = load_vocabulary(args.run_dir)
    x = test_sentences(config, model).tokens[:2 * args.pairs]
    first, second = x[0::2], x[1::2]
    lines = [f"greedy decodings along the {args.method} path between the posterior means of two test sentences"]
    paths = homotopies(model, vocabulary, first, second, args.steps, args.method)
    for p, (path, start, end) in enumerate(zip(paths, decode_rows(vocabulary, first), decode_rows(vocabulary, second))):
        lines += ["", f"pair {p + 1}", f"  from: {start}"]
        lines += [f"  {step / (args.steps - 1):.2f}  {sentence}" for step, sentence in enumerate(path)]
        lines += [f"  to:   {end}"]
    return _write_lines(lines, Path(args.out) if args.out else report_dir(config) / "interpolation.txt")


def _report(args) -> None:
    from vaekit.runs import load_run, report_dir
    from vaekit.train.logging import read_metrics
    from vaekit.viz import diagnostic_columns, plot_curves, plot_diagnostics

    config, model = load_run(args.run_dir)
    folder = report_dir(config)
    rows = read_metrics(Path(args.run_dir) / "metrics.csv")
    has_prior = hasattr(model, "prior")
    codes = model.kind not in ("language-model", "gan", "realnvp")  # reconstructions, interpolations need code(x)
    keys = (("nll",) if model.kind in ("language-model", "realnvp")
            else ("discriminator", "generator") if model.kind == "gan"
            else ("elbo", "iwae_bound", "reconstruction", "kl")
            if has_prior else ("reconstruction", "squared_error"))
    print(f"written: {plot_curves(rows, folder / 'loss_curve.png', keys)}")
    if diagnostic_columns(rows):
        print(f"written: {plot_diagnostics(rows, folder / 'diagnostics.png')}")
    _evaluate(args)
    if codes:
        _reconstruct(argparse.Namespace(run_dir=args.run_dir, num=16, out=None))
    if has_prior or model.kind in ("language-model", "realnvp"):
        _sample(argparse.Namespace(run_dir=args.run_dir, num=16, seed=0, out=None))
    if codes:
        _interpolate(argparse.Namespace(run_dir=args.run_dir, pairs=4, steps=10, method="linear", out=None))
    if has_prior and codes and model.input_kind == "images" and model.config.architecture != "pixelcnn":
        _traversals(config, model, folder / "traversals.png")
    if codes and model.input_kind == "images" and model.config.architecture != "pixelcnn":
        _latent_map(config, model, folder / "latent_map.png")
    if args.html:
        from vaekit.viz.html_report import write_run_report

        print(f"written: {write_run_report(args.run_dir)}")


def _traversals(config, model, path: Path) -> Path:
    """Latent traversals from the first test image, one row per dimension, most KL first (for
    posteriors without a per-dimension KL, most variance of the code across images first)."""
    import torch

    from vaekit.evaluate.posterior_statistics import batch_kl
    from vaekit.runs import test_images
    from vaekit.viz import latent_traversal, save_image_grid

    x = test_images(config, model).images[:500]
    with torch.no_grad():
        posterior = model.encode(x)
        _, kl_per_dim = batch_kl(posterior, model.prior())
        spread = posterior.mean.var(0) if kl_per_dim is None else kl_per_dim.mean(0)
        order = spread.argsort(descending=True)[:10].tolist()
        images = latent_traversal(model, posterior.mean[0], order, torch.linspace(-2.5, 2.5, 9))
    ranking = "most KL first" if kl_per_dim is not None else "most code variance first"
    save_image_grid(path, images.flatten(0, 1), columns=9, row_labels=[f"z{d}" for d in order],
                    title=f"latent traversals over [−2.5, 2.5] from one test image (rows: {ranking})")
    print(f"written: {path}")
    return path


def _latent_map(config, model, path: Path) -> Path | None:
    """For 2-D codes only: the test codes by label beside E[x|z] on a 20×20 grid over [−a, a]², a the
    99th percentile of |code| (vaekit.viz.latent_map); None, and nothing drawn, for other code sizes."""
    import torch

    from vaekit.runs import test_images
    from vaekit.viz import latent_grid, save_latent_map

    if model.config.latent_dim != 2:        # the code size of every image model with codes
        return None
    test = test_images(config, model)
    with torch.no_grad():
        codes = model.code(test.images[:2000])                                   # (N, 2)
        limit = float(codes.abs().quantile(0.99))
        grid_images = mean_or_sample(model.decode(latent_grid(20, limit)))       # (400, C, H, W)
    save_latent_map(path, codes, None if test.labels is None else test.labels[:2000], grid_images, limit,
                    prior_circles=hasattr(model, "prior"))
    print(f"written: {path}")
    return path


def _experiment(args) -> None:
    from vaekit.experiments import EXPERIMENTS, run_experiment

    if args.list or args.name is None:
        for name in EXPERIMENTS.names():
            print(f"{name:18} {EXPERIMENTS[name].claim}")
        return
    out = args.out or f"reports/{args.name}{'-quick' if args.quick else ''}"
    report = run_experiment(args.name, out, quick=args.quick, overrides=args.overrides)
    for check in report.checks:
        print(f"[{'held' if check['held'] else 'NOT held'}] {check['claim']}: {check['measured']}")
    print(f"written: {out}/report.md, {out}/report.html, {out}/results.json and {len(report.figures)} figure(s)")


def _serve(args) -> None:
    from vaekit.serve.app import serve

    serve(args.run_dir, host=args.host, port=args.port)


def _presets(args) -> None:
    from vaekit.presets import available_presets, preset_path

    if args.name is None:
        for name, description in available_presets().items():
            print(f"{name:28} {description}")
        return
    path = preset_path(args.name)
    print(f"# {path}\n{path.read_text()}", end="")


def _at_least(minimum: int, maximum: int | None = None):
    """An argparse type: an integer in [minimum, maximum], else argparse's one-line usage error."""
    def integer(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"≥ {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value
    integer.__name__ = "integer"
    return integer


AT_LEAST_ONE = _at_least(1)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (exit status 2) that points to ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vaekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train a model from a preset or a YAML config",
                                description="Train from a preset (see `vaekit presets`) or CONFIG.yaml; "
                                            "key=value pairs override it (e.g. model.latent_dim=2 "
                                            "train.epochs=5 run_dir=runs/x).")
    train.add_argument("config", nargs="?", help="a preset name, e.g. mnist_vae, or a YAML file")
    train.add_argument("overrides", nargs="*", help="section.key=value overrides")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    train.set_defaults(handler=_train)

    def run_command(name: str, help_text: str, handler) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("run_dir", help="a run folder written by `vaekit train`")
        command.add_argument("--out", help="output file (default: RUN_DIR/report/...)")
        command.set_defaults(handler=handler)
        return command

    for name, help_text in (("evaluate", "test ELBO, KL per dimension, active units and importance-sampled "
                                         "log p(x); writes RUN_DIR/report/metrics.json"),
                            ("report", "evaluate and draw every figure (loss curve, reconstructions, "
                                       "samples, interpolation) into RUN_DIR/report; --html: also one "
                                       "self-contained report.html")):
        command = run_command(name, help_text, _evaluate if name == "evaluate" else _report)
        command.add_argument("-k", "--importance-samples", type=int, help="k of the IWAE estimate (default: config)")
        command.add_argument("--max-examples", type=AT_LEAST_ONE, help="evaluate on the first N test images only")
        command.add_argument("--estimator", choices=("is", "ais", "prior"),
                             help="log p(x) by importance sampling with q(z|x), annealed importance sampling "
                                  "(k HMC chains) or naive Monte Carlo from p(z) (default: config)")
        command.add_argument("--ais-steps", type=int, help="T annealing distributions of ais (default: config)")
        command.add_argument("--ais-start", choices=("prior", "posterior"),
                             help="ais: anneal from p(z) (Wu et al. 2017) or from q(z|x) (default: config)")
        command.add_argument("--disentanglement", action="store_true",
                             help="also BetaVAE/FactorVAE scores, MIG, SAP, DCI (automatic for dSprites runs)")
        command.add_argument("--metric-points", type=AT_LEAST_ONE, default=10_000,
                             help="points of MIG, SAP and DCI (disentanglement_lib: 10,000)")
        command.add_argument("--votes", type=AT_LEAST_ONE, default=1_000,
                             help="training votes of the BetaVAE/FactorVAE scores (disentanglement_lib: 10,000)")
        command.add_argument("--sample-quality", action="store_true",
                             help="also FD, precision, recall (digit-classifier features) and sharpness of "
                                  "prior draws, means and samples, with test images as the floor")
        command.add_argument("--sample-quality-n", type=_at_least(2), default=2_000,
                             help="images per set of --sample-quality (default 2000)")
        command.add_argument("overrides", nargs="*", help="section.key=value overrides of the run config")
        if name == "report":
            command.add_argument("--html", action="store_true",
                                 help="also write RUN_DIR/report/report.html: config, curves, metrics and every "
                                      "figure in one self-contained file (images inlined)")

    sample = run_command("sample", "draw from the prior: mean images and pixel samples, or sentences "
                                   "(greedy and sampled decoding)", _sample)
    sample.add_argument("-n", "--num", type=AT_LEAST_ONE, default=16)
    sample.add_argument("--seed", type=int, default=0)
    reconstruct = run_command("reconstruct", "reconstruct test images or sentences", _reconstruct)
    reconstruct.add_argument("-n", "--num", type=AT_LEAST_ONE, default=16)
    interpolate = run_command("interpolate", "decode paths between codes of test images or sentences "
                                             "(homotopies)", _interpolate)
    interpolate.add_argument("--pairs", type=AT_LEAST_ONE, default=4)
    interpolate.add_argument("--steps", type=int, default=10)
    interpolate.add_argument("--method", choices=("linear", "slerp"), default="linear")
    experiment = commands.add_parser(
        "experiment", help="reproduce a claim of the VAE lecture: figures, results.json, report.md, report.html",
        description="Run one experiment of the lecture (see --list) into reports/NAME (or --out). "
                    "key=value pairs override its settings (vaekit/configs/experiments/NAME.yaml), "
                    "e.g. data_root=../shared/data.")
    experiment.add_argument("name", nargs="?", help="experiment name (see --list)")
    experiment.add_argument("overrides", nargs="*", help="key=value overrides of the experiment settings")
    experiment.add_argument("--list", action="store_true", help="list the experiments and their claims")
    experiment.add_argument("--quick", action="store_true", help="small settings that run in a few minutes")
    experiment.add_argument("--out", help="report folder (default reports/NAME)")
    experiment.set_defaults(handler=_experiment)
    presets = commands.add_parser("presets", help="list the presets `vaekit train NAME` takes, or print one",
                                  description="List the YAML presets shipped with vaekit, or print preset NAME "
                                              "(copy it to edit: `vaekit presets NAME > my.yaml`).")
    presets.add_argument("name", nargs="?", help="a preset to print")
    presets.set_defaults(handler=_presets)
    serve = commands.add_parser("serve", help="explore a run's latent space in the browser (local web server)",
                                description="Serve a page to explore an image run: latent map, interpolation, "
                                            "traversals, samples. Binds 127.0.0.1 unless --host says otherwise.")
    serve.add_argument("run_dir", help="a run folder written by `vaekit train` (an image VAE or autoencoder, or a sentence VAE)")
    serve.add_argument("--port", type=_at_least(1, 65535), default=8000)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, strays = parser.parse_known_args(argv)    # key=value after an option (`RUN -k 20 a.b=1`) is an override too
    if strays and (not hasattr(args, "overrides") or any(text.startswith("-") or "=" not in text for text in strays)):
        parser.error(f"unrecognized arguments: {' '.join(strays)}")
    if strays:
        args.overrides = [*args.overrides, *strays]
    warnings.showwarning = lambda message, *_, **__: print(f"vaekit {args.command}: warning: {message}",
                                                           file=sys.stderr)
    try:
        args.handler(args)
    except Exception as error:
        return _failed(args.command, error)
    return 0


def _failed(command: str, error: Exception) -> int:
    """Exit status 2 with one line on stderr for bad input and for sizes too large for this machine;
    any other error is a bug and is raised again. (The error classes are imported here, not at the
    top, so that ``vaekit --help`` and ``vaekit presets`` need no torch.)"""
    from vaekit.config import ConfigError
    from vaekit.data import DataError
    from vaekit.train import CheckpointError, TrainingError
    from vaekit.train.distributed import DistributedError, error_prefix

    if isinstance(error, (ConfigError, DataError, CheckpointError, TrainingError, DistributedError,
                          FileNotFoundError, FileExistsError, ValueError, KeyError)):
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        if error_prefix() is not None:   # None: another rank of a torchrun launch, whose rank 0 says the same
            print(f"vaekit {command}: error: {error_prefix()}{message}", file=sys.stderr)
        return 2
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and "memory" in text):
        if error_prefix() is not None:
            print(f"vaekit {command}: error: {error_prefix()}out of memory ({text}); use smaller sizes or "
                  "batches", file=sys.stderr)
        return 2
    raise error


if __name__ == "__main__":
    sys.exit(main())
