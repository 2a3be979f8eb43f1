"""Runway's create-request rules as the ``runwayml`` SDK types them, read from the installed SDK at import.

``runwayml.types.<endpoint>_create_params`` has one ``TypedDict`` per model (a ``Union`` of them when the
endpoint has several), keyed by the SDK's snake_case names. ``Annotated[..., PropertyInfo(alias=...)]``
gives a field's camelCase wire name, ``Required[...]`` marks it required, and the rest types its value:
``str``, ``int``, ``float``, ``bool``, ``object`` (anything), ``Literal[...]``, a nested ``TypedDict``,
``Iterable[...]`` (a JSON list) or a ``Union`` of these. ``MODELS[endpoint][model]`` holds each model's
fields by wire name; ``problems(endpoint, body)`` checks a wire body against them, at every depth. Nothing
the types leave out (ranges, lengths, cross-field rules in the docstrings) is checked.
"""

from __future__ import annotations

import collections.abc
import importlib
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import is_typeddict

ENDPOINTS = ("text_to_video", "image_to_video", "video_to_video", "character_performance")
_SCALARS: dict[Any, tuple[str, Any]] = {
    str: ("a string", str),
    int: ("an integer", int),
    float: ("a number", (int, float)),
    bool: ("true or false", bool),
    object: ("any value", object),
}


@dataclass(frozen=True)
class Type:
    """A value's type: ``kind`` is scalar (an instance of ``python``, in words ``args[0]``), literal (one of
    ``args``), list (of ``args[0]``), union (of ``args``) or object (``fields`` by wire name)."""

    kind: str
    args: tuple[Any, ...] = ()
    fields: dict[str, Field] = field(default_factory=dict)
    python: Any = None


@dataclass(frozen=True)
class Field:
    wire: str
    sdk: str  # the TypedDict key: the SDK's keyword argument for a top-level field
    required: bool
    type: Type


def _type(hint: Any) -> Type:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _SCALARS:
        return Type("scalar", (_SCALARS[hint][0],), python=_SCALARS[hint][1])
    if origin is typing.Literal:
        return Type("literal", args)
    if origin in (typing.Union, types.UnionType):
        return Type("union", tuple(_type(arg) for arg in args))
    if origin is collections.abc.Iterable:
        return Type("list", (_type(args[0]),))
    if is_typeddict(hint):
        return Type("object", fields=_fields(hint))
    raise TypeError(f"runwayml annotation {hint!r} has no check in the simulator")


def _fields(typed_dict: type) -> dict[str, Field]:
    # __required_keys__ is empty for these classes (string annotations), so Required[] is read from the hints
    fields = {}
    for key, annotation in typing.get_type_hints(typed_dict, include_extras=True).items():
        required = typing.get_origin(annotation) is typing.Required
        hint, wire = typing.get_args(annotation)[0] if required else annotation, key
        if typing.get_origin(hint) is typing.Annotated:
            hint, *meta = typing.get_args(hint)
            wire = next((m.alias for m in meta if getattr(m, "alias", None)), key)  # PropertyInfo(alias=...)
        fields[wire] = Field(wire, key, required, _type(hint))
    return fields


def _models(endpoint: str) -> dict[str, dict[str, Field]]:
    module = importlib.import_module(f"runwayml.types.{endpoint}_create_params")
    params = getattr(module, endpoint.title().replace("_", "") + "CreateParams")
    variants = [_fields(variant) for variant in typing.get_args(params) or (params,)]
    return {model: fields for fields in variants for model in fields["model"].type.args}


MODELS: dict[str, dict[str, dict[str, Field]]] = {endpoint: _models(endpoint) for endpoint in ENDPOINTS}


def problems(endpoint: str, body: dict[str, Any]) -> list[str]:
    """Why the SDK's types refuse ``body`` on ``endpoint`` (empty when they accept it)."""
    offered, model = MODELS[endpoint], body.get("model")
    if "model" not in body:
        return ["model is required"]
    if not isinstance(model, str) or model not in offered:
        return [_wrong("model", Type("literal", tuple(offered)), model)]
    return _object(body, offered[model], "", f"{model} on {endpoint}")


def _check(value: Any, tp: Type, where: str, owner: str) -> list[str]:
    if tp.kind == "object" and isinstance(value, dict):
        return _object(value, tp.fields, where, owner)
    if tp.kind == "list" and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _check(item, tp.args[0], f"{where}[{i}]", owner)]
    if tp.kind == "union":
        return _union(value, tp, where, owner)
    return [] if _accepts(tp, value) else [_wrong(where, tp, value)]


def _accepts(tp: Type, value: Any) -> bool:
    if tp.kind == "literal":
        return any(type(value) is type(allowed) and value == allowed for allowed in tp.args)
    if isinstance(value, bool) and tp.python is not object:  # a JSON true is not a number
        return tp.python is bool
    return tp.kind == "scalar" and isinstance(value, tp.python)


def _object(value: dict[str, Any], fields: dict[str, Field], where: str, owner: str) -> list[str]:
    found, prefix = [], f"{where}." if where else ""
    for name, item in value.items():
        if name in fields:
            found += _check(item, fields[name].type, prefix + name, owner)
            continue
        wire = next((f.wire for f in fields.values() if f.sdk == name != f.wire), None)
        found.append(
            f"{prefix}{name} is not a field of {owner}" + (f" (its wire name is {wire})" if wire else "")
        )
    return found + [
        f"{prefix}{f.wire} is required" for f in fields.values() if f.required and f.wire not in value
    ]


def _union(value: Any, tp: Type, where: str, owner: str) -> list[str]:
    results = [_check(value, member, where, owner) for member in tp.args]
    if not all(results):
        return []
    # the members the value has the shape of (an object, a list) tell best what is wrong inside it
    shape = "object" if isinstance(value, dict) else "list" if isinstance(value, list) else None
    shaped = [(member, found) for member, found in zip(tp.args, results, strict=True) if member.kind == shape]
    if not shaped:
        return [_wrong(where, tp, value)]
    if shape == "object" and len(shaped) > 1:  # told apart by a Literal field they share, such as "type"
        for key in sorted(set.intersection(*(set(member.fields) for member, _ in shaped))):
            tags = [member.fields[key].type for member, _ in shaped]
            if all(tag.kind == "literal" for tag in tags):
                if key not in value:
                    return [f"{where}.{key} is required"]
                if not any(_accepts(tag, value[key]) for tag in tags):
                    values = tuple(v for tag in tags for v in tag.args)
                    return [_wrong(f"{where}.{key}", Type("literal", values), value[key])]
                shaped = [pair for pair, tag in zip(shaped, tags, strict=True) if _accepts(tag, value[key])]
                break
    return min((found for _, found in shaped), key=len)


def _describe(tp: Type) -> str:
    if tp.kind == "literal":
        return "one of " + ", ".join(str(v) for v in tp.args)
    if tp.kind == "union":
        return " or ".join(_describe(member) for member in tp.args)
    return {"list": "a list", "object": "an object"}.get(tp.kind) or tp.args[0]


def _wrong(where: str, tp: Type, value: Any) -> str:
    shown = repr(value)
    return f"{where} must be {_describe(tp)} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
