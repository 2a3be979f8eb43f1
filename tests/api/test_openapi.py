"""The OpenAPI document served at GET /openapi.json is the one committed as openapi.yaml."""

from __future__ import annotations

import yaml

from tests.support.entry_points import response_json
from tests.support.template import ROOT

OPENAPI_FILE = ROOT / "openapi.yaml"
REGENERATE = "make openapi"


def test_served_document_equals_the_committed_openapi_yaml(api):
    # WHEN the document is fetched from the API
    response = api("GET", "/openapi.json")
    assert response["statusCode"] == 200
    served = response_json(response)
    # THEN it equals openapi.yaml (this test never writes the file: make openapi does)
    committed = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))
    assert served == committed, f"openapi.yaml is stale; regenerate it with: {REGENERATE}"


def test_document_describes_every_route(api):
    paths = response_json(api("GET", "/openapi.json"))["paths"]
    assert set(paths) == {
        "/generations",
        "/generations/{job_id}",
        "/generations/{job_id}/retry",
        "/models",
        "/uploads",
    }
    assert set(paths["/generations"]) == {"get", "post"}
    assert set(paths["/generations/{job_id}"]) == {"get", "delete"}
