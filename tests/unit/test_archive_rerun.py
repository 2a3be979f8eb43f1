"""An archive that can always be re-run: S3 failures named by kind, no orphaned multipart parts, outputs
already stored whole kept without a second download, the manifest written last."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from tests.support.s3_faults import S3Faults
from tests.support.template import resource_properties
from videogen.core.errors import StorageRefused, StorageUnavailable
from videogen.core.settings import Settings
from videogen.pipeline.archive import archive_task
from videogen.pipeline.output_stream import SHA256_TAG, OutputArchiver, make_http_client
from videogen.pipeline.task_state import TaskState
from videogen.storage.stream_upload import PartPlan

BUCKET = "videos"
MIB = 1024 * 1024
PART = 5 * MIB  # S3's smallest part
SMALL = bytes(range(256)) * 1024  # 256 KiB: one PutObject
LARGE = bytes(range(256)) * (11 * 4096)  # 11 MiB: three parts
META = {"job-id": "job-1", "task-id": "task-1"}


@dataclass
class Origin:
    """A CDN serving fixed bodies; counts the requests per URL and the bodies actually read."""

    bodies: dict[str, bytes]
    content_length: bool = True
    requests: dict[str, int] = field(default_factory=dict)
    bodies_read: dict[str, int] = field(default_factory=dict)

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] = self.requests.get(path, 0) + 1
        body = self.bodies[path]
        headers = {"content-type": "video/mp4"}
        if self.content_length:
            headers["content-length"] = str(len(body))
        return httpx.Response(200, headers=headers, stream=_CountedBody(body, path, self.bodies_read))

    def downloads(self, path: str) -> int:
        return self.bodies_read.get(path, 0)


class _CountedBody(httpx.SyncByteStream):
    def __init__(self, data: bytes, path: str, counter: dict[str, int]) -> None:
        self._data, self._path, self._counter = data, path, counter

    def __iter__(self) -> Iterator[bytes]:
        self._counter[self._path] = self._counter.get(self._path, 0) + 1
        for i in range(0, len(self._data), 256 * 1024):
            yield self._data[i : i + 256 * 1024]


def make_archiver(s3: Any, origin: Origin) -> OutputArchiver:
    return OutputArchiver(
        s3,
        make_http_client(transport=httpx.MockTransport(origin.handler)),
        bucket=BUCKET,
        plan=PartPlan(threshold=PART, part_bytes=PART, concurrency=2),
    )


def pending_uploads(s3: Any) -> list[dict[str, Any]]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


# --- S3 failures get a name that says whether a retry can help -------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("RequestTimeout", 400),
        ("Throttling", 400),
        ("ThrottlingException", 400),
        ("OperationAborted", 409),
        ("", 502),  # a gateway's bare 5xx
    ],
)
def test_transient_s3_failures_are_storage_unavailable(s3: Any, code: str, status: int) -> None:
    # GIVEN PutObject failing past botocore's retries with a transient answer
    origin = Origin({"/0.mp4": SMALL})
    S3Faults(s3).fail("PutObject", code, status)
    # WHEN an output is archived THEN the failure is StorageUnavailable (the state machine retries it)
    with pytest.raises(StorageUnavailable) as raised:
        make_archiver(s3, origin).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0"
        )
    assert raised.value.details["code"] == code and raised.value.details["status"] == status
    assert keys(s3) == []


@pytest.mark.parametrize(
    "exception",
    [
        EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://s3.us-east-1.amazonaws.com"),
    ],
    ids=type,
)
def test_network_failures_to_s3_are_storage_unavailable(s3: Any, exception: Exception) -> None:
    S3Faults(s3).raise_("PutObject", exception)
    with pytest.raises(StorageUnavailable, match=type(exception).__name__):
        make_archiver(s3, Origin({"/0.mp4": SMALL})).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0"
        )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("NoSuchBucket", 404),
        ("KMS.DisabledException", 400),
        ("KMS.NotFoundException", 400),
        ("InvalidArgument", 400),
    ],
)
def test_permanent_s3_refusals_are_storage_refused(s3: Any, code: str, status: int) -> None:
    S3Faults(s3).fail("PutObject", code, status)
    with pytest.raises(StorageRefused) as raised:
        make_archiver(s3, Origin({"/0.mp4": SMALL})).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0"
        )
    assert raised.value.details["code"] == code


def test_manifest_write_failures_are_named_too(s3: Any) -> None:
    faults = S3Faults(s3)
    faults.fail("PutObject", "SlowDown", 503, times=1)
    archiver = make_archiver(s3, Origin({}))
    with pytest.raises(StorageUnavailable):
        archiver.put_json("outputs/job-1/job.json", {"a": 1})
    faults.fail("PutObject", "AccessDenied", 403)
    with pytest.raises(StorageRefused):
        archiver.put_json("outputs/job-1/job.json", {"a": 1})


# --- No orphaned multipart parts ------------------------------------------------------------------------


def test_a_failed_upload_part_leaves_no_multipart_upload(s3: Any) -> None:
    # GIVEN an 11 MiB output (three parts) whose second UploadPart fails past botocore's retries
    faults = S3Faults(s3)
    faults.fail("UploadPart", "InternalError", 500)
    origin = Origin({"/0.mp4": LARGE})
    # WHEN archived
    with pytest.raises(StorageUnavailable):
        make_archiver(s3, origin).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0"
        )
    # THEN the multipart upload was started, then aborted: no parts are left, no object either
    assert faults.count("CreateMultipartUpload") == 1
    assert faults.count("AbortMultipartUpload") >= 1
    assert pending_uploads(s3) == []
    assert keys(s3) == []


def test_parts_are_aborted_even_when_the_first_abort_fails(s3: Any) -> None:
    # GIVEN an UploadPart failure, and s3transfer's own AbortMultipartUpload failing as well
    faults = S3Faults(s3)
    faults.fail("UploadPart", "SlowDown", 503)
    faults.fail("AbortMultipartUpload", "InternalError", 500, times=1)
    with pytest.raises(StorageUnavailable):
        make_archiver(s3, Origin({"/0.mp4": LARGE})).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0"
        )
    # THEN the archiver's own sweep aborted the upload
    assert faults.count("AbortMultipartUpload") == 2
    assert pending_uploads(s3) == []


def test_a_truncated_download_leaves_no_multipart_upload(s3: Any) -> None:
    # GIVEN a CDN that announces 11 MiB and closes after 10
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(LARGE))},
            stream=_CountedBody(LARGE[: 10 * MIB], "/0.mp4", {}),
        )

    archiver = OutputArchiver(
        s3,
        make_http_client(transport=httpx.MockTransport(handler)),
        bucket=BUCKET,
        plan=PartPlan(threshold=PART, part_bytes=PART),
    )
    with pytest.raises(Exception, match="ended after"):
        archiver.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0")
    assert pending_uploads(s3) == []
    assert keys(s3) == []


def test_a_rerun_aborts_the_parts_a_killed_attempt_left(s3: Any) -> None:
    # GIVEN the parts of an upload whose Lambda was killed mid-way (Sandbox.Timedout): never completed
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="outputs/job-1/0.mp4")
    s3.upload_part(
        Bucket=BUCKET, Key="outputs/job-1/0.mp4", UploadId=upload["UploadId"], PartNumber=1, Body=LARGE[:PART]
    )
    other = s3.create_multipart_upload(Bucket=BUCKET, Key="outputs/job-1/0.mp4.other")
    # WHEN the archive runs again
    obj = make_archiver(s3, Origin({"/0.mp4": LARGE})).stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    # THEN the output is stored whole and the killed attempt's parts are gone (other keys untouched)
    assert obj.bytes == len(LARGE) and not obj.reused
    assert [u["UploadId"] for u in pending_uploads(s3)] == [other["UploadId"]]


# --- A re-run keeps what is stored whole --------------------------------------------------------------


def test_a_rerun_keeps_an_output_stored_whole_without_downloading_it(s3: Any) -> None:
    # GIVEN an output archived once: its SHA-256 is on the object as a tag
    origin = Origin({"/0.mp4": LARGE})
    archiver = make_archiver(s3, origin)
    first = archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=first.key)["TagSet"]
    assert tags == [{"Key": SHA256_TAG, "Value": hashlib.sha256(LARGE).hexdigest()}]
    versions = len(s3.list_object_versions(Bucket=BUCKET)["Versions"])
    # WHEN archived again
    again = archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    # THEN the stored object is kept: same summary, its body never read again, no new object version
    assert again.reused and not first.reused
    assert again.summary() == first.summary()
    assert origin.downloads("/0.mp4") == 1
    assert len(s3.list_object_versions(Bucket=BUCKET)["Versions"]) == versions


@pytest.mark.parametrize(
    ("case", "prepare"),
    [
        ("another task's output", lambda s3: _store(s3, LARGE, {"job-id": "job-1", "task-id": "task-0"})),
        ("a different size", lambda s3: _store(s3, LARGE[:-1], META)),
        ("no sha256 tag (the upload never finished tagging)", lambda s3: _store(s3, LARGE, META, tag=False)),
        ("a malformed sha256 tag", lambda s3: _store(s3, LARGE, META, tag="not-a-hash")),
        ("another content type", lambda s3: _store(s3, LARGE, META, content_type="video/quicktime")),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_stored_object_that_cannot_stand_for_the_output_is_replaced(
    s3: Any, case: str, prepare: Callable[[Any], None]
) -> None:
    # GIVEN an object under the output's key that differs from what the CDN serves for this task
    prepare(s3)
    origin = Origin({"/0.mp4": LARGE})
    # WHEN archived THEN the output is downloaded and stored again, with this task's metadata and tag
    obj = make_archiver(s3, origin).stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    assert not obj.reused and origin.downloads("/0.mp4") == 1
    head = s3.head_object(Bucket=BUCKET, Key=obj.key)
    assert head["Metadata"] == META and head["ContentLength"] == len(LARGE)
    assert s3.get_object_tagging(Bucket=BUCKET, Key=obj.key)["TagSet"][0]["Value"] == obj.sha256


def test_without_a_content_length_nothing_is_kept(s3: Any) -> None:
    # GIVEN an output stored whole, and a CDN that no longer sends Content-Length
    origin = Origin({"/0.mp4": SMALL})
    archiver = make_archiver(s3, origin)
    archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    origin.content_length = False
    # WHEN archived again THEN the size cannot be compared: it is downloaded again
    again = archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    assert not again.reused and origin.downloads("/0.mp4") == 2


def test_without_reuse_the_output_is_always_downloaded(s3: Any) -> None:
    origin = Origin({"/0.mp4": SMALL})
    archiver = make_archiver(s3, origin)
    archiver.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META)
    archiver.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META)
    assert origin.downloads("/0.mp4") == 2


def test_a_tagging_failure_does_not_fail_the_archive(s3: Any, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN PutObjectTagging refused WHEN archived THEN the output is stored, a warning says it is untagged
    faults = S3Faults(s3)
    faults.fail("PutObjectTagging", "AccessDenied", 403)
    origin = Origin({"/0.mp4": SMALL})
    archiver = make_archiver(s3, origin)
    with caplog.at_level(logging.WARNING, logger="videogen.pipeline.output_stream"):
        obj = archiver.stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
        )
    assert keys(s3) == [obj.key]
    assert "without its sha256 tag" in caplog.text
    # AND a re-run, finding no tag, downloads it again rather than trusting it
    faults.clear()
    assert not archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    ).reused
    assert origin.downloads("/0.mp4") == 2


def test_a_transient_failure_reading_the_stored_object_is_storage_unavailable(s3: Any) -> None:
    S3Faults(s3).fail("HeadObject", "", 503)
    with pytest.raises(StorageUnavailable):
        make_archiver(s3, Origin({"/0.mp4": SMALL})).stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
        )


def _store(
    s3: Any, body: bytes, metadata: dict[str, str], *, tag: bool | str = True, content_type: str = "video/mp4"
) -> None:
    key = "outputs/job-1/0.mp4"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata, ContentType=content_type)
    if tag:
        value = tag if isinstance(tag, str) else hashlib.sha256(body).hexdigest()
        s3.put_object_tagging(
            Bucket=BUCKET, Key=key, Tagging={"TagSet": [{"Key": SHA256_TAG, "Value": value}]}
        )


# --- The archive step: fails on output 2 of 2, then a re-run finishes ---------------------------------------


class RunwayStub:
    """RunwayClients look-alike: ``tasks.retrieve`` answers one SUCCEEDED task with fixed output URLs."""

    def __init__(self, task: dict[str, Any]) -> None:
        self.task = task
        self.tasks = SimpleNamespace(retrieve=lambda task_id: dict(self.task))

    def for_repeatable(self) -> Any:
        return self


def succeeded_state() -> TaskState:
    now = dt.datetime.now(dt.UTC)
    return TaskState(
        task_id="task-1",
        endpoint="text_to_video",
        model="gen4.5",
        status="SUCCEEDED",
        progress=1.0,
        estimated_credits=60,
        submitted_at=now - dt.timedelta(seconds=90),
        deadline_at=now + dt.timedelta(hours=1),
        polls=4,
        next_wait_seconds=0,
        checked_at=now - dt.timedelta(seconds=1),
        credits_charged=60,
        output_count=2,
    )


def test_an_archive_failing_on_output_2_of_2_is_finished_by_a_rerun(s3: Any) -> None:
    # GIVEN a task with two outputs, and S3 failing every write of the second one
    origin = Origin({"/0.mp4": LARGE, "/1.mp4": SMALL})
    runway: Any = RunwayStub(
        {
            "id": "task-1",
            "status": "SUCCEEDED",
            "output": [
                "https://dnznrvs05pmza.cloudfront.net/0.mp4",
                "https://dnznrvs05pmza.cloudfront.net/1.mp4",
            ],
            "cost": {"credits": 60},
        }
    )
    settings = Settings(output_bucket=BUCKET)
    archiver = make_archiver(s3, origin)
    faults = S3Faults(s3)
    faults.fail("PutObject", "SlowDown", 503, key="outputs/job-1/1.mp4")

    def archive() -> dict[str, Any]:
        return archive_task(
            "job-1",
            {"prompt": "boat"},
            succeeded_state(),
            runway=runway,
            archiver=archiver,
            settings=settings,
        )

    # WHEN archived THEN StorageUnavailable, output 0 is stored whole, and no manifest is written yet
    with pytest.raises(StorageUnavailable):
        archive()
    assert keys(s3) == ["outputs/job-1/0.mp4"]
    assert pending_uploads(s3) == []
    # WHEN S3 recovers and the state machine re-runs the step
    faults.clear()
    result = archive()
    # THEN output 0 is kept without a second download, output 1 is written, then the manifest
    assert origin.downloads("/0.mp4") == 1 and origin.downloads("/1.mp4") == 2
    assert keys(s3) == ["outputs/job-1/0.mp4", "outputs/job-1/1.mp4", "outputs/job-1/job.json"]
    puts = [key for op, key in faults.calls if op in ("PutObject", "CompleteMultipartUpload")]
    assert puts[-1] == "outputs/job-1/job.json"
    assert set(result) == {"bucket", "prefix", "manifest_key", "output_keys", "outputs", "credits_charged"}
    assert result["output_keys"] == ["outputs/job-1/0.mp4", "outputs/job-1/1.mp4"]
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=result["manifest_key"])["Body"].read())
    for entry, body in zip(manifest["outputs"], (LARGE, SMALL), strict=True):
        stored = s3.get_object(Bucket=BUCKET, Key=entry["key"])["Body"].read()
        assert stored == body
        assert entry["bytes"] == len(body) and entry["sha256"] == hashlib.sha256(body).hexdigest()
    assert result["outputs"] == [
        {k: e[k] for k in ("key", "bytes", "sha256", "content_type")} for e in manifest["outputs"]
    ]
    assert result["credits_charged"] == 60


# --- The function may make every S3 call the archiver makes ------------------------------------------------

#: The IAM action (and whether it applies to the bucket rather than an object) of each S3 operation.
IAM_ACTIONS = {
    "PutObject": ("s3:PutObject", False),
    "CreateMultipartUpload": ("s3:PutObject", False),
    "UploadPart": ("s3:PutObject", False),
    "CompleteMultipartUpload": ("s3:PutObject", False),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", False),
    "HeadObject": ("s3:GetObject", False),
    "GetObject": ("s3:GetObject", False),
    "GetObjectTagging": ("s3:GetObjectTagging", False),
    "PutObjectTagging": ("s3:PutObjectTagging", False),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads", True),
}


def on_bucket(resource: Any) -> bool | None:
    """True for the video bucket's ARN, False for objects in it, None for anything else."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        target = target if isinstance(target, list) else target.split(".")
        return True if target == ["VideoBucket", "Arn"] else None
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        text = resource["Fn::Sub"]
        return False if text.startswith("${VideoBucket.Arn}/") else None
    return None


def granted(logical_id: str) -> dict[str, set[bool]]:
    """IAM action -> {True: granted on the bucket, False: on its objects} in a function's own statements."""
    found: dict[str, set[bool]] = {}
    for policy in resource_properties(logical_id).get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            where = on_bucket(statement.get("Resource"))
            if statement.get("Effect") != "Allow" or where is None:
                continue
            for action in statement.get("Action", []):
                found.setdefault(action, set()).add(where)
    return found


def test_the_archive_function_may_make_every_call_the_archiver_makes(s3: Any) -> None:
    # GIVEN the calls of a multipart archive, a failed one and a re-run that keeps it
    faults = S3Faults(s3)
    origin = Origin({"/0.mp4": LARGE})
    archiver = make_archiver(s3, origin)
    faults.fail("UploadPart", "SlowDown", 503, times=1)
    with pytest.raises(StorageUnavailable):
        archiver.stream_to_s3(
            "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
        )
    archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    archiver.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/0.mp4", "outputs/job-1/0", metadata=META, reuse=True
    )
    archiver.put_json("outputs/job-1/job.json", {})
    operations = {op for op, _ in faults.calls}
    assert operations - set(IAM_ACTIONS) == set(), "map the new S3 operations to their IAM actions"
    # THEN the template grants each one to ArchiveFunction, on the bucket or on its objects as S3 needs
    allowed = granted("ArchiveFunction")
    for operation in operations:
        action, on_bucket = IAM_ACTIONS[operation]
        assert on_bucket in allowed.get(action, set()), f"ArchiveFunction may not {operation} ({action})"
