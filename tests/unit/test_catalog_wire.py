"""Wire-body helpers: SDK kwargs (checked against the real SDK, no network), media URI mapping, credits."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
import runwayml

from videogen.catalog import (
    ENDPOINTS,
    estimate_credits,
    map_media_uris,
    models_for,
    to_sdk_kwargs,
    validate_wire,
)
from videogen.catalog.spec import EndpointSpec

SAMPLE_URIS = {
    "image": "https://example.com/frame.png",
    "video": "https://example.com/clip.mp4",
    "audio": "https://example.com/voice.mp3",
}


def _sample(node: Mapping[str, Any], *, everything: bool, low: float | None = None) -> Any:  # noqa: PLR0911
    """A value of the SDK type tree ``node``: the first enum value, sample URIs, small numbers."""
    if "anyOf" in node:
        return _sample(node["anyOf"][0], everything=everything, low=low)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "string":
        return SAMPLE_URIS[node["media"]] if "media" in node else "a paper boat"
    if kind == "integer":
        return int(low) if low is not None else 5
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [_sample(node["items"], everything=everything)]
    props = node.get("properties", {})
    return {
        k: _sample(p["schema"], everything=everything)
        for k, p in props.items()
        if everything or p["required"]
    }


def sample_body(spec: EndpointSpec, *, everything: bool = False) -> dict[str, Any]:
    """The smallest valid body (required fields and defaults), or one with every field set."""
    body: dict[str, Any] = {"model": spec.model}
    for name, field in spec.fields.items():
        if field.required or everything:
            low = spec.ranges.get(name, (None, None))[0]
            body[name] = spec.defaults.get(name, _sample(field.schema, everything=everything, low=low))
    return body


def all_specs() -> Iterator[EndpointSpec]:
    for endpoint in ENDPOINTS:
        for model in models_for(endpoint):
            yield model.on(endpoint)


SPECS = list(all_specs())
SPEC_IDS = [f"{s.endpoint}-{s.model}" for s in SPECS]


@pytest.fixture(scope="module")
def sdk_capture() -> Any:
    """Calls ``client.<endpoint>.create(**kwargs)`` on the real SDK and returns (path, JSON body) sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "task_1", "estimatedCost": {"credits": 1}})

    client = runwayml.RunwayML(
        api_key="test-key",
        base_url="https://runway.test",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )

    def call(endpoint: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
        sent.clear()
        getattr(client, endpoint).create(**kwargs)
        (request,) = sent
        return request.url.path, json.loads(request.content)

    yield call
    client.close()


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_minimal_body_of_every_model_is_valid(spec: EndpointSpec) -> None:
    # GIVEN the smallest body each model accepts (required fields, catalog defaults)
    # WHEN it is validated THEN no rule refuses it: the catalog has no false positives on any model
    assert validate_wire(spec.endpoint, sample_body(spec)) == []


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_sdk_kwargs_serialise_back_to_the_same_wire_body(spec: EndpointSpec, sdk_capture: Any) -> None:
    # GIVEN a body with every field of the model, nested objects included
    body = sample_body(spec, everything=True)
    # WHEN it is turned into kwargs and sent through the real SDK
    path, sent = sdk_capture(spec.endpoint, to_sdk_kwargs(spec.endpoint, body))
    # THEN the SDK posts exactly that body to /v1/<endpoint>
    assert path == f"/v1/{spec.endpoint}"
    assert sent == body


def test_sdk_kwargs_are_snake_case_at_the_top_and_wire_inside(sdk_capture: Any) -> None:
    # GIVEN a gen4.5 i2v body with nested objects
    body = {
        "model": "gen4.5",
        "promptImage": [{"uri": SAMPLE_URIS["image"], "position": "first"}],
        "promptText": "x",
        "ratio": "1280:720",
        "duration": 5,
        "contentModeration": {"publicFigureThreshold": "low"},
        "outputFormat": "mp4",
    }
    # WHEN converted
    kwargs = to_sdk_kwargs("image_to_video", body)
    # THEN top-level names are the SDK's kwargs and nested keys stay as on the wire
    assert kwargs == {
        "model": "gen4.5",
        "prompt_image": [{"uri": SAMPLE_URIS["image"], "position": "first"}],
        "prompt_text": "x",
        "ratio": "1280:720",
        "duration": 5,
        "content_moderation": {"publicFigureThreshold": "low"},
        "output_format": "mp4",
    }
    assert sdk_capture("image_to_video", kwargs) == ("/v1/image_to_video", body)


def test_aleph2_keyframe_range_keeps_its_snake_case_wire_keys(sdk_capture: Any) -> None:
    # GIVEN the one nested object whose wire keys are snake_case
    body = {
        "model": "aleph2",
        "videoUri": SAMPLE_URIS["video"],
        "keyframes": [
            {"at": 0.5, "uri": SAMPLE_URIS["image"], "range": {"start_seconds": 0, "end_seconds": 2}}
        ],
    }
    # WHEN sent through the SDK THEN the body is unchanged
    assert sdk_capture("video_to_video", to_sdk_kwargs("video_to_video", body))[1] == body


def test_to_sdk_kwargs_refuses_unknown_fields_and_models() -> None:
    with pytest.raises(ValueError, match="no field fps"):
        to_sdk_kwargs("text_to_video", {"model": "gen4.5", "fps": 24})
    with pytest.raises(KeyError):
        to_sdk_kwargs("text_to_video", {"model": "gen5"})


def test_map_media_uris_rewrites_every_media_uri_with_its_kind() -> None:
    # GIVEN a seedance2 v2v body with media at the top and nested in three arrays
    body = {
        "model": "seedance2",
        "promptVideo": "s3://in/clip.mp4",
        "promptText": "s3://not/a/media/field",
        "references": [{"uri": "s3://in/ref.png"}],
        "referenceVideos": [{"type": "video", "uri": "s3://in/ref.mp4"}],
        "referenceAudio": [{"type": "audio", "uri": "s3://in/voice.mp3"}],
    }
    seen: list[tuple[str, str]] = []

    def fn(uri: str, kind: str) -> str:
        seen.append((uri, kind))
        return f"runway://{kind}"

    # WHEN the URIs are mapped
    mapped = map_media_uris("video_to_video", body, fn)
    # THEN each media URI is replaced, non-media text is kept, and the original is untouched
    assert mapped == {
        "model": "seedance2",
        "promptVideo": "runway://video",
        "promptText": "s3://not/a/media/field",
        "references": [{"uri": "runway://image"}],
        "referenceVideos": [{"type": "video", "uri": "runway://video"}],
        "referenceAudio": [{"type": "audio", "uri": "runway://audio"}],
    }
    assert len(seen) == 4 and body["promptVideo"] == "s3://in/clip.mp4"


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("image_to_video", {"model": "gen4.5", "promptImage": "s3://b/a.png"}, {"promptImage": "image"}),
        (
            "image_to_video",
            {
                "model": "veo3.1",
                "promptImage": [{"uri": "a", "position": "first"}, {"uri": "b", "position": "last"}],
            },
            {"promptImage": [{"uri": "image", "position": "first"}, {"uri": "image", "position": "last"}]},
        ),
        (
            "character_performance",
            {
                "model": "act_two",
                "character": {"type": "video", "uri": "c"},
                "reference": {"type": "video", "uri": "r"},
            },
            {"character": {"type": "video", "uri": "video"}, "reference": {"type": "video", "uri": "video"}},
        ),
        (
            "character_performance",
            {"model": "act_two", "character": {"type": "image", "uri": "c"}},
            {"character": {"type": "image", "uri": "image"}},
        ),
        (
            "image_to_video",
            {"model": "wan3", "promptImage": [{"uri": "a", "position": "first"}]},
            {"promptImage": [{"uri": "image", "position": "first"}]},
        ),
        (
            "video_to_video",
            {"model": "aleph2", "videoUri": "v", "keyframes": [{"seconds": 1, "uri": "k"}]},
            {"videoUri": "video", "keyframes": [{"seconds": 1, "uri": "image"}]},
        ),
        ("video_to_video", {"model": "klingO3_pro", "references": "r"}, {"references": "image"}),
    ],
)
def test_map_media_uris_knows_each_kind(endpoint: str, body: dict, expected: dict) -> None:
    mapped = map_media_uris(endpoint, body, lambda _uri, kind: kind)
    assert {k: v for k, v in mapped.items() if k != "model"} == expected


@pytest.mark.parametrize(
    ("endpoint", "body", "credits"),
    [
        ("text_to_video", {"model": "gen4.5", "duration": 5}, 60.0),
        ("text_to_video", {"model": "gen4.5", "duration": 10, "outputFormat": "prores"}, 170.0),
        ("image_to_video", {"model": "gen4.5", "duration": 4, "outputFormat": "hdr10"}, 128.0),
        ("image_to_video", {"model": "gen4_turbo", "duration": 10}, 50.0),
        ("text_to_video", {"model": "veo3.1", "duration": 8, "audio": False}, 160.0),
        ("text_to_video", {"model": "veo3.1", "duration": 8, "audio": True}, 320.0),
        ("text_to_video", {"model": "veo3.1", "duration": 8}, 320.0),
        ("image_to_video", {"model": "veo3.1_fast", "duration": 4, "audio": False}, 40.0),
        ("image_to_video", {"model": "veo3.1_fast", "duration": 6}, 90.0),
        ("text_to_video", {"model": "veo3.1"}, None),
        ("image_to_video", {"model": "gen4_turbo"}, None),
        ("video_to_video", {"model": "aleph2", "videoUri": "v"}, None),
        ("character_performance", {"model": "act_two"}, None),
        ("text_to_video", {"model": "seedance2", "duration": 5}, None),
        ("text_to_video", {"model": "gen5", "duration": 5}, None),
    ],
)
def test_estimate_credits_where_known(endpoint: str, body: dict, credits: float | None) -> None:
    # GIVEN a body WHEN its cost is estimated THEN it is credits/s x seconds, or None if the price is unknown
    assert estimate_credits(endpoint, body) == credits
