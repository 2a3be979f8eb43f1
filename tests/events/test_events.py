"""Every file in events/ runs through the handler its name belongs to, as ``sam local invoke`` would run it.

``events/<Name>-<case>.json`` belongs to the template's ``<Name>Function``; its code is found from the
template's CodeUri + Handler. Each file runs on a fresh local stack (moto + the deployed ASL + the Runway
simulator, seed 0) after the seeding a real run would have done (a job record, the uploaded object, the
Runway task). Names a real deployment would differ in (the bucket, the webhook receiver) are swapped for
the local ones, the only edits made to the events.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from local.runner import LocalPipeline
from tests.conftest import EVENT_CALLER, EVENTS_DIR, load_event
from tests.support.entry_points import TEST_WEBHOOK_SECRET, function_code
from tests.support.template import load_template

pytestmark = pytest.mark.e2e

EVENT_FILES = sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name != "env.json")
JOB = "5d0c3f43-2a1e-4f7b-9a57-3f1c8e2b7a10"
FIRST_SIMULATED_TASK = "f472b46b-d126-4b7b-8f9c-6b452e6804a0"  # the simulator's task #1 with seed 0
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 60
MP4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom" + b"\0" * 60  # the trigger reads the first bytes, not the name


def logical_id_of(file_name: str) -> str:
    return file_name.split("-", 1)[0] + "Function"


def test_every_event_file_names_a_function_of_the_template():
    resources = load_template()["Resources"]
    for name in EVENT_FILES:
        assert logical_id_of(name) in resources, f"{name}: no {logical_id_of(name)} in template.yaml"
    assert {logical_id_of(n) for n in EVENT_FILES} >= {
        "ApiFunction",
        "S3TriggerFunction",
        "NotifyFunction",
        "UploadInputsFunction",
        "SubmitFunction",
        "LostCreateFunction",
        "PollFunction",
        "ArchiveFunction",
        "CancelFunction",
    }


def test_env_json_only_names_template_functions():
    env = json.loads((EVENTS_DIR / "env.json").read_text(encoding="utf-8"))
    resources = load_template()["Resources"]
    assert set(env) - {"Parameters"} <= {k for k, v in resources.items() if v["Type"].endswith("::Function")}


@pytest.fixture
def pipeline() -> Iterator[LocalPipeline]:
    with LocalPipeline(
        time_scale=0.002,
        env_overrides={
            "WEBHOOK_SECRET_ARN": "",
            "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "POWERTOOLS_METRICS_NAMESPACE": "Test",
        },
    ) as p:
        yield p


def invoke(pipeline: LocalPipeline, file_name: str, event: dict[str, Any], context: Any) -> Any:
    logical_id = logical_id_of(file_name)
    code_dir, module_name, function_name = function_code(logical_id)
    function = pipeline.function(logical_id)
    assert Path(function.spec.code_dir).resolve() == code_dir.resolve()
    assert function.spec.handler == f"{module_name}.{function_name}"
    return function.handler(event, context)


# --- Seeding and checks per file -------------------------------------------------------------------------


def _submit(pipeline: LocalPipeline, context: Any) -> dict[str, Any]:
    return invoke(pipeline, "Submit-text-to-video.json", load_event("Submit-text-to-video.json"), context)


def _until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _body(result: Any) -> Any:
    return json.loads(result["body"])


def _api(status: int, check: Callable[[Any, LocalPipeline], None]) -> Callable[[Any, LocalPipeline], None]:
    def checked(result: Any, pipeline: LocalPipeline) -> None:
        assert result["statusCode"] == status, result.get("body")
        check(_body(result), pipeline)

    return checked


def _check_accepted(body: Any, pipeline: LocalPipeline) -> None:
    record = pipeline.job(body["job_id"])
    assert record is not None and record["source"] == "api" and record["model"] == "gen4.5"
    pipeline.sfn.describe_execution(executionArn=pipeline.execution_arn(body["job_id"]))  # it was started


def _check_job_view(body: Any, pipeline: LocalPipeline) -> None:
    assert body["job_id"] == JOB and body["status"] == "SUCCEEDED" and body["finished"] is True
    (output,) = body["outputs"]
    assert output["key"] == f"outputs/{JOB}/o.mp4" and output["url"].startswith("http")


def _check_listing(body: Any, pipeline: LocalPipeline) -> None:
    assert [item["job_id"] for item in body["items"]] == [JOB]


def _check_cancelled(body: Any, pipeline: LocalPipeline) -> None:
    assert body == {"job_id": JOB, "status": "CANCELLING", "message": body["message"]}
    record = pipeline.job(JOB) or {}
    assert record["status"] == "QUEUED" and record["cancel_requested_at"] and "finished_at" not in record


def _check_finished(result: Any, pipeline: LocalPipeline) -> None:
    assert result == {"job_id": JOB, "status": "TIMED_OUT", "recorded": True, "announced": True}
    record = pipeline.job(JOB) or {}
    assert record["error_code"] == "GenerationTimedOut" and record["announced_at"]
    assert "stackTrace" not in record["error_cause"] and record["task_may_be_running"] is True
    assert [e["detail-type"] for e in pipeline.events() if e["detail"]["job_id"] == JOB] == [
        "Video Generation Timed Out"
    ]


def _check_models(body: Any, pipeline: LocalPipeline) -> None:
    assert "gen4.5" in body["endpoints"]["text_to_video"]


def _check_upload(body: Any, pipeline: LocalPipeline) -> None:
    assert body["s3_uri"].startswith(f"s3://{pipeline.bucket}/uploads/")
    assert body["s3_uri"].endswith("/first-frame.png") and body["headers"] == {
        "Content-Type": "image/png",
        "If-None-Match": "*",
    }


def _check_polled(result: Any, pipeline: LocalPipeline) -> None:
    assert result["task_id"] == FIRST_SIMULATED_TASK and result["polls"] == 1
    assert result["status"] in ("PENDING", "THROTTLED", "RUNNING", "SUCCEEDED")


def _check_archived(result: Any, pipeline: LocalPipeline) -> None:
    (output,) = result["outputs"]
    body = pipeline.read_object(output["key"])
    assert len(body) == output["bytes"] and hashlib.sha256(body).hexdigest() == output["sha256"]
    assert pipeline.read_json(result["manifest_key"])["task_id"] == FIRST_SIMULATED_TASK  # type: ignore[index]


def _check_cancel_step(result: Any, pipeline: LocalPipeline) -> None:
    assert result == {"cancelled": True, "task_id": FIRST_SIMULATED_TASK, "task_status": "THROTTLED"}
    deletes = [r for r in pipeline.simulator.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == [f"/v1/tasks/{FIRST_SIMULATED_TASK}"]
    assert (pipeline.simulator.task(FIRST_SIMULATED_TASK) or {})["status"] == "CANCELLED"


def _check_reconciled(result: Any, pipeline: LocalPipeline) -> None:
    assert result["job_id"] == JOB and result["task_status"] == "CANCELLED", result
    assert (pipeline.simulator.task(FIRST_SIMULATED_TASK) or {})["status"] == "CANCELLED"
    record = pipeline.job(JOB) or {}
    assert record["status"] == "FAILED" and record["error_code"] == "BookkeepingFailed"
    assert record["announced_at"] and record["reconcile_reason"].startswith("execution FAILED")


def _seed_job(**fields: Any) -> Callable[[LocalPipeline, dict[str, Any], Any], None]:
    def seed(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
        from videogen.storage.job_store import JobStore

        record = {"source": "api", "model": "gen4.5", "owner": EVENT_CALLER, **fields}
        JobStore(pipeline.jobs_table).update(JOB, record)

    return seed


def _seed_s3(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    obj = event["Records"][0]["s3"]
    obj["bucket"]["name"] = pipeline.bucket
    obj["bucket"]["arn"] = f"arn:aws:s3:::{pipeline.bucket}"
    key = unquote_plus(obj["object"]["key"])
    if key.endswith(".json"):
        body = json.dumps(
            {"prompt": "a paper boat at dusk", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
        )
        answer = pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=body.encode())
    else:
        answer = pipeline.s3.put_object(
            Bucket=pipeline.bucket,
            Key=key,
            Body=MP4 if key.endswith(".mp4") else PNG,
            Metadata={"prompt": "waves"},
        )
    obj["object"]["versionId"] = answer.get("VersionId")
    obj["object"]["eTag"] = answer["ETag"].strip('"')


def _check_s3(result: Any, pipeline: LocalPipeline) -> None:
    (outcome,) = result["outcomes"]
    assert outcome["outcome"] == "started", outcome
    assert pipeline.job(outcome["job_id"])["source"] == "s3"


def _seed_input(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    key = event["request"]["image"].split("/", 3)[3]
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=PNG, ContentType="image/png")
    event["request"]["image"] = f"s3://{pipeline.bucket}/{key}"


def _check_uploaded(result: Any, pipeline: LocalPipeline) -> None:
    ((source, uri),) = result["uploads"].items()
    assert result["uploaded"] == 1 and uri.startswith("runway://")
    assert (pipeline.job(JOB) or {})["uploads"][source]["uri"] == uri
    assert pipeline.simulator.engine.upload_for_uri(uri).data == PNG  # type: ignore[union-attr]


def _seed_lost_create(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    _seed_job(status="QUEUED", endpoint="text_to_video", create_sent_at="2026-11-25T09:30:00.000Z",
              create_attempt=1, estimated_credits=60)(pipeline, event, context)  # fmt: skip


def _check_lost_create(result: Any, pipeline: LocalPipeline) -> None:
    assert result["Error"] == "SubmitOutcomeUnknown" and "2026-11-25T09:30:00.000Z" in result["Cause"]
    flag = (pipeline.job(JOB) or {})["submit_outcome_unknown"]
    assert flag["model"] == "gen4.5" and flag["usage_dates"][0] == "2026-11-25"


def _seed_task(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    state = _submit(pipeline, context)
    assert state["task_id"] == FIRST_SIMULATED_TASK == event["task"]["task_id"]


def _seed_active_task(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    pipeline.simulator.inject("throttle", seconds=86_400)  # still THROTTLED when the cancel step runs
    _seed_task(pipeline, event, context)


def _seed_running_job(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    pipeline.simulator.inject("throttle", seconds=86_400)
    state = _submit(pipeline, context)
    assert state["task_id"] == FIRST_SIMULATED_TASK


def _seed_succeeded_task(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    _seed_task(pipeline, event, context)
    _until(lambda: (pipeline.simulator.task(FIRST_SIMULATED_TASK) or {}).get("status") == "SUCCEEDED")


def _seed_notify(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    pipeline.receiver = _Receiver()  # type: ignore[attr-defined]
    event["detail"]["request"]["webhook_url"] = pipeline.receiver.url  # type: ignore[attr-defined]
    _seed_job(status="SUCCEEDED", output_keys={f"outputs/{JOB}/output-1.mp4"}, credits_charged=60)(
        pipeline, event, context
    )


def _check_notify(result: Any, pipeline: LocalPipeline) -> None:
    receiver = pipeline.receiver  # type: ignore[attr-defined]
    receiver.close()
    assert result["outcome"] == "delivered"
    assert json.loads(receiver.received[0]["body"])["data"]["job_id"] == JOB


class _Receiver:
    def __init__(self) -> None:
        from tests.notify.conftest import Receiver

        self._r = Receiver()
        self.url = self._r.url
        self.received = self._r.received

    def close(self) -> None:
        self._r.close()


def _nothing(pipeline: LocalPipeline, event: dict[str, Any], context: Any) -> None:
    return None


CASES: dict[str, tuple[Callable[..., None], Callable[[Any, LocalPipeline], None]]] = {
    "Api-post-generation.json": (_nothing, _api(202, _check_accepted)),
    "Api-get-generation.json": (
        _seed_job(status="SUCCEEDED", output_keys={f"outputs/{JOB}/o.mp4"}),
        _api(200, _check_job_view),
    ),
    "Api-list-generations.json": (_seed_job(status="SUCCEEDED"), _api(200, _check_listing)),
    "Api-delete-generation.json": (_seed_job(status="QUEUED"), _api(202, _check_cancelled)),
    "Finish-cancel-failed.json": (_seed_job(status="RUNNING", task_id="t-1"), _check_finished),
    "Api-get-models.json": (_nothing, _api(200, _check_models)),
    "Api-post-upload.json": (_nothing, _api(201, _check_upload)),
    "S3Trigger-put-image.json": (_seed_s3, _check_s3),
    "S3Trigger-put-video.json": (_seed_s3, _check_s3),
    "S3Trigger-put-request.json": (_seed_s3, _check_s3),
    "UploadInputs-image-from-s3.json": (_seed_input, _check_uploaded),
    "Submit-text-to-video.json": (_nothing, lambda r, p: _assert(r["task_id"] == FIRST_SIMULATED_TASK)),
    "LostCreate-create-timed-out.json": (_seed_lost_create, _check_lost_create),
    "Poll-pending.json": (_seed_task, _check_polled),
    "Archive-succeeded.json": (_seed_succeeded_task, _check_archived),
    "Cancel-deadline-passed.json": (_seed_active_task, _check_cancel_step),
    "Notify-succeeded.json": (_seed_notify, _check_notify),
    "Reconcile-execution-failed.json": (_seed_running_job, _check_reconciled),
}


def _assert(condition: bool) -> None:
    assert condition


def test_every_event_file_has_a_case():
    assert set(EVENT_FILES) == set(CASES), "add a case for each new file in events/"


@pytest.mark.parametrize("file_name", EVENT_FILES)
def test_event_runs_through_its_handler(pipeline, lambda_context, file_name):
    # GIVEN the event file and what a real run would have set up before it
    event = load_event(file_name)
    seed, check = CASES[file_name]
    seed(pipeline, event, lambda_context)
    # WHEN it is invoked like `sam local invoke <Function> -e events/<file>`
    result = invoke(pipeline, file_name, event, lambda_context)
    # THEN the handler answers as expected
    check(result, pipeline)
