"""Hand-kept knowledge about Runway's video models: the part the SDK's types do not encode.

Fields, wire names, enums and required flags come from ``sdk_models.json`` (generated from the SDK
by ``scripts/generate_catalog.py``). This file adds what the SDK only says in prose, or not at all:
numeric ranges, prompt limits, array counts, credits, defaults, notes, recommendations and retired
models. Ranges and limits are from the SDK docstrings (a drift test checks the ones it can parse);
credits are the project's pricing figures; anything unknown is left out rather than guessed.

Per model (every key optional except ``vendor`` and ``best_for``):
  credits_per_second  number, or {"without_audio": n, "with_audio": m} when audio changes the price
  output_surcharges   outputFormat -> extra credits per second (SDK doc on outputFormat)
  prompt_limit        (max length, "utf16" | "chars") for promptText
  ranges              top-level numeric field -> (min, max), inclusive
  max_items           array field -> most items allowed
  defaults            values used by ``prepare`` when the user omits a *required* field
  documented_defaults what Runway uses when an optional field is omitted (used for credit estimates)
  checks              names of cross-field rules in ``rules.py``
  per_endpoint        endpoint -> overrides of the keys above for that endpoint only
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODEL = "gen4.5"

RECOMMENDATIONS: dict[str, Any] = {
    "default": "gen4.5",
    "budget": ["gen4_turbo", "veo3.1_fast"],
    "video_editing": "aleph2",
    "characters": "act_two",
}

# Model used when a request names no model and the default model is not offered on the task's endpoint.
DEFAULT_MODEL_PER_ENDPOINT = {
    "text_to_video": "gen4.5",
    "image_to_video": "gen4.5",
    "video_to_video": "aleph2",
    "character_performance": "act_two",
}

# Names that appear only in the SDK's usage-report enum, no longer in any create endpoint (SDK 5.24.0).
RETIRED_MODELS = {
    "gen4_aleph": "aleph2",
    "veo3": "veo3.1",
    "gen3a_turbo": "gen4_turbo",
}

# Top-level fields whose plain-string form is a media URI even where the SDK docstring does not say so.
MEDIA_FIELD_KINDS = {"promptImage": "image", "references": "image"}

# The SDK types these array items as bare ``object``; shapes below are from the field docstrings.
_FRAME_ITEM = {
    "type": "object",
    "properties": {
        "uri": {"kwarg": "uri", "required": True, "schema": {"type": "string", "media": "image"}},
        "position": {"kwarg": "position", "required": False, "schema": {"enum": ["first", "last"]}},
    },
}
_KLING4_FRAME_ITEM = {  # "a first frame and optional middle and last frames": position values not enumerated
    "type": "object",
    "properties": {
        "uri": {"kwarg": "uri", "required": True, "schema": {"type": "string", "media": "image"}},
        "position": {"kwarg": "position", "required": False, "schema": {"type": "string"}},
    },
}
_VIDEO_REFERENCE_ITEM = {
    "type": "object",
    "properties": {
        "uri": {"kwarg": "uri", "required": True, "schema": {"type": "string", "media": "video"}},
        "type": {"kwarg": "type", "required": False, "schema": {"enum": ["video"]}},
    },
}
UNTYPED_ITEM_SHAPES: dict[tuple[str, str], dict[str, Any]] = {
    # (model, field) -> item schema
    ("hailuo3", "promptImage"): _FRAME_ITEM,
    ("wan3", "promptImage"): _FRAME_ITEM,
    ("wan3_prime", "promptImage"): _FRAME_ITEM,
    ("kling_4", "promptImage"): _KLING4_FRAME_ITEM,
    ("kling_4", "referenceVideos"): _VIDEO_REFERENCE_ITEM,
}

_GEN45_SURCHARGES = {  # SDK doc on outputFormat; gen4.5 outputs stay under 4 MP, so 10-bit+ is +20 cr/s
    "prores": 5,
    "png_sequence": 5,
    **{
        fmt: 20
        for fmt in (
            "hdr10",
            "hlg",
            "sdr_rec709_10bit",
            "hdr_pq_12bit_master",
            "hdr_prores",
            "hdr_png_sequence",
            "hdr_exr_sequence",
            "hdr_exr_acescg_sequence_1_3",
            "hdr_exr_acescg_sequence_2_0",
        )
    },
}
_KLING_MULTISHOT = ("multi_prompt",)
_KEYFRAME_OR_REFERENCE = ("frames_or_references",)

MODELS: dict[str, dict[str, Any]] = {
    # --- Runway ---------------------------------------------------------------------------------------------
    "gen4.5": {
        "vendor": "Runway",
        "best_for": "Default: Runway's flagship text/image to video, precise prompts, 2-10 s, pro formats.",
        "credits_per_second": 12,
        "output_surcharges": _GEN45_SURCHARGES,
        "prompt_limit": (1000, "utf16"),
        "ranges": {"duration": (2, 10)},
        "defaults": {"ratio": "1280:720", "duration": 5},
        "checks": ("prores_profile",),
    },
    "gen4_turbo": {
        "vendor": "Runway",
        "best_for": "Budget image to video: fast and cheap; needs an input image.",
        "credits_per_second": 5,
        "prompt_limit": (1000, "utf16"),
        "ranges": {"duration": (2, 10)},  # the SDK documents no range; Runway's docs give 2-10 s
        "defaults": {"ratio": "1280:720"},
    },
    "aleph2": {
        "vendor": "Runway",
        "best_for": "Video editing: restyle or change a video from a prompt, keyframe images, outpainting.",
        "max_items": {"keyframes": 5},
        "checks": ("keyframes", "prores_profile"),
    },
    "act_two": {
        "vendor": "Runway",
        "best_for": "Character performance: drive a character image or video with a performance video.",
        "ranges": {"expressionIntensity": (1, 5)},
    },
    # --- Google ---------------------------------------------------------------------------------------------
    "veo3.1": {
        "vendor": "Google",
        "best_for": "High fidelity with native audio; first and last frame control; 4, 6 or 8 s.",
        "credits_per_second": {"without_audio": 20, "with_audio": 40},
        "prompt_limit": (1000, "utf16"),
        "defaults": {"ratio": "1280:720"},
        "checks": ("last_needs_first",),
    },
    "veo3.1_fast": {
        "vendor": "Google",
        "best_for": "Budget Veo 3.1: quick clips with optional audio, 4, 6 or 8 s.",
        "credits_per_second": {"without_audio": 10, "with_audio": 15},
        "prompt_limit": (1000, "utf16"),
        "defaults": {"ratio": "1280:720"},
        "checks": ("last_needs_first",),
    },
    "gemini_omni_flash": {
        "vendor": "Google",
        "best_for": "Short 720p clips of 3-10 s; edits a video from an instruction.",
        "ranges": {"duration": (3, 10)},
    },
    "gemini_omni_flash_1.1": {
        "vendor": "Google",
        "best_for": "Up to 4K with first/last frames; video reference, extend and edit modes.",
        "ranges": {"duration": (3, 10)},
        "checks": ("last_needs_first",),
    },
    # --- Kling ----------------------------------------------------------------------------------------------
    "kling2.5_turbo_pro": {
        "vendor": "Kling",
        "best_for": "Fast 5 or 10 s clips with first/last frames and a prompt-adherence control.",
        "ranges": {"cfgScale": (0, 1)},
        "documented_defaults": {"duration": 5},
    },
    "kling3.0_4k": {
        "vendor": "Kling",
        "best_for": "Native 4K output with multi-shot prompts and optional audio.",
        "ranges": {"cfgScale": (0, 1)},
        "defaults": {"ratio": "3840:2160"},
        "checks": _KLING_MULTISHOT,
    },
    "kling3.0_pro": {
        "vendor": "Kling",
        "best_for": "1080p with multi-shot prompts, first/last frames and optional audio.",
        "ranges": {"cfgScale": (0, 1)},
        "defaults": {"ratio": "1920:1080"},
        "checks": _KLING_MULTISHOT,
    },
    "kling3.0_standard": {
        "vendor": "Kling",
        "best_for": "720p Kling 3.0: multi-shot prompts at a lower tier.",
        "ranges": {"cfgScale": (0, 1)},
        "defaults": {"ratio": "1280:720"},
        "checks": _KLING_MULTISHOT,
    },
    "klingO3_4k": {
        "vendor": "Kling",
        "best_for": "Kling O3 at 4K: multi-shot prompts, image references; also edits videos.",
        "defaults": {"ratio": "3840:2160"},
        "max_items": {"references": 7},
        "checks": _KLING_MULTISHOT,
        "per_endpoint": {"video_to_video": {"max_items": {"references": 4}}},
    },
    "klingO3_pro": {
        "vendor": "Kling",
        "best_for": "Kling O3 at 1080p: multi-shot prompts, image references; also edits videos.",
        "defaults": {"ratio": "1920:1080"},
        "max_items": {"references": 7},
        "checks": _KLING_MULTISHOT,
        "per_endpoint": {"video_to_video": {"max_items": {"references": 4}}},
    },
    "klingO3_standard": {
        "vendor": "Kling",
        "best_for": "Kling O3 at 720p: multi-shot prompts, image references; also edits videos.",
        "defaults": {"ratio": "1280:720"},
        "max_items": {"references": 7},
        "checks": _KLING_MULTISHOT,
        "per_endpoint": {"video_to_video": {"max_items": {"references": 4}}},
    },
    "kling_4": {
        "vendor": "Kling",
        "best_for": "Style and motion guided by image and video references; edits videos from a prompt.",
        "max_items": {"references": 10, "referenceVideos": 5},
        "checks": ("kling4_image_total",),
    },
    # --- MiniMax --------------------------------------------------------------------------------------------
    "hailuo3": {
        "vendor": "MiniMax",
        "best_for": "Up to 2K with image, video and audio references.",
        "max_items": {"references": 9},
        "checks": ("adaptive_needs_references", *_KEYFRAME_OR_REFERENCE),
    },
    "h3_max": {
        "vendor": "MiniMax",
        "best_for": "480p/768p clips with prompt expansion control.",
        "checks": ("last_needs_first",),
    },
    # --- ByteDance ------------------------------------------------------------------------------------------
    "seedance2": {
        "vendor": "ByteDance",
        "best_for": "Many ratios up to 4K; image, video and audio references; duration auto.",
        "prompt_limit": (3500, "chars"),
        "max_items": {"references": 9},
        "checks": _KEYFRAME_OR_REFERENCE,
    },
    "seedance2_fast": {
        "vendor": "ByteDance",
        "best_for": "Faster Seedance 2 at 480p and 720p.",
        "prompt_limit": (3500, "chars"),
        "max_items": {"references": 9},
        "checks": _KEYFRAME_OR_REFERENCE,
    },
    "seedance2_mini": {
        "vendor": "ByteDance",
        "best_for": "Smallest Seedance 2 variant at 480p and 720p.",
        "prompt_limit": (3500, "chars"),
        "max_items": {"references": 9},
        "checks": _KEYFRAME_OR_REFERENCE,
    },
    "seedance2_5": {
        "vendor": "ByteDance",
        "best_for": "Cheap 480p drafts enhanced to 1080p later; video extend and edit modes.",
        "prompt_limit": (15000, "chars"),
        "max_items": {"references": 30},
        "documented_defaults": {"duration": 5, "ratio": "1280:720"},
        "checks": (*_KEYFRAME_OR_REFERENCE, "draft_task_alone", "seedance_mode"),
    },
    # --- xAI ------------------------------------------------------------------------------------------------
    "grok_imagine_1_5": {
        "vendor": "xAI",
        "best_for": "Aspect-ratio based clips at 480p-1080p; image references addressable in the prompt.",
        "checks": ("audio_needs_image_reference",),
    },
    "grok_imagine_1_5_lite": {
        "vendor": "xAI",
        "best_for": "Lighter Grok Imagine; 1080p sizes are rendered at 720p and upscaled.",
    },
    # --- Others ---------------------------------------------------------------------------------------------
    "happyhorse_1_0": {
        "vendor": "HappyHorse",
        "best_for": "Long, detailed prompts (2500 units) up to 1080p.",
        "prompt_limit": (2500, "utf16"),
    },
    "wan3": {
        "vendor": "Wan",
        "best_for": "Native audio, many ratios, references, keyframe image to video with auto_* ratios.",
        "max_items": {"references": 10},
        "checks": (*_KEYFRAME_OR_REFERENCE, "wan_keyframe_ratio"),
    },
    "wan3_prime": {
        "vendor": "Wan",
        "best_for": "Higher-quality Wan 3 with the same inputs.",
        "max_items": {"references": 10},
        "checks": (*_KEYFRAME_OR_REFERENCE, "wan_keyframe_ratio"),
    },
}

# Typical RUNNING time, in seconds, of a default-length clip per model: the poll schedule's prior
# (videogen.pipeline.poll_schedule). Orders of magnitude observed in use, not figures Runway publishes; a
# generation often takes from half to twice this. Models left out get the schedule's default.
TYPICAL_GENERATION_SECONDS: dict[str, int] = {
    "gen4.5": 75,
    "gen4_turbo": 30,
    "aleph2": 90,
    "act_two": 45,
    "veo3.1": 90,
    "veo3.1_fast": 45,
    "kling2.5_turbo_pro": 60,
    "kling3.0_pro": 120,
    "kling3.0_standard": 90,
    "seedance2": 90,
    "seedance2_fast": 45,
    "hailuo3": 90,
    "wan3": 120,
}


def typical_generation_seconds(model: str) -> int | None:
    """The model's typical RUNNING time (``TYPICAL_GENERATION_SECONDS``), None when unknown."""
    return TYPICAL_GENERATION_SECONDS.get(model)
