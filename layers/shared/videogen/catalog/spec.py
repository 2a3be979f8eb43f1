"""The catalog's types, built once from ``sdk_models.json`` (SDK facts) and ``model_notes.py``."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from videogen.catalog import model_notes
from videogen.core.request import ENDPOINTS

SDK_DATA_FILE = Path(__file__).with_name("sdk_models.json")

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class FieldSpec:
    """One top-level field of a request body. ``schema`` is the JSON-like type tree from the SDK."""

    wire: str
    kwarg: str
    required: bool
    schema: Schema
    media_kinds: tuple[str, ...]  # kinds of media URIs anywhere inside this field

    def enum_values(self) -> tuple[Any, ...]:
        """Literal values the field accepts (for ``duration``: the enumerated seconds and/or "auto")."""
        return tuple(v for node in _branches(self.schema) for v in node.get("enum", ()))

    def accepts(self, json_type: str) -> bool:
        return any(node.get("type") == json_type for node in _branches(self.schema))


@dataclass(frozen=True)
class DurationRule:
    required: bool
    choices: tuple[int, ...] | None  # an enumerated set, e.g. (4, 6, 8)
    minimum: int | None
    maximum: int | None
    auto: bool  # "auto" is accepted
    default: int | None  # Runway's documented default when omitted, or the catalog default when required

    def describe(self) -> str:
        if self.choices:
            text = ", ".join(str(c) for c in self.choices) + " s"
        elif self.minimum is not None and self.maximum is not None:
            text = f"{self.minimum}-{self.maximum} s"
        else:
            text = "any whole number of seconds (no range documented)"
        return text + (" or auto" if self.auto else "")


@dataclass(frozen=True)
class PromptRule:
    required: bool
    max_length: int | None
    unit: Literal["utf16", "chars"]

    def length_of(self, text: str) -> int:
        return len(text.encode("utf-16-le")) // 2 if self.unit == "utf16" else len(text)

    @property
    def unit_label(self) -> str:
        return "UTF-16 code units" if self.unit == "utf16" else "characters"


@dataclass(frozen=True)
class EndpointSpec:
    """What one model accepts on one endpoint."""

    endpoint: str
    model: str
    sdk_class: str
    fields: Mapping[str, FieldSpec]
    ratios: tuple[str, ...] | None  # None: no ratio field, or a free string (aleph2)
    resolutions: tuple[str, ...] | None
    duration: DurationRule | None  # None: the model takes no duration here
    prompt: PromptRule | None  # None: no promptText field
    input_video_field: str | None  # "videoUri" or "promptVideo" on video_to_video
    image_positions: tuple[str, ...] | None  # allowed promptImage[].position values
    defaults: Mapping[str, Any]
    ranges: Mapping[str, tuple[float, float]]
    max_items: Mapping[str, int]
    checks: tuple[str, ...]
    output_surcharges: Mapping[str, float]

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.fields.items() if f.required)

    @property
    def optional_fields(self) -> tuple[str, ...]:
        return tuple(name for name, f in self.fields.items() if not f.required)

    @property
    def media_fields(self) -> dict[str, tuple[str, ...]]:
        return {name: f.media_kinds for name, f in self.fields.items() if f.media_kinds}


@dataclass(frozen=True)
class CreditRate:
    without_audio: float
    with_audio: float

    def per_second(self, audio: bool | None) -> float:
        """Runway reports the maximum up front, so an unspecified audio flag costs like audio on."""
        return self.without_audio if audio is False else self.with_audio


@dataclass(frozen=True)
class ModelSpec:
    name: str
    vendor: str
    best_for: str
    credits_per_second: CreditRate | None
    endpoints: Mapping[str, EndpointSpec] = field(default_factory=dict)

    def on(self, endpoint: str) -> EndpointSpec:
        """The model's spec on ``endpoint``; KeyError if the model is not offered there."""
        try:
            return self.endpoints[endpoint]
        except KeyError:
            raise KeyError(f"{self.name} is not offered on {endpoint}") from None


def _branches(node: Schema) -> Iterator[Schema]:
    if "anyOf" in node:
        for branch in node["anyOf"]:
            yield from _branches(branch)
    else:
        yield node


def _media_kinds(node: Schema) -> Iterator[str]:
    for branch in _branches(node):
        if "media" in branch:
            yield branch["media"]
        elif branch.get("type") == "array":
            yield from _media_kinds(branch["items"])
        elif branch.get("type") == "object":
            for prop in branch.get("properties", {}).values():
                yield from _media_kinds(prop["schema"])


def _fill_sdk_gaps(model: str, wire: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Mark bare-string media fields and give untyped array items the shape their docstring describes."""
    branches: list[dict[str, Any]] = schema.get("anyOf", [schema])
    for branch in branches:
        if branch.get("type") == "string" and wire in model_notes.MEDIA_FIELD_KINDS:
            branch.setdefault("media", model_notes.MEDIA_FIELD_KINDS[wire])
        if (
            branch.get("type") == "array"
            and branch["items"] == {"type": "object"}
            and (model, wire) in model_notes.UNTYPED_ITEM_SHAPES
        ):
            branch["items"] = copy.deepcopy(model_notes.UNTYPED_ITEM_SHAPES[(model, wire)])
    return schema


def _notes_for(model: str, endpoint: str) -> dict[str, Any]:
    notes = dict(model_notes.MODELS.get(model, {}))
    notes.update(notes.pop("per_endpoint", {}).get(endpoint, {}))
    return notes


def _enum_strings(fields: Mapping[str, FieldSpec], name: str) -> tuple[str, ...] | None:
    spec = fields.get(name)
    if spec is None:
        return None
    values = spec.enum_values()
    return tuple(values) if values else None


def _duration_rule(fields: Mapping[str, FieldSpec], notes: Mapping[str, Any]) -> DurationRule | None:
    spec = fields.get("duration")
    if spec is None:
        return None
    values = spec.enum_values()
    choices = tuple(v for v in values if isinstance(v, int))
    low, high = notes.get("ranges", {}).get("duration", (None, None))
    default = notes.get("defaults", {}).get("duration", notes.get("documented_defaults", {}).get("duration"))
    return DurationRule(
        required=spec.required,
        choices=choices or None,
        minimum=low,
        maximum=high,
        auto="auto" in values,
        default=default,
    )


def _prompt_rule(fields: Mapping[str, FieldSpec], notes: Mapping[str, Any]) -> PromptRule | None:
    spec = fields.get("promptText")
    if spec is None:
        return None
    max_length, unit = notes.get("prompt_limit", (None, "chars"))
    return PromptRule(required=spec.required, max_length=max_length, unit=unit)


def _image_positions(fields: Mapping[str, FieldSpec]) -> tuple[str, ...] | None:
    spec = fields.get("promptImage")
    if spec is None:
        return None
    for branch in _branches(spec.schema):
        if branch.get("type") == "array":
            position = branch["items"].get("properties", {}).get("position")
            if position is not None:
                values = tuple(v for b in _branches(position["schema"]) for v in b.get("enum", ()))
                return values or None
    return None


def _endpoint_spec(endpoint: str, model: str, raw: Mapping[str, Any]) -> EndpointSpec:
    notes = _notes_for(model, endpoint)
    fields: dict[str, FieldSpec] = {}
    for wire, entry in raw["fields"].items():
        schema = _fill_sdk_gaps(model, wire, copy.deepcopy(entry["schema"]))
        fields[wire] = FieldSpec(
            wire=wire,
            kwarg=entry["kwarg"],
            required=entry["required"],
            schema=schema,
            media_kinds=tuple(dict.fromkeys(_media_kinds(schema))),
        )
    required_defaults = {
        name: value
        for name, value in notes.get("defaults", {}).items()
        if name in fields and fields[name].required
    }
    return EndpointSpec(
        endpoint=endpoint,
        model=model,
        sdk_class=raw["sdk_class"],
        fields=fields,
        ratios=_enum_strings(fields, "ratio"),
        resolutions=_enum_strings(fields, "resolution"),
        duration=_duration_rule(fields, notes),
        prompt=_prompt_rule(fields, notes),
        input_video_field=next((f for f in ("videoUri", "promptVideo") if f in fields), None),
        image_positions=_image_positions(fields),
        defaults=required_defaults,
        ranges={k: v for k, v in notes.get("ranges", {}).items() if k in fields},
        max_items={k: v for k, v in notes.get("max_items", {}).items() if k in fields},
        checks=tuple(notes.get("checks", ())),
        output_surcharges=dict(notes.get("output_surcharges", {})) if "outputFormat" in fields else {},
    )


def _credit_rate(value: Any) -> CreditRate | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return CreditRate(without_audio=value["without_audio"], with_audio=value["with_audio"])
    return CreditRate(without_audio=value, with_audio=value)


def load_sdk_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SDK_DATA_FILE.read_text(encoding="utf-8"))
    return data


@cache
def registry() -> Mapping[str, ModelSpec]:
    """Every model, in SDK order of first appearance across ``ENDPOINTS``."""
    data = load_sdk_data()
    per_model: dict[str, dict[str, EndpointSpec]] = {}
    for endpoint in ENDPOINTS:
        for model, raw in data["endpoints"][endpoint].items():
            per_model.setdefault(model, {})[endpoint] = _endpoint_spec(endpoint, model, raw)
    models: dict[str, ModelSpec] = {}
    for name, endpoints in per_model.items():
        notes = model_notes.MODELS.get(name, {})
        models[name] = ModelSpec(
            name=name,
            vendor=notes.get("vendor", "unknown"),
            best_for=notes.get("best_for", ""),
            credits_per_second=_credit_rate(notes.get("credits_per_second")),
            endpoints=endpoints,
        )
    return models


def sdk_version() -> str:
    return str(load_sdk_data()["sdk_version"])
