"""The local stack is the SAM translation of template.yaml deployed into moto."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local.stack import ROOT, LocalStack, Resolver, TemplateError, deploy_stack, load_template, translate

# What the local stack deliberately leaves out (the runner calls the API function directly).
SKIPPED_TYPES = {
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::CloudWatch::Alarm",
    "AWS::Scheduler::Schedule",  # the sweep: tests invoke the reconciler with the schedule's Input
}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with mock_aws():
        yield deploy_stack(boto3.Session(region_name="us-east-1"), runway_api_key="sk-local")


def test_every_translated_resource_type_is_deployed_or_deliberately_skipped(stack: LocalStack) -> None:
    types = {spec["Type"] for spec in translate(load_template())["Resources"].values()}
    assert types - set(stack.creators) == SKIPPED_TYPES & types


def test_the_state_machine_runs_the_deployed_functions(stack: LocalStack) -> None:
    sfn = stack.session.client("stepfunctions", region_name="us-east-1")
    definition = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
    assert "${" not in definition
    resources = {state.get("Resource") for state in json.loads(definition)["States"].values()}
    arns = {function.arn for function in stack.functions.values()}
    assert {r for r in resources if r and ":lambda:" in r and ":function:" in r} <= arns
    # upload inputs, create (submit), lost create, poll, archive, cancel, finish
    assert len({r for r in resources if r in arns}) == 7


def test_functions_come_from_the_template(stack: LocalStack) -> None:
    sam = load_template()["Resources"]
    for logical_id, function in stack.functions.items():
        props = sam[logical_id]["Properties"]
        assert function.code_dir == ROOT / props["CodeUri"]
        assert function.handler == props["Handler"]
        assert function.layer_dirs == [ROOT / sam["SharedLayer"]["Properties"]["ContentUri"]]
    assert stack.functions["NotifyFunction"].async_max_retries == 2
    assert stack.api_function == "ApiFunction"
    assert stack.api_resource == "/{proxy+}"


def test_the_runway_secret_holds_the_key_and_the_webhook_secret_is_generated(stack: LocalStack) -> None:
    secrets = stack.session.client("secretsmanager", region_name="us-east-1")
    env = stack.functions["NotifyFunction"].environment
    assert secrets.get_secret_value(SecretId=env["RUNWAY_SECRET_ARN"])["SecretString"] == "sk-local"
    webhook = secrets.get_secret_value(SecretId=env["WEBHOOK_SECRET_ARN"])["SecretString"]
    assert len(webhook) == 44 and webhook.isalnum()


def test_resolver_evaluates_conditions_and_intrinsics() -> None:
    template = {
        "Parameters": {"Name": {"Type": "String", "Default": ""}},
        "Conditions": {"NoName": {"Fn::Equals": [{"Ref": "Name"}, ""]}},
        "Resources": {"Thing": {"Type": "AWS::S3::Bucket"}},
    }
    resolver = Resolver(template, parameters={"Name": "a:b:c"}, stack_name="s")
    resolver.refs["Thing"] = "thing"
    resolver.attributes["Thing"] = {"Arn": "arn:thing"}
    value = {
        "If": {
            "Fn::If": ["NoName", "none", {"Fn::Sub": "${AWS::StackName}-${Thing}-${Thing.Arn}-${!Literal}"}]
        },
        "Third": {"Fn::Select": [2, {"Fn::Split": [":", {"Ref": "Name"}]}]},
        "Join": {"Fn::Join": ["/", ["x", {"Ref": "AWS::Region"}]]},
        "Gone": {"Ref": "AWS::NoValue"},
    }
    assert resolver.resolve(value) == {
        "If": "s-thing-arn:thing-${Literal}",
        "Third": "c",
        "Join": "x/us-east-1",
    }
    with pytest.raises(TemplateError):
        Resolver(template, parameters={"Unknown": "x"})


def test_runner_uses_the_api_not_the_domain() -> None:
    # The runner starts jobs through the API function: no domain imports, no StartExecution of its own.
    for path in sorted(Path(ROOT / "local").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not {m for m in imported if m and m.split(".")[0] == "videogen"}, path
        assert "start_execution" not in path.read_text(encoding="utf-8"), path
