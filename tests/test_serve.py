"""fvc serve: the API answers a good video, refuses text named .mp4 (400), oversized uploads (413), unknown
models (404) and missing tokens (401); 20 simultaneous uploads to a live server are each answered 200 or 429
and leave no temporary file; the page works in a real Chromium."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from _browser import launch, needs_chromium, record_errors
from _deep_fixtures import write_letterboxed
from fastapi.testclient import TestClient
from test_explain import fitted_feature_model
from test_predict import card_for
from typer.testing import CliRunner

from fvc.cli import app as cli_app
from fvc.errors import InputError
from fvc.models.saved import save_feature_model
from fvc.serve import ServeConfig, create_app
from fvc.workspace import Workspace



@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("serve")).ensure()
    video = write_letterboxed(ws.root / "clip.mp4", fake=True, seed=1, frames=45, orig=(96, 54), size=96)
    save_feature_model(ws.results_dir / "5a", fitted_feature_model("5a", video), card_for("5a"))
    return ws


@pytest.fixture(scope="module")
def video(ws):
    return ws.root / "clip.mp4"


def make_client(ws, tmp_path, **cfg) -> TestClient:
    return TestClient(create_app(ws, "5a", ServeConfig(tmp_dir=tmp_path / "uploads", **cfg)))


def post(client, route, path: Path, name: str | None = None, **kw):
    with open(path, "rb") as fh:
        return client.post(route, files={"file": (name or path.name, fh, "video/mp4")}, **kw)


def test_good_video_explained_and_predicted(ws, video, tmp_path):
    with make_client(ws, tmp_path) as client:
        res = post(client, "/api/explain", video)
        assert res.status_code == 200, res.text
        doc = res.json()
        assert doc["video"]["name"] == "clip.mp4" and doc["verdict"]["label"] in ("fake", "real")
        assert set(doc["image_data"]) == set(doc["images"]) and doc["images"]
        assert all(v.startswith("data:image/png;base64,") for v in doc["image_data"].values())
        pred = post(client, "/api/predict", video)
        assert pred.status_code == 200 and pred.json()["prob_fake"] == pytest.approx(doc["verdict"]["prob_fake"])
        assert client.get("/api/health").json()["status"] == "ok"
        assert [m["ref"] for m in client.get("/api/models").json()["models"]] == ["5a"]
        assert "/api/explain" in client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and "/static/app.js" in page.text
        assert client.get("/static/plotly.min.js").status_code == 200
        assert client.get("/static/..%2Fapp.py").status_code == 404
    assert list((tmp_path / "uploads").iterdir()) == []


def test_text_named_mp4_is_400(ws, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a text file, not a video\n" * 20)
    with make_client(ws, tmp_path) as client:
        res = post(client, "/api/explain", fake)
    assert res.status_code == 400
    msg = res.json()["error"]
    assert "notes.mp4" in msg and "not a readable video" in msg and "\n" not in msg
    assert str(tmp_path / "uploads") not in msg  # no server path leaks
    assert list((tmp_path / "uploads").iterdir()) == []


def test_oversized_upload_is_413(ws, tmp_path):
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (3 * 2**20))
    with make_client(ws, tmp_path, max_upload_mb=1) as client:
        res = post(client, "/api/explain", big)
        assert res.status_code == 413 and "1 MB" in res.json()["error"]
        # a client that hides the size (chunked, no Content-Length) is cut off while streaming
        body = b"".join([b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n\r\n",
                         b"\0" * (3 * 2**20), b"\r\n--xx--\r\n"])
        res = client.post("/api/predict", content=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                          headers={"content-type": "multipart/form-data; boundary=xx"})
        assert res.status_code == 413
    assert list((tmp_path / "uploads").iterdir()) == []


def test_unknown_model_is_404(ws, video, tmp_path):
    with make_client(ws, tmp_path) as client:
        for ref in ("5q", str(ws.results_dir / "5a"), "../results/5a"):
            res = post(client, "/api/predict", video, params={"model": ref})
            assert res.status_code == 404 and "unknown model" in res.json()["error"]
        assert post(client, "/api/predict", video, params={"model": "5a"}).status_code == 200


def test_token_required_on_every_api_call(ws, video, tmp_path):
    with make_client(ws, tmp_path, token="s3cret") as client:
        assert client.get("/api/health").status_code == 401
        assert client.get("/api/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert post(client, "/api/predict", video).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert client.get("/api/health", headers=ok).status_code == 200
        assert post(client, "/api/predict", video, headers=ok).status_code == 200
    res = CliRunner().invoke(cli_app, ["serve", "-w", str(ws.root), "--model", "5a", "--host", "0.0.0.0"],
                             env={"FVC_SERVE_TOKEN": ""})
    assert isinstance(res.exception, InputError) and "set --token" in str(res.exception)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(ws, tmp_path):
    """A real uvicorn server on 127.0.0.1 in a thread; yields (base url, upload folder)."""
    import uvicorn

    uploads = tmp_path / "uploads"
    app = create_app(ws, "5a", ServeConfig(tmp_dir=uploads, queue=3))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}", uploads
    server.should_exit = True
    thread.join(timeout=30)


def test_twenty_concurrent_uploads(live, video):
    base, uploads = live
    data = video.read_bytes()

    def one(i: int):
        with httpx.Client(timeout=120) as c:
            return c.post(f"{base}/api/predict", files={"file": (f"v{i}.mp4", data, "video/mp4")})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(one, range(20)))
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 429} and 200 in codes, codes
    assert all(r.headers["retry-after"].isdigit() for r in answers if r.status_code == 429)
    assert httpx.get(f"{base}/api/health").json()["queue"]["used"] == 0  # the server is up, every slot released
    assert list(uploads.iterdir()) == []


@needs_chromium
def test_page_in_chromium(live, video, tmp_path):
    from playwright.sync_api import sync_playwright

    base, _ = live
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        errors = record_errors(page)
        page.goto(base + "/")
        page.set_input_files("#file", str(video))
        page.wait_for_selector("#verdict.fake, #verdict.real", timeout=90_000)
        assert page.locator("#timeline .main-svg").count() > 0  # plotly drew the chart
        assert page.locator("#timeline .point, #timeline .bars path").count() >= 2
        assert page.locator("#keyframes img").count() == 2
        assert page.evaluate("Array.from(document.querySelectorAll('#keyframes img')).every(i => i.naturalWidth > 0)")
        assert page.locator("#evidence .family").count() >= 1
        assert page.locator("#codec tr").count() >= 5
        verdict = page.inner_text("#verdict")
        page.screenshot(path=str(tmp_path / "fvc-serve.png"), full_page=True)
        browser.close()
    assert "P(fake)" in verdict and not errors, errors
    assert (tmp_path / "fvc-serve.png").stat().st_size > 10_000
    json.dumps(errors)
