"""What the HTTP API refuses before it reads any field of a request body (the routes validate the fields).

=====  =======================================================================================================
400    the body is not JSON, is JSON nested too deeply to read, or is JSON but not an object
413    the body is larger than :data:`MAX_BODY_BYTES`: Lambda's 6 MB synchronous payload (6,291,456 bytes)
       less 64 KB for the rest of the API Gateway event (API Gateway's own 10 MB cap is never reached first).
       One ``data:`` input of Runway's 5 MB fits; larger files go through ``POST /uploads``.
415    a body is sent without ``Content-Type: application/json`` (``charset``, if given, must be utf-8)
=====  =======================================================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_BODY_BYTES = 6 * 1024 * 1024 - 64 * 1024


@dataclass(frozen=True)
class BodyRefusal:
    status: int
    code: str
    message: str


def content_type_problem(content_type: str | None) -> str | None:
    """Why ``content_type`` is not JSON (None: it is)."""
    if not content_type:
        return "the request has a body but no Content-Type; send Content-Type: application/json"
    mime, _, params = content_type.partition(";")
    mime = mime.strip().lower()
    if mime != "application/json" and not (mime.startswith("application/") and mime.endswith("+json")):
        return f"Content-Type {mime or content_type!r} is not accepted; send Content-Type: application/json"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return f"charset {value.strip()!r} is not accepted; JSON bodies are UTF-8"
    return None


def refuse_body(body: bytes | None, content_type: str | None) -> BodyRefusal | None:  # noqa: PLR0911
    """The 400/413/415 answer for a body that no route can read; None for an empty body or a JSON object."""
    if not body:
        return None
    if len(body) > MAX_BODY_BYTES:
        return BodyRefusal(
            413,
            "BodyTooLarge",
            f"the body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted (upload large files with "
            "POST /uploads and send their s3:// URI)",
        )
    problem = content_type_problem(content_type)
    if problem:
        return BodyRefusal(415, "UnsupportedMediaType", problem)
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return BodyRefusal(400, "MalformedJson", f"the body is not UTF-8 (byte {exc.start})")
    except RecursionError:
        return BodyRefusal(400, "MalformedJson", "the body is JSON nested too deeply to read")
    except ValueError as exc:
        return BodyRefusal(400, "MalformedJson", f"the body is not valid JSON: {exc}")
    if not isinstance(value, dict):
        return BodyRefusal(
            400, "MalformedJson", f"the body must be a JSON object, not a JSON {json_kind(value)}"
        )
    return None


def json_kind(value: object) -> str:
    """``array``, ``string``, ``number``, ``boolean``, ``null`` or ``object``: what a JSON value is."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"
