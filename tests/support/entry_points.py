"""Helpers for the entry points' tests (API, S3 trigger, notify): a moto stack built from template.yaml and
the real handlers imported from the template's CodeUri + Handler, the way ``sam local invoke`` finds them.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from moto import mock_aws

from local.stack import LOCAL_PARAMETERS, new_session
from tests.support.template import (
    ROOT,
    create_jobs_table,
    create_video_bucket,
    function_environment,
    load_template,
    resource_properties,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
TEST_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"entry-points-test-signing-key-32").decode()
#: The IAM principal of an API event unless a test names another (the owner of the jobs it creates).
DEFAULT_CALLER = f"arn:aws:iam::{ACCOUNT}:user/tester"
PASS_DEFINITION = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})


def function_code(logical_id: str) -> tuple[Path, str, str]:
    """(code directory, module file, handler function) of a function: the template's CodeUri + Handler."""
    props = load_template()["Resources"][logical_id]["Properties"]
    module_name, _, function_name = props["Handler"].rpartition(".")
    code_dir = ROOT / props["CodeUri"]
    return code_dir, module_name, function_name


def import_handler(logical_id: str) -> tuple[ModuleType, Any]:
    """Import the function's handler module afresh (a cold start) under a unique name."""
    code_dir, module_name, function_name = function_code(logical_id)
    path = code_dir / f"{module_name.replace('.', '/')}.py"
    unique = f"handler_{logical_id}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module, getattr(module, function_name)


def create_idempotency_table(dynamodb: Any, name: str = "idempotency") -> str:
    props = resource_properties("IdempotencyTable")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
    )
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return name


@dataclass
class EntryStack:
    """moto resources for the entry points; ``env`` is what a function's environment would be."""

    bucket: str
    jobs_table: str
    idempotency_table: str
    state_machine_arn: str
    session: Any
    handlers: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, ModuleType] = field(default_factory=dict)

    def client(self, name: str) -> Any:
        return self.session.client(name, region_name=REGION)

    @property
    def table(self) -> Any:
        return self.session.resource("dynamodb", region_name=REGION).Table(self.jobs_table)

    def env_for(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        resources = {
            "VideoBucket": self.bucket,
            "JobsTable": self.jobs_table,
            "IdempotencyTable": self.idempotency_table,
            "GenerateVideoStateMachine": self.state_machine_arn,
            "RunwayApiSecret": "",
            "CancelFunction": "cancel-function",
            "ReconcileFunction": "reconcile-function",
            "WebhookSigningSecret": "",
            "VideoBucket.Arn": f"arn:aws:s3:::{self.bucket}",
        }
        env = function_environment(logical_id, resources, LOCAL_PARAMETERS)
        env.update(
            {
                "RUNWAY_SECRET_ARN": "",
                "RUNWAYML_API_SECRET": "test-key",
                "RUNWAYML_BASE_URL": "http://127.0.0.1:9",
                "WEBHOOK_SECRET_ARN": "",
                "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_NAMESPACE": "Test",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        env.update(overrides or {})
        return env

    def load(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> Any:
        """Cold-start ``logical_id`` with its template environment; returns its handler."""
        env = self.env_for(logical_id, overrides)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            module, handler = import_handler(logical_id)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.modules[logical_id] = module
        self.handlers[logical_id] = handler
        return handler

    def executions(self) -> list[dict[str, Any]]:
        return self.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn)[
            "executions"
        ]


@contextmanager
def entry_stack(monkeypatch: Any) -> Iterator[EntryStack]:
    """moto with the template's bucket, jobs table, idempotency table and a stand-in state machine."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "RUNWAYML_API_SECRET": "test-key",  # read at each intake (the key check), as Lambda's env keeps it
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        session = new_session(REGION)
        dynamodb = session.client("dynamodb")
        bucket = create_video_bucket(session.client("s3"), "videos-test")
        jobs = create_jobs_table(dynamodb, "jobs-test")
        idem = create_idempotency_table(dynamodb, "idempotency-test")
        sfn = session.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="videogen-local-generate-video",  # the name the template gives it (stack videogen-local)
            definition=PASS_DEFINITION,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
        )["stateMachineArn"]
        yield EntryStack(bucket, jobs, idem, arn, session)


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    user_arn: str | None = DEFAULT_CALLER,
    api_key_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (the shape of events/Api-*.json). ``user_arn`` is the SigV4 principal
    API Gateway verified (ApiAuth=IAM), ``api_key_id`` the key it checked (ApiAuth=API_KEY); None: absent."""
    hdrs = {"Accept": "application/json", **(headers or {})}
    if body is not None or raw_body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "resourceId": "abc123",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "identity": {
                "userArn": user_arn,
                "caller": "AIDATEST" if user_arn else None,
                "sourceIp": "127.0.0.1",
                "apiKeyId": api_key_id,
            },
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "apiId": "test",
            "path": "/v1" + path,
        },
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }


def response_json(response: Mapping[str, Any]) -> Any:
    body = response.get("body")
    return json.loads(body) if body else None


def header(response: Mapping[str, Any], name: str) -> str | None:
    for source in (response.get("headers") or {}, response.get("multiValueHeaders") or {}):
        for key, value in source.items():
            if key.lower() == name.lower():
                return value[0] if isinstance(value, list) else value
    return None


def s3_put_event(
    bucket: str, key_encoded: str, *, etag: str = "etag-1", version: str | None = "v1", size: int = 10
) -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification (the shape of events/S3Trigger-*.json); the key URL-encoded."""
    obj: dict[str, Any] = {"key": key_encoded, "size": size, "eTag": etag, "sequencer": "0A1B2C3D4E5F678901"}
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-25T09:30:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "EXAMPLE123456789", "x-amz-id-2": "EXAMPLE"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "InputCreated",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }
