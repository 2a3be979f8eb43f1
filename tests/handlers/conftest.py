"""Handler fixtures: template environment, moto, the Runway simulator, handlers loaded from their files."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from local.stack import LOCAL_PARAMETERS
from tests.support.clock import clock_starting_now
from tests.support.entry_points import import_handler
from tests.support.template import create_jobs_table, create_video_bucket, function_environment

API_KEY = "sk-test-from-secrets-manager"
FUNCTIONS = {
    "upload": "UploadInputsFunction",
    "submit": "SubmitFunction",
    "lost_create": "LostCreateFunction",
    "poll": "PollFunction",
    "archive": "ArchiveFunction",
    "cancel": "CancelFunction",
}


@dataclass
class Stack:
    sim: RunwaySimulator
    clock: ManualClock
    s3: Any
    table: Any
    env: dict[str, str]
    load: Callable[[str], ModuleType]


def load_handler(name: str) -> ModuleType:
    """Import the function's handler (template CodeUri + Handler) as Lambda does at cold start."""
    sys.modules.pop("videogen.observability", None)  # fresh Powertools singletons with this environment
    module, _ = import_handler(FUNCTIONS[name])
    return module


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    monkeypatch.delenv("OUTPUT_HOST_ALLOWLIST", raising=False)
    parameters.clear_caches()
    clock = clock_starting_now()
    with mock_aws(), RunwaySimulator(SimulatorConfig(clock=clock, api_key=API_KEY, seed=3)) as sim:
        s3 = boto3.client("s3")
        bucket = create_video_bucket(s3, "video-bucket")
        table = create_jobs_table(boto3.client("dynamodb"), "jobs-table")
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="stack/runway-api-key", SecretString=API_KEY
        )["ARN"]
        resources = {"VideoBucket": bucket, "JobsTable": table, "RunwayApiSecret": secret_arn}
        env = {}
        for logical_id in FUNCTIONS.values():
            parameters_ = {**LOCAL_PARAMETERS, "RunwayBaseUrl": sim.base_url}  # the simulator's http URLs
            env.update(function_environment(logical_id, resources, parameters_))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield Stack(sim, clock, s3, boto3.resource("dynamodb").Table(table), env, load_handler)
    parameters.clear_caches()
