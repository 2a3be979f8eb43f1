"""Least privilege, read off the template SAM would deploy (transformed offline, references resolved).

No IAM statement allows an action on every resource (``"*"``) or on a wildcard bucket, except the ones
listed below with AWS's reason; each function's S3 access is exactly the prefixes its code uses. The video
bucket refuses plain HTTP and expires transient files; presigned URLs live ``PresignTtlSeconds``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.stack import ACCOUNT_ID, DEFAULT_REGION, Resolver, create_bucket, load_template, translate
from tests.support.template import create_video_bucket
from videogen.core.settings import Settings

#: The only actions allowed on Resource "*", with AWS's reason.
LOG_DELIVERY = (
    "Step Functions logging: these CloudWatch Logs actions have no resource type (service authorization "
    "reference), so IAM matches them only on *"
)
ALLOWED_ON_EVERY_RESOURCE = {
    "logs:CreateLogDelivery": LOG_DELIVERY,
    "logs:GetLogDelivery": LOG_DELIVERY,
    "logs:UpdateLogDelivery": LOG_DELIVERY,
    "logs:DeleteLogDelivery": LOG_DELIVERY,
    "logs:ListLogDeliveries": LOG_DELIVERY,
    "logs:PutResourcePolicy": LOG_DELIVERY,
    "logs:DescribeResourcePolicies": LOG_DELIVERY,
    "logs:DescribeLogGroups": LOG_DELIVERY,
}
#: AWS managed policies SAM attaches to the roles it generates, and why their "*" stays.
ALLOWED_MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "SAM attaches it to every function role (logs:CreateLogGroup, CreateLogStream, PutLogEvents on *) "
        "for the function's own /aws/lambda log group"
    ),
    "AWSXrayWriteOnlyAccess": (
        "Tracing (functions, state machine): xray:PutTraceSegments, PutTelemetryRecords and GetSampling* "
        "have no resource type, so X-Ray requires *"
    ),
}

BUCKET = "videobucket"
UPLOADS = Settings().upload_prefix


def arn_of(logical_id: str, resource_type: str, region: str = DEFAULT_REGION) -> str:
    base = f"{region}:{ACCOUNT_ID}"
    return {
        "AWS::S3::Bucket": f"arn:aws:s3:::{logical_id.lower()}",
        "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{base}:table/{logical_id}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{base}:function:{logical_id}",
        "AWS::Logs::LogGroup": f"arn:aws:logs:{base}:log-group:{logical_id}:*",
        "AWS::SecretsManager::Secret": f"arn:aws:secretsmanager:{base}:secret:{logical_id}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{base}:{logical_id}",
        "AWS::StepFunctions::StateMachine": f"arn:aws:states:{base}:stateMachine:{logical_id}",
    }.get(resource_type, f"arn:aws:unknown:{base}:{logical_id}")


class _Attributes(dict[str, str]):
    """GetAtt answers: the ARN, and the logical id for any other attribute (Name, QueueName...)."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, self["Name"])


class NamingResolver(Resolver):
    """Resolves the translated template with each resource named by its logical id (no AWS, no moto)."""

    def create(self, logical_id: str) -> None:
        spec = self.template["Resources"][logical_id]
        arn = arn_of(logical_id, spec["Type"])
        ref = {
            "AWS::S3::Bucket": logical_id.lower(),
            "AWS::StepFunctions::StateMachine": arn,
            "AWS::SecretsManager::Secret": arn,
        }.get(spec["Type"], logical_id)
        self.refs[logical_id] = ref
        self.attributes[logical_id] = _Attributes(Arn=arn, Name=logical_id)


@functools.cache
def deployed(parameters: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The translated template with every intrinsic evaluated (for ``parameters``, else the defaults)."""
    params = dict(parameters)
    template = translate(load_template(), params)
    resolver = NamingResolver(template, parameters=params)
    resources = {
        rid: {**spec, "Properties": resolver.resolve(spec.get("Properties", {}))}
        for rid, spec in template["Resources"].items()
        if resolver.enabled(rid)
    }
    return {**template, "Resources": resources}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(resources: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, statement) for every identity policy of the stack: inline role policies and IAM policies."""
    for rid, spec in resources.items():
        props = spec["Properties"]
        if spec["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in listed(policy["PolicyDocument"]["Statement"]):
                    yield rid, statement
        elif spec["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            roles = props.get("Roles") or [props.get("RoleName")]
            for statement in listed(props["PolicyDocument"]["Statement"]):
                for role in roles:
                    yield str(role), statement


def grants(resources: Mapping[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(role, action, resource, condition) for every Allow."""
    for role, statement in policy_statements(resources):
        if statement.get("Effect") != "Allow":
            continue
        for action in listed(statement["Action"]):
            for resource in listed(statement["Resource"]):
                yield role, action, resource, statement.get("Condition", {})


def remaining_wildcards(resources: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (role, action) allowed on Resource "*", and every AWS managed policy a role carries."""
    found = {(role, action) for role, action, resource, _ in grants(resources) if resource == "*"}
    for rid, spec in resources.items():
        if spec["Type"] == "AWS::IAM::Role":
            for arn in spec["Properties"].get("ManagedPolicyArns", []):
                found.add((rid, "managed:" + str(arn).rsplit("/", 1)[-1]))
    return sorted(found)


def s3_access(resources: Mapping[str, Any]) -> dict[str, set[tuple[str, str]]]:
    access: dict[str, set[tuple[str, str]]] = {}
    for role, action, resource, _ in grants(resources):
        if action.startswith("s3:"):
            access.setdefault(role, set()).add((action, resource.removeprefix("arn:aws:s3:::")))
    return access


def expected_s3_access(inputs: str, outputs: str) -> dict[str, set[tuple[str, str]]]:
    """What each function's code does in the bucket (intake, runway.uploads, pipeline.output_stream)."""
    archive = {
        *((a, f"{BUCKET}/{outputs}*") for a in ("s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject")),
        *((a, f"{BUCKET}/{outputs}*") for a in ("s3:PutObjectTagging", "s3:GetObjectTagging")),
        ("s3:ListBucketMultipartUploads", BUCKET),
    }
    return {
        # reads the created object (by version), checks the s3:// inputs a JSON request names (input or
        # upload prefix only), moves the request's data: URIs to uploads/
        "S3TriggerFunctionRole": {
            ("s3:GetObject", f"{BUCKET}/{inputs}*"),
            ("s3:GetObjectVersion", f"{BUCKET}/{inputs}*"),
            ("s3:GetObject", f"{BUCKET}/{UPLOADS}*"),
            ("s3:ListBucket", BUCKET),
            ("s3:PutObject", f"{BUCKET}/{UPLOADS}*"),
        },
        # checks s3:// inputs, moves data: URIs and presigns PUTs under uploads/, presigns outputs
        "ApiFunctionRole": {
            ("s3:GetObject", f"{BUCKET}/{inputs}*"),
            ("s3:GetObject", f"{BUCKET}/{UPLOADS}*"),
            ("s3:ListBucket", BUCKET),
            ("s3:PutObject", f"{BUCKET}/{UPLOADS}*"),
            ("s3:GetObject", f"{BUCKET}/{outputs}*"),
        },
        # sends s3:// inputs (input or upload prefix only, checked at intake) to Runway
        "UploadInputsFunctionRole": {
            ("s3:GetObject", f"{BUCKET}/{inputs}*"),
            ("s3:GetObject", f"{BUCKET}/{UPLOADS}*"),
            ("s3:ListBucket", BUCKET),
        },
        "ArchiveFunctionRole": archive,
        "ReconcileFunctionRole": archive,  # it re-archives a SUCCEEDED task
        "NotifyFunctionRole": {("s3:GetObject", f"{BUCKET}/{outputs}*")},  # presigns outputs
    }


PARAMETER_SETS = [(), (("InputPrefix", "drop/here/"), ("OutputPrefix", "videos/"))]


def prefixes(parameters: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    declared = load_template()["Parameters"]
    values = {name: spec.get("Default", "") for name, spec in declared.items()} | dict(parameters)
    return str(values["InputPrefix"]), str(values["OutputPrefix"])


def test_only_the_listed_actions_are_allowed_on_every_resource() -> None:
    # GIVEN the deployed template WHEN every "*" resource and AWS managed policy is collected
    found = remaining_wildcards(deployed()["Resources"])
    reasons = {
        **ALLOWED_ON_EVERY_RESOURCE,
        **{"managed:" + k: v for k, v in ALLOWED_MANAGED_POLICIES.items()},
    }
    roles: dict[str, list[str]] = {}
    for role, action in found:
        roles.setdefault(action, []).append(role.removesuffix("Role"))
    print("\nRemaining '*' in IAM policies:")  # noqa: T201 - the list the README's Security section cites
    for action, holders in roles.items():
        print(f"  {action} ({len(holders)} roles): {reasons.get(action, 'NOT ALLOWED')}")  # noqa: T201
    # THEN each is on the allowlist, with AWS's reason
    assert [(role, action) for role, action in found if action not in reasons] == []
    # AND the log-delivery actions are the state machine's only, never a function's
    for role, action in found:
        if action.startswith("logs:"):
            assert role == "GenerateVideoStateMachineRole", (role, action)


@pytest.mark.parametrize("parameters", PARAMETER_SETS)
def test_no_statement_names_a_wildcard_bucket_or_another_account(
    parameters: tuple[tuple[str, str], ...],
) -> None:
    for role, action, resource, _ in grants(deployed(parameters)["Resources"]):
        if resource == "*":
            continue
        service, region_account = resource.split(":")[2], resource.split(":")[3:5]
        # THEN an S3 ARN names this stack's bucket, nothing like arn:aws:s3:::*/inputs/*
        if service == "s3":
            bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            assert bucket == BUCKET, f"{role} may {action} on {resource}"
        # AND any other ARN is in this account and region
        elif service not in ("iam",):
            assert region_account == [DEFAULT_REGION, ACCOUNT_ID], f"{role} may {action} on {resource}"


@pytest.mark.parametrize("parameters", PARAMETER_SETS)
def test_each_function_touches_only_the_prefixes_its_code_uses(
    parameters: tuple[tuple[str, str], ...],
) -> None:
    # GIVEN the input and output prefixes the stack is deployed with
    inputs, outputs = prefixes(parameters)
    # WHEN the S3 grants of every role are collected
    access = s3_access(deployed(parameters)["Resources"])
    # THEN they are exactly what each function's code needs (submit, poll, cancel, finish... have none)
    assert access == expected_s3_access(inputs, outputs)


@pytest.mark.parametrize("parameters", PARAMETER_SETS)
def test_listing_is_bound_to_the_prefixes_a_function_reads(parameters: tuple[tuple[str, str], ...]) -> None:
    # GIVEN the roles that may list the bucket (so that S3 answers 404, not 403, for a deleted input)
    inputs, _ = prefixes(parameters)
    readable = {f"{inputs}*", f"{UPLOADS}*"}
    wanted = {
        "S3TriggerFunctionRole": readable,
        "UploadInputsFunctionRole": readable,
        "ApiFunctionRole": readable,
    }
    found: dict[str, set[str]] = {}
    for role, action, _, condition in grants(deployed(parameters)["Resources"]):
        if action == "s3:ListBucket":
            # THEN each listing is conditioned on the prefixes that function reads, never the whole bucket
            assert set(condition) == {"StringLike"} and set(condition["StringLike"]) == {"s3:prefix"}, role
            found[role] = set(listed(condition["StringLike"]["s3:prefix"]))
    assert found == wanted


def test_dynamodb_access_is_item_level_on_the_stack_tables() -> None:
    # GIVEN every DynamoDB grant WHEN its action is read THEN no role may scan, batch or manage a table
    for role, action, resource, _ in grants(deployed()["Resources"]):
        if action.startswith("dynamodb:"):
            assert action in {
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            }, (role, action)
            assert ":table/JobsTable" in resource or ":table/IdempotencyTable" in resource, (role, resource)


def test_the_bucket_refuses_requests_without_tls() -> None:
    resources = deployed()["Resources"]
    (policy,) = [spec["Properties"] for spec in resources.values() if spec["Type"] == "AWS::S3::BucketPolicy"]
    assert policy["Bucket"] == BUCKET
    denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    # THEN one statement denies every S3 action on the bucket and its objects when the request is not TLS
    assert any(
        s["Principal"] == "*"
        and s["Action"] == "s3:*"
        and set(s["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in denials
    ), denials


@pytest.mark.parametrize(("days", "inputs"), [("7", "inputs/"), ("2", "drop/here/")])
def test_inputs_and_uploads_expire_and_multipart_uploads_are_aborted(days: str, inputs: str) -> None:
    # GIVEN a retention and an input prefix WHEN the bucket is deployed (into moto, as the local stack does)
    parameters = (("InputPrefix", inputs), ("InputRetentionDays", days))
    props = deployed(parameters)["Resources"]["VideoBucket"]["Properties"]
    with mock_aws():
        s3 = boto3.client("s3", region_name=DEFAULT_REGION)
        create_bucket(s3, "videos", props, region=DEFAULT_REGION)
        rules = s3.get_bucket_lifecycle_configuration(Bucket="videos")["Rules"]
    by_prefix = {rule["Filter"].get("Prefix", ""): rule for rule in rules}
    # THEN inputs (rejected ones stay there too) and uploads expire after that many days, older versions too
    for prefix in (inputs, UPLOADS):
        rule = by_prefix[prefix]
        assert rule["Status"] == "Enabled"
        assert rule["Expiration"] == {"Days": int(days)}
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == int(days)
    # AND unfinished multipart uploads anywhere in the bucket are aborted after a day; outputs never expire
    assert by_prefix[""]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Expiration" not in by_prefix[""]
    assert not any(prefix.startswith(prefixes(())[1]) for prefix in by_prefix)


def test_the_default_retention_and_presign_lifetime() -> None:
    parameters = load_template()["Parameters"]
    assert parameters["InputRetentionDays"]["Default"] == 7
    assert parameters["PresignTtlSeconds"]["Default"] == Settings().presign_ttl_seconds == 900
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PRESIGN_TTL_SECONDS"] == {"Ref": "PresignTtlSeconds"}


def test_the_template_bucket_helper_builds_the_lifecycle_rules() -> None:
    # The tests' own bucket (tests/support) is the template's, lifecycle included.
    with mock_aws():
        s3 = boto3.client("s3", region_name=DEFAULT_REGION)
        name = create_video_bucket(s3)
        ids = {rule["ID"] for rule in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert ids == {"expire-inputs", "expire-uploads", "abort-incomplete-multipart-uploads"}
