"""The real runwayml SDK against the simulator: every endpoint, the task lifecycle, uploads, organization."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import runwayml

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.simulator.helpers import API_KEY, ffmpeg_probe, gen45_kwargs, make_client, wait_for_terminal

IMAGE = "https://example.com/frame.png"
VIDEO = "https://example.com/clip.mp4"

CREATES = [
    ("text_to_video", gen45_kwargs()),
    ("image_to_video", {"model": "gen4_turbo", "prompt_image": IMAGE, "ratio": "1280:720", "duration": 5}),
    ("text_to_video", {"model": "veo3.1", "prompt_text": "a cat", "ratio": "1280:720", "duration": 8}),
    ("image_to_video", {"model": "veo3.1_fast", "prompt_image": IMAGE, "ratio": "720:1280", "duration": 4}),
    ("video_to_video", {"model": "aleph2", "video_uri": VIDEO, "prompt_text": "make it snow"}),
    (
        "character_performance",
        {
            "model": "act_two",
            "character": {"type": "image", "uri": IMAGE},
            "reference": {"type": "video", "uri": VIDEO},
            "ratio": "1280:720",
        },
    ),
]


def test_every_endpoint_and_model_runs_to_succeeded_with_a_playable_mp4(
    sim: RunwaySimulator, client: runwayml.RunwayML, tmp_path: Path
) -> None:
    # GIVEN the SDK pointed at the simulator
    # WHEN a task is created on every endpoint for gen4.5, gen4_turbo, veo3.1, veo3.1_fast, aleph2 and act_two
    created = [getattr(client, endpoint).create(**kwargs) for endpoint, kwargs in CREATES]
    # THEN each create answers an id and an estimated cost, and each task is recorded once
    assert all(t.id and t.estimated_cost.credits > 0 for t in created)
    assert [t.id for t in sim.created_tasks()] == [t.id for t in created]
    assert [t.model for t in sim.created_tasks()] == [k["model"] for _, k in CREATES]
    # AND every task reaches SUCCEEDED with an integer cost and a downloadable, playable MP4
    for task in created:
        done = wait_for_terminal(client, task.id)
        assert done.status == "SUCCEEDED"
        assert isinstance(done.cost.credits, int) and done.cost.credits > 0
        assert len(done.output) == 1
        response = httpx.get(done.output[0])
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        assert int(response.headers["content-length"]) == len(response.content)
    path = tmp_path / "out.mp4"
    path.write_bytes(response.content)
    probe = ffmpeg_probe(path)
    assert probe.errors == ""
    assert (probe.width, probe.height, probe.frames) == (128, 72, 24)
    assert "h264" in probe.codec_line


def test_only_the_base_url_changes(sim: RunwaySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN only RUNWAYML_BASE_URL and RUNWAYML_API_SECRET in the environment
    monkeypatch.setenv("RUNWAYML_BASE_URL", sim.base_url)
    monkeypatch.setenv("RUNWAYML_API_SECRET", API_KEY)
    # WHEN a default-constructed client creates a task
    task = runwayml.RunwayML(max_retries=0).text_to_video.create(**gen45_kwargs())
    # THEN the simulator received it with Runway's headers
    request = sim.requests[-1]
    assert (request.method, request.path, request.status) == ("POST", "/v1/text_to_video", 200)
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["X-Runway-Version"] == "2024-11-06"
    expected = {"model": "gen4.5", "promptText": "A paper boat on a rainy street", "ratio": "1280:720"}
    assert request.body == {**expected, "duration": 5}
    assert sim.created_tasks()[0].id == task.id


def test_lifecycle_pending_running_progress_succeeded(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    # GIVEN a task on a hand-driven clock
    task = manual_client.text_to_video.create(**gen45_kwargs())
    # THEN it is PENDING first, with the estimated cost and an ISO createdAt
    pending = manual_client.tasks.retrieve(task.id)
    assert pending.status == "PENDING"
    assert pending.estimated_cost.credits == task.estimated_cost.credits
    assert pending.created_at.isoformat().startswith("2026-01-01T00:00:00")
    # WHEN time passes THEN it runs with a growing progress in [0, 1)
    progresses = []
    for _ in range(200):
        clock.advance(2)
        current = manual_client.tasks.retrieve(task.id)
        if current.status == "RUNNING":
            progresses.append(current.progress)
            assert current.estimated_cost.credits == task.estimated_cost.credits
        elif current.status == "SUCCEEDED":
            break
    assert current.status == "SUCCEEDED"
    assert len(progresses) >= 5
    assert progresses == sorted(progresses) and 0 <= progresses[0] < progresses[-1] < 1
    assert current.cost.credits == int(task.estimated_cost.credits)


def test_same_seed_gives_same_ids_and_timings() -> None:
    # GIVEN two simulators with the same seed and clock
    def run() -> list[tuple[str, str]]:
        with RunwaySimulator(SimulatorConfig(seed=11, clock=ManualClock(), api_key=API_KEY)) as sim:
            client = make_client(sim)
            ids = [client.text_to_video.create(**gen45_kwargs()).id for _ in range(3)]
            sim.config.clock.advance(40)  # type: ignore[attr-defined]
            return [(i, client.tasks.retrieve(i).status) for i in ids]

    # WHEN the same scenario runs twice THEN task ids and states are identical
    assert run() == run()


def test_cancel_a_running_task_then_delete_makes_it_404(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    # GIVEN a RUNNING task
    task = manual_client.text_to_video.create(**gen45_kwargs())
    clock.advance(10)
    assert manual_client.tasks.retrieve(task.id).status == "RUNNING"
    balance_before = manual_client.organization.retrieve().credit_balance
    # WHEN it is deleted
    assert manual_client.tasks.delete(task.id) is None
    assert manual_sim.requests[-1].status == 204
    # THEN it is CANCELLED, with its cost kept (no refund once RUNNING), and stays CANCELLED
    cancelled = manual_client.tasks.retrieve(task.id)
    assert cancelled.status == "CANCELLED"
    assert cancelled.cost.credits == int(task.estimated_cost.credits)
    clock.advance(1000)
    assert manual_client.tasks.retrieve(task.id).status == "CANCELLED"
    assert manual_client.organization.retrieve().credit_balance == balance_before
    # AND deleting it again deletes it: 404 afterwards
    manual_client.tasks.delete(task.id)
    with pytest.raises(runwayml.NotFoundError):
        manual_client.tasks.retrieve(task.id)
    with pytest.raises(runwayml.NotFoundError):
        manual_client.tasks.delete(task.id)


def test_cancelling_a_pending_task_refunds_it(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML
) -> None:
    # GIVEN a PENDING task, which reserved its estimate
    start = manual_client.organization.retrieve().credit_balance
    task = manual_client.text_to_video.create(**gen45_kwargs())
    assert manual_client.organization.retrieve().credit_balance == start - 60
    # WHEN it is cancelled THEN it costs nothing and the balance is back
    manual_client.tasks.delete(task.id)
    cancelled = manual_client.tasks.retrieve(task.id)
    assert (cancelled.status, cancelled.cost.credits) == ("CANCELLED", 0)
    assert manual_client.organization.retrieve().credit_balance == start


def test_deleting_a_succeeded_task_removes_it(manual_client: runwayml.RunwayML, clock: ManualClock) -> None:
    task = manual_client.text_to_video.create(**gen45_kwargs())
    clock.advance(3600)
    assert manual_client.tasks.retrieve(task.id).status == "SUCCEEDED"
    manual_client.tasks.delete(task.id)
    with pytest.raises(runwayml.NotFoundError):
        manual_client.tasks.retrieve(task.id)


def test_upload_then_use_the_runway_uri(
    sim: RunwaySimulator, client: runwayml.RunwayML, tmp_path: Path
) -> None:
    # GIVEN a local image
    image = tmp_path / "frame.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x10" * 2048)
    # WHEN it is uploaded with create_ephemeral (presigned multipart POST, no Authorization header)
    uploaded = client.uploads.create_ephemeral(file=image, file_metadata='{"source": "test"}')
    # THEN a runway:// URI comes back, and the upload target received every field plus metadata and the file
    assert uploaded.uri.startswith("runway://")
    start, target = [r for r in sim.requests if r.method == "POST"][-2:]
    assert (start.path, start.body) == ("/v1/uploads", {"filename": "frame.png", "type": "ephemeral"})
    assert target.path.startswith("/_uploads/") and "Authorization" not in target.headers
    stored = sim.engine.upload_for_uri(uploaded.uri)
    assert stored is not None
    assert stored.data == image.read_bytes() and stored.metadata == '{"source": "test"}'
    # AND the URI is accepted as a media input
    task = client.image_to_video.create(model="gen4_turbo", prompt_image=uploaded.uri, ratio="1280:720")
    assert wait_for_terminal(client, task.id).status == "SUCCEEDED"


def test_unknown_or_unfinished_upload_uri_is_refused(sim: RunwaySimulator, client: runwayml.RunwayML) -> None:
    # GIVEN an upload that was started but never sent, and a made-up URI
    started = client.post("/v1/uploads", body={"filename": "a.png", "type": "ephemeral"}, cast_to=object)
    for uri in (started["runwayUri"], "runway://uploads/does-not-exist"):  # type: ignore[index]
        # WHEN either is used THEN the create is refused with the field named
        with pytest.raises(runwayml.BadRequestError) as err:
            client.image_to_video.create(model="gen4_turbo", prompt_image=uri, ratio="1280:720")
        assert err.value.body["issues"][0]["message"].startswith(f"promptImage: {uri}")  # type: ignore[index]
    assert sim.created_tasks() == []


def test_upload_target_refuses_tampered_fields_and_authorization(sim: RunwaySimulator) -> None:
    client = make_client(sim)
    started = client.post("/v1/uploads", body={"filename": "a.png", "type": "ephemeral"}, cast_to=object)
    url, fields = started["uploadUrl"], dict(started["fields"])  # type: ignore[index]
    files = {"file": ("a.png", b"data")}
    assert httpx.post(url, data={**fields, "policy": "forged"}, files=files).status_code == 403
    assert httpx.post(url, data=fields, files=files, headers={"Authorization": "Bearer x"}).status_code == 400
    assert httpx.post(url, data=fields).status_code == 400
    assert httpx.post(url, data=fields, files=files).status_code == 204
    bad = client.with_options(max_retries=0)
    with pytest.raises(runwayml.BadRequestError):
        bad.post("/v1/uploads", body={"filename": "a.png", "type": "permanent"}, cast_to=object)


def test_organization_balance_and_daily_generations(
    manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    # GIVEN an organization with the default balance
    org = manual_client.organization.retrieve()
    assert org.credit_balance == 100_000
    # WHEN one task succeeds
    manual_client.text_to_video.create(**gen45_kwargs())
    clock.advance(3600)
    # THEN the balance and daily generations report it
    org = manual_client.organization.retrieve()
    assert org.credit_balance == 100_000 - 60
    assert org.usage.models["gen4.5"].daily_generations == 1


def test_wrong_key_missing_version_and_unknown_paths(sim: RunwaySimulator) -> None:
    # GIVEN a client with another key THEN 401
    with pytest.raises(runwayml.AuthenticationError):
        runwayml.RunwayML(api_key="wrong", base_url=sim.base_url, max_retries=0).organization.retrieve()
    # GIVEN no Authorization at all THEN 401
    assert httpx.get(f"{sim.base_url}/v1/organization").status_code == 401
    # GIVEN another API version THEN 400
    with pytest.raises(runwayml.BadRequestError) as err:
        make_client(sim, runway_version="2023-01-01").organization.retrieve()  # type: ignore[arg-type]
    assert "X-Runway-Version" in err.value.body["error"]  # type: ignore[index]
    # unknown task / path
    with pytest.raises(runwayml.NotFoundError):
        make_client(sim).tasks.retrieve("nope")
    assert httpx.get(f"{sim.base_url}/v1/nothing", headers={"Authorization": "Bearer x"}).status_code == 401


def test_any_key_is_accepted_without_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    with RunwaySimulator(SimulatorConfig(time_scale=0.01)) as sim:
        org = runwayml.RunwayML(
            api_key="whatever", base_url=sim.base_url, max_retries=0
        ).organization.retrieve()
        assert org.credit_balance > 0
        monkeypatch.setenv("RUNWAYML_API_SECRET", "env-key")
        with pytest.raises(runwayml.AuthenticationError):
            runwayml.RunwayML(
                api_key="whatever", base_url=sim.base_url, max_retries=0
            ).organization.retrieve()
        runwayml.RunwayML(api_key="env-key", base_url=sim.base_url, max_retries=0).organization.retrieve()


def test_invalid_body_is_a_400_with_the_sdk_types_reasons(
    sim: RunwaySimulator, client: runwayml.RunwayML
) -> None:
    # GIVEN a body the SDK's types refuse (no duration, a ratio gen4.5 does not have)
    with pytest.raises(runwayml.BadRequestError) as err:
        client.text_to_video.create(model="gen4.5", prompt_text="x", ratio="1:1")  # type: ignore[call-arg]
    body = err.value.body
    # THEN the 400 lists each reason in Runway's error shape, and no task exists
    assert isinstance(body, dict) and body["error"] == "; ".join(i["message"] for i in body["issues"])
    assert [i["message"] for i in body["issues"]] == [
        "ratio must be one of 1280:720, 720:1280 (got '1:1')",
        "duration is required",
    ]
    assert sim.created_tasks() == []


def test_reset_forgets_everything(sim: RunwaySimulator, client: runwayml.RunwayML) -> None:
    client.text_to_video.create(**gen45_kwargs())
    sim.inject("http_error", times=None)
    sim.reset()
    assert sim.requests == [] and sim.created_tasks() == [] and sim.faults.list() == []
    assert client.organization.retrieve().credit_balance == 100_000


def test_stop_is_clean_with_open_keep_alive_connections() -> None:
    sim = RunwaySimulator(SimulatorConfig(api_key=API_KEY))
    client = make_client(sim) if sim.start() else None
    assert client is not None
    client.organization.retrieve()  # leaves a pooled keep-alive connection open
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(runwayml.APIConnectionError):
        client.organization.retrieve()


def test_portrait_ratio_gives_a_portrait_video(
    manual_client: runwayml.RunwayML, clock: ManualClock, tmp_path: Path
) -> None:
    # GIVEN a 720:1280 request
    task = manual_client.text_to_video.create(**gen45_kwargs(ratio="720:1280"))
    clock.advance(3600)
    # WHEN its output is downloaded THEN it is a playable portrait video
    path = tmp_path / "portrait.mp4"
    path.write_bytes(httpx.get(manual_client.tasks.retrieve(task.id).output[0]).content)
    probe = ffmpeg_probe(path)
    assert (probe.errors, probe.width, probe.height, probe.frames) == ("", 72, 128, 24)
