"""The verification web app: one page and a JSON API over ``fvc.explain`` and ``fvc.predict``.

Uploads stream to a private temporary folder and are removed after every
request; the content is checked with PyAV, never by extension. Inference runs
on a small thread pool behind a bounded queue: when it is full a request gets
429 with ``Retry-After`` at once instead of waiting unboundedly. The client
names models only by the references ``GET /api/models`` lists, never by path.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from .. import __version__
from ..data.index import probe_video
from ..errors import FvcError
from ..explain import explain_video
from ..predict import Predictor
from ..training.metrics import json_safe
from ..workspace import Workspace
from .models import ModelCatalog
from .upload import UploadError, receive_video

log = logging.getLogger("fvc.serve")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
RETRY_AFTER_S = 5
STATIC = resources.files("fvc.serve") / "static"


@dataclass
class ServeConfig:
    """What ``fvc serve`` fixes at start; ``token`` None means loopback only, no token asked."""

    max_upload_mb: int = 500
    queue: int = 4  # requests admitted at once (running + waiting); the rest get 429
    workers: int = 1  # inference threads; 2 cores are best used by one model at a time
    token: str | None = None
    tmp_dir: Path | None = None
    threshold: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


class Busy(Exception):
    pass


class Gate:
    """A counter of admitted requests; admission never blocks (full means 429, not a growing backlog)."""

    def __init__(self, size: int):
        self.size, self.used, self.lock = size, 0, threading.Lock()

    def enter(self) -> None:
        with self.lock:
            if self.used >= self.size:
                raise Busy()
            self.used += 1

    def leave(self) -> None:
        with self.lock:
            self.used -= 1


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def create_app(ws: Workspace, model_ref: str | None = None, config: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app; the default model (``model_ref`` or the registry's champion) is loaded before it serves."""
    cfg = config or ServeConfig()
    catalog = ModelCatalog(ws, model_ref, threshold=cfg.threshold)
    catalog.get(catalog.default)  # fail at start, not on the first upload
    own_tmp = cfg.tmp_dir is None
    tmp_root = Path(tempfile.mkdtemp(prefix="fvc-serve-")) if own_tmp else Path(cfg.tmp_dir)
    tmp_root.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=cfg.workers, thread_name_prefix="fvc-infer")
    gate = Gate(cfg.queue)
    max_bytes = cfg.max_upload_mb * 2**20

    @asynccontextmanager
    async def lifespan(_app):
        yield
        pool.shutdown(wait=True)
        if own_tmp:
            shutil.rmtree(tmp_root, ignore_errors=True)

    app = FastAPI(title="FVC Detect", version=__version__, lifespan=lifespan,
                  description="Fake-video verdicts with the evidence behind them.")

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        if cfg.token and request.url.path.startswith("/api/"):
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), cfg.token.encode()):
                return _error(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        files = {"app.js": STATIC / "app.js", "app.css": STATIC / "app.css", "plotly.min.js": _plotly_js()}
        if name not in files:
            return _error(404, f"no static file '{name}'")
        return FileResponse(str(files[name]))

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "default_model": catalog.default,
                "queue": {"size": gate.size, "used": gate.used}}

    @app.get("/api/models")
    def models() -> dict[str, Any]:
        return {"default": catalog.default, "models": catalog.listing()}

    async def run(request: Request, model: str | None, job) -> Response:
        try:
            predictor = catalog.get(model or catalog.default)
        except KeyError:
            return _error(404, f"unknown model '{model}'; GET /api/models lists the available ones")
        try:
            gate.enter()
        except Busy:
            return _error(429, "the server is busy; try again shortly", **{"Retry-After": str(RETRY_AFTER_S)})
        work = Path(tempfile.mkdtemp(prefix="req-", dir=tmp_root))
        try:
            path, name = await receive_video(request, work, max_bytes)
            result = await asyncio.wrap_future(pool.submit(_checked, job, predictor, path, name, work))
            return JSONResponse(json_safe(result))
        except UploadError as exc:
            return _error(exc.status, str(exc))
        except FvcError as exc:
            return _error(400, str(exc).replace(str(work), "upload"))
        finally:
            gate.leave()
            shutil.rmtree(work, ignore_errors=True)

    @app.post("/api/explain", summary="Explain an uploaded video (multipart field 'file'; the fvc explain JSON "
                                      "plus the PNGs as data URIs)")
    async def api_explain(request: Request, model: str | None = None) -> Response:
        return await run(request, model, _explain)

    @app.post("/api/predict", summary="Score an uploaded video (multipart field 'file')")
    async def api_predict(request: Request, model: str | None = None) -> Response:
        return await run(request, model, _predict)

    return app


def _checked(job, predictor: Predictor, path: Path, name: str, work: Path) -> dict[str, Any]:
    """Refuse anything PyAV cannot read as a video before the model sees it."""
    try:
        probe_video(path)
    except FvcError as exc:
        raise FvcError(f"{name}: not a readable video ({str(exc).split(': ', 1)[-1]})") from None
    return job(predictor, path, name, work)


def _explain(predictor: Predictor, path: Path, name: str, work: Path) -> dict[str, Any]:
    out = work / "explain"
    doc = explain_video(predictor, path, out)
    doc["video"]["name"] = name
    doc["image_data"] = {img: "data:image/png;base64," + base64.b64encode((out / img).read_bytes()).decode()
                         for img in doc["images"]}
    return doc


def _predict(predictor: Predictor, path: Path, name: str, work: Path) -> dict[str, Any]:
    pred = predictor.predict_file(path)
    if pred.error:
        raise FvcError(f"{name}: {pred.error.split(': ', 1)[-1]}")
    return {"video": name, "model": predictor.model_id, "prob_fake": pred.prob_fake, "verdict": pred.verdict,
            "clips": pred.clips, "threshold": predictor.threshold}


def _plotly_js() -> Path:
    """plotly.js as the plotly wheel ships it: the chart library, installed from PyPI, no build step."""
    from ..errors import MissingDependencyError

    try:
        import plotly
    except ImportError:
        raise MissingDependencyError("the web page needs plotly (a core dependency); reinstall with: pip install -e .") from None
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
