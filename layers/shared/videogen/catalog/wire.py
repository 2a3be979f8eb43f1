"""Transformations of a wire body: media URI rewriting, SDK kwargs and credit estimates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videogen.catalog.schema import map_media
from videogen.catalog.spec import EndpointSpec, registry


def _spec(endpoint: str, body: Mapping[str, Any]) -> EndpointSpec:
    """The body's model on ``endpoint``; KeyError for an unknown model or one not offered there."""
    model = body.get("model")
    if not isinstance(model, str) or model not in registry():
        raise KeyError(f"unknown model {model!r}")
    return registry()[model].on(endpoint)


def map_media_uris(endpoint: str, body: Mapping[str, Any], fn: Callable[[str, str], str]) -> dict[str, Any]:
    """A copy of ``body`` with every media URI replaced by ``fn(uri, kind)``, kind image/video/audio."""
    spec = _spec(endpoint, body)
    result: dict[str, Any] = {}
    for name, value in body.items():
        field = spec.fields.get(name)
        result[name] = map_media(field.schema, value, fn) if field else map_media({}, value, fn)
    return result


def to_sdk_kwargs(endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``client.<endpoint>.create(**kwargs)``.

    Top-level names become the SDK's snake_case kwargs; nested objects keep their wire keys, which the SDK
    passes through unchanged. ValueError for a field the model does not have (run ``validate_wire`` first).
    """
    spec = _spec(endpoint, body)
    kwargs: dict[str, Any] = {"model": body["model"]}
    for name, value in body.items():
        if name == "model":
            continue
        if name not in spec.fields:
            raise ValueError(f"{spec.model} on {endpoint} has no field {name}")
        kwargs[spec.fields[name].kwarg] = value
    return kwargs


def estimate_credits(endpoint: str, body: Mapping[str, Any]) -> float | None:
    """Credits per second times duration, where the catalog knows both; else None.

    An upper bound like Runway's ``estimatedCost``: audio counts as on unless ``audio`` is false.
    """
    try:
        spec = _spec(endpoint, body)
    except KeyError:
        return None
    rate = registry()[spec.model].credits_per_second
    seconds = body.get("duration")
    if seconds is None and spec.duration is not None:
        seconds = spec.duration.default
    if rate is None or isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    audio = body.get("audio")
    per_second = rate.per_second(audio if isinstance(audio, bool) else None)
    output_format = body.get("outputFormat")
    if isinstance(output_format, str):
        per_second += spec.output_surcharges.get(output_format, 0)
    return float(per_second * seconds)
