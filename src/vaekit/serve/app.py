"""``vaekit serve RUN_DIR``: a FastAPI app around one trained image run, and the page that explores it.

Routes: ``/`` (the page) and ``/static/{name}`` (its script and style, from the package), the run's
report figures ``/report/{name}.png``, and a JSON API: ``/api/info`` (map, prior circles,
dimensions by KL), ``/api/images/{index}``, and the decodes ``/api/decode``, ``/api/interpolate``,
``/api/samples``. Every file served is named in a table built at start-up, so no request path
reaches anything else in the run folder. Decodes run under ``torch.no_grad()``, at most
``max_concurrent`` at a time; the rest get 503 at once instead of queueing without bound.
"""
from __future__ import annotations

import contextlib
import threading
from importlib import resources
from pathlib import Path

import torch
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from vaekit.runs import load_run, seeded, test_images
from vaekit.serve.decode import (MAX_BATCH, LatentError, LatentMap, check_explorable, check_latents, decode_images,
                                 dimension_ranking, path_point)

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
    """The explorer of the image run in ``run_dir`` (weights through ``load_run``: safetensors, SHA-256 checked)."""
    config, model = load_run(run_dir)
    check_explorable(model)
    model.eval()
    data = test_images(config, model)
    images = data.images[:max_points]                                                # (N, C, H, W)
    labels = None if data.labels is None else data.labels[:max_points].tolist()
    with torch.no_grad():
        latent_map = LatentMap.fit(model.code(images))
    dimensions = dimension_ranking(model, images)
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
            means, samples = decode_images(model, latents)
        return {"latents": latents.tolist(), "points": latent_map.to_map(latents).tolist(),
                "means": _pixels(means), "samples": _pixels(samples)}

    def image_index(index: int) -> int:
        if not 0 <= index < len(images):
            raise HTTPException(404, f"image index {index} is not on the map: it holds 0..{len(images) - 1}")
        return index

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
        return {"run_dir": str(run_dir), "kind": model.kind, "dataset": config.data.name,
                "latent_dim": latent_dim, "image_shape": list(model.image_shape),
                "projection": latent_map.projection, "explained_variance": list(latent_map.explained_variance),
                "points": latent_map.points.tolist(), "labels": labels,
                "prior_circles": {"center": origin, "radii": [1.0, 2.0]} if standard_prior else None,
                "dimensions": dimensions, "has_prior": hasattr(model, "prior"), "max_batch": MAX_BATCH,
                "report_figures": sorted(report)}

    @app.get("/api/images/{index}")
    def test_image(index: int) -> dict:
        index = image_index(index)
        return {"index": index, "label": None if labels is None else labels[index],
                "pixels": _pixels(images[index:index + 1])[0], "latent": latent_map.codes[index].tolist(),
                "point": latent_map.points[index].tolist()}

    @app.post("/api/decode")
    def decode(request: DecodeRequest) -> dict:
        if (request.latents is None) == (request.points is None):
            raise LatentError("give exactly one of 'latents' (B × latent_dim) or 'points' (B × 2 map positions)")
        if request.latents is not None:
            return decoded(check_latents(request.latents, latent_dim, "latents"))
        return decoded(latent_map.to_latent(check_latents(request.points, 2, "points")))

    @app.post("/api/interpolate")
    def interpolate(request: InterpolateRequest) -> dict:
        if not 0.0 <= request.t <= 1.0:
            raise LatentError(f"t must be in [0, 1], got {request.t}")
        start, end = latent_map.codes[image_index(request.start)], latent_map.codes[image_index(request.end)]
        return decoded(path_point(start, end, request.t, request.method))

    @app.post("/api/samples")
    def samples(request: SamplesRequest) -> dict:
        if not hasattr(model, "sample_latents"):
            raise HTTPException(409, f"model.kind={model.kind} has no prior to sample from")
        if not 1 <= request.num <= 64:
            raise LatentError(f"num must be in 1..64, got {request.num}")
        return decoded(model.sample_latents(request.num, generator=seeded(request.seed)))

    return app


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build the app, print its URL and serve until interrupted."""
    import uvicorn

    app = create_app(run_dir)
    print(f"vaekit serve: exploring {run_dir} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
