"""One local pipeline (moto + the deployed ASL + the real handlers + the Runway simulator) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.runner import LocalPipeline

TIME_SCALE = 0.01


@pytest.fixture(scope="module")
def shared_pipeline() -> Iterator[LocalPipeline]:
    with LocalPipeline(time_scale=TIME_SCALE) as pipeline:
        yield pipeline


@pytest.fixture
def pipeline(shared_pipeline: LocalPipeline) -> LocalPipeline:
    """The module's pipeline with a fresh simulator (no tasks, requests or faults from other tests)."""
    shared_pipeline.simulator.reset()
    return shared_pipeline
