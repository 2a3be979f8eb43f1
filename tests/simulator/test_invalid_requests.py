"""Every invalid wire body of ``tests/cases/invalid_requests.py``, sent through the real SDK to the simulator.

The simulator validates with the project's catalog, so its 400 must list exactly what ``validate_wire`` says.
One simulator serves the whole module: these cases never create a task.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import runwayml

from local.simulator import RunwaySimulator, SimulatorConfig
from tests.cases.invalid_requests import INVALID_WIRE_BODIES, InvalidCase
from tests.simulator.helpers import make_client
from videogen import catalog


@pytest.fixture(scope="module")
def module_client() -> Iterator[runwayml.RunwayML]:
    with RunwaySimulator(SimulatorConfig(api_key="sk-simulator-test")) as sim, make_client(sim) as client:
        yield client


def _send(client: runwayml.RunwayML, endpoint: str, body: dict[str, Any]) -> Any:
    try:
        kwargs = catalog.to_sdk_kwargs(endpoint, body)
    except (KeyError, ValueError):
        kwargs = None  # unknown model or a field the model does not have: the SDK has no kwarg for it
    if kwargs is not None:
        try:
            return getattr(client, endpoint).create(**kwargs)
        except TypeError:
            pass  # the SDK's own required-argument check refused it before sending
    return client.post(f"/v1/{endpoint}", body=body, cast_to=object)


@pytest.mark.parametrize("case", INVALID_WIRE_BODIES, ids=lambda c: c.id)
def test_invalid_body_is_refused_with_the_catalog_reasons(
    module_client: runwayml.RunwayML, case: InvalidCase
) -> None:
    # GIVEN a body Runway refuses, and the reasons the catalog gives for it
    expected = catalog.validate_wire(case.endpoint, case.body)
    assert expected, "the catalog must refuse this case"
    # WHEN it is sent through the SDK
    with pytest.raises(runwayml.BadRequestError) as err:
        _send(module_client, case.endpoint, case.body)
    # THEN the 400 lists the same reasons, in Runway's error shape
    body = err.value.body
    assert isinstance(body, dict)
    assert [issue["message"] for issue in body["issues"]] == expected
    assert body["error"] == "; ".join(expected)
    for reason in case.reasons:
        assert any(reason in message for message in expected), reason
