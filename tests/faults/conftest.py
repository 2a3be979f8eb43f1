"""The fault suite's stack: one local pipeline for the package (moto + the deployed ASL + the real handlers +
the Runway simulator) with the AWS fault hook open, reset before every scenario. Each module keeps to one test
process (``xdist_group``); the stack closes when the process leaves the package, so the tests after it never
run inside its moto.

Scenarios run on compressed time (``TIME_SCALE``): a 90 s generation takes about half a second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.aws_faults import AwsFaults
from local.runner import LocalPipeline

TIME_SCALE = 0.005
ENVIRONMENT = {
    "POLL_MIN_WAIT_SECONDS": "5",
    "WEBHOOK_MAX_ATTEMPTS": "1",  # one POST per invocation: Lambda's asynchronous retries do the rest
}


@pytest.fixture(scope="package")
def fault_stack() -> Iterator[tuple[LocalPipeline, AwsFaults]]:
    with LocalPipeline(time_scale=TIME_SCALE, env_overrides=ENVIRONMENT) as pipeline, AwsFaults() as aws:
        yield pipeline, aws


@pytest.fixture
def aws(fault_stack: tuple[LocalPipeline, AwsFaults]) -> Iterator[AwsFaults]:
    """The AWS fault hook, empty at the start and at the end of the scenario."""
    book = fault_stack[1]
    book.clear()
    yield book
    book.clear()


@pytest.fixture
def pipeline(fault_stack: tuple[LocalPipeline, AwsFaults], aws: AwsFaults) -> LocalPipeline:
    """The shared pipeline with a fresh simulator (no tasks, requests, faults or spent credits)."""
    shared = fault_stack[0]
    assert shared.simulator is not None
    shared.simulator.reset()
    return shared
