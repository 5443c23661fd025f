"""The explorer's JSON API through FastAPI's TestClient: decodes equal the model's own, bad requests
get a 4xx with a message, a flood is bounded, and nothing outside the page and the run's figures is served."""
from __future__ import annotations

import concurrent.futures
import socket
import warnings

import pytest
import torch

with warnings.catch_warnings():        # starlette's note that httpx will become httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vaekit.cli import build_parser, main
from vaekit.runs import load_run, seeded
from vaekit.runs import test_images as run_test_images
from vaekit.serve.app import MAX_BODY_BYTES, create_app
from vaekit.serve.decode import MAX_BATCH, LatentMap, check_explorable
from vaekit.viz.interpolate import slerp


@pytest.fixture(scope="module")
def vae2(vae2_run):
    assert main(["sample", str(vae2_run), "-n", "4"]) == 0          # report/samples.png: a run figure to serve
    return TestClient(create_app(vae2_run)), load_run(vae2_run)[1]


@pytest.fixture(scope="module")
def vae8(vae8_run):
    return TestClient(create_app(vae8_run)), load_run(vae8_run)[1]


def _means(response) -> torch.Tensor:
    assert response.status_code == 200, response.text
    return torch.tensor(response.json()["means"])


def test_info_of_a_2d_latent_shows_the_codes_as_they_are(vae2, vae2_run):
    client, model = vae2
    info = client.get("/api/info").json()
    config, _ = load_run(vae2_run)
    images = run_test_images(config, model).images
    with torch.no_grad():
        codes = model.code(images)
    assert info["projection"] == "identity" and info["latent_dim"] == 2
    torch.testing.assert_close(torch.tensor(info["points"]), codes, atol=1e-6, rtol=0)
    assert info["prior_circles"] == {"center": [0.0, 0.0], "radii": [1.0, 2.0]}
    assert len(info["labels"]) == len(info["points"]) and info["report_figures"] == ["samples.png"]
    kl = [dimension["kl"] for dimension in info["dimensions"]]
    assert kl == sorted(kl, reverse=True) and not any(d["collapsed"] for d in info["dimensions"])


def test_decode_equals_the_models_decode_of_the_same_latents(vae2):
    client, model = vae2
    latents = [[0.0, 0.0], [1.5, -0.5], [-2.0, 2.0]]
    with torch.no_grad():
        expected = model.decode(torch.tensor(latents)).mean.flatten(1)
    response = client.post("/api/decode", json={"latents": latents})
    torch.testing.assert_close(_means(response), expected, atol=1e-5, rtol=0)
    samples = torch.tensor(response.json()["samples"])
    assert set(samples.unique().tolist()) <= {0.0, 1.0}            # Bernoulli pixel draws


def test_pca_map_inverts_on_its_plane_and_the_prior_center_is_the_projected_origin(vae8):
    client, model = vae8
    info = client.get("/api/info").json()
    assert info["projection"] == "pca" and sum(info["explained_variance"]) <= 1 + 1e-6
    codes = torch.randn(50, 8)
    latent_map = LatentMap.fit(codes)
    points = torch.randn(5, 2)
    torch.testing.assert_close(latent_map.to_map(latent_map.to_latent(points)), points, atol=1e-5, rtol=0)
    torch.testing.assert_close(latent_map.components.T @ latent_map.components, torch.eye(2), atol=1e-5, rtol=0)
    top_eigenvalues = torch.linalg.eigvalsh(torch.cov(codes.T)).flip(0)[:2]           # the plane of most variance
    torch.testing.assert_close(latent_map.points.var(0), top_eigenvalues, atol=1e-4, rtol=1e-4)
    response = client.post("/api/decode", json={"points": [[0.3, -0.2]]})
    latent = torch.tensor(response.json()["latents"])
    assert latent.shape == (1, 8)
    with torch.no_grad():
        torch.testing.assert_close(_means(response), model.decode(latent).mean.flatten(1), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.tensor(response.json()["points"]), torch.tensor([[0.3, -0.2]]),
                               atol=1e-5, rtol=0)


def test_pca_projection_is_sklearns():
    from sklearn.decomposition import PCA

    codes = torch.randn(200, 6) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    latent_map = LatentMap.fit(codes)
    expected = PCA(n_components=2).fit_transform(codes.double().numpy())
    torch.testing.assert_close(latent_map.points.double(), torch.from_numpy(expected), atol=1e-4, rtol=0)


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_walks_the_path_between_two_test_codes(vae2, method):
    client, model = vae2
    start, end = (torch.tensor(client.get(f"/api/images/{i}").json()["latent"]) for i in (3, 7))
    for t in (0.0, 0.25, 1.0):
        response = client.post("/api/interpolate", json={"start": 3, "end": 7, "t": t, "method": method})
        expected = (1 - t) * start + t * end if method == "linear" else slerp(start, end, torch.tensor([t]))[0]
        torch.testing.assert_close(torch.tensor(response.json()["latents"][0]), expected, atol=1e-5, rtol=0)
    with torch.no_grad():
        torch.testing.assert_close(_means(client.post("/api/interpolate", json={"start": 3, "end": 7, "t": 1.0})),
                                   model.decode(end[None]).mean.flatten(1), atol=1e-5, rtol=0)


def test_samples_are_prior_draws_reproducible_by_seed(vae2):
    client, model = vae2
    first = client.post("/api/samples", json={"num": 6, "seed": 5}).json()
    again = client.post("/api/samples", json={"num": 6, "seed": 5}).json()
    other = client.post("/api/samples", json={"num": 6, "seed": 6}).json()
    expected = model.sample_latents(6, generator=seeded(5))
    torch.testing.assert_close(torch.tensor(first["latents"]), expected)
    assert first["means"] == again["means"] and first["means"] != other["means"]
    assert len(first["samples"]) == 6


def test_test_image_endpoint_returns_the_pixels_and_code(vae2, vae2_run):
    client, model = vae2
    config, _ = load_run(vae2_run)
    data = run_test_images(config, model)
    image = client.get("/api/images/4").json()
    torch.testing.assert_close(torch.tensor(image["pixels"]), data.images[4].flatten())
    assert image["label"] == int(data.labels[4])


BAD_REQUESTS = [
    ("post", "/api/decode", {"latents": [[0.0]]}, 422, "expected 2 numbers"),
    ("post", "/api/decode", {"latents": [[0.0, 0.0, 0.0]]}, 422, "expected 2 numbers"),
    ("post", "/api/decode", {"latents": [[1e7, 0.0]]}, 422, "|z| must be"),
    ("post", "/api/decode", {"latents": [[-2e6, 0.0]]}, 422, "|z| must be"),
    ("post", "/api/decode", {"latents": [["a", 0.0]]}, 422, "expected a number"),
    ("post", "/api/decode", {"latents": [[True, 0.0]]}, 422, "expected a number"),
    ("post", "/api/decode", {"latents": []}, 422, "non-empty list"),
    ("post", "/api/decode", {"latents": [0.0, 0.0]}, 422, "expected 2 numbers"),
    ("post", "/api/decode", {"latents": [[0.0, 0.0]] * (MAX_BATCH + 1)}, 422, "at most"),
    ("post", "/api/decode", {}, 422, "exactly one of"),
    ("post", "/api/decode", {"latents": [[0, 0]], "points": [[0, 0]]}, 422, "exactly one of"),
    ("post", "/api/decode", {"points": [[0.0, 1.0, 2.0]]}, 422, "expected 2 numbers"),
    ("post", "/api/decode", {"latent": [[0.0, 0.0]]}, 422, "extra"),
    ("post", "/api/interpolate", {"start": 0, "end": 10 ** 6, "t": 0.5}, 404, "not on the map"),
    ("post", "/api/interpolate", {"start": -1, "end": 1, "t": 0.5}, 404, "not on the map"),
    ("post", "/api/interpolate", {"start": 0, "end": 1, "t": 1.5}, 422, "t must be in [0, 1]"),
    ("post", "/api/interpolate", {"start": 0, "end": 1, "t": 0.5, "method": "cubic"}, 422, "linear' or 'slerp"),
    ("post", "/api/interpolate", {"start": "zero", "end": 1, "t": 0.5}, 422, "integer"),
    ("post", "/api/samples", {"num": 0}, 422, "num must be in 1..64"),
    ("post", "/api/samples", {"num": 100000}, 422, "num must be in 1..64"),
    ("get", "/api/images/99999", None, 404, "not on the map"),
    ("get", "/api/images/-3", None, 404, "not on the map"),
    ("get", "/api/images/abc", None, 422, "integer"),
]


@pytest.mark.parametrize("method, path, body, status, message", BAD_REQUESTS,
                         ids=[f"{path} {body}"[:60] for _, path, body, _, _ in BAD_REQUESTS])
def test_bad_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(vae2, method, path, body, status, message):
    client, _ = vae2
    response = getattr(client, method)(path, **({} if body is None else {"json": body}))
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])
    assert client.get("/api/info").status_code == 200


@pytest.mark.parametrize("body", [b'{"latents": [[NaN, 0]]}', b'{"latents": [[0, Infinity]]}',
                                  b'{"latents": [[-Infinity, 0]]}'])
def test_non_finite_latents_are_refused(vae2, body):
    client, _ = vae2
    response = client.post("/api/decode", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "finite" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_malformed_bodies_are_refused(vae2, body):
    client, _ = vae2
    response = client.post("/api/decode", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_an_oversized_body_is_refused_before_parsing(vae2):
    client, _ = vae2
    response = client.post("/api/decode", content=b" " * (MAX_BODY_BYTES + 1),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "bytes" in response.json()["detail"]


def test_a_flood_is_bounded_with_503_and_the_server_recovers(vae2_run):
    client = TestClient(create_app(vae2_run, max_concurrent=1))
    slots = client.app.state.decode_slots
    assert slots.acquire(blocking=False)                        # one decode in flight: the next one is refused
    busy = client.post("/api/decode", json={"latents": [[0.0, 0.0]]})
    slots.release()
    assert busy.status_code == 503 and "busy" in busy.json()["detail"] and busy.headers["retry-after"] == "1"
    body = {"latents": [[0.1, 0.2]] * MAX_BATCH}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: client.post("/api/decode", json=body).status_code, range(64)))
    assert set(statuses) <= {200, 503} and 200 in statuses
    assert client.post("/api/decode", json={"latents": [[0.0, 0.0]]}).status_code == 200


TRAVERSALS = ["/static/../../config.yaml", "/static/..%2F..%2Fconfig.yaml", "/static/%2e%2e/%2e%2e/config.yaml",
              "/static/%252e%252e%252fconfig.yaml", "/static/..%5C..%5Cconfig.yaml", "/report/..%2Fconfig.yaml",
              "/report/../config.yaml", "/report/%2e%2e%2fcheckpoint%2fmodel.safetensors", "/config.yaml",
              "/checkpoint/model.safetensors", "/static/", "/static/index.html/../../config.yaml",
              "/report/..%2f..%2fetc%2fpasswd", "/static//etc/passwd"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_page_and_the_run_figures_is_served(vae2, path):
    client, _ = vae2
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"run_dir" not in response.content and b"root:" not in response.content


def test_the_page_its_files_and_the_run_figures_are_served(vae2):
    client, _ = vae2
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "https://" not in page.text   # no CDN
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert "https://" not in response.text and "http://" not in response.text.replace(
            "http://www.w3.org/2000/svg", "")
    figure = client.get("/report/samples.png")
    assert figure.status_code == 200 and figure.content[:4] == b"\x89PNG"


def test_an_autoencoder_has_the_map_without_prior_circles_or_samples(autoencoder_run):
    client = TestClient(create_app(autoencoder_run))
    info = client.get("/api/info").json()
    assert (info["kind"], info["model_kind"]) == ("image", "autoencoder") and info["prior_circles"] is None and not info["has_prior"]
    assert all(d["kl"] is None for d in info["dimensions"])
    variances = [d["variance"] for d in info["dimensions"]]
    assert variances == sorted(variances, reverse=True)
    assert client.post("/api/decode", json={"points": [[0.0, 0.0]]}).status_code == 200
    response = client.post("/api/samples", json={"num": 2})
    assert response.status_code == 409 and "no prior" in response.json()["detail"]


@pytest.mark.parametrize("kind", ["gan", "language-model"])
def test_models_without_an_image_code_are_refused_by_name(kind):
    from vaekit.config import ModelConfig
    from vaekit.models import MODELS

    fields = ({"vocab_size": 10, "architecture": "lstm"} if kind == "language-model"
              else {"image_shape": (1, 8, 8), "likelihood": "none"})
    model = MODELS[kind](ModelConfig(kind=kind, **fields))
    with pytest.raises(ValueError, match=kind if kind == "gan" else "sentences"):
        check_explorable(model)


def test_serve_binds_this_machine_only_by_default():
    args = build_parser().parse_args(["serve", "runs/x"])
    assert (args.host, args.port, args.run_dir) == ("127.0.0.1", 8000, "runs/x")


def test_serve_refuses_a_folder_that_is_not_a_run_with_a_message(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_serve_on_a_port_in_use_or_a_foreign_address_says_so_in_one_line(vae2_run, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(vae2_run), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", str(vae2_run), "--host", "192.0.2.1", "--port", str(port)]) == 2   # TEST-NET-1: not ours
    assert "cannot listen on 192.0.2.1" in capsys.readouterr().err
    assert main(["serve", str(vae2_run), "--host", "no-such-host.invalid"]) == 2
    assert "--host no-such-host.invalid" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", str(vae2_run), "--port", "70000"])
    assert "--port: must be between 1 and 65535, got 70000" in capsys.readouterr().err
