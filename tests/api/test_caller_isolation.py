"""Callers own their jobs: two callers under both auth modes (IAM principals, API key ids), and an admin.

Every /generations route sees only the caller's own jobs; another caller's job is answered exactly like a
missing one (404) and is never touched. AdminPrincipals see and act on every job. A file dropped in the
bucket makes a job owned by the bucket, which no API caller but an admin sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.api.conftest import Api
from tests.support.entry_points import ACCOUNT, entry_stack, response_json, s3_put_event
from videogen.intake.callers import admin_owners, bucket_owner, principal_owner
from videogen.intake.job_ids import derived_job_id, request_fingerprint
from videogen.storage.job_store import JobStore

REQUEST = {"prompt": "A paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32

ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops"
ADMIN_KEY = "adminkey0001"


@dataclass(frozen=True)
class Who:
    """One caller: the identity API Gateway puts in the request, and the owner recorded on its jobs."""

    identity: dict[str, str | None]
    owner: str


#: Per auth mode: the API function's environment and three callers. Bob is an assumed-role session: its
#: jobs belong to the role, whatever the session is called.
MODES: dict[str, tuple[dict[str, str], dict[str, Who]]] = {
    "IAM": (
        {"API_AUTH": "IAM", "ADMIN_PRINCIPALS": ADMIN_ROLE},
        {
            "alice": Who(
                {"user_arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}, f"arn:aws:iam::{ACCOUNT}:user/alice"
            ),
            "bob": Who(
                {"user_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/render-backend/i-0abc"},
                f"arn:aws:iam::{ACCOUNT}:role/render-backend",
            ),
            "admin": Who(
                {"user_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/jane@example.com"}, ADMIN_ROLE
            ),
        },
    ),
    "API_KEY": (
        {"API_AUTH": "API_KEY", "ADMIN_PRINCIPALS": f"{ADMIN_KEY}, {ADMIN_ROLE}"},
        {
            "alice": Who({"user_arn": None, "api_key_id": "alicekey01"}, "alicekey01"),
            "bob": Who({"user_arn": None, "api_key_id": "bobkey0002"}, "bobkey0002"),
            "admin": Who({"user_arn": None, "api_key_id": ADMIN_KEY}, ADMIN_KEY),
        },
    ),
}


class Callers:
    """The API function of one auth mode and its callers; ``call(who, ...)`` sends a request as ``who``."""

    def __init__(self, api: Api, who: dict[str, Who]) -> None:
        self.api = api
        self.alice, self.bob, self.admin = who["alice"], who["bob"], who["admin"]

    def call(self, who: Who, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.api(method, path, **who.identity, **kwargs)

    def create(self, who: Who, **headers: str) -> str:
        response = self.call(who, "POST", "/generations", body=REQUEST, headers=headers)
        assert response["statusCode"] == 202, response
        return str(response_json(response)["job_id"])

    def record(self, job_id: str) -> dict[str, Any]:
        return dict(self.api.stack.table.get_item(Key={"job_id": job_id}).get("Item") or {})

    def listed(self, who: Who, **query: str) -> list[str]:
        response = self.call(who, "GET", "/generations", query=query or None)
        assert response["statusCode"] == 200, response
        return [item["job_id"] for item in response_json(response)["items"]]


@pytest.fixture(params=sorted(MODES))
def callers(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> Iterator[Callers]:
    env, who = MODES[request.param]
    with entry_stack(monkeypatch) as stack:
        yield Callers(Api(stack, lambda_context, env), who)


def _not_found_body(c: Callers, who: Who, method: str, job_id: str) -> dict[str, Any]:
    """What ``who`` gets for a job id that exists nowhere, with ``job_id`` in its place."""
    path = "/generations/no-such-job" + ("/retry" if method == "POST" else "")
    response = c.call(who, method, path)
    assert response["statusCode"] == 404
    return json_with(response_json(response), "no-such-job", job_id)


def json_with(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [json_with(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: json_with(v, old, new) for k, v in value.items()}
    return value


# --- Create and read ----------------------------------------------------------------------------------------


def test_a_job_records_its_creator_as_owner_and_only_the_owner_reads_it(callers):
    c = callers
    # GIVEN a job created by alice
    job_id = c.create(c.alice)
    assert c.record(job_id)["owner"] == c.alice.owner
    # WHEN alice and bob read it
    mine = c.call(c.alice, "GET", f"/generations/{job_id}")
    theirs = c.call(c.bob, "GET", f"/generations/{job_id}")
    # THEN alice sees it; bob gets exactly the answer of a job that does not exist
    assert mine["statusCode"] == 200 and response_json(mine)["job_id"] == job_id
    assert theirs["statusCode"] == 404
    assert response_json(theirs) == _not_found_body(c, c.bob, "GET", job_id)


def test_every_session_of_a_role_owns_the_same_jobs():
    # GIVEN the ARNs of two sessions of one role, and the role with a path
    first = f"arn:aws:sts::{ACCOUNT}:assumed-role/render-backend/task-1"
    second = f"arn:aws:sts::{ACCOUNT}:assumed-role/render-backend/task-2"
    with_path = f"arn:aws:iam::{ACCOUNT}:role/service/render-backend"
    # THEN they are one owner, the role; users, root and other partitions are kept as they are
    role = f"arn:aws:iam::{ACCOUNT}:role/render-backend"
    assert principal_owner(first) == principal_owner(second) == principal_owner(with_path) == role
    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert principal_owner(user) == user
    assert principal_owner(f"arn:aws:iam::{ACCOUNT}:root") == f"arn:aws:iam::{ACCOUNT}:root"
    gov = "arn:aws-us-gov:sts::123456789012:assumed-role/r/s"
    assert principal_owner(gov) == "arn:aws-us-gov:iam::123456789012:role/r"
    assert admin_owners([f" {first} ", "", "key1 "]) == {role, "key1"}


def test_a_second_session_of_the_same_role_sees_the_roles_jobs(monkeypatch, lambda_context):
    env, _ = MODES["IAM"]
    with entry_stack(monkeypatch) as stack:
        api = Api(stack, lambda_context, env)
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/render-backend/"
        # GIVEN a job created by one ECS task of the backend role
        created = api("POST", "/generations", body=REQUEST, user_arn=session + "task-1")
        job_id = response_json(created)["job_id"]
        # WHEN the next task of that role reads it
        response = api("GET", f"/generations/{job_id}", user_arn=session + "task-2")
        # THEN it is the role's job
        assert response["statusCode"] == 200


# --- List ---------------------------------------------------------------------------------------------------


class QueryLog:
    """Wraps the lister's table: records every query and refuses scans."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.queries: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> Any:
        self.queries.append(kwargs)
        return self._table.query(**kwargs)

    def scan(self, **kwargs: Any) -> Any:
        raise AssertionError("the listing scanned the table")


def test_the_list_holds_only_the_callers_jobs_read_from_the_owner_index(callers):
    c = callers
    # GIVEN two jobs of alice and one of bob
    alices = {c.create(c.alice), c.create(c.alice)}
    bobs = {c.create(c.bob)}
    log = QueryLog(c.api.module.service.lister._table)
    c.api.module.service.lister._table = log
    # WHEN each lists, with and without a status filter
    # THEN each sees exactly their own, through the by_owner index (no scan)
    assert set(c.listed(c.alice)) == alices
    assert set(c.listed(c.bob)) == bobs
    assert set(c.listed(c.bob, status="QUEUED")) == bobs
    assert c.listed(c.alice, status="SUCCEEDED") == []
    assert {q["IndexName"] for q in log.queries} == {"by_owner"}


def test_a_page_token_of_one_caller_is_refused_for_another(callers):
    c = callers
    # GIVEN alice paging through her two jobs one at a time
    alices = {c.create(c.alice), c.create(c.alice)}
    c.create(c.bob)
    first = response_json(c.call(c.alice, "GET", "/generations", query={"limit": "1"}))
    second = response_json(
        c.call(c.alice, "GET", "/generations", query={"limit": "1", "next": first["next"]})
    )
    assert {first["items"][0]["job_id"], second["items"][0]["job_id"]} == alices
    # WHEN bob sends alice's token
    response = c.call(c.bob, "GET", "/generations", query={"limit": "1", "next": first["next"]})
    # THEN it is not a token of his listing
    assert response["statusCode"] == 400
    assert response_json(response)["code"] == "InvalidPageToken"


def test_a_status_filter_on_the_owner_index_fills_pages_past_other_statuses(callers):
    c = callers
    # GIVEN alice's newest jobs are RUNNING and her oldest one FAILED
    c.api.put_job("old-failed", owner=c.alice.owner, status="FAILED", created_at="2026-12-01T00:00:00.000Z")
    for i in range(4):
        c.api.put_job(
            f"run-{i}", owner=c.alice.owner, status="RUNNING", created_at=f"2026-12-02T00:0{i}:00.000Z"
        )
    c.api.put_job("bob-failed", owner=c.bob.owner, status="FAILED", created_at="2026-12-03T00:00:00.000Z")
    # WHEN she lists her FAILED jobs two at a time
    response = response_json(c.call(c.alice, "GET", "/generations", query={"status": "FAILED", "limit": "2"}))
    # THEN the page reads on past the RUNNING ones and holds only hers
    assert [item["job_id"] for item in response["items"]] == ["old-failed"]


# --- Cancel and retry ---------------------------------------------------------------------------------------


def test_cancelling_another_callers_job_is_404_and_changes_nothing(callers):
    c = callers
    # GIVEN alice's job with a Runway task running
    c.api.put_job("job-run", owner=c.alice.owner, status="RUNNING", task_id="task-1")
    # WHEN bob cancels it
    response = c.call(c.bob, "DELETE", "/generations/job-run")
    # THEN 404 as for a missing job; nothing is recorded and Runway is not called
    assert response["statusCode"] == 404
    assert response_json(response) == _not_found_body(c, c.bob, "DELETE", "job-run")
    assert "cancel_requested_at" not in c.record("job-run")
    assert c.api.cancelled_tasks == []
    # AND alice can cancel it
    assert c.call(c.alice, "DELETE", "/generations/job-run")["statusCode"] == 202
    assert c.api.cancelled_tasks == ["task-1"]


def test_cancelling_another_callers_finished_job_is_404_not_409(callers):
    c = callers
    # GIVEN alice's finished job (a 409 would tell bob it exists)
    c.api.put_job("job-done", owner=c.alice.owner, status="SUCCEEDED", finished_at="2026-12-01T00:00:00.000Z")
    # WHEN bob cancels or retries it THEN 404
    assert c.call(c.bob, "DELETE", "/generations/job-done")["statusCode"] == 404
    assert c.call(c.bob, "POST", "/generations/job-done/retry")["statusCode"] == 404
    # AND alice gets the real answers
    assert c.call(c.alice, "DELETE", "/generations/job-done")["statusCode"] == 409
    assert c.call(c.alice, "POST", "/generations/job-done/retry")["statusCode"] == 409


def test_retrying_another_callers_job_is_404_and_changes_nothing(callers):
    c = callers
    # GIVEN alice's job that failed after Runway made its video
    c.api.put_job(
        "job-fail",
        owner=c.alice.owner,
        status="FAILED",
        task_id="t",
        archive_started_at="2026-12-01T00:00:00Z",
    )
    # WHEN bob retries it
    response = c.call(c.bob, "POST", "/generations/job-fail/retry")
    # THEN 404 as for a missing job; nothing recorded, nothing handed to the reconciler
    assert response["statusCode"] == 404
    assert response_json(response) == _not_found_body(c, c.bob, "POST", "job-fail")
    assert "recovery_requested_at" not in c.record("job-fail")
    assert c.api.recoveries == []
    # AND alice can
    assert c.call(c.alice, "POST", "/generations/job-fail/retry")["statusCode"] == 202
    assert c.api.recoveries == ["job-fail"]


def test_a_record_without_an_owner_is_seen_by_admins_only(callers):
    c = callers
    # GIVEN a record written before owners were recorded
    JobStore(c.api.stack.table).update(
        "legacy", {"source": "api", "status": "RUNNING", "task_id": "t-legacy"}
    )
    # THEN no caller sees or cancels it, an admin does
    assert c.call(c.alice, "GET", "/generations/legacy")["statusCode"] == 404
    assert c.call(c.alice, "DELETE", "/generations/legacy")["statusCode"] == 404
    assert "legacy" not in c.listed(c.alice)
    assert c.call(c.admin, "GET", "/generations/legacy")["statusCode"] == 200


# --- Admin --------------------------------------------------------------------------------------------------


def test_an_admin_principal_sees_and_acts_on_every_job(callers):
    c = callers
    # GIVEN jobs of alice and bob, one of them recoverable
    alices = c.create(c.alice)
    bobs = c.create(c.bob)
    c.api.put_job(
        "bob-fail", owner=c.bob.owner, status="FAILED", task_id="t", archive_started_at="2026-12-01Z"
    )
    # WHEN the admin lists, reads, cancels and retries them
    # THEN every job is there and every action goes through
    assert {alices, bobs, "bob-fail"} <= set(c.listed(c.admin))
    assert c.call(c.admin, "GET", f"/generations/{alices}")["statusCode"] == 200
    assert c.call(c.admin, "DELETE", f"/generations/{bobs}")["statusCode"] == 202
    assert c.call(c.admin, "POST", "/generations/bob-fail/retry")["statusCode"] == 202
    # AND a job the admin creates is the admin's own
    assert c.record(c.create(c.admin))["owner"] == c.admin.owner


# --- Idempotency --------------------------------------------------------------------------------------------


def test_an_idempotency_key_never_returns_another_callers_job(callers):
    c = callers
    # GIVEN alice's job under key order-1
    alices = c.create(c.alice, **{"Idempotency-Key": "order-1"})
    # WHEN bob sends the same key with the same body, and with another body
    bobs = c.create(c.bob, **{"Idempotency-Key": "order-1"})
    other = c.call(
        c.bob, "POST", "/generations", body={**REQUEST, "prompt": "x"}, headers={"Idempotency-Key": "order-2"}
    )
    # THEN bob gets a job of his own each time, never alice's
    assert bobs != alices and c.record(bobs)["owner"] == c.bob.owner
    assert other["statusCode"] == 202
    assert c.record(alices)["owner"] == c.alice.owner
    # AND alice's retry with her key still answers her job
    assert c.create(c.alice, **{"Idempotency-Key": "order-1"}) == alices


def test_a_keyed_job_id_held_by_another_owner_is_a_conflict_never_an_answer(callers):
    c = callers
    # GIVEN a record under the id bob's key derives to, owned by alice, with the fingerprint of his request
    job_id = derived_job_id("api", c.bob.owner, "k-1")
    plain = c.api.module.service.intake.validate(REQUEST)[0].plain()
    c.api.put_job(job_id, owner=c.alice.owner, status="QUEUED", request_sha256=request_fingerprint(plain))
    # WHEN bob sends that key without the idempotency table's memory (as after its expiry)
    c.api.module.service._idempotent_create = None
    response = c.call(c.bob, "POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "k-1"})
    # THEN 409, and the record is still alice's
    assert response["statusCode"] == 409
    assert c.record(job_id)["owner"] == c.alice.owner


# --- Identity -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "identity"),
    [
        ("IAM", {"user_arn": None}),
        ("IAM", {"user_arn": None, "api_key_id": "alicekey01"}),  # a key is no identity under IAM
        # unchecked SigV4 fields count for nothing under API_KEY
        ("API_KEY", {"user_arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}),
    ],
)
def test_a_request_without_the_verified_identity_of_the_mode_is_403(
    monkeypatch, lambda_context, mode, identity
):
    env, _ = MODES[mode]
    with entry_stack(monkeypatch) as stack:
        api = Api(stack, lambda_context, env)
        # WHEN a request carries no identity API Gateway verified under this mode
        created = api("POST", "/generations", body=REQUEST, **identity)
        listed = api("GET", "/generations", **identity)
        # THEN it is refused before anything is written
        assert created["statusCode"] == listed["statusCode"] == 403
        assert response_json(created)["code"] == "CallerNotIdentified"
        assert stack.executions() == []


# --- S3 trigger ---------------------------------------------------------------------------------------------


def test_a_job_from_a_dropped_file_is_owned_by_the_bucket_and_seen_by_admins_only(callers):
    c = callers
    stack = c.api.stack
    trigger = stack.load("S3TriggerFunction")
    # GIVEN a job started by an image dropped under inputs/
    answer = stack.client("s3").put_object(
        Bucket=stack.bucket, Key="inputs/boat.png", Body=PNG, Metadata={"prompt": "waves"}
    )
    event = s3_put_event(
        stack.bucket,
        quote_plus("inputs/boat.png", safe="/"),
        etag=answer["ETag"].strip('"'),
        version=answer.get("VersionId"),
    )
    (outcome,) = trigger(event, c.api.context)["outcomes"]
    job_id = outcome["job_id"]
    assert outcome["outcome"] == "started"
    assert c.record(job_id)["owner"] == bucket_owner(stack.bucket) == f"s3://{stack.bucket}"
    # THEN an API caller neither reads, lists nor cancels it; an admin does
    assert c.call(c.alice, "GET", f"/generations/{job_id}")["statusCode"] == 404
    assert job_id not in c.listed(c.alice)
    assert c.call(c.alice, "DELETE", f"/generations/{job_id}")["statusCode"] == 404
    assert c.call(c.admin, "GET", f"/generations/{job_id}")["statusCode"] == 200
    assert job_id in c.listed(c.admin)


def test_a_rejected_file_is_owned_by_the_bucket_too(callers):
    c = callers
    stack = c.api.stack
    trigger = stack.load("S3TriggerFunction")
    answer = stack.client("s3").put_object(Bucket=stack.bucket, Key="inputs/notes.txt", Body=b"hello")
    event = s3_put_event(
        stack.bucket, "inputs/notes.txt", etag=answer["ETag"].strip('"'), version=answer.get("VersionId")
    )
    (outcome,) = trigger(event, c.api.context)["outcomes"]
    assert outcome["outcome"] == "rejected"
    assert c.record(outcome["job_id"])["owner"] == f"s3://{stack.bucket}"
    assert c.call(c.alice, "GET", f"/generations/{outcome['job_id']}")["statusCode"] == 404
