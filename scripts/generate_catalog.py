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
    """Attribute docstrings per TypedDict class: ``{class: {kwarg: docstring}}`` (lost at runtime)."""
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


def sdk_field_docs() -> dict[tuple[str, str, str], str]:
    """``{(endpoint, model, wire name): docstring}`` of top-level fields, to check the hand-kept notes."""
    result: dict[tuple[str, str, str], str] = {}
    for endpoint, (module_name, alias_name) in ENDPOINT_MODULES.items():
        module = importlib.import_module(module_name)
        docs = _field_docs(module)
        for cls in _model_classes(getattr(module, alias_name)):
            hints = typing.get_type_hints(cls, include_extras=True)
            (model,) = typing.get_args(_unwrap(hints["model"])[0])
            for kwarg, hint in hints.items():
                wire = _unwrap(hint)[2] or kwarg
                result[(endpoint, model, wire)] = " ".join(docs.get(cls.__name__, {}).get(kwarg, "").split())
    return result


def describe_drift(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed between two extractions, one readable line per change (empty when identical)."""
    changes = []
    if old.get("sdk_version") != new.get("sdk_version"):
        changes.append(f"runwayml version changed: {old.get('sdk_version')} -> {new.get('sdk_version')}")
    for endpoint in dict.fromkeys([*old["endpoints"], *new["endpoints"]]):
        before, after = old["endpoints"].get(endpoint, {}), new["endpoints"].get(endpoint, {})
        for model in before.keys() - after.keys():
            changes.append(f"{endpoint}: model {model} was removed from the SDK")
        for model in after.keys() - before.keys():
            changes.append(f"{endpoint}: model {model} was added to the SDK")
        for model in before.keys() & after.keys():
            changes.extend(
                _fields_drift(f"{endpoint}/{model}", before[model]["fields"], after[model]["fields"])
            )
    return sorted(changes)


def _fields_drift(where: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    removed, added = old.keys() - new.keys(), new.keys() - old.keys()
    renamed = {old[w]["kwarg"]: w for w in removed} if removed and added else {}
    for wire in sorted(added):
        kwarg = new[wire]["kwarg"]
        if kwarg in renamed:
            changes.append(f"{where}: wire name of {kwarg} changed from {renamed.pop(kwarg)} to {wire}")
        else:
            changes.append(f"{where}: field {wire} was added (required={new[wire]['required']})")
    changes.extend(f"{where}: field {wire} was removed" for wire in sorted(renamed.values()))
    if not added:
        changes.extend(f"{where}: field {wire} was removed" for wire in sorted(removed))
    for wire in sorted(old.keys() & new.keys()):
        a, b = old[wire], new[wire]
        if a["required"] != b["required"]:
            state = "now required" if b["required"] else "now optional"
            changes.append(f"{where}: field {wire} is {state}")
        if a["kwarg"] != b["kwarg"]:
            changes.append(f"{where}: SDK kwarg of {wire} changed from {a['kwarg']} to {b['kwarg']}")
        changes.extend(_schema_drift(f"{where}: {wire}", a["schema"], b["schema"]))
    return changes


def _schema_drift(where: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if old == new:
        return []
    if "enum" in old and "enum" in new:
        gone = [v for v in old["enum"] if v not in new["enum"]]
        came = [v for v in new["enum"] if v not in old["enum"]]
        parts = ([f"values added {came}"] if came else []) + ([f"values removed {gone}"] if gone else [])
        return [f"{where}: {', '.join(parts) or 'value order changed'}"]
    if "anyOf" in old and "anyOf" in new and len(old["anyOf"]) == len(new["anyOf"]):
        return [
            c for a, b in zip(old["anyOf"], new["anyOf"], strict=True) for c in _schema_drift(where, a, b)
        ]
    if old.get("type") == new.get("type") == "array":
        return _schema_drift(f"{where}[]", old["items"], new["items"])
    if old.get("type") == new.get("type") == "object" and "properties" in old and "properties" in new:
        return _fields_drift(where, old["properties"], new["properties"])
    return [f"{where}: type changed from {json.dumps(old)} to {json.dumps(new)}"]


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
            committed = (
                json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {"endpoints": {}}
            )
            lines = describe_drift(committed, json.loads(text)) or ["formatting only"]
            sys.stderr.write(f"{OUTPUT} is stale: run python scripts/generate_catalog.py\n")
            sys.stderr.write("".join(f"  {line}\n" for line in lines))
        return 1 if stale else 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
