"""``vaekit serve RUN_DIR``: a FastAPI app around one trained run, image or text, and the page that explores it.

Routes: ``/`` (the page) and ``/static/{name}`` (its script and style, from the package), the run's
report figures ``/report/{name}.png``, and a JSON API: ``/api/info`` (``kind`` "image" or "text", map,
prior circles, dimensions by KL; a text run adds its test sentences and their lengths), a test input
and its code ``/api/images/{index}`` or ``/api/sentences/{index}``, and the decodes ``/api/decode``,
``/api/interpolate`` (one point of a path), ``/api/homotopy`` (evenly spaced points of it, Bowman et al.
2016 §5.2) and ``/api/samples``. A decode returns ``means`` and ``samples`` as pixels for an image run,
``greedy`` and ``sampled`` sentences (strings, ≤ MAX_LENGTH tokens) for a text run. Every file served is
named in a table built at start-up, so no request path reaches anything else in the run folder. Decodes
run under ``torch.no_grad()``, at most ``max_concurrent`` at a time; the rest get 503 at once instead of
queueing without bound.
"""
from __future__ import annotations

import contextlib
import errno
import socket
import threading
from importlib import resources
from pathlib import Path

import torch
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from vaekit.data.text import MAX_LENGTH
from vaekit.runs import load_run, seeded, test_images, test_sentences
from vaekit.serve.decode import (MAX_BATCH, MAX_SENTENCE_BATCH, LatentError, LatentMap, check_explorable,
                                 check_latents, decode_images, decode_sentences, dimension_ranking, path_points)

STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
MAX_BODY_BYTES = 1 << 20


class DecodeRequest(BaseModel):
    """Exactly one of ``latents`` (B, D) or map ``points`` (B, 2)."""
    model_config = ConfigDict(extra="forbid")
    latents: list | None = None
    points: list | None = None


class InterpolateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int
    end: int
    t: float
    method: str = "linear"


class HomotopyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int
    end: int
    steps: int = 7
    method: str = "linear"


class SamplesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    num: int = 8
    seed: int = 0


def _pixels(images: torch.Tensor) -> list[list[float]]:
    """(B, C, H, W) in [0, 1] → B flat lists, channel-major, 6 decimals."""
    return [[round(v, 6) for v in image.flatten().tolist()] for image in images]


def _static_files() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("vaekit.serve") / "static"
    return {entry.name: (entry.read_bytes(), STATIC_TYPES[Path(entry.name).suffix])
            for entry in folder.iterdir() if Path(entry.name).suffix in STATIC_TYPES}


def create_app(run_dir: str | Path, max_points: int = 2000, max_concurrent: int = 2) -> FastAPI:
    """The explorer of the image or text run in ``run_dir`` (weights through ``load_run``: safetensors,
    SHA-256 checked); the map shows the codes of the first ``max_points`` test images or sentences."""
    config, model = load_run(run_dir)
    check_explorable(model)
    model.eval()
    text = model.input_kind == "tokens"
    if text:
        data = test_sentences(config, model)
        inputs = data.tokens[:max_points]                                            # (N, T)
        shown = {"image_shape": None, "sentences": data.sentences()[:max_points],
                 "lengths": (data.lengths[:max_points] - 1).tolist()}               # words, <eos> not counted
        labels, max_batch = None, MAX_SENTENCE_BATCH
    else:
        data = test_images(config, model)
        inputs = data.images[:max_points]                                            # (N, C, H, W)
        shown = {"image_shape": list(model.image_shape), "sentences": None, "lengths": None}
        labels = None if data.labels is None else data.labels[:max_points].tolist()
        max_batch = MAX_BATCH
    with torch.no_grad():
        latent_map = LatentMap.fit(model.code(inputs))
    dimensions = dimension_ranking(model, inputs)
    standard_prior = hasattr(model, "prior") and model.config.prior == "standard"
    latent_dim = model.config.latent_dim
    static = _static_files()
    report = {path.name: path for path in (Path(run_dir) / "report").glob("*.png")}
    slots = threading.BoundedSemaphore(max_concurrent)

    app = FastAPI(title="vaekit explorer", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.decode_slots = slots

    @app.exception_handler(LatentError)
    def _latent_error(request: Request, error: LatentError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):
        if request.method == "POST" and "content-length" not in request.headers:   # chunked: size unknown
            return JSONResponse({"detail": "a request body needs a Content-Length"}, status_code=411)
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes or of bad length"},
                                status_code=413)
        return await call_next(request)

    @contextlib.contextmanager
    def decode_slot():
        if not slots.acquire(blocking=False):
            raise HTTPException(503, f"busy: {max_concurrent} decodes in flight; retry shortly",
                                headers={"Retry-After": "1"})
        try:
            yield
        finally:
            slots.release()

    def decoded(latents: torch.Tensor) -> dict:
        with decode_slot():
            if text:
                decodes = decode_sentences(model, data.vocabulary, latents)
            else:
                means, samples = decode_images(model, latents)
                decodes = {"means": _pixels(means), "samples": _pixels(samples)}
        return {"latents": latents.tolist(), "points": latent_map.to_map(latents).tolist(), **decodes}

    def test_index(index: int) -> int:
        if not 0 <= index < len(inputs):
            what = "sentence" if text else "image"
            raise HTTPException(404, f"{what} index {index} is not on the map: it holds 0..{len(inputs) - 1}")
        return index

    def code_path(start: int, end: int, times: list[float], method: str) -> torch.Tensor:
        return path_points(latent_map.codes[test_index(start)], latent_map.codes[test_index(end)], times, method)

    @app.get("/")
    def page() -> Response:
        content, media_type = static["index.html"]
        return Response(content, media_type=media_type)

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            raise HTTPException(404, f"no static file {name!r}")
        content, media_type = static[name]
        return Response(content, media_type=media_type)

    @app.get("/report/{name}")
    def report_figure(name: str) -> FileResponse:
        if name not in report:
            raise HTTPException(404, f"no report figure {name!r}; the run has {sorted(report) or 'none'}")
        return FileResponse(report[name], media_type="image/png")

    @app.get("/api/info")
    def info() -> dict:
        origin = latent_map.to_map(torch.zeros(1, latent_dim))[0].tolist()
        return {"run_dir": str(run_dir), "kind": "text" if text else "image", "model_kind": model.kind,
                "dataset": config.data.name, "latent_dim": latent_dim, **shown,
                "projection": latent_map.projection, "explained_variance": list(latent_map.explained_variance),
                "points": latent_map.points.tolist(), "labels": labels,
                "prior_circles": {"center": origin, "radii": [1.0, 2.0]} if standard_prior else None,
                "dimensions": dimensions, "has_prior": hasattr(model, "prior"), "max_batch": max_batch,
                "max_length": MAX_LENGTH if text else None, "report_figures": sorted(report)}

    @app.get("/api/images/{index}")
    def test_image(index: int) -> dict:
        if text:
            raise HTTPException(404, f"a text run has no test images; its test sentences are /api/sentences/{index}")
        index = test_index(index)
        return {"index": index, "label": None if labels is None else labels[index],
                "pixels": _pixels(inputs[index:index + 1])[0], "latent": latent_map.codes[index].tolist(),
                "point": latent_map.points[index].tolist()}

    @app.get("/api/sentences/{index}")
    def test_sentence(index: int) -> dict:
        if not text:
            raise HTTPException(404, f"an image run has no test sentences; its test images are /api/images/{index}")
        index = test_index(index)
        return {"index": index, "sentence": shown["sentences"][index], "length": shown["lengths"][index],
                "latent": latent_map.codes[index].tolist(), "point": latent_map.points[index].tolist()}

    @app.post("/api/decode")
    def decode(request: DecodeRequest) -> dict:
        if (request.latents is None) == (request.points is None):
            raise LatentError("give exactly one of 'latents' (B × latent_dim) or 'points' (B × 2 map positions)")
        if request.latents is not None:
            return decoded(check_latents(request.latents, latent_dim, "latents", max_batch))
        return decoded(latent_map.to_latent(check_latents(request.points, 2, "points", max_batch)))

    @app.post("/api/interpolate")
    def interpolate(request: InterpolateRequest) -> dict:
        if not 0.0 <= request.t <= 1.0:
            raise LatentError(f"t must be in [0, 1], got {request.t}")
        return decoded(code_path(request.start, request.end, [request.t], request.method))

    @app.post("/api/homotopy")
    def homotopy(request: HomotopyRequest) -> dict:
        if not 2 <= request.steps <= max_batch:
            raise LatentError(f"steps must be in 2..{max_batch}, got {request.steps}")
        times = torch.linspace(0, 1, request.steps).tolist()
        return {"t": times, **decoded(code_path(request.start, request.end, times, request.method))}

    @app.post("/api/samples")
    def samples(request: SamplesRequest) -> dict:
        if not hasattr(model, "sample_latents"):
            raise HTTPException(409, f"model.kind={model.kind} has no prior to sample from")
        most = min(64, max_batch)
        if not 1 <= request.num <= most:
            raise LatentError(f"num must be in 1..{most}, got {request.num}")
        return decoded(model.sample_latents(request.num, generator=seeded(request.seed)))

    return app


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build the app, bind ``host:port`` (a ``ValueError`` in one line if it cannot: in use, not an
    address of this machine), print the URL and serve until interrupted."""
    import uvicorn

    app = create_app(run_dir)
    listening = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host                       # an IPv6 address in a URL
    print(f"vaekit serve: exploring {run_dir} at http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, for uvicorn to serve on."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise ValueError(f"--host {host}: not an address or host name this machine can resolve ({error.strerror})") from None
    listening = socket.socket(family, kind, protocol)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as error:
        listening.close()
        advice = ("another program listens there: stop it or choose another --port" if error.errno == errno.EADDRINUSE
                  else "choose another --host or --port")
        raise ValueError(f"cannot listen on {host}:{port}: {error.strerror}; {advice}") from None
    listening.listen(128)
    return listening
