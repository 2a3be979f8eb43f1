"""The one translation of a generation request into a Runway wire body.

``prepare`` is the single entry point: it infers the task, picks the model, builds the camelCase body, applies
the catalog's defaults for omitted required fields and runs the catalog's ``validate_wire`` on the result, so
the API, the S3 trigger and the submit step all apply one rule set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from videogen.catalog import estimate_credits, get_model, map_media_uris, model_notes, validate_wire
from videogen.catalog.media import guess_kind, scheme_of
from videogen.core.errors import InvalidRequest
from videogen.core.request import GenerationRequest

# Stands in for an s3:// input during validation: the submit step uploads it and gets a runway:// URI back.
_S3_STAND_IN = "runway://pending-upload-of-s3-input"

# Which task each input belongs to (the first match, in this order, is the inferred task).
_INPUT_TASKS: tuple[tuple[str, str], ...] = (
    ("character", "character_performance"),
    ("reference", "character_performance"),
    ("character_type", "character_performance"),
    ("video", "video_to_video"),
    ("image", "image_to_video"),
    ("last_image", "image_to_video"),
)


class PreparedRequest(BaseModel):
    endpoint: str
    model: str
    body: dict[str, Any]  # camelCase wire body for POST /v1/<endpoint>; s3:// URIs still present
    estimated_credits: float | None


def prepare(
    request: GenerationRequest | Mapping[str, Any], *, default_model: str = "gen4.5"
) -> PreparedRequest:
    """Validate ``request`` and build its wire body; InvalidRequest lists every problem found."""
    req = GenerationRequest.parse(request)
    problems: list[str] = []
    task = _task(req, problems)
    model = req.model or _default_model(task, default_model)
    body = _body(req, task, model, problems)
    _apply_defaults(task, body)

    checked = body
    if _offered(model, task):
        checked = map_media_uris(task, body, lambda uri, _kind: _s3_stand_in(uri, problems))
    problems.extend(_in_request_terms(error, body) for error in validate_wire(task, checked))
    if problems:
        raise InvalidRequest(list(dict.fromkeys(problems)))
    return PreparedRequest(
        endpoint=task, model=model, body=body, estimated_credits=estimate_credits(task, body)
    )


def _request_names(body: Mapping[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Wire paths of ``body`` that came from a request field, most specific first, with that field's name."""
    names: list[tuple[str, str]] = []
    frames = body.get("promptImage")
    if isinstance(frames, list):
        for i, frame in enumerate(frames):
            if isinstance(frame, Mapping):
                field = "last_image" if frame.get("position") == "last" else "image"
                names += [(rf"promptImage\[{i}\]\.uri", field), (rf"promptImage\[{i}\]", field)]
    names += [
        (r"promptImage", "image"),
        (r"promptText", "prompt"),
        (r"videoUri|promptVideo", "video"),
        (r"character\.uri|character", "character"),
        (r"reference\.uri|reference", "reference"),
    ]
    return [(re.compile(rf"(?<![\w.])(?:{wire})(?![\w\[])"), field) for wire, field in names]


def _in_request_terms(error: str, body: Mapping[str, Any]) -> str:
    """A catalog error about the wire body, reworded with the request's own field names.

    ``promptImage[1].uri is an http:// URL`` becomes ``last_image is an http:// URL``: the user sent
    ``last_image``, not Runway's wire field. Fields passed through ``options`` keep their wire names.
    """
    for pattern, field in _request_names(body):
        error = pattern.sub(field, error)
    return error


def _task(req: GenerationRequest, problems: list[str]) -> str:
    given = [(name, task) for name, task in _INPUT_TASKS if getattr(req, name) is not None]
    task = req.task or (given[0][1] if given else "text_to_video")
    for name, owner in given:
        if owner != task:
            problems.append(f"{name} cannot be used with task {task}; it belongs to {owner}")
    return task


def _offered(model: str, task: str) -> bool:
    try:
        return task in get_model(model).endpoints
    except KeyError:
        return False


def _default_model(task: str, default_model: str) -> str:
    return default_model if _offered(default_model, task) else model_notes.DEFAULT_MODEL_PER_ENDPOINT[task]


def _body(req: GenerationRequest, task: str, model: str, problems: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model}
    if req.prompt is not None:
        body["promptText"] = req.prompt
    if task == "image_to_video" and (req.image or req.last_image):
        body["promptImage"] = _prompt_image(req.image, req.last_image)
    if task == "video_to_video" and req.video is not None:
        video_field = get_model(model).on(task).input_video_field if _offered(model, task) else None
        body[video_field or "videoUri"] = req.video
    if task == "character_performance":
        if req.character is not None:
            body["character"] = {"type": _character_type(req, problems), "uri": req.character}
        elif req.character_type is not None:
            problems.append("character_type is set but character is not; add the character image or video")
        if req.reference is not None:
            body["reference"] = {"type": "video", "uri": req.reference}
    for name in ("ratio", "resolution", "duration", "seed"):
        value = getattr(req, name)
        if value is not None:
            body[name] = value
    for key, value in req.options.items():
        if key in body:
            problems.append(f"options.{key} repeats a value the request already sets; set it once")
        else:
            body[key] = value
    return body


def _prompt_image(image: str | None, last_image: str | None) -> str | list[dict[str, str]]:
    if image is not None and last_image is None:
        return image
    frames = [{"uri": image, "position": "first"}] if image is not None else []
    if last_image is not None:
        frames.append({"uri": last_image, "position": "last"})
    return frames


def _character_type(req: GenerationRequest, problems: list[str]) -> str:
    if req.character_type is not None:
        return req.character_type
    kind = guess_kind(req.character or "")
    if kind in ("image", "video"):
        return kind
    problems.append(
        "cannot tell whether character is an image or a video from its URI; "
        "set character_type to image or video"
    )
    return "image"


def _apply_defaults(task: str, body: dict[str, Any]) -> None:
    model = body["model"]
    if not _offered(model, task):
        return
    for name, value in get_model(model).on(task).defaults.items():
        body.setdefault(name, value)


def _s3_stand_in(uri: str, problems: list[str]) -> str:
    if scheme_of(uri) != "s3":
        return uri
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        problems.append(f"{uri} must name an object: s3://bucket/key")
    return _S3_STAND_IN
