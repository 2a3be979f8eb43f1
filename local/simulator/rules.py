"""The simulator's view of Runway's request rules: the project's model catalog (``videogen.catalog``).

The catalog lives in the Lambda layer folder; ``python -m local.simulator`` run from the repository root does
not have that folder on ``sys.path``, so it is added here when ``videogen`` is not importable.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

_LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"


def catalog() -> ModuleType:
    try:
        importlib.import_module("videogen")
    except ModuleNotFoundError:
        sys.path.insert(0, str(_LAYER))
    return importlib.import_module("videogen.catalog")


def validate(endpoint: str, body: dict[str, Any]) -> list[str]:
    return list(catalog().validate_wire(endpoint, body))


def estimate(endpoint: str, body: dict[str, Any]) -> float | None:
    return catalog().estimate_credits(endpoint, body)


def runway_uris(value: Any, where: str = "") -> list[tuple[str, str]]:
    """Every ``runway://`` string in a JSON body, with its location (``promptImage[0].uri``)."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str) and value.startswith("runway://"):
        found.append((where, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += runway_uris(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += runway_uris(item, f"{where}[{index}]")
    return found
