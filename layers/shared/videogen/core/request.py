"""The generation request: what a user asks for, in snake_case. The one model of it.

The API's Event Handler validates bodies with it (and documents it in the OpenAPI document), the submit step
validates its execution input with it (StartExecution is a public entry too), and
``videogen.catalog.translate.prepare`` turns it into Runway's wire body.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictInt, field_validator, model_validator

from videogen.core.errors import InvalidRequest

MAX_SEED = 4_294_967_295
MAX_DEPTH = 16
#: Control characters other than tab, line feed and carriage return.
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {chr(127)}


def hostile_text_problem(value: Any) -> str | None:
    """Why ``value`` (a JSON value) cannot be accepted, or None; walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text holds an invalid character (a lone UTF-16 surrogate)"
            if not _CONTROL.isdisjoint(item):
                return "text holds a control character"
        elif isinstance(item, Mapping):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return None


REQUEST_EXAMPLES: list[JsonValue] = [
    {"prompt": "A paper boat drifting down a rain-soaked street at dusk", "model": "gen4.5", "duration": 5},
    {
        "model": "gen4_turbo",
        "image": "https://example.com/frame.png",
        "prompt": "the boat drifts away",
        "ratio": "1280:720",
        "duration": 5,
        "seed": 42,
    },
    {"model": "aleph2", "video": "https://example.com/clip.mp4", "prompt": "make it snow"},
]

Endpoint = Literal["text_to_video", "image_to_video", "video_to_video", "character_performance"]
ENDPOINTS: tuple[str, ...] = get_args(Endpoint)


class GenerationRequest(BaseModel):
    """What a user asks for, in snake_case. Only ``prompt`` and/or an input are needed; the rest defaults."""

    model_config = ConfigDict(
        extra="forbid",
        protected_namespaces=(),
        json_schema_extra={"examples": REQUEST_EXAMPLES},  # documented, and what API fuzzers start from
    )

    model: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # None -> the default model
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
    seed: Annotated[StrictInt, Field(ge=0, le=MAX_SEED)] | None = None
    options: dict[str, Any] = {}  # further wire fields (camelCase), validated like the rest
    webhook_url: str | None = None  # used by the notification step; never sent to Runway

    @model_validator(mode="before")
    @classmethod
    def _refuse_hostile_names(cls, value: Any) -> Any:
        """Refuse field names that no later step could store or echo (lone surrogates, control characters)."""
        if isinstance(value, Mapping):
            for name in value:
                problem = hostile_text_problem(name) if isinstance(name, str) else None
                if problem:
                    raise ValueError(f"a field name {problem.removeprefix('text ')}")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_hostile_text(cls, value: Any) -> Any:
        """Refuse what JSON can carry but no later step can store or send: text with lone surrogates or
        control characters, and values nested deeper than MAX_DEPTH (checked without recursion). Each
        offending field is its own error, so every one is listed."""
        problem = hostile_text_problem(value)
        if problem:
            raise ValueError(problem)
        return value

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


FIELD_HINTS = {
    "duration": "duration must be a whole number of seconds or auto",
    "seed": f"seed must be a whole number from 0 to {MAX_SEED}",
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
        name = short_name(str(loc[0])) if loc else "request"
        if error["type"] == "value_error":  # the request's own checks: the reason without pydantic's prefix
            reason = str(error["msg"]).removeprefix("Value error, ")
            sentences.setdefault(name, f"{name}: {reason}" if loc else reason)
        elif error["type"] == "extra_forbidden":
            sentences.setdefault(name, f"unknown field {name}; accepted fields: {accepted}")
        elif name in FIELD_HINTS:
            sentences.setdefault(name, f"{FIELD_HINTS[name]}, not {short_repr(error['input'])}")
        else:
            sentences.setdefault(name, f"{name}: {error['msg'].lower()} (got {short_repr(error['input'])})")
    return list(sentences.values())


def short_name(name: str, limit: int = 64) -> str:
    """A field name as an error message shows it: cut to ``limit`` characters."""
    return name if len(name) <= limit else name[: limit - 3] + "..."


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (an error message never echoes a whole input)."""
    text = reprlib.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
