"""Walks a JSON value against the SDK-derived type tree: type checks, enums, required keys, media URIs.

Type tree nodes (see ``sdk_models.json``): ``{"type": "string"|"integer"|"number"|"boolean"}``,
optionally with ``"media": kind`` on strings; ``{"enum": [...]}``; ``{"anyOf": [...]}``;
``{"type": "array", "items": node}``; ``{"type": "object", "properties": {wire: {"kwarg", "required",
"schema"}}}`` (no properties = any object).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videogen.catalog.media import uri_problems

Schema = Mapping[str, Any]


_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: bool is an int subclass
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def json_type(value: Any) -> str:
    return next((name for cls, name in _JSON_TYPES if isinstance(value, cls)), type(value).__name__)


def matches_type(node: Schema, value: Any) -> bool:
    if "enum" in node:
        return any(value == v and json_type(value) == json_type(v) for v in node["enum"])
    if "anyOf" in node:
        return any(matches_type(b, value) for b in node["anyOf"])
    expected = node.get("type")
    actual = json_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def fmt(value: Any) -> str:
    """A value as a user would type it: strings bare unless empty or padded."""
    if isinstance(value, str):
        return value if value and value.strip() == value else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(value: Any) -> str:
    """The wrong value as the user will recognise it: ``the string '5'``, ``the number 1.5``, ``a list``."""
    kind = json_type(value)
    if kind == "string" and len(value) <= 40:
        return f"the string {value!r}"
    if kind in ("integer", "number"):
        return f"the number {value}"
    if kind == "boolean":
        return fmt(value)
    return _TYPE_WORDS.get(kind, kind)


def describe(node: Schema) -> str:
    if "enum" in node:
        values = [fmt(v) for v in node["enum"]]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if "anyOf" in node:
        return " or ".join(dict.fromkeys(describe(b) for b in node["anyOf"]))
    if node.get("type") == "array":
        return "a list of " + describe(node["items"]).removeprefix("a ").removeprefix("an ")
    return _TYPE_WORDS.get(node.get("type", ""), "a value")


class Context:
    """Names used in messages, e.g. ``gen4.5 on text_to_video``."""

    def __init__(self, model: str, endpoint: str) -> None:
        self.model = model
        self.endpoint = endpoint

    @property
    def where(self) -> str:
        return f"{self.model} on {self.endpoint}"


def check(node: Schema, value: Any, path: str, ctx: Context) -> list[str]:
    """Problems of ``value`` at ``path`` (a wire path such as ``promptImage[0].uri``)."""
    if "anyOf" in node:
        return _check_union(node, value, path, ctx)
    if "enum" in node:
        if matches_type(node, value):
            return []
        allowed = ", ".join(fmt(v) for v in node["enum"])
        if path.startswith("promptImage[") and path.endswith("].position") and isinstance(value, str):
            return [f"{ctx.model} does not support a {value} frame on {ctx.endpoint} ({path}); use {allowed}"]
        return [f"{path} {fmt(value)} is not offered by {ctx.where}; use one of {allowed}"]
    if not matches_type(node, value):
        return [f"{path} must be {describe(node)}, not {_shown(value)}"]
    return _check_contents(node, value, path, ctx)


def _check_contents(node: Schema, value: Any, path: str, ctx: Context) -> list[str]:
    """Problems inside a value of the right type: media URIs, array items, object fields."""
    kind = node.get("type")
    if kind == "string" and "media" in node:
        return uri_problems(value, node["media"], path)
    if kind == "array":
        return [p for i, item in enumerate(value) for p in check(node["items"], item, f"{path}[{i}]", ctx)]
    if kind == "object" and "properties" in node:
        return check_object(node["properties"], value, path, ctx)
    return []


def check_object(
    properties: Mapping[str, Any], value: Mapping[str, Any], path: str, ctx: Context
) -> list[str]:
    problems = []
    for key in value:
        if key not in properties:
            allowed = ", ".join(properties)
            problems.append(f"{path}.{key} is not a field {ctx.where} accepts here; use {allowed}")
    for key, prop in properties.items():
        if key in value:
            problems.extend(check(prop["schema"], value[key], f"{path}.{key}", ctx))
        elif prop["required"]:
            problems.append(f"{path}.{key} is required")
    return problems


def _check_union(node: Schema, value: Any, path: str, ctx: Context) -> list[str]:
    branches = _flatten(node)
    same_type = [b for b in branches if _type_compatible(b, value)]
    if not same_type:
        return [f"{path} must be {describe(node)}, not {_shown(value)}"]
    enums = [b for b in same_type if "enum" in b]
    if any(matches_type(b, value) for b in enums):
        return []
    if enums and len(enums) == len(same_type) and len(enums) < len(branches):
        return [f"{path} must be {describe(node)}, not {fmt(value)!r}"]
    if enums and len(enums) == len(same_type):
        merged = {"enum": [v for b in enums for v in b["enum"]]}
        return check(merged, value, path, ctx)
    candidates = [b for b in same_type if "enum" not in b] or same_type
    if len(candidates) > 1 and isinstance(value, dict):
        tag_problem = _tag_problem(candidates, value, path, ctx)
        if tag_problem:
            return [tag_problem]
        candidates = _discriminate(candidates, value)
    results = [check(b, value, path, ctx) for b in candidates]
    return min(results, key=len)


def _flatten(node: Schema) -> list[Schema]:
    if "anyOf" in node:
        return [leaf for b in node["anyOf"] for leaf in _flatten(b)]
    return [node]


def _type_compatible(node: Schema, value: Any) -> bool:
    if "enum" in node:
        return any(json_type(v) == json_type(value) for v in node["enum"])
    return matches_type({"type": node.get("type")}, value)


def _discriminate(candidates: list[Schema], value: Mapping[str, Any]) -> list[Schema]:
    """Pick the object branches whose single-value ``enum`` keys (``type: image``) or required keys fit."""
    by_tag = []
    for branch in candidates:
        props = branch.get("properties", {})
        tags = {k: p["schema"]["enum"][0] for k, p in props.items() if len(p["schema"].get("enum", ())) == 1}
        if tags and all(value.get(k) == v for k, v in tags.items()):
            by_tag.append(branch)
    if by_tag:
        return by_tag
    by_keys = [
        b
        for b in candidates
        if all(k in value for k, p in b.get("properties", {}).items() if p["required"] and not _is_tag(p))
    ]
    return by_keys or candidates


def _tags(branch: Schema) -> dict[str, Any]:
    props = branch.get("properties", {})
    return {k: p["schema"]["enum"][0] for k, p in props.items() if _is_tag(p)}


def _tag_problem(candidates: list[Schema], value: Mapping[str, Any], path: str, ctx: Context) -> str | None:
    """For object unions told apart by one key (``type: image|video``): a wrong or missing value."""
    keys = [set(_tags(b)) for b in candidates]
    common = set.intersection(*keys) if keys else set()
    if len(common) != 1:
        return None
    (key,) = common
    allowed = [_tags(b)[key] for b in candidates]
    if key not in value:
        return f"{path}.{key} is required; use one of {', '.join(fmt(v) for v in allowed)}"
    if value[key] not in allowed:
        return f"{path}.{key} {fmt(value[key])} is not offered by {ctx.where}; use one of " + ", ".join(
            fmt(v) for v in allowed
        )
    return None


def _is_tag(prop: Mapping[str, Any]) -> bool:
    return len(prop["schema"].get("enum", ())) == 1


def map_media(node: Schema, value: Any, fn: Callable[[str, str], str]) -> Any:
    """A copy of ``value`` with every media URI string replaced by ``fn(uri, kind)``."""
    if "anyOf" in node:
        branches = [b for b in _flatten(node) if _type_compatible(b, value)]
        if len(branches) > 1 and isinstance(value, dict):
            branches = _discriminate(branches, value)
        media_first = sorted(branches, key=lambda b: "media" not in b)
        return map_media(media_first[0], value, fn) if media_first else _copy(value)
    kind = node.get("type")
    if kind == "string" and "media" in node and isinstance(value, str):
        return fn(value, node["media"])
    if kind == "array" and isinstance(value, list):
        return [map_media(node["items"], item, fn) for item in value]
    if kind == "object" and isinstance(value, dict) and "properties" in node:
        props = node["properties"]
        return {k: map_media(props[k]["schema"], v, fn) if k in props else _copy(v) for k, v in value.items()}
    return _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
