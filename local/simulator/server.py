"""The HTTP side: a ``ThreadingHTTPServer`` speaking Runway's wire format, plus ``/_simulator/``."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import functools
import hashlib
import hmac
import json
import logging
import math
import os
import re
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import RUNWAY_VERSION, SimulatorConfig
from .engine import Engine, OutputPlan, Task, iso
from .faults import DOWNLOAD_KINDS, REQUEST_KINDS, RETRIEVE_KINDS, TASK_KINDS, Fault, FaultBook
from .media import CONTENT_TYPES, VideoFile, VideoSpec, extension_for, frames_for_size, png_sequence_zip
from .sdk_params import ENDPOINTS, problems

logger = logging.getLogger("local.simulator")

_TASK_PATH = re.compile(r"^/v1/tasks/([^/]+)$")
_OUTPUT_PATH = re.compile(r"^/_outputs/([^/]+)/(\d+)\.(mp4|mov|zip)$")
_UPLOAD_PATH = re.compile(r"^/_uploads/([^/]+)$")
_URI = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?\S*")
# The SDK's media fields take "A HTTPS URL, Runway upload URI, or base64 data URI (e.g. ..., up to 5MB)".
_DATA_URI_LIMIT = 5 * 1024 * 1024
_RATE_LIMIT = {"status": 429, "retry_after": 1}


@dataclass
class RecordedRequest:
    """One request the simulator received (control requests under ``/_simulator/`` are not recorded)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int | None = None
    faults: list[str] = field(default_factory=list)


@dataclass
class CreatedTask:
    """A task the simulator accepted (a create that answered 200)."""

    id: str
    endpoint: str
    model: str
    body: dict[str, Any]
    created_at: str


class _Reply(Exception):
    """Raised inside a handler to answer at once."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str, **extra: Any) -> _Reply:
    return _Reply(status, {"error": message, **extra})


def _xml_error(status: int, code: str, message: str) -> _Reply:
    body = f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code><Message>{message}</Message>"
    body += "</Error>"
    return _Reply(status, body.encode(), {"Content-Type": "application/xml"})


class RunwaySimulator:
    """A Runway API stand-in on ``127.0.0.1``. See the package docstring for the whole API."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.engine = Engine(self.config)
        self.faults = FaultBook()
        self._signing_key = hashlib.sha256(f"runway-simulator:{self.config.seed}".encode()).digest()
        self._log_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle ---

    def start(self) -> str:
        """Listen (``config.port``; 0 = a free port) in a background thread and return the base URL."""
        if self._server is not None:
            return self.base_url
        self._server = _Server((self.config.host, self.config.port), _Handler, self)
        port = self._server.server_address[1]
        self.base_url = f"http://{self.config.host}:{port}"
        serve = functools.partial(self._server.serve_forever, poll_interval=0.1)
        self._thread = threading.Thread(target=serve, name="runway-simulator", daemon=True)
        self._thread.start()
        logger.info("Runway simulator listening; RUNWAYML_BASE_URL=%s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("Runway simulator stopped")

    def __enter__(self) -> RunwaySimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ---

    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        body: dict[str, Any] | None = None,
        **params: Any,
    ) -> Fault:
        """Script a fault (kinds and their params are listed in the package docstring)."""
        if kind == "rate_limit":
            kind, params = "http_error", {**_RATE_LIMIT, **params}
        fault = Fault(kind, times, method, path, params, body)
        logger.info("fault scripted: %s", fault)
        return self.faults.add(fault)

    def reset(self) -> None:
        """Forget tasks, uploads, faults, recorded requests and credit changes."""
        self.faults.clear()
        self.engine.reset()
        with self._log_lock:
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._log_lock:
            return list(self._requests)

    def created_tasks(self) -> list[CreatedTask]:
        with self.engine.lock:
            tasks = list(self.engine.tasks.values())
        return [CreatedTask(t.id, t.endpoint, t.model, t.body, iso(t.created)) for t in tasks]

    @property
    def credit_balance(self) -> int:
        return self.engine.balance()

    def set_credit_balance(self, credits: int) -> None:
        self.engine.set_balance(credits)

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task as ``GET /v1/tasks/{id}`` would show it now (None if unknown or deleted)."""
        task = self.engine.get(task_id)
        return None if task is None else self._task_json(task)

    def output_digest(self, task_id: str, index: int) -> tuple[int, str]:
        """``(bytes, SHA-256)`` of output ``index`` of a task, whole, as its download serves it (no request is
        made or recorded; a deleted task still counts)."""
        with self.engine.lock:
            task = self.engine.tasks[task_id]
        spec = self._video_spec(task, index)
        if task.outputs.extension == "zip":
            chunks: Any = iter([_zip_cache(spec)])
        else:
            chunks = VideoFile(spec, task.outputs.extension).iter_bytes()
        digest, size = hashlib.sha256(), 0
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()

    # --- helpers used by the handler ---

    def _sign(self, resource: str, expires: int) -> str:
        return hmac.new(self._signing_key, f"{resource}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _task_json(self, task: Task, ttl: float | None = None) -> dict[str, Any]:
        """The task's API JSON; its output URLs expire after ``ttl`` (``config.output_url_ttl_s``)."""
        if task.outputs.urls:
            return self.engine.task_json(task, list(task.outputs.urls))
        ttl = self.config.output_url_ttl_s if ttl is None else ttl
        now = self.engine.now()
        expires = math.ceil(now + ttl) if ttl > 0 else math.floor(now + ttl)
        resources = [f"/_outputs/{task.id}/{i}.{task.outputs.extension}" for i in range(task.outputs.count)]
        query = "?Expires={}&Signature={}&Key-Pair-Id=SIMULATOR"
        urls = [self.base_url + r + query.format(expires, self._sign(r, expires)) for r in resources]
        return self.engine.task_json(task, urls)

    def _video_spec(self, task: Task, index: int) -> VideoSpec:
        """128x72 (72x128 for a portrait ratio, 72x72 for a square one), 24 frames unless sized by a fault."""
        width, height = VideoSpec.width, VideoSpec.height
        ratio = re.fullmatch(r"(\d+):(\d+)", str(task.body.get("ratio") or ""))
        if ratio and int(ratio.group(2)) > int(ratio.group(1)):
            width, height = height, width
        elif ratio and ratio.group(1) == ratio.group(2):
            width = height = min(width, height)
        spec = VideoSpec(width, height, seed=task.number * 7 + index)
        size, extension = task.outputs.size_bytes, task.outputs.extension
        if size and extension != "zip":
            spec = replace(spec, frames=frames_for_size(spec, size, extension))
        return spec


_zip_cache = functools.lru_cache(maxsize=16)(png_sequence_zip)


def _payload(part: Any) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], sim: RunwaySimulator) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Close idle keep-alive connections so their handler threads end with the server."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; with Nagle + delayed ACK each answer would wait ~40 ms
    disable_nagle_algorithm = True
    server_version = "RunwaySimulator/1.0"
    timeout = 60
    server: _Server
    _current: RecordedRequest | None = None
    _streaming = False

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    # --- plumbing ---

    @property
    def sim(self) -> RunwaySimulator:
        return self.server.sim

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if status != 204:
            headers["Content-Length"] = str(len(payload))
        self._send_headers(status, headers)
        self.wfile.write(payload)

    def _send_headers(self, status: int, headers: dict[str, str]) -> None:
        if self._current is not None:
            self._current.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _reset_connection(self) -> None:
        """Abort the TCP connection with an RST."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        self._current = None
        self._streaming = False
        if path.startswith("/_simulator/"):
            try:
                self._control(path, raw)
            except _Reply as reply:
                self._send(reply.status, reply.body, reply.headers)
            return
        body: Any = None
        if raw and "json" in (self.headers.get("Content-Type") or ""):
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        record = RecordedRequest(self.command, path, dict(self.headers.items()), body)
        with self.sim._log_lock:
            self.sim._requests.append(record)
        self._current = record
        try:
            self._apply_request_faults(record, path)
            self._route(record, path, url.query, raw, body)
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers)
        except ConnectionError:
            self.close_connection = True
        except Exception:
            logger.exception("simulator error on %s %s", self.command, path)
            self.close_connection = True
            if not self._streaming:
                with contextlib.suppress(OSError):
                    self._send(500, {"error": "Simulator internal error"})

    def _apply_request_faults(self, record: RecordedRequest, path: str) -> None:
        for fault in self.sim.faults.take(REQUEST_KINDS, self.command, path, record.body):
            record.faults.append(fault.kind)
            logger.info("fault %s fired on %s %s", fault.kind, self.command, path)
            params = fault.params
            if fault.kind == "delay":
                time.sleep(float(params.get("seconds", 1.0)))
            elif fault.kind == "disconnect":
                self._reset_connection()
                raise ConnectionError("disconnect fault")
            elif fault.kind == "http_error":
                status = int(params.get("status", 500))
                headers = {"retry-after": str(params["retry_after"])} if "retry_after" in params else {}
                message = params.get("message") or (
                    "Too many requests. Please slow down." if status == 429 else "Internal server error"
                )
                raise _Reply(status, {"error": message}, headers)

    # --- routing ---

    def _route(self, record: RecordedRequest, path: str, query: str, raw: bytes, body: Any) -> None:
        method = self.command
        if match := _OUTPUT_PATH.match(path):
            if method != "GET":
                raise _xml_error(405, "MethodNotAllowed", "The specified method is not allowed")
            self._download(record, path, match, parse_qs(query))
            return
        if match := _UPLOAD_PATH.match(path):
            if method != "POST":
                raise _xml_error(405, "MethodNotAllowed", "The specified method is not allowed")
            self._receive_upload(match.group(1), raw)
            return
        if not path.startswith("/v1/"):
            raise _error(404, "Not found")
        self._check_auth()
        endpoint = path[len("/v1/") :]
        if endpoint in ENDPOINTS:
            self._allow(method, "POST")
            self._create(record, endpoint, body)
        elif match := _TASK_PATH.match(path):
            self._allow(method, "GET", "DELETE")
            self._task(match.group(1), path)
        elif endpoint == "uploads":
            self._allow(method, "POST")
            self._start_upload(body)
        elif endpoint == "organization":
            self._allow(method, "GET")
            self._send(200, self.sim.engine.organization())
        else:
            raise _error(404, "Not found")

    def _allow(self, method: str, *allowed: str) -> None:
        if method not in allowed:
            raise _Reply(405, {"error": "Method not allowed"}, {"Allow": ", ".join(allowed)})

    def _check_auth(self) -> None:
        header = self.headers.get("Authorization") or ""
        key = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
        accepted = {k for k in (self.sim.config.api_key, os.environ.get("RUNWAYML_API_SECRET")) if k}
        if not key or (accepted and key not in accepted):
            raise _error(401, "Unauthorized. The API key is missing or invalid.")
        version = self.headers.get("X-Runway-Version")
        if version != RUNWAY_VERSION:
            raise _error(
                400,
                f"Invalid or missing X-Runway-Version header {version!r}; the version is {RUNWAY_VERSION}",
            )

    # --- API endpoints ---

    def _create(self, record: RecordedRequest, endpoint: str, body: Any) -> None:
        sim = self.sim
        if not isinstance(body, dict):
            raise _error(400, "The request body must be a JSON object.")
        reasons = problems(endpoint, body) + self._uri_problems(body)
        if reasons:
            raise _error(400, "; ".join(reasons), issues=[{"message": r} for r in reasons])
        estimate = sim.config.estimate(body)
        with sim.engine.lock:
            balance = sim.engine.balance()
            if estimate > balance:
                raise _error(
                    400,
                    f"You do not have enough credits to run this task: it needs up to {estimate:g} credits "
                    f"and the organization has {balance}.",
                )
            kwargs: dict[str, Any] = {}
            outputs = OutputPlan(extension=extension_for(body.get("outputFormat")))
            for fault in sim.faults.take(TASK_KINDS, "POST", record.path, body):
                record.faults.append(fault.kind)
                params = fault.params
                if fault.kind == "task_failure":
                    kwargs["failure_code"] = params.get("code", "SAFETY.INPUT.TEXT")
                    kwargs["failure"] = params.get("message")
                    kwargs["fail_at"] = float(params.get("at", 0.5))
                elif fault.kind == "throttle":
                    kwargs["forced_throttle"] = float(params.get("seconds", 60.0))
                elif fault.kind == "output":
                    fmt = params.get("format")
                    extension = extension_for(fmt) if fmt else outputs.extension
                    urls = tuple(str(u) for u in params.get("urls") or ())
                    count = len(urls) if urls else int(params.get("count", 1))
                    outputs = OutputPlan(count, extension, params.get("size_bytes"), urls)
            task = sim.engine.create_task(endpoint, body, estimate, outputs=outputs, **kwargs)
        self._send(200, {"id": task.id, "estimatedCost": {"credits": estimate}})

    def _uri_problems(self, value: Any, where: str = "") -> list[str]:
        """Each string of the body that is a URI must be one a media field takes, wherever it is."""
        if isinstance(value, dict):
            children = [(f"{where}.{key}" if where else key, item) for key, item in value.items()]
        elif isinstance(value, list):
            children = [(f"{where}[{index}]", item) for index, item in enumerate(value)]
        else:
            match = _URI.fullmatch(value) if isinstance(value, str) else None
            scheme = match.group(1).lower() if match else ""
            if scheme == "runway" and self.sim.engine.upload_for_uri(value) is None:
                return [f"{where}: {value} is not a known, completed and unexpired Runway upload"]
            if scheme == "data" and len(value) > _DATA_URI_LIMIT:
                return [f"{where}: a data: URI of {len(value)} characters; Runway accepts up to 5 MB"]
            if match and match.group(2) and scheme not in ("https", "runway"):
                return [f"{where}: {value[:80]} is not an https:// URL, a Runway upload URI or a data: URI"]
            return []
        return [problem for path, item in children for problem in self._uri_problems(item, path)]

    def _task(self, task_id: str, path: str) -> None:
        sim = self.sim
        task = sim.engine.get(task_id)
        if task is None:
            raise _error(404, "Task not found")
        if self.command == "DELETE":
            sim.engine.delete(task)
            self._send(204)
            return
        ttl = None
        for fault in sim.faults.take(RETRIEVE_KINDS, "GET", path):
            ttl = float(fault.params.get("ttl", 0))
        self._send(200, sim._task_json(task, ttl))

    def _start_upload(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise _error(400, "The request body must be a JSON object.")
        filename, kind = body.get("filename"), body.get("type")
        reasons = []
        if not isinstance(filename, str) or not filename.strip() or "/" in filename:
            reasons.append("filename: must be a non-empty file name")
        if kind != "ephemeral":
            reasons.append('type: must be "ephemeral"')
        if reasons:
            raise _error(400, "; ".join(reasons), issues=[{"message": r} for r in reasons])
        upload = self.sim.engine.new_upload(str(filename), self.sim._signing_key)
        self._send(
            200,
            {
                "uploadUrl": f"{self.sim.base_url}/_uploads/{upload.id}",
                "fields": upload.fields,
                "runwayUri": upload.uri,
            },
        )

    # --- upload target and outputs (stand-ins for S3 / the CDN: no Runway auth) ---

    def _receive_upload(self, upload_id: str, raw: bytes) -> None:
        if self.headers.get("Authorization"):
            raise _xml_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        upload = self.sim.engine.uploads.get(upload_id)
        if upload is None:
            raise _xml_error(404, "NoSuchUpload", "The specified upload does not exist")
        content_type = self.headers.get("Content-Type") or ""
        if not content_type.startswith("multipart/form-data"):
            raise _xml_error(400, "InvalidRequest", "Expected multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        form: dict[str, str] = {}
        file_part = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                file_part = part
            elif isinstance(name, str):
                form[name] = _payload(part).decode()
        for key, value in upload.fields.items():
            if form.get(key) != value:
                raise _xml_error(403, "AccessDenied", f"Invalid according to Policy: field {key}")
        if file_part is None:
            raise _xml_error(400, "InvalidArgument", "POST requires exactly one file upload per request")
        data = _payload(file_part)
        if not data:
            raise _xml_error(400, "InvalidArgument", "The uploaded file is empty")
        with self.sim.engine.lock:
            upload.data = data
            upload.content_type = file_part.get_content_type()
            upload.metadata = form.get("metadata")
        self._send(204)

    def _download(
        self, record: RecordedRequest, path: str, match: re.Match[str], query: dict[str, list[str]]
    ) -> None:
        sim = self.sim
        self._check_signature(path, query)
        task = sim.engine.get(match.group(1))
        index, extension = int(match.group(2)), match.group(3)
        if (
            task is None
            or task.status(sim.engine.now()) != "SUCCEEDED"
            or index >= task.outputs.count
            or extension != task.outputs.extension
        ):
            raise _xml_error(404, "NoSuchKey", "The specified key does not exist.")
        spec = sim._video_spec(task, index)
        if extension == "zip":
            payload = _zip_cache(spec)
            size, chunks = len(payload), iter([payload])
        else:
            video = VideoFile(spec, extension)
            size, chunks = video.size, video.iter_bytes()
        headers = {
            "Content-Type": CONTENT_TYPES[extension],
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{task.id}_{index}.{extension}"',
        }
        cut_at, reset = None, False
        for fault in sim.faults.take(DOWNLOAD_KINDS, "GET", path):
            record.faults.append(fault.kind)
            cut_at = int(fault.params.get("after_bytes", size // 2))
            reset = fault.kind == "reset_download"
        self._send_headers(200, headers)
        self._streaming = True
        sent = 0
        for chunk in chunks:
            if cut_at is not None and sent + len(chunk) >= cut_at:
                self.wfile.write(chunk[: cut_at - sent])
                if reset:
                    self._reset_connection()
                else:
                    self.wfile.flush()
                    self.close_connection = True
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    def _check_signature(self, path: str, query: dict[str, list[str]]) -> None:
        expires = (query.get("Expires") or [""])[0]
        signature = (query.get("Signature") or [""])[0]
        if not expires.lstrip("-").isdigit() or not hmac.compare_digest(
            signature, self.sim._sign(path, int(expires))
        ):
            raise _xml_error(403, "AccessDenied", "Access denied: bad signature")
        if self.sim.engine.now() >= int(expires):
            raise _xml_error(403, "AccessDenied", "Access denied: the URL has expired")

    # --- control endpoints ---

    def _control(self, path: str, raw: bytes) -> None:
        sim = self.sim
        method = self.command
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise _error(400, "invalid JSON") from exc
        route = path[len("/_simulator/") :].rstrip("/")
        if route == "health" and method == "GET":
            self._send(200, {"status": "ok", "baseUrl": sim.base_url, "tasks": len(sim.created_tasks())})
        elif route == "reset" and method == "POST":
            sim.reset()
            self._send(200, {"status": "ok"})
        elif route == "faults" and method == "POST":
            self._send(200, asdict(self._inject(body)))
        elif route == "faults" and method == "GET":
            self._send(200, [asdict(f) for f in sim.faults.list()])
        elif route == "faults" and method == "DELETE":
            sim.faults.clear()
            self._send(200, {"status": "ok"})
        elif route == "requests" and method == "GET":
            self._send(200, [asdict(r) for r in sim.requests])
        elif route == "tasks" and method == "GET":
            self._send(200, [asdict(t) for t in sim.created_tasks()])
        elif route == "settings" and method == "POST":
            sim.set_credit_balance(int(body["creditBalance"]))
            self._send(200, {"creditBalance": sim.credit_balance})
        else:
            raise _error(404, f"unknown control endpoint {method} {path}")

    def _inject(self, body: Any) -> Fault:
        spec = body if isinstance(body, dict) else {}
        where = {k: spec[k] for k in ("times", "method", "path", "body") if k in spec}
        try:
            return self.sim.inject(str(spec.get("kind")), **where, **(spec.get("params") or {}))
        except (ValueError, TypeError) as exc:
            raise _error(400, str(exc)) from exc
