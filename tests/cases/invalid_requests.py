"""Invalid requests with the reason each must be refused for.

``INVALID_WIRE_BODIES``: camelCase bodies exactly as they would be POSTed to ``/v1/<endpoint>``.
Every body uses only JSON types and names a model, so it can be sent through the SDK (top-level
fields the model does not have go through ``extra_body``). ``reasons``: substrings that
``validate_wire`` must produce; it reports nothing else.

``INVALID_GENERATION_REQUESTS``: user-facing ``GenerationRequest`` payloads and the substrings
``prepare`` must put in ``InvalidRequest.errors`` (and nothing else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IMAGE = "https://example.com/frame.png"
LAST_IMAGE = "https://example.com/last.png"
VIDEO = "https://example.com/clip.mp4"
PERFORMANCE = "https://example.com/performance.mp4"
LONG_URL = "https://example.com/" + "a" * (2049 - len("https://example.com/"))  # 2049 characters
OVERSIZE_DATA_URI = "data:image/png;base64," + "A" * (5 * 1024 * 1024)  # just over 5 MB in total


@dataclass(frozen=True)
class InvalidCase:
    id: str
    endpoint: str
    body: dict[str, Any]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class InvalidGenerationRequest:
    id: str
    request: dict[str, Any]
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _t2v(model: str = "gen4.5", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": model, "promptText": "a paper boat on a rainy street"}
    if model == "gen4.5":
        base |= {"ratio": "1280:720", "duration": 5}
    return base | fields


INVALID_WIRE_BODIES: list[InvalidCase] = [
    # --- model: unknown, retired, wrong endpoint ------------------------------------------------------------
    InvalidCase(
        "unknown-model",
        "text_to_video",
        {"model": "gen5", "promptText": "a boat"},
        ("model gen5 is not a Runway video model",),
    ),
    InvalidCase(
        "retired-gen4_aleph",
        "video_to_video",
        {"model": "gen4_aleph", "videoUri": VIDEO, "promptText": "make it snow"},
        ("model gen4_aleph has been retired by Runway; use aleph2 instead",),
    ),
    InvalidCase(
        "retired-veo3",
        "text_to_video",
        {"model": "veo3", "promptText": "a boat", "ratio": "1280:720"},
        ("model veo3 has been retired by Runway; use veo3.1 instead",),
    ),
    InvalidCase(
        "retired-gen3a_turbo",
        "image_to_video",
        {"model": "gen3a_turbo", "promptImage": IMAGE, "ratio": "1280:720"},
        ("model gen3a_turbo has been retired by Runway; use gen4_turbo instead",),
    ),
    InvalidCase(
        "gen4_turbo-on-text_to_video",
        "text_to_video",
        {"model": "gen4_turbo", "promptText": "a boat", "ratio": "1280:720"},
        ("gen4_turbo needs an input image",),
    ),
    InvalidCase(
        "gen4.5-on-video_to_video",
        "video_to_video",
        {"model": "gen4.5", "videoUri": VIDEO, "promptText": "make it snow"},
        ("gen4.5 is not offered on video_to_video",),
    ),
    # --- required fields ------------------------------------------------------------------------------------
    InvalidCase(
        "gen4_turbo-missing-image",
        "image_to_video",
        {"model": "gen4_turbo", "ratio": "1280:720", "promptText": "a boat"},
        ("gen4_turbo needs an input image",),
    ),
    InvalidCase(
        "gen4.5-missing-ratio-and-duration",
        "text_to_video",
        {"model": "gen4.5", "promptText": "a boat"},
        ("gen4.5 on text_to_video needs a ratio; use one of 1280:720, 720:1280", "gen4.5 needs a duration"),
    ),
    InvalidCase(
        "act_two-missing-reference",
        "character_performance",
        {"model": "act_two", "character": {"type": "image", "uri": IMAGE}},
        ("act_two needs a reference performance video",),
    ),
    InvalidCase(
        "aleph2-promptVideo-instead-of-videoUri",
        "video_to_video",
        {"model": "aleph2", "promptVideo": VIDEO, "promptText": "make it snow"},
        ("aleph2 takes its input video in videoUri, not promptVideo",),
    ),
    InvalidCase(
        "seedance2-videoUri-instead-of-promptVideo",
        "video_to_video",
        {"model": "seedance2", "videoUri": VIDEO},
        ("seedance2 takes its input video in promptVideo, not videoUri",),
    ),
    # --- ratio / resolution / duration ----------------------------------------------------------------------
    InvalidCase(
        "gen4.5-ratio-1920x1080",
        "text_to_video",
        _t2v(ratio="1920:1080"),
        ("ratio 1920:1080 is not offered by gen4.5 on text_to_video; use one of 1280:720, 720:1280",),
    ),
    InvalidCase(
        "gen4.5-duration-12",
        "text_to_video",
        _t2v(duration=12),
        ("duration 12 is outside 2-10 for gen4.5",),
    ),
    InvalidCase(
        "veo3.1-duration-5",
        "text_to_video",
        _t2v("veo3.1", ratio="1280:720", duration=5),
        ("duration 5 is not offered by veo3.1 on text_to_video; use one of 4, 6, 8",),
    ),
    InvalidCase(
        "kling2.5-duration-7",
        "text_to_video",
        _t2v("kling2.5_turbo_pro", duration=7),
        ("duration 7 is not offered by kling2.5_turbo_pro",),
    ),
    InvalidCase(
        "gemini_omni_flash-duration-2",
        "text_to_video",
        _t2v("gemini_omni_flash", duration=2),
        ("duration 2 is outside 3-10 for gemini_omni_flash",),
    ),
    InvalidCase(
        "seedance2-duration-as-string",
        "text_to_video",
        _t2v("seedance2", duration="5"),
        ("duration must be a whole number or auto",),
    ),
    InvalidCase(
        "h3_max-resolution-1080p",
        "text_to_video",
        _t2v("h3_max", resolution="1080p"),
        ("resolution 1080p is not offered by h3_max on text_to_video; use one of 480p, 768p",),
    ),
    InvalidCase(
        "veo3.1_fast-i2v-ratio-square",
        "image_to_video",
        {"model": "veo3.1_fast", "promptImage": IMAGE, "ratio": "960:960"},
        ("ratio 960:960 is not offered by veo3.1_fast on image_to_video",),
    ),
    # --- promptText -----------------------------------------------------------------------------------------
    InvalidCase(
        "veo3.1-prompt-1001-units",
        "text_to_video",
        _t2v("veo3.1", ratio="1280:720", promptText="a" * 1001),
        ("promptText is 1001 UTF-16 code units long; veo3.1 accepts at most 1000",),
    ),
    InvalidCase(
        "gen4.5-prompt-emoji-counts-two-units",
        "text_to_video",
        _t2v(promptText="\U0001f600" * 501),
        ("promptText is 1002 UTF-16 code units long; gen4.5 accepts at most 1000",),
    ),
    InvalidCase(
        "gen4.5-empty-prompt",
        "text_to_video",
        _t2v(promptText="   "),
        ("promptText is empty",),
    ),
    # --- media URIs -----------------------------------------------------------------------------------------
    InvalidCase(
        "gen4.5-http-image",
        "image_to_video",
        {**_t2v(), "promptImage": "http://example.com/frame.png"},
        ("promptImage is an http:// URL; Runway only fetches https:// URLs",),
    ),
    InvalidCase(
        "gen4_turbo-url-2049-chars",
        "image_to_video",
        {"model": "gen4_turbo", "promptImage": LONG_URL, "ratio": "1280:720"},
        ("promptImage is a URL of 2049 characters; Runway accepts at most 2048",),
    ),
    InvalidCase(
        "gen4_turbo-oversize-data-uri",
        "image_to_video",
        {"model": "gen4_turbo", "promptImage": OVERSIZE_DATA_URI, "ratio": "1280:720"},
        ("Runway accepts data: URIs up to 5 MB",),
    ),
    InvalidCase(
        "aleph2-s3-uri-on-the-wire",
        "video_to_video",
        {"model": "aleph2", "videoUri": "s3://my-bucket/inputs/clip.mp4"},
        ("videoUri is an s3:// URI, which Runway cannot read",),
    ),
    InvalidCase(
        "seedance2-ftp-reference",
        "text_to_video",
        _t2v("seedance2", references=[{"uri": "ftp://example.com/ref.png"}]),
        ("references[0].uri ('ftp://example.com/ref.png') must be an https:// URL",),
    ),
    InvalidCase(
        "gen4.5-video-data-uri-as-image",
        "image_to_video",
        {**_t2v(), "promptImage": "data:video/mp4;base64,AAAA"},
        ("promptImage is a data:video/mp4 URI but this field takes an image",),
    ),
    # --- act_two --------------------------------------------------------------------------------------------
    InvalidCase(
        "act_two-expressionIntensity-9",
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "image", "uri": IMAGE},
            "reference": {"type": "video", "uri": PERFORMANCE},
            "expressionIntensity": 9,
        },
        ("expressionIntensity 9 is outside 1-5 for act_two",),
    ),
    InvalidCase(
        "act_two-character-type-audio",
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "audio", "uri": IMAGE},
            "reference": {"type": "video", "uri": PERFORMANCE},
        },
        ("character.type audio is not offered by act_two on character_performance; use one of image, video",),
    ),
    InvalidCase(
        "act_two-reference-type-image",
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "video", "uri": VIDEO},
            "reference": {"type": "image", "uri": IMAGE},
        },
        ("reference.type image is not offered by act_two on character_performance; use one of video",),
    ),
    # --- frames, arrays, cross-field rules ------------------------------------------------------------------
    InvalidCase(
        "veo3.1-last-frame-only",
        "image_to_video",
        {"model": "veo3.1", "promptImage": [{"uri": LAST_IMAGE, "position": "last"}], "ratio": "1280:720"},
        ("veo3.1 does not support a last frame without a first frame",),
    ),
    InvalidCase(
        "gen4.5-last-frame",
        "image_to_video",
        {
            **_t2v(),
            "promptImage": [{"uri": IMAGE, "position": "first"}, {"uri": LAST_IMAGE, "position": "last"}],
        },
        ("gen4.5 does not support a last frame",),
    ),
    InvalidCase(
        "aleph2-six-keyframes",
        "video_to_video",
        {"model": "aleph2", "videoUri": VIDEO, "keyframes": [{"seconds": i, "uri": IMAGE} for i in range(6)]},
        ("keyframes has 6 items; aleph2 accepts at most 5",),
    ),
    InvalidCase(
        "hailuo3-ten-references",
        "text_to_video",
        _t2v("hailuo3", references=[{"uri": IMAGE}] * 10),
        ("references has 10 items; hailuo3 accepts at most 9",),
    ),
    InvalidCase(
        "klingO3_pro-multiprompt-20s",
        "text_to_video",
        {
            "model": "klingO3_pro",
            "ratio": "1920:1080",
            "providerSettings": {
                "multiPrompt": [{"prompt": "a", "duration": 10}, {"prompt": "b", "duration": 10}]
            },
        },
        ("providerSettings.multiPrompt durations add up to 20 s; the total must be 3-15",),
    ),
    InvalidCase(
        "kling3.0_pro-cfgScale-1.5",
        "text_to_video",
        _t2v("kling3.0_pro", ratio="1920:1080", cfgScale=1.5),
        ("cfgScale 1.5 is outside 0-1 for kling3.0_pro",),
    ),
    InvalidCase(
        "gen4.5-proresProfile-without-prores",
        "text_to_video",
        _t2v(proresProfile="422 HQ"),
        ("proresProfile only applies when outputFormat is prores or hdr_prores",),
    ),
    InvalidCase(
        "hailuo3-adaptive-without-references",
        "text_to_video",
        _t2v("hailuo3", ratio="adaptive"),
        ("ratio adaptive needs image or video references on hailuo3",),
    ),
    InvalidCase(
        "seedance2_5-edit-mode-needs-auto-duration",
        "video_to_video",
        {
            "model": "seedance2_5",
            "promptVideo": VIDEO,
            "mode": "edit",
            "promptText": "make it snow",
            "duration": 5,
        },
        ("mode edit needs duration auto",),
    ),
    # --- field names and types ------------------------------------------------------------------------------
    InvalidCase(
        "gen4.5-unknown-field",
        "text_to_video",
        _t2v(fps=24),
        ("gen4.5 on text_to_video does not accept the field fps",),
    ),
    InvalidCase(
        "gen4.5-snake-case-field",
        "text_to_video",
        {"model": "gen4.5", "prompt_text": "a boat", "ratio": "1280:720", "duration": 5},
        (
            "unknown field prompt_text for gen4.5 on text_to_video: wire names are camelCase, use promptText",
            "gen4.5 on text_to_video needs a text prompt (promptText)",
        ),
    ),
    InvalidCase(
        "veo3.1-seed-as-string",
        "text_to_video",
        _t2v("veo3.1", ratio="1280:720", seed="42"),
        ("seed must be a whole number, not the string '42'",),
    ),
]


INVALID_GENERATION_REQUESTS: list[InvalidGenerationRequest] = [
    InvalidGenerationRequest(
        "gen4_turbo-without-image",
        {"model": "gen4_turbo", "prompt": "a boat"},
        ("gen4_turbo needs an input image",),
    ),
    InvalidGenerationRequest(
        "retired-model",
        {"model": "gen4_aleph", "video": VIDEO, "prompt": "snow"},
        ("model gen4_aleph has been retired by Runway; use aleph2 instead",),
    ),
    InvalidGenerationRequest(
        "unknown-request-field", {"prompt": "a boat", "fps": 24}, ("unknown field fps",)
    ),
    InvalidGenerationRequest(
        "duration-as-string",
        {"prompt": "a boat", "duration": "5"},
        ("duration must be a whole number of seconds or auto",),
    ),
    InvalidGenerationRequest(
        "bad-task", {"prompt": "a boat", "task": "text_to_image"}, ("task must be one of",)
    ),
    InvalidGenerationRequest(
        "several-problems-at-once",
        {"prompt": "a" * 1001, "ratio": "1920:1080", "duration": 12},
        (
            "prompt is 1001 UTF-16 code units long; gen4.5 accepts at most 1000",
            "ratio 1920:1080 is not offered by gen4.5 on text_to_video; use one of 1280:720, 720:1280",
            "duration 12 is outside 2-10 for gen4.5",
        ),
    ),
    InvalidGenerationRequest(
        "gen4-turbo-duration-past-10",
        {"model": "gen4_turbo", "prompt": "a boat", "image": IMAGE, "duration": 11},
        ("duration 11 is outside 2-10 for gen4_turbo",),
    ),
    InvalidGenerationRequest(
        "gen4-turbo-duration-absurd",
        {"model": "gen4_turbo", "prompt": "a boat", "image": IMAGE, "duration": 99999},
        ("duration 99999 is outside 2-10 for gen4_turbo",),
    ),
    InvalidGenerationRequest(
        "image-with-text-task",
        {"prompt": "a boat", "image": IMAGE, "task": "text_to_video"},
        ("image cannot be used with task text_to_video",),
    ),
    InvalidGenerationRequest(
        "veo-last-frame-only",
        {"model": "veo3.1", "last_image": LAST_IMAGE},
        ("veo3.1 does not support a last frame without a first frame",),
    ),
    InvalidGenerationRequest(
        "http-image", {"prompt": "a boat", "image": "http://example.com/a.png"}, ("http:// URL",)
    ),
    InvalidGenerationRequest(
        "s3-uri-without-key",
        {"prompt": "a boat", "image": "s3://bucket-only"},
        ("s3://bucket-only must name an object: s3://bucket/key",),
    ),
    InvalidGenerationRequest(
        "character-type-unknown",
        {"character": "runway://upload-1", "reference": VIDEO},
        ("set character_type to image or video",),
    ),
    InvalidGenerationRequest(
        "act_two-without-reference", {"character": IMAGE}, ("act_two needs a reference performance video",)
    ),
    InvalidGenerationRequest(
        "option-repeats-field",
        {"prompt": "a boat", "ratio": "1280:720", "options": {"ratio": "720:1280"}},
        ("options.ratio repeats a value the request already sets",),
    ),
    InvalidGenerationRequest(
        "option-snake-case",
        {"prompt": "a boat", "options": {"output_format": "prores"}},
        ("use outputFormat",),
    ),
    InvalidGenerationRequest(
        "aleph2-without-video", {"model": "aleph2", "prompt": "snow"}, ("aleph2 needs an input video",)
    ),
]
