"""``validate_wire``: Runway's rules on camelCase bodies, and the shared table of invalid requests."""

from __future__ import annotations

import json

import pytest

from tests.cases.invalid_requests import IMAGE, INVALID_WIRE_BODIES, PERFORMANCE, VIDEO, InvalidCase
from videogen.catalog import validate_wire
from videogen.catalog.media import MAX_DATA_URI_BYTES, guess_kind, uri_problems


@pytest.mark.parametrize("case", INVALID_WIRE_BODIES, ids=lambda c: c.id)
def test_invalid_wire_body_is_refused_with_its_reasons(case: InvalidCase) -> None:
    # GIVEN a body Runway would refuse
    # WHEN it is validated
    errors = validate_wire(case.endpoint, case.body)
    # THEN each expected reason appears, and nothing else is reported
    for reason in case.reasons:
        assert any(reason in e for e in errors), f"{reason!r} not in {errors}"
    assert len(errors) == len(case.reasons), errors


def test_invalid_table_is_broad_and_sendable() -> None:
    # GIVEN the shared table
    ids = [c.id for c in INVALID_WIRE_BODIES]
    # THEN it is large, covers every endpoint and many models, and holds JSON-only bodies that name a model
    assert len(INVALID_WIRE_BODIES) >= 25 and len(ids) == len(set(ids))
    assert {c.endpoint for c in INVALID_WIRE_BODIES} == {
        "text_to_video",
        "image_to_video",
        "video_to_video",
        "character_performance",
    }
    assert len({c.body["model"] for c in INVALID_WIRE_BODIES}) >= 12
    for case in INVALID_WIRE_BODIES:
        assert json.loads(json.dumps(case.body)) == case.body and isinstance(case.body["model"], str)


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("text_to_video", {"model": "gen4.5", "promptText": "a boat", "ratio": "720:1280", "duration": 10}),
        (
            "image_to_video",
            {
                "model": "gen4.5",
                "promptImage": [{"uri": IMAGE, "position": "first"}],
                "promptText": "x",
                "ratio": "1584:672",
                "duration": 2,
                "contentModeration": {"publicFigureThreshold": "low"},
                "outputFormat": "prores",
                "proresProfile": "4444 XQ",
            },
        ),
        ("image_to_video", {"model": "gen4_turbo", "promptImage": "runway://upload/abc", "ratio": "960:960"}),
        (
            "image_to_video",
            {
                "model": "veo3.1",
                "promptImage": [{"uri": IMAGE, "position": "first"}, {"uri": IMAGE, "position": "last"}],
                "ratio": "1920:1080",
                "duration": 8,
                "audio": True,
            },
        ),
        ("text_to_video", {"model": "veo3.1_fast", "promptText": "x", "ratio": "1080:1920", "duration": 4}),
        (
            "video_to_video",
            {
                "model": "aleph2",
                "videoUri": VIDEO,
                "keyframes": [
                    {"seconds": 1.0, "uri": IMAGE, "range": {"start_seconds": 0, "end_seconds": 2}}
                ],
                "targetAspectRatio": "16:9",
            },
        ),
        (
            "character_performance",
            {
                "model": "act_two",
                "character": {"type": "video", "uri": "data:video/mp4;base64,AAAA"},
                "reference": {"type": "video", "uri": PERFORMANCE},
                "bodyControl": True,
                "expressionIntensity": 5,
            },
        ),
        ("text_to_video", {"model": "seedance2", "promptText": "x", "duration": "auto"}),
        (
            "video_to_video",
            {
                "model": "seedance2_5",
                "promptVideo": VIDEO,
                "mode": "edit",
                "promptText": "x",
                "duration": "auto",
            },
        ),
        (
            "image_to_video",
            {
                "model": "wan3",
                "promptText": "x",
                "promptImage": [{"uri": IMAGE, "position": "first"}],
                "ratio": "auto_720p",
            },
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else v["model"],
)
def test_valid_bodies_pass(endpoint: str, body: dict) -> None:
    # GIVEN a body Runway accepts WHEN it is validated THEN there is nothing to report
    assert validate_wire(endpoint, body) == []


def test_every_problem_is_listed_not_just_the_first() -> None:
    # GIVEN a body with five independent problems
    body = {
        "model": "gen4.5",
        "promptText": "",
        "ratio": "1:1",
        "duration": 11,
        "promptImage": "http://example.com/a.png",
        "fps": 30,
    }
    # WHEN it is validated
    errors = validate_wire("image_to_video", body)
    # THEN each problem gets its own sentence
    assert len(errors) == 5, errors
    assert errors[0].startswith("gen4.5 on image_to_video does not accept the field fps")


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        ("text_to_image", {"model": "gen4.5"}, "unknown endpoint text_to_image"),
        ("text_to_video", {"promptText": "x"}, "model is required: name a Runway model, e.g. gen4.5"),
        ("video_to_video", {"model": 3}, "model is required: name a Runway model, e.g. aleph2"),
        ("text_to_video", {"model": "gen45", "promptText": "x"}, "did you mean gen4.5?"),
        (
            "text_to_video",
            {"model": "act_two"},
            "act_two needs a character and a reference performance video",
        ),
    ],
)
def test_endpoint_and_model_problems(endpoint: str, body: dict, expected: str) -> None:
    # WHEN the endpoint or model is wrong THEN the single sentence says what to do
    errors = validate_wire(endpoint, body)
    assert len(errors) == 1 and expected in errors[0], errors


def test_non_object_body_is_refused() -> None:
    assert validate_wire("text_to_video", ["gen4.5"]) == ["the request body must be a JSON object"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "kind", "ok"),
    [
        ("https://example.com/a.png", "image", True),
        ("HTTPS://example.com/a.png", "image", True),
        ("https://example.com/" + "a" * (2048 - 20), "image", True),
        ("https://example.com/" + "a" * (2049 - 20), "image", False),
        ("https:///no-host.png", "image", False),
        ("runway://upload/123", "video", True),
        ("runway://", "video", False),
        ("data:audio/mp3;base64,AAAA", "audio", True),
        ("data:image/png;base64," + "A" * (MAX_DATA_URI_BYTES - 22), "image", True),
        ("data:image/png;base64," + "A" * (MAX_DATA_URI_BYTES - 21), "image", False),
        ("data:image/png;base64,AAAA", "video", False),
        ("data:;base64,AAAA", "image", False),
        ("data:image/png", "image", False),
        ("http://example.com/a.png", "image", False),
        ("s3://bucket/key.png", "image", False),
        ("ftp://example.com/a.png", "image", False),
        ("/local/file.png", "image", False),
    ],
)
def test_media_uri_rules(uri: str, kind: str, ok: bool) -> None:
    # GIVEN a media URI WHEN it is checked THEN only https (<= 2048), runway:// and data: (<= 5 MB) pass
    assert (uri_problems(uri, kind, "promptImage") == []) is ok


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("data:video/mp4;base64,AAAA", "video"),
        ("https://a.example/c.PNG?sig=1", "image"),
        ("s3://bucket/dir/clip.mov", "video"),
        ("runway://upload/abc", None),
        ("https://a.example/c", None),
    ],
)
def test_media_kind_is_guessed_from_mime_or_extension(uri: str, kind: str | None) -> None:
    assert guess_kind(uri) == kind
