"""The controls the fault suite adds to the local stack, on their own: ``local.aws_faults`` against plain moto
(what a fault answers, how it counts), and the simulator's faults aimed at one job's creates and its digest
of an output."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_gaps
from local.aws_faults import AwsFaults
from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.simulator.helpers import API_KEY, gen45_kwargs, make_client

pytestmark = pytest.mark.faults

# Unique names: another local stack of this process may share moto with these tests.
BUCKET = f"videos-{uuid.uuid4().hex[:8]}"
TABLE = f"jobs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def aws() -> Iterator[AwsFaults]:
    moto_gaps.install(0.001)  # botocore's retry backoff follows the time scale
    try:
        with mock_aws(), AwsFaults() as book:
            yield book
    finally:
        moto_gaps.uninstall()


@pytest.fixture
def s3(aws: AwsFaults) -> Any:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_a_fault_per_call_fails_every_attempt_of_that_many_calls(aws: AwsFaults, s3: Any) -> None:
    # GIVEN S3 refuses two PutObject calls under outputs/
    fault = aws.fail("s3", "PutObject", key_prefix="outputs/", times=2)
    # WHEN three calls are made THEN the first two fail past botocore's retries, with S3's own error
    attempts = []
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=BUCKET, Key="outputs/job/0.mp4", Body=b"video")
        assert refused.value.response["Error"]["Code"] == "SlowDown"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        attempts.append(refused.value.response["ResponseMetadata"]["RetryAttempts"] + 1)
    s3.put_object(Bucket=BUCKET, Key="outputs/job/0.mp4", Body=b"video")
    # AND a key under another prefix was never refused
    s3.put_object(Bucket=BUCKET, Key="inputs/boat.png", Body=b"image")
    assert attempts[0] > 1 and len(fault.calls) == 2 and fault.fired == sum(attempts)


def test_a_fault_per_attempt_is_ridden_out_by_botocores_retries(aws: AwsFaults, s3: Any) -> None:
    fault = aws.fail("s3", "PutObject", times=2, per="attempt")
    answer = s3.put_object(Bucket=BUCKET, Key="outputs/job/0.mp4", Body=b"video")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2 and fault.fired == 2


def test_a_json_service_gets_its_own_error_shape(aws: AwsFaults) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.fail("dynamodb", ["PutItem", "UpdateItem"], where=lambda call: call.params["TableName"] == TABLE)
    with pytest.raises(dynamodb.exceptions.ProvisionedThroughputExceededException):
        dynamodb.put_item(TableName=TABLE, Item={"job_id": {"S": "a"}})
    assert dynamodb.scan(TableName=TABLE)["Items"] == []


def test_a_kill_outside_a_lambda_invocation_is_refused(aws: AwsFaults, s3: Any) -> None:
    aws.kill("s3", "PutObject", after=True)
    with pytest.raises(RuntimeError, match="outside a local Lambda invocation"):
        s3.put_object(Bucket=BUCKET, Key="outputs/job/0.mp4", Body=b"video")
    assert s3.get_object(Bucket=BUCKET, Key="outputs/job/0.mp4")["Body"].read() == b"video"


def test_a_simulator_fault_aimed_at_one_prompt_leaves_other_creates_alone() -> None:
    # GIVEN a moderation failure scripted for the creates of one prompt only
    clock = ManualClock()
    with RunwaySimulator(SimulatorConfig(api_key=API_KEY, clock=clock)) as sim:
        sim.inject("task_failure", code="SAFETY.INPUT.TEXT", body={"promptText": "refused"})
        client = make_client(sim)
        # WHEN another prompt is created first, then that one
        other = client.text_to_video.create(**gen45_kwargs("accepted"))
        refused = client.text_to_video.create(**gen45_kwargs("refused"))
        clock.advance(3600)
        # THEN only the aimed create failed
        assert client.tasks.retrieve(other.id).status == "SUCCEEDED"
        assert client.tasks.retrieve(refused.id).failure_code == "SAFETY.INPUT.TEXT"


def test_the_simulator_digest_of_an_output_is_what_its_download_serves() -> None:
    clock = ManualClock()
    with RunwaySimulator(SimulatorConfig(api_key=API_KEY, clock=clock)) as sim:
        client = make_client(sim)
        task_id = client.text_to_video.create(**gen45_kwargs()).id
        clock.advance(3600)
        (url,) = client.tasks.retrieve(task_id).output or []
        body = httpx.get(url).content
        assert sim.output_digest(task_id, 0) == (len(body), hashlib.sha256(body).hexdigest())
