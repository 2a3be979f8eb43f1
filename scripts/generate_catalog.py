"""Write the SDK-derived part of the model catalog (fields, wire names, enums) to a JSON data file.

Reads the typed request parameters of the installed ``runwayml`` SDK (``runwayml.types.*_create_params``):
one TypedDict per model, ``Literal`` model names and enum values, ``Required[...]`` and
``PropertyInfo(alias=...)`` wire names. Media fields are recognised from the SDK's own docstring
("... containing an encoded image/video/audio").

Usage: ``python scripts/generate_catalog.py`` (rewrites the file), ``--check`` (exit 1 if it is stale).
The drift test (``tests/unit/test_catalog_drift.py``) calls :func:`extract_sdk_catalog` too.
"""

from __future__ import annotations

import argparse
import ast
import collections.abc
import importlib
import inspect
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import typing_extensions

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "layers" / "shared" / "videogen" / "catalog" / "sdk_models.json"

ENDPOINT_MODULES = {
    "text_to_video": ("runwayml.types.text_to_video_create_params", "TextToVideoCreateParams"),
    "image_to_video": ("runwayml.types.image_to_video_create_params", "ImageToVideoCreateParams"),
    "video_to_video": ("runwayml.types.video_to_video_create_params", "VideoToVideoCreateParams"),
    "character_performance": (
        "runwayml.types.character_performance_create_params",
        "CharacterPerformanceCreateParams",
    ),
}

_MEDIA_DOC = re.compile(r"containing an encoded (image|video|audio)")
_REQUIRED = {typing.Required, typing_extensions.Required}
_NOT_REQUIRED = {typing.NotRequired, typing_extensions.NotRequired}
_LITERAL = {typing.Literal, typing_extensions.Literal}
_ITERABLES = {list, tuple, collections.abc.Iterable, collections.abc.Sequence}
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", object: "object"}


def _field_docs(module: Any) -> dict[str, dict[str, str]]:
    """Attribute docstrings per TypedDict class: ``{class name: {kwarg: docstring}}`` (not kept at runtime)."""
    docs: dict[str, dict[str, str]] = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        body = node.body
        for stmt, after in zip(body, [*body[1:], None], strict=True):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                fields[stmt.target.id] = after.value.value
        docs[node.name] = fields
    return docs


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def _unwrap(tp: Any) -> tuple[Any, bool, str | None]:
    """Strip Required/NotRequired/Annotated; return (inner type, required, wire alias)."""
    required = False
    alias = None
    while True:
        origin = typing.get_origin(tp)
        if origin in _REQUIRED:
            required = True
            tp = typing.get_args(tp)[0]
        elif origin in _NOT_REQUIRED:
            tp = typing.get_args(tp)[0]
        elif origin is typing.Annotated:
            args = typing.get_args(tp)
            tp = args[0]
            for meta in args[1:]:
                alias = getattr(meta, "alias", None) or alias
        else:
            return tp, required, alias


def _schema(tp: Any, docs: dict[str, dict[str, str]], media: str | None) -> dict[str, Any]:
    tp, _, _ = _unwrap(tp)
    origin = typing.get_origin(tp)
    if origin in _LITERAL:
        return {"enum": list(typing.get_args(tp))}
    if origin is typing.Union:
        branches = [_schema(arg, docs, media) for arg in typing.get_args(tp)]
        return {"anyOf": branches}
    if origin in _ITERABLES or tp in _ITERABLES:
        args = typing.get_args(tp)
        return {"type": "array", "items": _schema(args[0], docs, media) if args else {"type": "object"}}
    if _is_typeddict(tp):
        return _object_schema(tp, docs)
    if tp in _SCALARS:
        node: dict[str, Any] = {"type": _SCALARS[tp]}
        if tp is str and media:
            node["media"] = media
        return node
    raise TypeError(f"unsupported SDK type {tp!r}; teach scripts/generate_catalog.py about it")


def _object_schema(cls: type, docs: dict[str, dict[str, str]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for kwarg, hint in typing.get_type_hints(cls, include_extras=True).items():
        _, required, alias = _unwrap(hint)
        match = _MEDIA_DOC.search(docs.get(cls.__name__, {}).get(kwarg, ""))
        properties[alias or kwarg] = {
            "kwarg": kwarg,
            "required": required,
            "schema": _schema(hint, docs, match.group(1) if match else None),
        }
    return {"type": "object", "properties": properties}


def _model_classes(alias: Any) -> list[type]:
    if _is_typeddict(alias):
        return [alias]
    return list(typing.get_args(alias))


def extract_sdk_catalog() -> dict[str, Any]:
    """Everything the installed SDK says about the four video endpoints, as plain JSON data."""
    import runwayml  # noqa: PLC0415  (only the generator and the drift test need the SDK types)

    endpoints: dict[str, Any] = {}
    for endpoint, (module_name, alias_name) in ENDPOINT_MODULES.items():
        module = importlib.import_module(module_name)
        docs = _field_docs(module)
        models: dict[str, Any] = {}
        for cls in _model_classes(getattr(module, alias_name)):
            schema = _object_schema(cls, docs)
            fields = schema["properties"]
            (model,) = fields.pop("model")["schema"]["enum"]
            models[model] = {"sdk_class": cls.__name__, "fields": fields}
        endpoints[endpoint] = models
    return {
        "generated_by": "scripts/generate_catalog.py",
        "sdk": "runwayml",
        "sdk_version": runwayml.__version__,
        "endpoints": endpoints,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    args = parser.parse_args(argv)
    text = render(extract_sdk_catalog())
    if args.check:
        stale = not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text
        if stale:
            sys.stderr.write(f"{OUTPUT} is stale: run python scripts/generate_catalog.py\n")
        return 1 if stale else 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
