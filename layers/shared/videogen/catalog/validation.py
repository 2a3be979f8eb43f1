"""``validate_wire``: Runway's rules applied to a camelCase body exactly as POSTed to ``/v1/<endpoint>``."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from videogen.catalog import model_notes, rules
from videogen.catalog.schema import Context, check
from videogen.catalog.spec import ENDPOINTS, EndpointSpec, registry, sdk_version

_VIDEO_FIELDS = ("videoUri", "promptVideo")
_ENDPOINT_NEEDS = {
    "text_to_video": "only a text prompt",
    "image_to_video": "an input image",
    "video_to_video": "an input video",
    "character_performance": "a character and a reference performance video",
}


def model_problem(endpoint: str, model: str) -> str | None:
    """Why ``model`` cannot be used on ``endpoint`` (retired, unknown, other endpoint), or None."""
    if model in model_notes.RETIRED_MODELS:
        return f"model {model} has been retired by Runway; use {model_notes.RETIRED_MODELS[model]} instead"
    models = registry()
    on_endpoint = [name for name, spec in models.items() if endpoint in spec.endpoints]
    if model not in models:
        close = difflib.get_close_matches(model, list(models), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return (
            f"model {model} is not a Runway video model known to this catalog (runwayml {sdk_version()})"
            f"{hint} Models on {endpoint}: {', '.join(on_endpoint)}"
        )
    offered = list(models[model].endpoints)
    if endpoint in offered:
        return None
    if len(offered) == 1 and offered[0] != "text_to_video":
        return (
            f"{model} needs {_ENDPOINT_NEEDS[offered[0]]}: it is offered on {offered[0]} only, not {endpoint}"
        )
    return (
        f"{model} is not offered on {endpoint} (only on {', '.join(offered)}); "
        f"for {endpoint} use one of {', '.join(on_endpoint)}"
    )


def _missing(spec: EndpointSpec, name: str) -> str:
    model, where = spec.model, f"{spec.model} on {spec.endpoint}"
    if name == "ratio" and spec.ratios:
        return f"{where} needs a ratio; use one of {', '.join(spec.ratios)}"
    if name == "duration" and spec.duration:
        return f"{model} needs a duration: {spec.duration.describe()}"
    messages = {
        "promptImage": f"{model} needs an input image (promptImage)",
        "videoUri": f"{model} needs an input video (videoUri)",
        "promptVideo": f"{model} needs an input video (promptVideo)",
        "promptText": f"{where} needs a text prompt (promptText)",
        "character": f'{model} needs a character: {{"type": "image" or "video", "uri": ...}}',
        "reference": f'{model} needs a reference performance video: {{"type": "video", "uri": ...}}',
    }
    return messages.get(name, f"{where} requires {name}")


def _unknown_field(spec: EndpointSpec, key: str) -> str:
    where = f"{spec.model} on {spec.endpoint}"
    video = spec.input_video_field
    if key in _VIDEO_FIELDS and video:
        return f"{spec.model} takes its input video in {video}, not {key}"
    by_kwarg = next((f.wire for f in spec.fields.values() if f.kwarg == key and f.wire != key), None)
    if by_kwarg:
        return f"unknown field {key} for {where}: wire names are camelCase, use {by_kwarg}"
    return f"{where} does not accept the field {key}; accepted fields: {', '.join(['model', *spec.fields])}"


def validate_wire(endpoint: str, body: Mapping[str, Any]) -> list[str]:
    """Every problem Runway would have with ``body`` on ``endpoint``, one actionable sentence each."""
    if endpoint not in ENDPOINTS:
        return [f"unknown endpoint {endpoint}; use one of {', '.join(ENDPOINTS)}"]
    if not isinstance(body, Mapping):
        return ["the request body must be a JSON object"]
    model = body.get("model")
    if not isinstance(model, str) or not model:
        default = model_notes.DEFAULT_MODEL_PER_ENDPOINT[endpoint]
        return [f"model is required: name a Runway model, e.g. {default}"]
    problem = model_problem(endpoint, model)
    if problem:
        return [problem]

    spec = registry()[model].on(endpoint)
    problems = [_unknown_field(spec, key) for key in body if key != "model" and key not in spec.fields]
    for name in spec.required_fields:
        other_video_given = name in _VIDEO_FIELDS and any(f in body for f in _VIDEO_FIELDS if f != name)
        if name not in body and not other_video_given:
            problems.append(_missing(spec, name))
    ctx = Context(model, endpoint)
    for name, value in body.items():
        if name in spec.fields:
            problems.extend(check(spec.fields[name].schema, value, name, ctx))
    problems.extend(rules.apply(spec, body))
    return list(dict.fromkeys(problems))
