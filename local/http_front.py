"""A loopback HTTP front of the API function: each HTTP request becomes the API Gateway REST proxy event
the deployed API sends (``/{proxy+}``, the caller's identity in the request context), the function is
invoked through the local stack's Lambda, and its proxy answer goes back as the HTTP response.

A function error answers 502, as API Gateway does. Invocations run one at a time: the handler module keeps
one request context, like a single Lambda container.

    with LocalPipeline() as pipeline, HttpFront(pipeline) as front:
        urllib.request.urlopen(front.base_url + "/models")
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.runner import LocalPipeline
from local.stack import ACCOUNT_ID

CALLER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/local-http"


def proxy_event(
    method: str, target: str, headers: dict[str, list[str]], body: bytes, *, user_arn: str = CALLER_ARN
) -> dict[str, Any]:
    """The API Gateway REST proxy event of one HTTP request (``target``: path and query string)."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": "/{proxy+}",
        "path": url.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": url.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": url.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "identity": {"userArn": user_arn, "sourceIp": "127.0.0.1", "apiKeyId": None},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


class HttpFront:
    """A ThreadingHTTPServer on 127.0.0.1 (``port`` 0: any free port) in front of ``pipeline``'s API."""

    def __init__(self, pipeline: LocalPipeline, *, port: int = 0) -> None:
        self.pipeline = pipeline
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-front", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HttpFront:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def invoke(self, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        """Invoke the API function with ``event``: (status, headers, body) of its answer."""
        stack = self.pipeline.stack_
        if stack.api_function is None:
            raise RuntimeError("the template has no function behind a REST API")
        name = self.pipeline.function(stack.api_function).spec.name
        with self._lock:
            client = self.pipeline.session.client("lambda", region_name=self.pipeline.region)
            answer = client.invoke(FunctionName=name, Payload=json.dumps(event))
        payload = json.loads(answer["Payload"].read())
        if "FunctionError" in answer:
            body = json.dumps({"message": "Internal server error"}).encode()
            return 502, [("Content-Type", "application/json")], body
        headers = [(k, str(v)) for k, v in (payload.get("headers") or {}).items()]
        for key, values in (payload.get("multiValueHeaders") or {}).items():
            if not any(k.lower() == key.lower() for k, _ in headers):
                headers += [(key, str(v)) for v in values]
        raw = payload.get("body") or ""
        body = base64.b64decode(raw) if payload.get("isBase64Encoded") else raw.encode("utf-8")
        return int(payload["statusCode"]), headers, body


def _handler_for(front: HttpFront) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name, []).append(value)
            status, answer_headers, answer = front.invoke(proxy_event(self.command, self.path, headers, body))
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # every method goes to the function, as API Gateway's ANY does
                return self._serve
            raise AttributeError(name)

    return Handler
