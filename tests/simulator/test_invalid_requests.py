"""Bodies the ``runwayml`` SDK's types forbid, posted as they are to the simulator, which must refuse each.

The simulator checks what the SDK's ``*_create_params`` types say (model, required and unknown fields, value
types, Literal values) and that media URIs are https://, known ``runway://`` uploads or data: URIs of at most
5 MB. Rules only the project's catalog has (ranges, prompt lengths, cross-field rules) are not its business.
One simulator serves the whole module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import runwayml

from local.simulator import RunwaySimulator, SimulatorConfig
from tests.cases.invalid_requests import INVALID_WIRE_BODIES
from tests.simulator.helpers import API_KEY, make_client

IMAGE = "https://example.com/frame.png"
VIDEO = "https://example.com/clip.mp4"
GEN45 = {"model": "gen4.5", "promptText": "a boat", "ratio": "1280:720", "duration": 5}
TURBO = {"model": "gen4_turbo", "promptImage": IMAGE, "ratio": "1280:720"}
ACT_TWO = {
    "model": "act_two",
    "character": {"type": "image", "uri": IMAGE},
    "reference": {"type": "video", "uri": VIDEO},
}

# What each issue of a 400 says, in order: a substring of it, or several
Says = list[str | tuple[str, ...]]

# (id, endpoint, body, what the 400 says)
SDK_CASES: list[tuple[str, str, dict[str, Any], Says]] = [
    # --- text_to_video ---
    ("t2v-no-model", "text_to_video", {"promptText": "a boat"}, ["model is required"]),
    (
        "t2v-unknown-model",
        "text_to_video",
        {**TURBO, "model": "gen4_turbo"},
        [("model must be one of gen4.5, veo3.1, ", "(got 'gen4_turbo')")],
    ),
    (
        "t2v-missing-required",
        "text_to_video",
        {"model": "veo3.1", "ratio": "1280:720"},
        ["promptText is required"],
    ),
    (
        "t2v-unknown-field",
        "text_to_video",
        {**GEN45, "negativePrompt": "dog"},
        ["negativePrompt is not a field of gen4.5 on text_to_video"],
    ),
    (
        "t2v-wrong-type",
        "text_to_video",
        {"model": "klingO3_pro", "ratio": "1920:1080", "audio": "yes"},
        ["audio must be true or false (got 'yes')"],
    ),
    (
        "t2v-bad-enum",
        "text_to_video",
        {"model": "kling3.0_standard", "ratio": "1920:1080"},
        ["ratio must be one of 1280:720, 720:1280, 960:960 (got '1920:1080')"],
    ),
    (
        "t2v-nested",
        "text_to_video",
        {
            "model": "klingO3_pro",
            "ratio": "1920:1080",
            "providerSettings": {"shotType": "random", "multiPrompt": [{"prompt": "a"}]},
        },
        [
            "providerSettings.shotType must be one of intelligence, customize (got 'random')",
            "providerSettings.multiPrompt[0].duration is required",
        ],
    ),
    # --- image_to_video ---
    (
        "i2v-unknown-model",
        "image_to_video",
        {**TURBO, "model": "gen3a_turbo"},
        [("model must be one of gen4.5, gen4_turbo, ", "(got 'gen3a_turbo')")],
    ),
    (
        "i2v-missing-required",
        "image_to_video",
        {"model": "gen4_turbo", "ratio": "1280:720"},
        ["promptImage is required"],
    ),
    (
        "i2v-unknown-field",
        "image_to_video",
        {**TURBO, "audio": True},
        ["audio is not a field of gen4_turbo on image_to_video"],
    ),
    (
        "i2v-wrong-type",
        "image_to_video",
        {**TURBO, "promptImage": 42, "duration": 5.5},
        ["promptImage must be a string or a list (got 42)", "duration must be an integer (got 5.5)"],
    ),
    (
        "i2v-bad-enum-in-a-list",
        "image_to_video",
        {**TURBO, "promptImage": [{"uri": IMAGE, "position": "last"}]},
        ["promptImage[0].position must be one of first (got 'last')"],
    ),
    (
        "i2v-nested-missing",
        "image_to_video",
        {**GEN45, "promptImage": [{"uri": IMAGE}]},
        ["promptImage[0].position is required"],
    ),
    # --- video_to_video ---
    (
        "v2v-unknown-model",
        "video_to_video",
        {"model": "gen4.5", "videoUri": VIDEO},
        [("model must be one of aleph2, ", "(got 'gen4.5')")],
    ),
    (
        "v2v-missing-required",
        "video_to_video",
        {"model": "klingO3_pro", "promptVideo": VIDEO},
        ["promptText is required"],
    ),
    (
        "v2v-unknown-field",
        "video_to_video",
        {"model": "klingO3_pro", "promptVideo": VIDEO, "promptText": "snow", "duration": 5},
        ["duration is not a field of klingO3_pro on video_to_video"],
    ),
    (
        "v2v-wrong-type",
        "video_to_video",
        {"model": "aleph2", "videoUri": VIDEO, "ratio": 16, "keyframes": [{"seconds": "1", "uri": IMAGE}]},
        ["ratio must be a string (got 16)", "keyframes[0].seconds must be a number (got '1')"],
    ),
    (
        "v2v-bad-enum",
        "video_to_video",
        {"model": "seedance2_5", "promptVideo": VIDEO, "mode": "remix"},
        ["mode must be one of reference, extend, edit (got 'remix')"],
    ),
    (
        "v2v-snake-case-nested-key-is-the-wire-name",
        "video_to_video",
        {
            "model": "aleph2",
            "videoUri": VIDEO,
            "keyframes": [{"at": 0.5, "uri": IMAGE, "range": {"startSeconds": 0, "end_seconds": 2}}],
        },
        [
            "keyframes[0].range.startSeconds is not a field of aleph2",
            "keyframes[0].range.start_seconds is required",
        ],
    ),
    # --- character_performance ---
    (
        "act-unknown-model",
        "character_performance",
        {**ACT_TWO, "model": "act_one"},
        ["model must be one of act_two (got 'act_one')"],
    ),
    (
        "act-missing-required",
        "character_performance",
        {"model": "act_two", "reference": {"type": "video", "uri": VIDEO}},
        ["character is required"],
    ),
    (
        "act-unknown-field",
        "character_performance",
        {**ACT_TWO, "duration": 5},
        ["duration is not a field of act_two on character_performance"],
    ),
    (
        "act-wrong-type",
        "character_performance",
        {**ACT_TWO, "expressionIntensity": "3", "bodyControl": 1},
        ["expressionIntensity must be an integer (got '3')", "bodyControl must be true or false (got 1)"],
    ),
    (
        "act-bad-enum",
        "character_performance",
        {**ACT_TWO, "ratio": "1920:1080", "character": {"type": "audio", "uri": IMAGE}},
        ["character.type must be one of image, video (got 'audio')", "ratio must be one of 1280:720, "],
    ),
    (
        "act-nested-missing",
        "character_performance",
        {**ACT_TWO, "reference": {"type": "video"}},
        ["reference.uri is required"],
    ),
    # --- media URIs ---
    (
        "runway-uri-unknown",
        "image_to_video",
        {**TURBO, "promptImage": "runway://uploads/nope"},
        ["promptImage: runway://uploads/nope is not a known, completed and unexpired Runway upload"],
    ),
]

# The cases of tests/cases/invalid_requests.py that the SDK's types (or the media URI forms) forbid, and what
# the simulator says. The others break only rules of the project's catalog, which the simulator leaves alone.
CATALOG_CASES: dict[str, Says] = {
    "unknown-model": [("model must be one of gen4.5, ", "(got 'gen5')")],
    "retired-gen4_aleph": ["(got 'gen4_aleph')"],
    "retired-veo3": ["(got 'veo3')"],
    "retired-gen3a_turbo": ["(got 'gen3a_turbo')"],
    "gen4_turbo-on-text_to_video": ["(got 'gen4_turbo')"],
    "gen4.5-on-video_to_video": ["(got 'gen4.5')"],
    "gen4_turbo-missing-image": ["promptImage is required"],
    "gen4.5-missing-ratio-and-duration": ["duration is required", "ratio is required"],
    "act_two-missing-reference": ["reference is required"],
    "aleph2-promptVideo-instead-of-videoUri": [
        "promptVideo is not a field of aleph2 on video_to_video",
        "videoUri is required",
    ],
    "seedance2-videoUri-instead-of-promptVideo": [
        "videoUri is not a field of seedance2 on video_to_video",
        "promptVideo is required",
    ],
    "gen4.5-ratio-1920x1080": ["ratio must be one of 1280:720, 720:1280 (got '1920:1080')"],
    "veo3.1-duration-5": ["duration must be one of 4, 6, 8 (got 5)"],
    "kling2.5-duration-7": ["duration must be one of 5, 10 (got 7)"],
    "seedance2-duration-as-string": ["duration must be an integer or one of auto (got '5')"],
    "h3_max-resolution-1080p": ["resolution must be one of 480p, 768p (got '1080p')"],
    "veo3.1_fast-i2v-ratio-square": [
        "ratio must be one of 1280:720, 720:1280, 1080:1920, 1920:1080 (got '960:960')"
    ],
    "gen4.5-http-image": ["promptImage: http://example.com/frame.png is not an https:// URL"],
    "gen4_turbo-oversize-data-uri": [
        "promptImage: a data: URI of 5242902 characters; Runway accepts up to 5 MB"
    ],
    "aleph2-s3-uri-on-the-wire": ["videoUri: s3://my-bucket/inputs/clip.mp4 is not an https:// URL"],
    "seedance2-ftp-reference": ["references[0].uri: ftp://example.com/ref.png is not an https:// URL"],
    "act_two-character-type-audio": ["character.type must be one of image, video (got 'audio')"],
    "act_two-reference-type-image": ["reference.type must be one of video (got 'image')"],
    "gen4.5-last-frame": ["promptImage[1].position must be one of first (got 'last')"],
    "gen4.5-unknown-field": ["fps is not a field of gen4.5 on text_to_video"],
    "gen4.5-snake-case-field": [
        "prompt_text is not a field of gen4.5 on text_to_video (its wire name is promptText)",
        "promptText is required",
    ],
    "veo3.1-seed-as-string": ["seed must be an integer (got '42')"],
}
_BY_ID = {case.id: case for case in INVALID_WIRE_BODIES}


@pytest.fixture(scope="module")
def module_sim() -> Iterator[RunwaySimulator]:
    with RunwaySimulator(SimulatorConfig(api_key=API_KEY)) as sim:
        yield sim


@pytest.fixture(scope="module")
def module_client(module_sim: RunwaySimulator) -> Iterator[runwayml.RunwayML]:
    with make_client(module_sim) as client:
        yield client


def _refused(
    sim: RunwaySimulator, client: runwayml.RunwayML, endpoint: str, body: dict[str, Any]
) -> list[str]:
    """The 400's messages, checked for Runway's error shape; no task was created."""
    created = len(sim.created_tasks())
    with pytest.raises(runwayml.BadRequestError) as err:
        client.post(f"/v1/{endpoint}", body=body, cast_to=object)
    assert len(sim.created_tasks()) == created
    answer = err.value.body
    assert isinstance(answer, dict)
    messages = [issue["message"] for issue in answer["issues"]]
    assert answer["error"] == "; ".join(messages)
    return messages


def _assert_says(messages: list[str], expected: Says) -> None:
    assert len(messages) == len(expected), messages
    for message, parts in zip(messages, expected, strict=True):
        for part in (parts,) if isinstance(parts, str) else parts:
            assert part in message, (part, messages)


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"), [c[1:] for c in SDK_CASES], ids=[c[0] for c in SDK_CASES]
)
def test_body_the_sdk_types_forbid_is_refused(
    module_sim: RunwaySimulator,
    module_client: runwayml.RunwayML,
    endpoint: str,
    body: dict[str, Any],
    expected: Says,
) -> None:
    # GIVEN a body the SDK's types forbid WHEN it is posted THEN a 400 names each problem by its wire field
    _assert_says(_refused(module_sim, module_client, endpoint, body), expected)


@pytest.mark.parametrize("case_id", sorted(CATALOG_CASES))
def test_shared_invalid_case_the_sdk_types_forbid_is_refused(
    module_sim: RunwaySimulator, module_client: runwayml.RunwayML, case_id: str
) -> None:
    # GIVEN a shared invalid case that breaks an SDK type or a media URI form
    case = _BY_ID[case_id]
    # WHEN it is posted THEN the simulator refuses it with its own reasons
    _assert_says(_refused(module_sim, module_client, case.endpoint, case.body), CATALOG_CASES[case_id])


def test_body_that_is_not_an_object_is_refused(module_client: runwayml.RunwayML) -> None:
    with pytest.raises(runwayml.BadRequestError) as err:
        module_client.post("/v1/text_to_video", body=["gen4.5"], cast_to=object)
    assert err.value.body["error"] == "The request body must be a JSON object."  # type: ignore[index]
