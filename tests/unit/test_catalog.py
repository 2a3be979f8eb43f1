"""The model catalog: what it knows about each model, its hand-kept notes and its public view."""

from __future__ import annotations

import json

import pytest

from videogen import catalog
from videogen.catalog import model_notes, rules
from videogen.catalog.spec import registry


def test_counts_models_per_endpoint_as_the_sdk_does() -> None:
    # GIVEN the catalog built from runwayml 5.24.0
    # WHEN models are listed per endpoint
    counts = {endpoint: len(catalog.models_for(endpoint)) for endpoint in catalog.ENDPOINTS}
    # THEN they match the SDK's typed create() overloads
    assert catalog.ENDPOINTS == ("text_to_video", "image_to_video", "video_to_video", "character_performance")
    assert counts == {
        "text_to_video": 24,
        "image_to_video": 25,
        "video_to_video": 12,
        "character_performance": 1,
    }
    assert len(registry()) == 27


def test_gen45_spec_has_wire_names_enums_limits_and_credits() -> None:
    # GIVEN gen4.5, the default model
    model = catalog.get_model("gen4.5")
    t2v, i2v = model.on("text_to_video"), model.on("image_to_video")
    # THEN its fields, enums, duration range, prompt limit, defaults and price are all known
    assert set(model.endpoints) == {"text_to_video", "image_to_video"}
    assert t2v.required_fields == ("duration", "promptText", "ratio")
    assert i2v.fields["promptImage"].kwarg == "prompt_image"
    assert i2v.fields["promptImage"].media_kinds == ("image",)
    assert t2v.fields["contentModeration"].kwarg == "content_moderation"
    assert t2v.ratios == ("1280:720", "720:1280")
    assert i2v.ratios == ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
    assert t2v.duration is not None and (
        t2v.duration.required,
        t2v.duration.minimum,
        t2v.duration.maximum,
    ) == (
        True,
        2,
        10,
    )
    assert t2v.prompt == catalog.PromptRule(required=True, max_length=1000, unit="utf16")
    assert dict(t2v.defaults) == {"ratio": "1280:720", "duration": 5}
    assert model.credits_per_second == catalog.CreditRate(12, 12)
    assert i2v.image_positions == ("first",)


def test_seed_models_other_than_gen45() -> None:
    # GIVEN the other models the project recommends
    turbo = catalog.get_model("gen4_turbo")
    veo, veo_fast = catalog.get_model("veo3.1"), catalog.get_model("veo3.1_fast")
    aleph, act_two = catalog.get_model("aleph2"), catalog.get_model("act_two")
    # THEN each is described as Runway's SDK and the project's pricing notes say
    assert list(turbo.endpoints) == ["image_to_video"] and turbo.credits_per_second == catalog.CreditRate(
        5, 5
    )
    assert turbo.on("image_to_video").defaults == {"ratio": "1280:720"}
    veo_t2v = veo.on("text_to_video")
    assert veo_t2v.duration is not None and veo_t2v.duration.choices == (4, 6, 8)
    assert not veo_t2v.duration.required
    assert veo.credits_per_second == catalog.CreditRate(without_audio=20, with_audio=40)
    assert veo_fast.credits_per_second == catalog.CreditRate(without_audio=10, with_audio=15)
    assert veo.on("image_to_video").image_positions == ("first", "last")
    v2v = aleph.on("video_to_video")
    assert list(aleph.endpoints) == ["video_to_video"] and v2v.input_video_field == "videoUri"
    assert v2v.media_fields == {"videoUri": ("video",), "keyframes": ("image",)}
    assert v2v.max_items == {"keyframes": 5} and aleph.credits_per_second is None
    cp = act_two.on("character_performance")
    assert cp.required_fields == ("character", "reference")
    assert cp.media_fields == {"character": ("image", "video"), "reference": ("video",)}
    assert cp.ranges == {"expressionIntensity": (1, 5)} and cp.duration is None


def test_input_video_field_depends_on_the_model() -> None:
    # GIVEN the video_to_video models
    fields = {m.name: m.on("video_to_video").input_video_field for m in catalog.models_for("video_to_video")}
    # THEN Runway's own and Google's models take videoUri, Kling O3 / Hailuo / Seedance take promptVideo
    assert {name for name, f in fields.items() if f == "videoUri"} == {
        "aleph2",
        "gemini_omni_flash",
        "gemini_omni_flash_1.1",
        "kling_4",
    }
    assert all(f in ("videoUri", "promptVideo") for f in fields.values())


def test_nested_media_fields_are_known() -> None:
    # GIVEN models with reference arrays, including items the SDK leaves untyped
    seedance = catalog.get_model("seedance2").on("text_to_video")
    kling4 = catalog.get_model("kling_4").on("image_to_video")
    hailuo = catalog.get_model("hailuo3").on("image_to_video")
    # THEN every media kind inside them is known
    assert seedance.media_fields == {
        "referenceAudio": ("audio",),
        "references": ("image",),
        "referenceVideos": ("video",),
    }
    assert kling4.media_fields["referenceVideos"] == ("video",)
    assert hailuo.media_fields["promptImage"] == ("image",)
    assert hailuo.image_positions == ("first", "last")


def test_get_model_unknown_and_retired_raise_key_error() -> None:
    # WHEN a missing or retired model is looked up THEN KeyError says so (and names the replacement)
    with pytest.raises(KeyError, match="unknown model gen5"):
        catalog.get_model("gen5")
    with pytest.raises(KeyError, match="use aleph2 instead"):
        catalog.get_model("gen4_aleph")
    with pytest.raises(KeyError):
        catalog.models_for("text_to_image")
    with pytest.raises(KeyError, match="not offered on text_to_video"):
        catalog.get_model("aleph2").on("text_to_video")


def test_retired_models_name_their_replacements() -> None:
    # GIVEN the retired models
    retired = catalog.retired_models()
    # THEN each maps to a live model and none is still in the SDK
    assert retired == {"gen4_aleph": "aleph2", "veo3": "veo3.1", "gen3a_turbo": "gen4_turbo"}
    assert all(new in registry() and old not in registry() for old, new in retired.items())


def test_every_model_has_notes_and_notes_only_name_real_things() -> None:
    # GIVEN the hand-kept notes and the SDK-derived models
    # THEN they cover the same models, and every rule, field and default they name exists
    assert set(model_notes.MODELS) == set(registry())
    for model in registry().values():
        assert model.vendor != "unknown" and model.best_for, model.name
        notes = model_notes.MODELS[model.name]
        all_fields = {f for spec in model.endpoints.values() for f in spec.fields}
        for name in notes.get("checks", ()):
            assert name in rules.NAMED_RULES, f"{model.name}: unknown check {name}"
        for key in ("ranges", "max_items", "defaults"):
            for field in notes.get(key, {}):
                assert field in all_fields, (
                    f"{model.name}: {key} names {field}, which the model does not have"
                )
        for spec in model.endpoints.values():
            for field, value in spec.defaults.items():
                assert value in spec.fields[field].enum_values() or (
                    field == "duration"
                    and spec.duration
                    and spec.duration.minimum <= value <= spec.duration.maximum
                ), f"{model.name}/{spec.endpoint}: default {field}={value} is not allowed"
    assert set(model_notes.DEFAULT_MODEL_PER_ENDPOINT) == set(catalog.ENDPOINTS)


def test_required_ratio_and_duration_have_defaults_for_recommended_models() -> None:
    # GIVEN the recommended models
    for name in ("gen4.5", "gen4_turbo", "veo3.1", "veo3.1_fast"):
        for spec in catalog.get_model(name).endpoints.values():
            # THEN every required ratio/duration has a default prepare() can apply
            for field in ("ratio", "duration"):
                if field in spec.required_fields:
                    assert field in spec.defaults, f"{name}/{spec.endpoint} has no default {field}"


def test_catalog_document_is_json_and_complete() -> None:
    # WHEN the public document is built
    doc = catalog.catalog_document()
    # THEN it serialises and carries models, recommendations and retired names
    json.dumps(doc)
    assert doc["default_model"] == "gen4.5"
    assert doc["recommendations"] == {
        "default": "gen4.5",
        "budget": ["gen4_turbo", "veo3.1_fast"],
        "video_editing": "aleph2",
        "characters": "act_two",
    }
    assert doc["retired_models"]["veo3"] == "veo3.1"
    assert len(doc["models"]) == 27 and len(doc["endpoints"]["image_to_video"]) == 25
    gen45 = doc["models"]["gen4.5"]["endpoints"]["text_to_video"]
    assert gen45["ratios"] == ["1280:720", "720:1280"]
    prompt = next(f for f in gen45["fields"] if f["wire"] == "promptText")
    assert prompt == {
        "wire": "promptText",
        "sdk_kwarg": "prompt_text",
        "required": True,
        "type": "a string",
        "media": [],
    }
