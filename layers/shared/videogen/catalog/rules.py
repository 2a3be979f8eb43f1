"""Runway's rules that the SDK types cannot express: ranges, limits, counts and cross-field constraints.

Each rule gets a body whose top-level fields have already passed the type checks (a field with a type error is
left out), so rules only look at well-typed values. Model-specific rules are named in ``model_notes.MODELS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from videogen.catalog.schema import fmt
from videogen.catalog.spec import EndpointSpec

Body = Mapping[str, Any]
Rule = Callable[[EndpointSpec, Body], list[str]]


def _frames(body: Body) -> list[Mapping[str, Any]]:
    images = body.get("promptImage")
    return [i for i in images if isinstance(i, Mapping)] if isinstance(images, list) else []


# --- rules applied to every model ---------------------------------------------------------------------------


def prompt_text(spec: EndpointSpec, body: Body) -> list[str]:
    text = body.get("promptText")
    if spec.prompt is None or not isinstance(text, str):
        return []
    if not text.strip():
        hint = "" if spec.prompt.required else ", or leave the field out"
        return [f"promptText is empty; describe what the video should show{hint}"]
    limit = spec.prompt.max_length
    length = spec.prompt.length_of(text)
    if limit is not None and length > limit:
        return [f"promptText is {length} {spec.prompt.unit_label} long; {spec.model} accepts at most {limit}"]
    return []


def duration(spec: EndpointSpec, body: Body) -> list[str]:
    value = body.get("duration")
    rule = spec.duration
    if rule is None or isinstance(value, bool) or not isinstance(value, int):
        return []
    if rule.minimum is not None and rule.maximum is not None:
        if not rule.minimum <= value <= rule.maximum:
            return [f"duration {value} is outside {rule.minimum}-{rule.maximum} for {spec.model}"]
    elif value < 1:
        return [f"duration {value} must be a positive number of seconds"]
    return []


def ranges(spec: EndpointSpec, body: Body) -> list[str]:
    problems = []
    for name, (low, high) in spec.ranges.items():
        value = body.get(name)
        if name == "duration" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not low <= value <= high:
            problems.append(f"{name} {fmt(value)} is outside {fmt(low)}-{fmt(high)} for {spec.model}")
    return problems


def max_items(spec: EndpointSpec, body: Body) -> list[str]:
    problems = []
    for name, limit in spec.max_items.items():
        value = body.get(name)
        if isinstance(value, list) and len(value) > limit:
            problems.append(f"{name} has {len(value)} items; {spec.model} accepts at most {limit}")
    return problems


def frame_positions(spec: EndpointSpec, body: Body) -> list[str]:
    problems = []
    frames = _frames(body)
    for position in ("first", "last"):
        count = sum(1 for f in frames if f.get("position") == position)
        if count > 1:
            problems.append(f"promptImage has {count} images with position {position}; use at most one")
    return problems


def media_count(spec: EndpointSpec, body: Body) -> list[str]:
    if isinstance(body.get("promptImage"), list) and not body["promptImage"]:
        return ["promptImage is an empty list; give at least one image"]
    return []


# --- model-specific rules, named in model_notes -------------------------------------------------------------


def last_needs_first(spec: EndpointSpec, body: Body) -> list[str]:
    positions = {f.get("position") for f in _frames(body)}
    if "last" in positions and "first" not in positions:
        return [f"{spec.model} does not support a last frame without a first frame"]
    return []


def frames_or_references(spec: EndpointSpec, body: Body) -> list[str]:
    frames = _frames(body)
    positioned = [f for f in frames if "position" in f]
    if positioned and len(positioned) < len(frames):
        return [
            f"{spec.model} cannot mix keyframes (images with a position) and reference images (no position) "
            "in promptImage; use one mode"
        ]
    return []


def wan_keyframe_ratio(spec: EndpointSpec, body: Body) -> list[str]:
    if spec.endpoint != "image_to_video" or not any("position" in f for f in _frames(body)):
        return []
    ratio = body.get("ratio")
    if not (isinstance(ratio, str) and ratio.startswith("auto_")):
        return [f"{spec.model} keyframe image to video needs ratio auto_480p, auto_720p or auto_1080p"]
    return []


def adaptive_needs_references(spec: EndpointSpec, body: Body) -> list[str]:
    has_refs = any(body.get(f) for f in ("references", "referenceVideos", "promptImage", "promptVideo"))
    if body.get("ratio") == "adaptive" and not has_refs:
        return [f"ratio adaptive needs image or video references on {spec.model}; pick a concrete ratio"]
    return []


def audio_needs_image_reference(spec: EndpointSpec, body: Body) -> list[str]:
    if body.get("referenceAudio") and not body.get("references"):
        return [f"referenceAudio on {spec.model} needs at least one image in references"]
    return []


def kling4_image_total(spec: EndpointSpec, body: Body) -> list[str]:
    images = body.get("promptImage")
    frames = len(images) if isinstance(images, list) else int(isinstance(images, str))
    refs = body.get("references")
    total = frames + (len(refs) if isinstance(refs, list) else 0)
    if total > 10:
        return [f"{spec.model} accepts at most 10 images in total, frames included; got {total}"]
    return []


def prores_profile(spec: EndpointSpec, body: Body) -> list[str]:
    profile = body.get("proresProfile")
    if profile is None:
        return []
    fmt_ = body.get("outputFormat")
    if fmt_ == "hdr_prores" and "outputFormat" in spec.fields and profile not in ("422", "422 HQ", "4444"):
        return [f"proresProfile {profile} is not available with hdr_prores; use 422, 422 HQ or 4444"]
    prores_formats = [f for f in ("prores", "hdr_prores") if f in spec.fields["outputFormat"].enum_values()]
    if fmt_ not in prores_formats:
        return [f"proresProfile only applies when outputFormat is {' or '.join(prores_formats)}"]
    return []


def keyframes(spec: EndpointSpec, body: Body) -> list[str]:
    items = [k for k in body.get("keyframes") or () if isinstance(k, Mapping)]
    problems = []
    with_range = sum(1 for k in items if "range" in k)
    if 0 < with_range < len(items):
        problems.append("keyframes: either every keyframe sets a range or none does")
    for i, item in enumerate(items):
        at = item.get("at")
        if isinstance(at, int | float) and not isinstance(at, bool) and not 0 <= at <= 1:
            problems.append(f"keyframes[{i}].at {fmt(at)} is outside 0-1 (a fraction of the input video)")
    return problems


def multi_prompt(spec: EndpointSpec, body: Body) -> list[str]:
    settings = body.get("providerSettings")
    if not isinstance(settings, Mapping):
        return []
    problems = []
    segments = settings.get("multiPrompt")
    if isinstance(segments, list) and segments:
        durations = [s.get("duration") for s in segments if isinstance(s, Mapping)]
        whole = [d for d in durations if isinstance(d, int) and not isinstance(d, bool)]
        if len(whole) == len(durations):
            total = sum(whole)
            if not 3 <= total <= 15:
                problems.append(
                    f"providerSettings.multiPrompt durations add up to {total} s; the total must be 3-15"
                )
    if settings.get("shotType") == "intelligence" and not body.get("promptText"):
        problems.append("providerSettings.shotType intelligence needs promptText")
    return problems


def draft_task_alone(spec: EndpointSpec, body: Body) -> list[str]:
    if "draftTaskId" not in body:
        return []
    others = sorted(k for k in body if k not in ("model", "draftTaskId"))
    if others:
        return [f"draftTaskId enhances a draft and takes no other fields; remove {', '.join(others)}"]
    return []


def seedance_mode(spec: EndpointSpec, body: Body) -> list[str]:
    mode = body.get("mode", "reference")
    if spec.endpoint != "video_to_video" or mode not in ("extend", "edit"):
        return []
    problems = []
    if not body.get("promptText"):
        problems.append(f"mode {mode} needs promptText")
    if "ratio" in body:
        problems.append(f"mode {mode} keeps the input video's aspect; remove ratio")
    if mode == "edit" and body.get("duration") != "auto":
        problems.append("mode edit needs duration auto")
    return problems


COMMON_RULES: tuple[Rule, ...] = (prompt_text, duration, ranges, max_items, frame_positions, media_count)

NAMED_RULES: dict[str, Rule] = {
    rule.__name__: rule
    for rule in (
        last_needs_first,
        frames_or_references,
        wan_keyframe_ratio,
        adaptive_needs_references,
        audio_needs_image_reference,
        kling4_image_total,
        prores_profile,
        keyframes,
        multi_prompt,
        draft_task_alone,
        seedance_mode,
    )
}


def apply(spec: EndpointSpec, body: Body) -> list[str]:
    problems = [p for rule in COMMON_RULES for p in rule(spec, body)]
    for name in spec.checks:
        problems.extend(NAMED_RULES[name](spec, body))
    return problems
