"""The generation request: what a user asks for, in snake_case. The one model of it.

The API's Event Handler validates bodies with it (and documents it in the OpenAPI document), the submit step
validates its execution input with it (StartExecution is a public entry too), and
``videogen.catalog.translate.prepare`` turns it into Runway's wire body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, StrictInt

from videogen.core.errors import InvalidRequest

Endpoint = Literal["text_to_video", "image_to_video", "video_to_video", "character_performance"]
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)


class GenerationRequest(BaseModel):
    """What a user asks for, in snake_case. Only ``prompt`` and/or an input are needed; the rest defaults."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = None  # None -> the default model for the task
    task: Endpoint | None = None  # None -> inferred from the inputs
    prompt: str | None = None
    image: str | None = None  # first frame: https://, data:, runway:// or s3://bucket/key
    last_image: str | None = None  # last frame, where the model supports one
    video: str | None = None  # video_to_video input (videoUri or promptVideo, depending on the model)
    character: str | None = None  # act_two character: an image or a video
    character_type: Literal["image", "video"] | None = None  # needed when the URI does not tell
    reference: str | None = None  # act_two performance video
    ratio: str | None = None
    resolution: str | None = None
    duration: StrictInt | Literal["auto"] | None = None  # strict: "5" and true are not durations
    seed: StrictInt | None = None
    options: dict[str, Any] = {}  # further wire fields (camelCase), validated like the rest
    webhook_url: str | None = None  # used by the notification step; never sent to Runway

    def plain(self) -> dict[str, Any]:
        """The request as recorded and passed on: only the fields that were given."""
        return self.model_dump(exclude_none=True, exclude_defaults=True)

    @classmethod
    def parse(cls, value: Any) -> GenerationRequest:
        """``value`` as a request; InvalidRequest with one readable sentence per offending field."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise InvalidRequest(["the request must be a JSON object"])
        try:
            return cls.model_validate(dict(value))
        except pydantic.ValidationError as exc:
            raise InvalidRequest(readable_errors(exc)) from None


_FIELD_HINTS = {
    "duration": "duration must be a whole number of seconds or auto",
    "seed": "seed must be a whole number",
    "task": "task must be one of " + ", ".join(ENDPOINTS) + " (or left out to infer it from the inputs)",
    "character_type": "character_type must be image or video",
    "options": 'options must be an object of extra wire fields, e.g. {"audio": true}',
}


def readable_errors(exc: pydantic.ValidationError) -> list[str]:
    """One sentence per offending field of a GenerationRequest."""
    sentences: dict[str, str] = {}
    accepted = ", ".join(GenerationRequest.model_fields)
    for error in exc.errors():
        loc = error["loc"]
        name = str(loc[0]) if loc else "request"
        if error["type"] == "extra_forbidden":
            sentences.setdefault(name, f"unknown field {name}; accepted fields: {accepted}")
        elif name in _FIELD_HINTS:
            sentences.setdefault(name, f"{_FIELD_HINTS[name]}, not {error['input']!r}")
        else:
            sentences.setdefault(name, f"{name}: {error['msg'].lower()} (got {error['input']!r})")
    return list(sentences.values())
