"""The HTML run report: one self-contained file, every user string escaped, what a run lacks named."""
import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from html_checks import assert_self_contained
from vaekit.cli import main
from vaekit.viz import diagnostic_columns, plot_curves, plot_diagnostics, save_image_grid
from vaekit.viz.html_page import png_figure, table
from vaekit.viz.html_report import write_run_report

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
HOSTILE = "<script>alert('x')</script>"
ROWS = [{"epoch": 1.0, "train_elbo": -40.5, "valid_elbo": -38.25, "valid_active_units": 2.0,
         "valid_mutual_information": 0.5, "valid_kl_d00": 0.1, "valid_kl_d01": 0.7},
        {"epoch": 2.0, "train_elbo": -35.5, "valid_elbo": -33.125, "valid_active_units": 3.0,
         "valid_mutual_information": 0.75, "valid_kl_d00": 0.2, "valid_kl_d01": 0.9}]


def make_run(folder: Path, rows=ROWS) -> Path:
    """A run folder written by hand: a config with hostile strings, metrics, two figures and one text file."""
    (folder / "report").mkdir(parents=True)
    config = {"data": {"name": HOSTILE}, "model": {"kind": "vae", "hidden": [32, 16]},
              "train": {"lr": 0.002, "grad_clip": None, "progress": False}, "run_dir": str(folder)}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with open(folder / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    metrics = {"dataset": HOSTILE, "elbo": -31.312997, "nll": 30.785828, "active_units": 5,
               "kl_per_dimension": [0.25, 0.5], "disentanglement": {"mig": 0.125}}
    (folder / "report" / "metrics.json").write_text(json.dumps(metrics))
    plot_curves(rows, folder / "report" / "loss_curve.png", ("elbo",))
    save_image_grid(folder / "report" / "samples.png", torch.rand(4, 1, 8, 8), columns=4)
    (folder / "report" / "reconstructions.txt").write_text("data: <b>the cat</b> & a dog\n")
    return folder


def test_a_run_report_inlines_figures_and_escapes_every_user_string(tmp_path):
    path = write_run_report(make_run(tmp_path / "run"))
    assert path == tmp_path / "run" / "report" / "report.html"
    page = assert_self_contained(path)
    raw = path.read_text()
    assert "<script>" not in raw and "<b>" not in raw and "&lt;script&gt;" in raw
    assert HOSTILE in page.text and "data: <b>the cat</b> & a dog" in page.text        # shown as text
    assert len(page.images()) == 2                                          # loss curve, samples
    assert ("pre", {}) in page.tags
    for shown in ("-31.313", "30.7858", "[0.25, 0.5]", "disentanglement.mig", "0.125",      # metrics.json
                  "model.hidden", "[32, 16]", "train.lr", "0.002", "train.grad_clip", "null", "false",  # config
                  "-33.125"):                                               # last epoch of metrics.csv
        assert shown in page.text, shown
    assert "Not drawn for this run (model.kind=vae): interpolation, latent traversals." in page.text


def test_a_run_without_metrics_or_figures_still_gets_a_page_that_says_so(tmp_path):
    folder = make_run(tmp_path / "run", rows=[{"epoch": 1.0, "train_elbo": -3.0}])
    for name in ("metrics.json", "loss_curve.png", "samples.png", "reconstructions.txt"):
        (folder / "report" / name).unlink()
    page = assert_self_contained(write_run_report(folder))
    assert page.images() == []
    assert "No metrics.json" in page.text and "Not in metrics.csv: active units" in page.text
    assert "samples, reconstructions, interpolation, latent traversals" in page.text


def test_diagnostics_are_the_panels_metrics_csv_has_columns_for(tmp_path):
    assert list(diagnostic_columns(ROWS).values()) == [["valid_active_units"], ["valid_mutual_information"],
                                                       ["valid_kl_d00", "valid_kl_d01"]]
    gan = [{"epoch": 1.0, "valid_real_score": 0.7, "valid_fake_score": 0.3}]
    assert list(diagnostic_columns(gan).values()) == [["valid_real_score", "valid_fake_score"]]
    assert plot_diagnostics(ROWS, tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no diagnostic columns"):
        plot_diagnostics([{"epoch": 1.0, "train_elbo": -3.0}], tmp_path / "unused.png")


def test_blocks_escape_cells_and_refuse_a_file_that_is_not_a_png(tmp_path):
    assert "<td>&lt;i&gt;</td>" in table(["a"], [["<i>"]])
    (tmp_path / "fake.png").write_text("<svg onload=alert(1)>")
    with pytest.raises(ValueError, match="not a PNG"):
        png_figure(tmp_path / "fake.png", "caption")


TINY = ["train.epochs=2", "train.progress=false", "model.hidden=[32]", "model.latent_dim=3"]
KINDS = {   # name → preset, overrides, the images of the page (loss curve first), what is named as missing
    "vae": ("digits_vae", [], 6, None),
    "autoencoder": ("digits_vae", ["model.kind=autoencoder", "objective.name=reconstruction",
                                   "model.likelihood=gaussian"], 3, "samples, latent traversals"),
    "gan": ("mnist_gan", ["data.name=digits", "model.conv_channels=[8]"], 3,
            "reconstructions, interpolation, latent traversals"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_report_html_of_a_trained_run_is_one_self_contained_file(kind, tmp_path):
    preset, overrides, num_images, missing = KINDS[kind]
    run = tmp_path / f"run-{HOSTILE.replace('/', '')}"                     # a hostile run name in the title
    assert main(["train", str(CONFIGS / f"{preset}.yaml"), f"run_dir={run}", *TINY, *overrides]) == 0
    assert main(["report", str(run), "-k", "4", "--max-examples", "20", "--html"]) == 0
    assert [p.name for p in (run / "report").iterdir() if p.suffix in (".html", ".css", ".js")] == ["report.html"]
    page = assert_self_contained(run / "report" / "report.html")
    assert f"vaekit report: {run.name}" in page.text and "<script>" not in (run / "report" / "report.html").read_text()
    assert len(page.images()) == num_images
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    for key, value in metrics.items():
        if not isinstance(value, (list, dict)):
            assert (f"{value:.6g}" if isinstance(value, float) else str(value)) in page.text, key
    raw = (run / "report" / "report.html").read_text()
    for key, value in (("model.kind", kind), ("model.hidden", "[32]"), ("train.epochs", "2"),
                       ("model.latent_dim", "3")):                         # the config table's rows
        assert f"<td>{key}</td><td>{value}</td>" in raw, key
    if missing:
        assert f"Not drawn for this run (model.kind={kind}): {missing}." in page.text
