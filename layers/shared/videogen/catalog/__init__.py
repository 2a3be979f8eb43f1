"""The model catalog: every video model the installed ``runwayml`` SDK accepts, and Runway's rules for them.

Data: ``sdk_models.json`` (generated from the SDK types by ``scripts/generate_catalog.py``) plus the hand-kept
``model_notes.py`` (ranges, limits, credits, defaults, notes, retired models).
"""

from __future__ import annotations

from videogen.catalog import model_notes
from videogen.catalog.document import catalog_document
from videogen.catalog.spec import (
    ENDPOINTS,
    CreditRate,
    DurationRule,
    EndpointSpec,
    FieldSpec,
    ModelSpec,
    PromptRule,
    registry,
)
from videogen.catalog.validation import validate_wire
from videogen.catalog.wire import estimate_credits, map_media_uris, to_sdk_kwargs

__all__ = [
    "ENDPOINTS",
    "CreditRate",
    "DurationRule",
    "EndpointSpec",
    "FieldSpec",
    "ModelSpec",
    "PromptRule",
    "catalog_document",
    "estimate_credits",
    "get_model",
    "map_media_uris",
    "models_for",
    "retired_models",
    "to_sdk_kwargs",
    "validate_wire",
]


def get_model(name: str) -> ModelSpec:
    """The model called ``name``; KeyError if unknown (naming the replacement of a retired model)."""
    models = registry()
    if name in models:
        return models[name]
    if name in model_notes.RETIRED_MODELS:
        raise KeyError(
            f"model {name} has been retired by Runway; use {model_notes.RETIRED_MODELS[name]} instead"
        )
    raise KeyError(f"unknown model {name}")


def models_for(endpoint: str) -> list[ModelSpec]:
    """Models offered on ``endpoint``, in SDK order; KeyError for an unknown endpoint."""
    if endpoint not in ENDPOINTS:
        raise KeyError(f"unknown endpoint {endpoint}; use one of {', '.join(ENDPOINTS)}")
    return [m for m in registry().values() if endpoint in m.endpoints]


def retired_models() -> dict[str, str]:
    """Retired model name -> the model that replaces it."""
    return dict(model_notes.RETIRED_MODELS)
