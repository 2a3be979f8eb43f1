"""Drift between the committed catalog data and the installed runwayml SDK.

An SDK upgrade that adds, renames or removes a model, a field or an enum value fails here with a line per
change. Fix: ``python scripts/generate_catalog.py``, then review ``model_notes.py`` for the changed models.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from scripts.generate_catalog import describe_drift, extract_sdk_catalog, sdk_field_docs
from videogen.catalog import model_notes
from videogen.catalog.spec import load_sdk_data, registry


@pytest.fixture(scope="module")
def sdk() -> dict[str, Any]:
    return extract_sdk_catalog()


@pytest.fixture(scope="module")
def docs() -> dict[tuple[str, str, str], str]:
    return sdk_field_docs()


def test_committed_catalog_matches_the_installed_sdk(sdk: dict[str, Any]) -> None:
    # GIVEN the committed sdk_models.json and the installed SDK's typed parameters
    # WHEN they are compared
    changes = describe_drift(load_sdk_data(), sdk)
    # THEN nothing changed
    assert not changes, "runwayml drifted from the catalog; run scripts/generate_catalog.py and review:\n" + (
        "\n".join(changes)
    )
    assert load_sdk_data() == sdk


def test_drift_report_names_each_kind_of_change(sdk: dict[str, Any]) -> None:
    # GIVEN an SDK in which a model, a field, a ratio, a wire name and a required flag changed
    new = copy.deepcopy(sdk)
    t2v, i2v = new["endpoints"]["text_to_video"], new["endpoints"]["image_to_video"]
    t2v["gen5"] = copy.deepcopy(t2v["gen4.5"])
    del t2v["veo3.1_fast"]
    t2v["gen4.5"]["fields"]["ratio"]["schema"]["enum"].append("1920:1080")
    t2v["gen4.5"]["fields"]["ratio"]["schema"]["enum"].remove("720:1280")
    t2v["gen4.5"]["fields"]["fps"] = {"kwarg": "fps", "required": False, "schema": {"type": "integer"}}
    i2v["gen4.5"]["fields"]["image"] = i2v["gen4.5"]["fields"].pop("promptImage")
    i2v["gen4_turbo"]["fields"]["seed"]["required"] = True
    # WHEN the drift is described
    changes = describe_drift(sdk, new)
    # THEN each change has its own readable line
    assert changes == [
        "image_to_video/gen4.5: wire name of prompt_image changed from promptImage to image",
        "image_to_video/gen4_turbo: field seed is now required",
        "text_to_video/gen4.5: field fps was added (required=False)",
        "text_to_video/gen4.5: ratio: values added ['1920:1080'], values removed ['720:1280']",
        "text_to_video: model gen5 was added to the SDK",
        "text_to_video: model veo3.1_fast was removed from the SDK",
    ]


def test_untyped_item_shapes_are_still_untyped_in_the_sdk(sdk: dict[str, Any]) -> None:
    # GIVEN the notes that give a shape to array items the SDK types as bare `object`
    for (model, field), _shape in model_notes.UNTYPED_ITEM_SHAPES.items():
        schemas = [
            models[model]["fields"][field]["schema"]
            for models in sdk["endpoints"].values()
            if model in models and field in models[model]["fields"]
        ]
        # THEN the SDK still leaves them untyped (else the note is stale and the SDK's type should win)
        assert schemas, f"{model}.{field} no longer exists"
        flat = [b for s in schemas for b in s.get("anyOf", [s])]
        assert any(b.get("type") == "array" and b["items"] == {"type": "object"} for b in flat), (
            model,
            field,
        )


def test_prompt_limits_agree_with_sdk_docstrings(docs: dict[tuple[str, str, str], str]) -> None:
    # GIVEN every promptText docstring that states a length limit
    for (endpoint, model, wire), doc in docs.items():
        match = re.search(r"up to (\d+) characters", doc)
        if wire != "promptText" or not match:
            continue
        prompt = registry()[model].on(endpoint).prompt
        # THEN the catalog enforces the same limit, in UTF-16 units where the SDK says so
        assert prompt is not None and prompt.max_length == int(match.group(1)), (endpoint, model)
        assert (prompt.unit == "utf16") == ("UTF-16" in doc), (endpoint, model)


def test_duration_ranges_agree_with_sdk_docstrings(docs: dict[tuple[str, str, str], str]) -> None:
    # GIVEN every duration docstring that states a range
    pattern = re.compile(r"(?:from|between) (\d+) (?:to|and) (\d+)")
    for (endpoint, model, wire), doc in docs.items():
        match = pattern.search(doc)
        if wire != "duration" or not match:
            continue
        rule = registry()[model].on(endpoint).duration
        # THEN the catalog enforces it
        assert rule is not None and (rule.minimum, rule.maximum) == tuple(map(int, match.groups())), (
            endpoint,
            model,
        )
