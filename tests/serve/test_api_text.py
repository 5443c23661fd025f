"""The explorer's JSON API on a text run (sentence VAE): the map holds the test sentences' posterior means,
decodes return the sentences the library decodes (``vaekit.viz.text``), a homotopy is the CLI's, and bad
requests get a 4xx with a message."""
from __future__ import annotations

import warnings

import pytest
import torch

with warnings.catch_warnings():        # starlette's note that httpx will become httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from vaekit.data.text import MAX_LENGTH, SPECIALS, Vocabulary
from vaekit.distributions.autoregressive_text import AutoregressiveText
from vaekit.runs import load_run, load_vocabulary
from vaekit.runs import test_sentences as run_test_sentences
from vaekit.serve.app import create_app
from vaekit.serve.decode import MAX_SENTENCE_BATCH, LatentMap, decode_sentences
from vaekit.viz.text import decode_rows, homotopies, prior_sentences


@pytest.fixture(scope="module")
def text_run(sentence_vae_run):
    config, model = load_run(sentence_vae_run)
    model.eval()
    return TestClient(create_app(sentence_vae_run)), model, run_test_sentences(config, model)


def _greedy(model, vocabulary, latents) -> list[str]:
    """The library's greedy decoding of p(x|z) for latents (B, D)."""
    with torch.no_grad():
        return decode_rows(vocabulary, model.decode(torch.as_tensor(latents)).greedy())


def _ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_info_maps_the_test_sentences_posterior_means(text_run):
    client, model, data = text_run
    info = _ok(client.get("/api/info"))
    assert (info["kind"], info["model_kind"], info["latent_dim"]) == ("text", "sentence-vae", 4)
    assert info["image_shape"] is None and info["labels"] is None and info["projection"] == "pca"
    assert info["sentences"] == data.sentences() and len(info["points"]) == len(data) == 40
    assert info["lengths"] == [len(sentence.split()) for sentence in data.sentences()]
    assert (info["max_batch"], info["max_length"]) == (MAX_SENTENCE_BATCH, MAX_LENGTH)
    with torch.no_grad():
        codes = model.encode(data.tokens).mean                                        # (N, 4)
    torch.testing.assert_close(torch.tensor(info["points"]), LatentMap.fit(codes).points, atol=1e-5, rtol=0)
    kl = [dimension["kl"] for dimension in info["dimensions"]]
    assert kl == sorted(kl, reverse=True) and not any(d["collapsed"] for d in info["dimensions"])


def test_a_test_sentence_comes_with_its_posterior_mean(text_run):
    client, model, data = text_run
    sentence = _ok(client.get("/api/sentences/5"))
    assert sentence["sentence"] == data.sentences()[5] and sentence["length"] == len(sentence["sentence"].split())
    with torch.no_grad():
        torch.testing.assert_close(torch.tensor(sentence["latent"]), model.code(data.tokens[5:6])[0],
                                   atol=1e-5, rtol=0)


def test_decode_returns_the_librarys_greedy_sentence_of_the_same_latent(text_run):
    client, model, data = text_run
    latents = [[0.0, 0.0, 0.0, 0.0], [1.5, -0.5, 0.3, 2.0], [-2.0, 2.0, -1.0, 0.5]]
    decoded = _ok(client.post("/api/decode", json={"latents": latents}))
    assert decoded["greedy"] == _greedy(model, data.vocabulary, latents)
    assert len(set(decoded["greedy"])) > 1                                       # the code is used
    words = set(data.vocabulary.words)
    assert all(set(sentence.split()) <= words for sentence in decoded["sampled"]) and len(decoded["sampled"]) == 3
    assert decoded["truncated"] == [False] * 3
    on_map = _ok(client.post("/api/decode", json={"points": [[0.4, -0.3]]}))
    assert on_map["greedy"] == _greedy(model, data.vocabulary, on_map["latents"])


class _RepeatingDecoder:
    """A RecurrentDecoder stand-in whose every step puts all mass on the word of id 4: never <eos>."""

    def step(self, z, token, state):
        logits = torch.full((len(z), 5), -1e9)
        logits[:, 4] = 0.0
        return logits, state


class _RepeatingModel:
    def decode(self, latents):
        return AutoregressiveText(_RepeatingDecoder(), latents)


def test_a_sentence_without_eos_stops_at_the_length_bound_and_says_so():
    decoded = decode_sentences(_RepeatingModel(), Vocabulary(SPECIALS + ("word",)), torch.zeros(2, 3))
    assert decoded["greedy"] == decoded["sampled"] == [" ".join(["word"] * MAX_LENGTH)] * 2
    assert decoded["truncated"] == [True, True]


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_the_homotopy_is_the_clis_and_its_ends_decode_the_two_sentences_means(text_run, sentence_vae_run, method):
    client, model, data = text_run
    vocabulary = load_vocabulary(sentence_vae_run)
    path = _ok(client.post("/api/homotopy", json={"start": 0, "end": 1, "steps": 5, "method": method}))
    assert path["t"] == [0.0, 0.25, 0.5, 0.75, 1.0] and len(path["sampled"]) == 5
    with torch.no_grad():
        means = model.code(data.tokens[:2])                                            # (2, D)
    assert path["greedy"][0] == _greedy(model, vocabulary, means[:1])[0]
    assert path["greedy"][-1] == _greedy(model, vocabulary, means[1:])[0]
    assert path["greedy"] == homotopies(model, vocabulary, data.tokens[:1], data.tokens[1:2], 5, method)[0]
    assert path["greedy"][0] != path["greedy"][-1]
    for t, index in ((0.0, 0), (1.0, -1)):                        # the slider's ends are the list's ends
        point = _ok(client.post("/api/interpolate", json={"start": 0, "end": 1, "t": t, "method": method}))
        assert point["greedy"] == [path["greedy"][index]]


def test_samples_are_the_librarys_prior_sentences_reproducible_by_seed(text_run, sentence_vae_run):
    client, model, _ = text_run
    first = _ok(client.post("/api/samples", json={"num": 6, "seed": 3}))
    again = _ok(client.post("/api/samples", json={"num": 6, "seed": 3}))
    expected = prior_sentences(model, load_vocabulary(sentence_vae_run), 6, seed=3)
    assert first["greedy"] == again["greedy"] == [greedy for greedy, _ in expected]
    assert len(first["sampled"]) == 6 and first["latents"] == again["latents"]


BAD_REQUESTS = [
    ("post", "/api/decode", {"latents": [[0.0, 0.0]]}, 422, "expected 4 numbers"),
    ("post", "/api/decode", {"latents": [[0.0] * 5]}, 422, "expected 4 numbers"),
    ("post", "/api/decode", {"latents": [[1e7, 0.0, 0.0, 0.0]]}, 422, "|z| must be"),
    ("post", "/api/decode", {"latents": [["the", 0.0, 0.0, 0.0]]}, 422, "expected a number"),
    ("post", "/api/decode", {"latents": [[0.0] * 4] * (MAX_SENTENCE_BATCH + 1)}, 422, "at most 32"),
    ("post", "/api/decode", {"points": [[0.0, 0.0]] * (MAX_SENTENCE_BATCH + 1)}, 422, "at most 32"),
    ("post", "/api/decode", {"sentence": "the cat"}, 422, "extra"),
    ("post", "/api/homotopy", {"start": 0, "end": 1, "steps": 1}, 422, "steps must be in 2..32"),
    ("post", "/api/homotopy", {"start": 0, "end": 1, "steps": 10 ** 6}, 422, "steps must be in 2..32"),
    ("post", "/api/homotopy", {"start": 0, "end": 40}, 404, "sentence index 40 is not on the map"),
    ("post", "/api/homotopy", {"start": 0, "end": 1, "method": "cubic"}, 422, "linear' or 'slerp"),
    ("post", "/api/interpolate", {"start": 0, "end": 1, "t": -0.1}, 422, "t must be in [0, 1]"),
    ("post", "/api/samples", {"num": 33}, 422, "num must be in 1..32"),
    ("get", "/api/sentences/40", None, 404, "not on the map"),
    ("get", "/api/sentences/x", None, 422, "integer"),
    ("get", "/api/images/0", None, 404, "a text run has no test images"),
]


@pytest.mark.parametrize("method, path, body, status, message", BAD_REQUESTS,
                         ids=[f"{path} {body}"[:60] for _, path, body, _, _ in BAD_REQUESTS])
def test_bad_requests_get_a_4xx_with_a_message(text_run, method, path, body, status, message):
    client, _, _ = text_run
    response = getattr(client, method)(path, **({} if body is None else {"json": body}))
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])
    assert client.get("/api/info").status_code == 200


@pytest.mark.parametrize("body", [b'{"latents": [[NaN, 0, 0, 0]]}', b'{"latents": [[0, 0, Infinity, 0]]}',
                                  b"{not json", b"", b'"the cat"'])
def test_non_finite_or_malformed_bodies_are_refused(text_run, body):
    client, _, _ = text_run
    response = client.post("/api/decode", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_an_image_run_has_no_sentences(vae2_run):
    client = TestClient(create_app(vae2_run))
    assert client.get("/api/info").json()["kind"] == "image"
    response = client.get("/api/sentences/0")
    assert response.status_code == 404 and "no test sentences" in response.json()["detail"]
