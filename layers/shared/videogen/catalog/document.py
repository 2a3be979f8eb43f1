"""``catalog_document``: a JSON-serialisable view of the whole catalog, for ``GET /models`` and the docs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from videogen.catalog import model_notes
from videogen.catalog.schema import describe
from videogen.catalog.spec import ENDPOINTS, EndpointSpec, ModelSpec, registry, sdk_version


def _endpoint_view(spec: EndpointSpec) -> dict[str, Any]:
    return {
        "fields": [
            {
                "wire": f.wire,
                "sdk_kwarg": f.kwarg,
                "required": f.required,
                "type": describe(f.schema),
                "media": list(f.media_kinds),
            }
            for f in spec.fields.values()
        ],
        "required": ["model", *spec.required_fields],
        "ratios": list(spec.ratios) if spec.ratios else None,
        "resolutions": list(spec.resolutions) if spec.resolutions else None,
        "duration": asdict(spec.duration) if spec.duration else None,
        "prompt": asdict(spec.prompt) if spec.prompt else None,
        "input_video_field": spec.input_video_field,
        "image_positions": list(spec.image_positions) if spec.image_positions else None,
        "defaults": dict(spec.defaults),
        "ranges": {k: list(v) for k, v in spec.ranges.items()},
        "max_items": dict(spec.max_items),
        "output_surcharges_per_second": dict(spec.output_surcharges),
        "sdk_class": spec.sdk_class,
    }


def _model_view(model: ModelSpec) -> dict[str, Any]:
    return {
        "name": model.name,
        "vendor": model.vendor,
        "best_for": model.best_for,
        "credits_per_second": asdict(model.credits_per_second) if model.credits_per_second else None,
        "endpoints": {name: _endpoint_view(spec) for name, spec in model.endpoints.items()},
    }


def catalog_document() -> dict[str, Any]:
    models = registry()
    return {
        "sdk": {"package": "runwayml", "version": sdk_version()},
        "endpoints": {e: [m.name for m in models.values() if e in m.endpoints] for e in ENDPOINTS},
        "default_model": model_notes.DEFAULT_MODEL,
        "recommendations": dict(model_notes.RECOMMENDATIONS),
        "retired_models": dict(model_notes.RETIRED_MODELS),
        "media_uris": {
            "accepted": [
                "https:// URL (at most 2048 characters)",
                "runway:// upload URI",
                "data: URI (at most 5 MB)",
            ],
            "refused": [
                "http://",
                "s3:// (the pipeline uploads s3:// inputs before submitting)",
                "other schemes",
            ],
        },
        "models": {name: _model_view(model) for name, model in models.items()},
    }
