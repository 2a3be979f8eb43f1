"""Fixtures for the Runway simulator tests: one simulator per test on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import runwayml

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.simulator.helpers import API_KEY, make_client


@pytest.fixture
def sim() -> Iterator[RunwaySimulator]:
    with RunwaySimulator(SimulatorConfig(time_scale=0.005, seed=7, api_key=API_KEY)) as simulator:
        yield simulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def manual_sim(clock: ManualClock) -> Iterator[RunwaySimulator]:
    """A simulator whose time moves only with ``clock.advance`` (time_scale 1: simulated s = real s)."""
    with RunwaySimulator(SimulatorConfig(time_scale=1.0, seed=3, api_key=API_KEY, clock=clock)) as simulator:
        yield simulator


@pytest.fixture
def client(sim: RunwaySimulator) -> Iterator[runwayml.RunwayML]:
    with make_client(sim) as c:
        yield c


@pytest.fixture
def manual_client(manual_sim: RunwaySimulator) -> Iterator[runwayml.RunwayML]:
    with make_client(manual_sim) as c:
        yield c
