"""Multipart uploads streamed to a temporary file with a size limit, so a large body never sits in memory and
an oversized one is refused as it arrives, not after it has filled the disk."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

FIELD = "file"


class UploadError(Exception):
    """A request the client must fix: ``status`` is the HTTP code, the message one line."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def client_name(raw: str) -> str:
    """The uploaded file's base name, safe to show and log (never used as a server path)."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = re.sub(r"[^\w.\- ]", "_", name)[:120]
    return name or "upload"


async def receive_video(request: Request, folder: Path, max_bytes: int) -> tuple[Path, str]:
    """Stream the ``file`` part of a multipart body into a new file under ``folder``; (path, client name).

    The caller removes the file; on any error here it is already removed.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:
        raise UploadError(413, f"upload is larger than the limit of {max_bytes // 2**20} MB")
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "send the video as multipart/form-data with a 'file' field")
    fd, tmp = tempfile.mkstemp(prefix="upload-", suffix=".bin", dir=folder)
    path = Path(tmp)
    state = {"headers": {}, "field": b"", "value": b"", "name": None, "filename": None, "size": 0, "found": False}
    out = os.fdopen(fd, "wb")

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].lower()] = state["value"]
        state["field"] = state["value"] = b""

    def on_headers_finished():
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disp.get(b"name", b"").decode("utf-8", "replace")
        if state["name"] == FIELD:
            state["filename"] = disp.get(b"filename", b"").decode("utf-8", "replace")
            state["found"] = True

    def on_part_data(data, start, end):
        if state["name"] != FIELD:
            return
        state["size"] += end - start
        if state["size"] > max_bytes:
            raise UploadError(413, f"upload is larger than the limit of {max_bytes // 2**20} MB")
        out.write(data[start:end])

    def on_part_begin():
        state["headers"], state["name"] = {}, None

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
    })
    try:
        with out:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        if not state["found"]:
            raise UploadError(400, "no 'file' field in the upload")
        if state["size"] == 0:
            raise UploadError(400, "the uploaded file is empty")
    except UploadError:
        path.unlink(missing_ok=True)
        raise
    except (MultipartParseError, ClientDisconnect) as exc:
        path.unlink(missing_ok=True)
        raise UploadError(400, f"malformed or interrupted multipart body ({type(exc).__name__})") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, client_name(state["filename"])
