"""``prepare``: user requests become exact Runway wire bodies, or an InvalidRequest listing every problem."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cases.invalid_requests import INVALID_GENERATION_REQUESTS, InvalidGenerationRequest
from videogen.catalog.translate import PreparedRequest, prepare
from videogen.core.errors import InvalidRequest
from videogen.core.request import GenerationRequest

IMAGE = "https://example.com/frame.png"
LAST = "https://example.com/last.png"
VIDEO = "https://example.com/clip.mp4"


@pytest.mark.parametrize(
    ("request_", "endpoint", "body", "credits"),
    [
        pytest.param(
            {"prompt": "a paper boat"},
            "text_to_video",
            {"model": "gen4.5", "promptText": "a paper boat", "ratio": "1280:720", "duration": 5},
            60.0,
            id="gen4.5-defaults",
        ),
        pytest.param(
            {
                "model": "gen4.5",
                "prompt": "a boat",
                "image": "s3://inputs/frame.png",
                "ratio": "960:960",
                "duration": 8,
            },
            "image_to_video",
            {
                "model": "gen4.5",
                "promptText": "a boat",
                "promptImage": "s3://inputs/frame.png",
                "ratio": "960:960",
                "duration": 8,
            },
            96.0,
            id="gen4.5-image-s3-kept",
        ),
        pytest.param(
            {"model": "gen4_turbo", "image": IMAGE, "duration": 10, "seed": 7},
            "image_to_video",
            {"model": "gen4_turbo", "promptImage": IMAGE, "duration": 10, "seed": 7, "ratio": "1280:720"},
            50.0,
            id="gen4_turbo",
        ),
        pytest.param(
            {
                "model": "veo3.1",
                "prompt": "a boat",
                "image": IMAGE,
                "last_image": LAST,
                "duration": 8,
                "options": {"audio": False},
            },
            "image_to_video",
            {
                "model": "veo3.1",
                "promptText": "a boat",
                "promptImage": [{"uri": IMAGE, "position": "first"}, {"uri": LAST, "position": "last"}],
                "duration": 8,
                "audio": False,
                "ratio": "1280:720",
            },
            160.0,
            id="veo3.1-first-and-last-frame",
        ),
        pytest.param(
            {"model": "veo3.1_fast", "prompt": "a boat", "ratio": "720:1280", "duration": 4},
            "text_to_video",
            {"model": "veo3.1_fast", "promptText": "a boat", "ratio": "720:1280", "duration": 4},
            60.0,
            id="veo3.1_fast",
        ),
        pytest.param(
            {
                "video": "s3://inputs/clip.mp4",
                "prompt": "make it snow",
                "options": {"targetAspectRatio": "16:9"},
            },
            "video_to_video",
            {
                "model": "aleph2",
                "promptText": "make it snow",
                "videoUri": "s3://inputs/clip.mp4",
                "targetAspectRatio": "16:9",
            },
            None,
            id="aleph2-is-the-v2v-default",
        ),
        pytest.param(
            {"model": "seedance2", "video": VIDEO, "duration": "auto"},
            "video_to_video",
            {"model": "seedance2", "promptVideo": VIDEO, "duration": "auto"},
            None,
            id="seedance2-takes-promptVideo",
        ),
        pytest.param(
            {
                "character": "data:video/mp4;base64,AAAA",
                "reference": "s3://inputs/act.mp4",
                "options": {"bodyControl": True},
            },
            "character_performance",
            {
                "model": "act_two",
                "character": {"type": "video", "uri": "data:video/mp4;base64,AAAA"},
                "reference": {"type": "video", "uri": "s3://inputs/act.mp4"},
                "bodyControl": True,
            },
            None,
            id="act_two-character-type-from-data-uri",
        ),
        pytest.param(
            {
                "character": "runway://upload/1",
                "character_type": "image",
                "reference": VIDEO,
                "ratio": "960:960",
            },
            "character_performance",
            {
                "model": "act_two",
                "character": {"type": "image", "uri": "runway://upload/1"},
                "reference": {"type": "video", "uri": VIDEO},
                "ratio": "960:960",
            },
            None,
            id="act_two-character-type-given",
        ),
    ],
)
def test_seed_models_prepare_into_the_exact_wire_body(
    request_: dict[str, Any], endpoint: str, body: dict[str, Any], credits: float | None
) -> None:
    # GIVEN a valid user request
    # WHEN it is prepared
    prepared = prepare(request_)
    # THEN task, model, wire body (defaults applied, s3:// kept for the submit step) and estimate are exact
    assert prepared == PreparedRequest(
        endpoint=endpoint, model=body["model"], body=body, estimated_credits=credits
    )


@pytest.mark.parametrize(
    ("fields", "task"),
    [
        ({"prompt": "x"}, "text_to_video"),
        ({"image": IMAGE, "prompt": "x"}, "image_to_video"),
        ({"model": "veo3.1", "image": IMAGE, "last_image": LAST}, "image_to_video"),
        ({"video": VIDEO}, "video_to_video"),
        ({"character": IMAGE, "reference": VIDEO}, "character_performance"),
    ],
)
def test_task_is_inferred_from_the_inputs(fields: dict[str, Any], task: str) -> None:
    assert prepare(fields).endpoint == task


def test_user_values_win_over_defaults_and_default_model_is_configurable() -> None:
    # GIVEN a request that sets its own ratio, and a deployment whose default model is veo3.1_fast
    prepared = prepare({"prompt": "x", "ratio": "1080:1920"}, default_model="veo3.1_fast")
    # THEN the configured default model is used, and the user's ratio is kept
    assert prepared.body == {"model": "veo3.1_fast", "promptText": "x", "ratio": "1080:1920"}
    assert prepared.estimated_credits is None  # veo duration omitted: no documented default, no guess


def test_generation_request_instance_and_webhook_is_not_sent() -> None:
    # GIVEN a request object with a webhook
    req = GenerationRequest(prompt="x", webhook_url="https://hooks.example.com/done")
    # WHEN prepared THEN the webhook stays out of Runway's body
    assert "webhook" not in str(prepare(req).body)


@pytest.mark.parametrize("case", INVALID_GENERATION_REQUESTS, ids=lambda c: c.id)
def test_invalid_generation_request_lists_its_reasons(case: InvalidGenerationRequest) -> None:
    # GIVEN an invalid request WHEN it is prepared
    with pytest.raises(InvalidRequest) as err:
        prepare(case.request)
    # THEN InvalidRequest lists each reason, and only those
    for reason in case.reasons:
        assert any(reason in e for e in err.value.errors), f"{reason!r} not in {err.value.errors}"
    assert len(err.value.errors) == len(case.reasons), err.value.errors


def test_pydantic_errors_become_one_sentence_per_field() -> None:
    # GIVEN a request with several type errors at once
    with pytest.raises(InvalidRequest) as err:
        prepare(
            {
                "duration": True,
                "seed": "7",
                "task": "x",
                "character_type": "audio",
                "options": [],
                "colour": "red",
            }
        )
    # THEN each field gets one readable sentence, and the details carry them too
    assert err.value.errors == [
        "task must be one of text_to_video, image_to_video, video_to_video, character_performance "
        "(or left out to infer it from the inputs), not 'x'",
        "character_type must be image or video, not 'audio'",
        "duration must be a whole number of seconds or auto, not True",
        "seed must be a whole number from 0 to 4294967295, not '7'",
        'options must be an object of extra wire fields, e.g. {"audio": true}, not []',
        "unknown field colour; accepted fields: model, task, prompt, image, last_image, video, character, "
        "character_type, reference, ratio, resolution, duration, seed, options, webhook_url",
    ]
    assert err.value.details == {"errors": err.value.errors}


def test_catalog_problems_are_all_listed_together() -> None:
    # GIVEN a request with problems in the prompt, the inputs, the ratio, the duration and the options
    request = {
        "model": "gen4.5",
        "prompt": "",
        "image": "http://example.com/a.png",
        "last_image": "s3://bucket",
        "ratio": "1:1",
        "duration": 1,
        "options": {"fps": 24},
    }
    # WHEN prepared
    with pytest.raises(InvalidRequest) as err:
        prepare(request)
    # THEN every problem is reported at once
    assert len(err.value.errors) == 7, err.value.errors


def test_non_object_request_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="must be a JSON object"):
        prepare(["prompt"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        ({"prompt": "x", "image": "http://a.example/x.png", "model": "gen4_turbo"},
         "image is an http:// URL"),
        (
            {"prompt": "x", "image": "https://a.example/x.png", "last_image": "http://a.example/y.png",
             "model": "veo3.1"},
            "last_image is an http:// URL",
        ),
        ({"video": "ftp://a.example/b.mp4", "prompt": "x", "model": "seedance2"}, "video ('ftp://"),
        ({"character": "https://a.example/c.png", "reference": "http://a.example/r.mp4"},
         "reference is an http:// URL"),
        ({"prompt": "", "model": "veo3.1"}, "prompt is empty"),
    ],
)  # fmt: skip
def test_errors_name_the_request_fields_not_runway_wire_fields(request_: dict, reason: str) -> None:
    # GIVEN a request whose input is wrong WHEN it is prepared
    with pytest.raises(InvalidRequest) as err:
        prepare(request_)
    # THEN the reason names the field the user sent, not Runway's wire name for it
    assert any(e.startswith(reason) for e in err.value.errors), err.value.errors
    wire_names = ("promptText", "promptImage", "videoUri", "promptVideo", "character.uri", "reference.uri")
    assert not any(name in e for e in err.value.errors for name in wire_names), err.value.errors
