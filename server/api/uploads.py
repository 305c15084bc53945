"""Photos over HTTP: tus 1.0.0 at /api/uploads (creation, checksum, expiration, termination) and
GET /api/photos/<id>.

A plain Flask blueprint: tus speaks headers and raw bytes, not JSON, so these routes stay out of the OpenAPI
document (and `init_api` registers only this one blueprint, so the photo route is plain Flask too). Errors are
still RFC 9457 problem details, through the app's handlers.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, request, send_file, url_for
from werkzeug.exceptions import ClientDisconnected
from werkzeug.http import http_date

from sync.errors import check_protocol_version
from sync.ops import MAX_PHOTO_BYTES
from sync.problems import described
from sync.vocabulary import PROTOCOL_HEADER
from ..domain.access import Actor
from ..domain.errors import DomainError, NotFound
from ..service import uploads
from ..service.uploads import BadRequest, BlobStore, UnsupportedMediaType, UploadState
from .requests import run_device, run_photo, uow

bp = Blueprint("uploads", __name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
OFFSET_STREAM = "application/offset+octet-stream"
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/webp": ".webp",
               "application/pdf": ".pdf"}


class TusVersionUnsupported(DomainError):
    code, title, status = described("tus-version-unsupported")


def tus(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every tus request but OPTIONS names tus 1.0.0 and our sync protocol version."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise TusVersionUnsupported(f"send Tus-Resumable: {TUS_VERSION}", field="Tus-Resumable")
        check_protocol_version(request.headers.get(PROTOCOL_HEADER))
        if "upload_id" in kwargs and not _UPLOAD_ID.match(kwargs["upload_id"]):
            raise NotFound("no such upload")
        return view(*args, **kwargs)
    return wrapper


@bp.after_request
def _tus_headers(resp: Response) -> Response:
    if request.path.startswith("/api/uploads"):
        resp.headers["Tus-Resumable"] = TUS_VERSION
        resp.headers["Cache-Control"] = "no-store"
        if resp.status_code == 412:
            resp.headers["Tus-Version"] = TUS_VERSION
        if resp.status_code == 460:
            resp.status = "460 Checksum Mismatch"
    return resp


@bp.route("/api/uploads", methods=["OPTIONS"], provide_automatic_options=False)
def options() -> Response:
    """tus discovery; needs no authentication."""
    resp = Response(status=204)
    resp.headers.update({"Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
                         "Tus-Checksum-Algorithm": "sha256", "Tus-Max-Size": str(MAX_PHOTO_BYTES)})
    return resp


@bp.route("/api/uploads", methods=["POST"], provide_automatic_options=False)
@tus
def create() -> Response:
    """Creation: Upload-Length and Upload-Metadata (sha256, content_type, filename); no body."""
    if "Upload-Defer-Length" in request.headers:
        raise BadRequest("deferred length is not supported; send Upload-Length", field="Upload-Defer-Length")
    length = int_header("Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    state = run_device(uploads.create_upload, _blobs(), length=length, metadata=metadata)
    resp = _tus_state(state, 201)
    resp.headers["Location"] = url_for("uploads.head", upload_id=state.id)
    return resp


@bp.route("/api/uploads/<upload_id>", methods=["HEAD"])
@tus
def head(upload_id: str) -> Response:
    """Where to resume: Upload-Offset and Upload-Length."""
    return _tus_state(run_device(uploads.upload_offset, upload_id), 200)


@bp.route("/api/uploads/<upload_id>", methods=["PATCH"])
@tus
def append(upload_id: str) -> Response:
    """Append one chunk (at most MAX_CHUNK_BYTES), streamed; the body is read only after the upload checks."""
    if request.mimetype != OFFSET_STREAM:
        raise UnsupportedMediaType(f"send Content-Type: {OFFSET_STREAM}", field="Content-Type")
    offset = int_header("Upload-Offset")
    checksum = parse_checksum(request.headers.get("Upload-Checksum"))
    actor = run_device(_whoami)  # authenticate before reading a byte of the body
    request.max_content_length = uploads.MAX_CHUNK_BYTES
    state = uploads.append_chunk(uow(), actor, _blobs(), upload_id, offset=offset, body=RequestBody(),
                                 declared_length=request.content_length, checksum=checksum)
    return _tus_state(state, 204)


@bp.route("/api/uploads/<upload_id>", methods=["DELETE"])
@tus
def terminate(upload_id: str) -> Response:
    run_device(uploads.terminate_upload, _blobs(), upload_id)
    return Response(status=204)


@bp.get("/api/photos/<int:photo_id>")
def photo(photo_id: int) -> Response:
    """Stream a linked photo to whoever may see its case (404 for anyone else); never cached."""
    info = run_photo(uploads.open_photo, photo_id)  # a field device may fetch photos too
    # PDFs download rather than open in place: browsers will not run their viewer under a sandbox CSP.
    resp = send_file(_blobs().open(info.sha256), mimetype=info.content_type, etag=info.sha256,
                     as_attachment=info.content_type == "application/pdf",
                     download_name=f"photo-{info.id}{_EXTENSIONS.get(info.content_type, '')}")
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"  # evidence is data, never a page
    return resp


class RequestBody:
    """The PATCH body, opened on first read (so a too-large body is refused after the upload checks).
    A client that goes away mid-chunk reads as the end of the body, with `disconnected` set."""

    def __init__(self) -> None:
        self.disconnected = False

    def read(self, size: int = -1, /) -> bytes:
        try:
            return request.stream.read(size)
        except ClientDisconnected:
            self.disconnected = True
            return b""


def int_header(name: str) -> int:
    raw = (request.headers.get(name) or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
        raise BadRequest(f"{name} must be a non-negative integer", field=name)
    return int(raw)


def parse_metadata(raw: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated `key base64(value)` pairs; a value may be absent."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, value = pair.partition(" ")
        if key in out:
            raise BadRequest(f"Upload-Metadata repeats the key {key!r}", field="Upload-Metadata")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text",
                             field="Upload-Metadata") from None
    return out


def parse_checksum(raw: str | None) -> bytes | None:
    """tus checksum extension: `sha256 <base64 digest>`; other algorithms are 400."""
    if raw is None:
        return None
    algorithm, _, value = raw.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise BadRequest("Upload-Checksum: only sha256 is supported", field="Upload-Checksum")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise BadRequest("Upload-Checksum: the value must be a base64 SHA-256 digest", field="Upload-Checksum")
    return digest


def _tus_state(state: UploadState, status: int) -> Response:
    resp = Response(status=status)
    resp.headers["Upload-Offset"] = str(state.offset)
    resp.headers["Upload-Length"] = str(state.length)
    if not state.completed:
        resp.headers["Upload-Expires"] = http_date(state.expires_at)
    return resp


def _whoami(_session: Any, actor: Actor) -> Actor:
    return actor


def _blobs() -> BlobStore:
    return current_app.extensions["cme"]["blob_store"]()  # wired by create_app
