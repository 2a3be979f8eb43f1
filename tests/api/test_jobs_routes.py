"""GET /generations/{id}, GET /generations, DELETE /generations/{id}, GET /models, POST /uploads."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.entry_points import response_json
from videogen.core.errors import PipelineUnavailable

REQUEST = {"prompt": "A paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}


def test_unknown_job_is_404(api):
    response = api("GET", "/generations/no-such-job")
    assert response["statusCode"] == 404
    assert response_json(response)["code"] == "JobNotFound"


def test_finished_job_shows_credits_and_presigned_s3_urls(api):
    # GIVEN a succeeded job with one archived output
    key = "outputs/job-1/output-1.mp4"
    api.put_job(
        "job-1",
        status="SUCCEEDED",
        progress=1,
        estimated_credits=60,
        credits_charged=60,
        output_keys={key},
        manifest_key="outputs/job-1/job.json",
        finished_at="2026-11-25T09:31:45.000Z",
    )
    # WHEN it is read
    response = api("GET", "/generations/job-1")
    # THEN its view has credits and a short-lived S3 URL of our bucket (never Runway's)
    assert response["statusCode"] == 200
    view = response_json(response)
    assert view["status"] == "SUCCEEDED" and view["finished"] is True
    assert view["credits"] == {"estimated": 60, "charged": 60}
    (output,) = view["outputs"]
    url = urlsplit(output["url"])
    assert api.stack.bucket in url.netloc + url.path and key in url.path
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["900"]
    assert output["s3_uri"] == f"s3://{api.stack.bucket}/{key}"
    assert view["manifest"]["key"] == "outputs/job-1/job.json"


def test_failed_job_error_is_read_out_of_the_step_functions_cause(api):
    cause = json.dumps(
        {
            "errorMessage": "The input did not pass content moderation.",
            "errorType": "ContentModerated",
            "stackTrace": ["..."],
        }
    )
    api.put_job("job-2", status="FAILED", error_code="ContentModerated", error_cause=cause)
    view = response_json(api("GET", "/generations/job-2"))
    assert view["error"] == {
        "code": "ContentModerated",
        "message": "The input did not pass content moderation.",
    }
    assert view["outputs"] == []


def _seed(api, count, status, day="2026-11-20"):
    for i in range(count):
        api.put_job(f"{status.lower()}-{i:02d}", status=status, created_at=f"{day}T10:{i:02d}:00.000Z")


def test_list_by_status_is_newest_first_and_paginated(api):
    # GIVEN 5 succeeded and 2 failed jobs
    _seed(api, 5, "SUCCEEDED")
    _seed(api, 2, "FAILED")
    # WHEN succeeded jobs are listed 2 at a time
    seen, token = [], None
    while True:
        query = {"status": "SUCCEEDED", "limit": "2", **({"next": token} if token else {})}
        page = response_json(api("GET", "/generations", query=query))
        seen += [item["job_id"] for item in page["items"]]
        token = page["next"]
        if not token:
            break
    # THEN every succeeded job comes once, newest first
    assert seen == [f"succeeded-{i:02d}" for i in range(4, -1, -1)]


def test_list_without_status_merges_every_status_without_scanning(api):
    _seed(api, 3, "SUCCEEDED", "2026-11-20")
    _seed(api, 3, "RUNNING", "2026-11-21")
    _seed(api, 1, "REJECTED", "2026-11-19")
    seen, token = [], None
    for _ in range(10):
        page = response_json(
            api("GET", "/generations", query={"limit": "3", **({"next": token} if token else {})})
        )
        seen += [(item["created_at"], item["job_id"]) for item in page["items"]]
        token = page["next"]
        if not token:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "query",
    [{"next": "not-a-token"}, {"status": "DONE"}, {"limit": "0"}, {"limit": "1000"}, {"limit": "ten"}],
)
def test_bad_listing_parameters_are_4xx(api, query):
    response = api("GET", "/generations", query=query)
    assert response["statusCode"] in (400, 422)
    assert response_json(response)["errors"]


def test_cancel_before_a_runway_task_only_records_the_request(api):
    # GIVEN a job just started (no Runway task yet)
    job_id = response_json(api("POST", "/generations", body=REQUEST))["job_id"]
    # WHEN it is cancelled
    response = api("DELETE", f"/generations/{job_id}")
    # THEN 202 CANCELLING: the request is recorded, the execution keeps running (its submit step creates no
    # task and the machine records CANCELLED), and the API wrote no final status
    assert response["statusCode"] == 202
    assert response_json(response)["status"] == "CANCELLING"
    (execution,) = api.stack.executions()
    assert execution["status"] == "RUNNING"
    record = api.stack.table.get_item(Key={"job_id": job_id})["Item"]
    assert record["cancel_requested_at"] and "finished_at" not in record
    assert record["status"] == "QUEUED"
    assert api.cancelled_tasks == []


def test_cancel_with_a_runway_task_cancels_it_on_runway(api):
    # GIVEN a running job with a Runway task
    api.put_job("job-3", status="RUNNING", task_id="task-3")
    # WHEN it is cancelled
    response = api("DELETE", "/generations/job-3")
    # THEN the Runway task is cancelled and the state machine will record CANCELLED
    assert response["statusCode"] == 202
    assert response_json(response)["status"] == "CANCELLING"
    assert api.cancelled_tasks == ["task-3"]
    assert api.stack.table.get_item(Key={"job_id": "job-3"})["Item"]["status"] == "RUNNING"


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "REJECTED", "ARCHIVING"])
def test_cancel_of_a_finished_job_is_409(api, status):
    api.put_job("job-4", status=status, task_id="task-4")
    response = api("DELETE", "/generations/job-4")
    assert response["statusCode"] == 409
    assert api.cancelled_tasks == []


@pytest.mark.parametrize("runway_status", ["SUCCEEDED", "FAILED"])
def test_cancel_when_runway_has_just_finished_is_409_and_deletes_nothing(api, runway_status):
    # GIVEN a job the record still shows RUNNING, whose Runway task has just finished
    api.put_job("job-5", status="RUNNING", task_id="task-5")
    api.runway_task_status = runway_status
    # WHEN it is cancelled
    response = api("DELETE", "/generations/job-5")
    # THEN the answer is 409 (the machine archives or records it) and the task was not cancelled
    assert response["statusCode"] == 409
    assert runway_status in response_json(response)["message"]
    assert api.cancelled_tasks == []


def test_cancel_when_the_cancel_function_fails_is_503(api):
    api.put_job("job-6", status="RUNNING", task_id="task-6")

    def failing(job_id, task_id):
        raise PipelineUnavailable("the cancel function failed with RunwayUnavailable: 503")

    api.module.service.canceller._runway_cancel = failing
    response = api("DELETE", "/generations/job-6")
    assert response["statusCode"] == 503
    assert response_json(response)["code"] == "PipelineUnavailable"
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]


def test_retry_of_a_job_that_failed_after_runway_hands_it_to_the_reconciler(api):
    # GIVEN a job whose archive failed after Runway had made the video
    api.put_job("job-7", status="FAILED", task_id="task-7", archive_started_at="2026-12-01T00:00:00.000Z")
    # WHEN it is retried
    response = api("POST", "/generations/job-7/retry")
    # THEN 202 RECOVERING, the request is on the record and the reconcile function has the job
    assert response["statusCode"] == 202
    assert response_json(response)["status"] == "RECOVERING"
    assert api.recoveries == ["job-7"]
    assert api.stack.table.get_item(Key={"job_id": "job-7"})["Item"]["recovery_requested_at"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "FAILED", "task_id": "t"}, "failed before Runway finished"),
        ({"status": "FAILED"}, "failed before Runway finished"),
        ({"status": "SUCCEEDED", "task_id": "t", "archive_started_at": "x"}, "only a FAILED job"),
        ({"status": "RUNNING", "task_id": "t"}, "only a FAILED job"),
    ],
)
def test_retry_of_a_job_that_cannot_be_recovered_is_409_with_the_reason(api, fields, reason):
    api.put_job("job-8", **fields)
    response = api("POST", "/generations/job-8/retry")
    assert response["statusCode"] == 409
    assert reason in response_json(response)["message"]
    assert api.recoveries == []


def test_retry_of_an_unknown_job_is_404(api):
    assert api("POST", "/generations/nope/retry")["statusCode"] == 404


def test_cancel_of_an_unknown_job_is_404(api):
    assert api("DELETE", "/generations/nope")["statusCode"] == 404


def test_models_lists_the_catalog(api):
    response = api("GET", "/models")
    assert response["statusCode"] == 200
    assert "gen4.5" in json.dumps(response_json(response))


def test_upload_hands_out_a_presigned_put_under_uploads(api):
    response = api("POST", "/uploads", body={"filename": "my frame.png", "size": 1000})
    assert response["statusCode"] == 201
    ticket = response_json(response)
    assert ticket["method"] == "PUT"
    assert ticket["headers"] == {"Content-Type": "image/png", "If-None-Match": "*"}  # written once
    assert ticket["s3_uri"].startswith(f"s3://{api.stack.bucket}/uploads/")
    assert ticket["s3_uri"].endswith("/my-frame.png")
    assert "inputs/" not in ticket["upload_url"]


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "notes.txt"},
        {"filename": "a.png", "content_type": "video/mp4"},
        {"filename": "a.mp4", "size": 10**12},
        {"filename": "a.png", "extra": 1},
    ],
)
def test_upload_refuses_what_runway_cannot_use(api, body):
    response = api("POST", "/uploads", body=body)
    assert response["statusCode"] == 422


def test_unknown_route_is_404(api):
    assert api("GET", "/nothing-here")["statusCode"] == 404
