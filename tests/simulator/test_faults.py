"""Every fault mode, scripted through the Python API and observed through the real SDK."""

from __future__ import annotations

import io
import resource
import time
import zipfile
from pathlib import Path

import httpx
import pytest
import runwayml

from local.simulator import ManualClock, RunwaySimulator, SimulatorConfig
from tests.simulator.helpers import API_KEY, ffmpeg_probe, gen45_kwargs, make_client, wait_for_terminal


def _succeeded(
    manual_client: runwayml.RunwayML, clock: ManualClock, task_id: str
) -> runwayml.types.TaskRetrieveResponse:
    clock.advance(3600)
    task = manual_client.tasks.retrieve(task_id)
    assert task.status == "SUCCEEDED"
    return task


# --- HTTP-level faults --------------------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_by_the_sdk_and_creates_one_task(sim: RunwaySimulator) -> None:
    # GIVEN two 429 answers with retry-after scripted on the create endpoint
    sim.inject("rate_limit", times=2, path="/v1/text_to_video", retry_after=0.1)
    client = make_client(sim, max_retries=2)
    # WHEN the SDK (default retry policy) creates a task
    started = time.monotonic()
    task = client.text_to_video.create(**gen45_kwargs())
    # THEN it slept the retry-after twice, and exactly one task exists
    assert time.monotonic() - started >= 0.2
    posts = [r for r in sim.requests if r.path == "/v1/text_to_video"]
    assert [r.status for r in posts] == [429, 429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in posts] == ["0", "1", "2"]
    assert posts[0].faults == ["http_error"]
    assert [t.id for t in sim.created_tasks()] == [task.id]


def test_429_without_retries_raises_rate_limit_error_with_header(sim: RunwaySimulator) -> None:
    sim.inject("http_error", status=429, retry_after=7)
    with pytest.raises(runwayml.RateLimitError) as err:
        make_client(sim).text_to_video.create(**gen45_kwargs())
    assert err.value.response.headers["retry-after"] == "7"
    assert sim.created_tasks() == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_burst_then_recovery(sim: RunwaySimulator, client: runwayml.RunwayML, status: int) -> None:
    # GIVEN a task, and a burst of 3 server errors on polling
    task = client.text_to_video.create(**gen45_kwargs())
    sim.inject("http_error", times=3, method="GET", path="/v1/tasks/*", status=status)
    # WHEN polled 3 times THEN each poll fails with InternalServerError; the 4th works
    for _ in range(3):
        with pytest.raises(runwayml.InternalServerError) as err:
            client.tasks.retrieve(task.id)
        assert err.value.status_code == status
    assert client.tasks.retrieve(task.id).id == task.id
    assert sim.faults.list() == []


def test_slow_create_times_out_in_the_client_but_the_task_exists(sim: RunwaySimulator) -> None:
    # GIVEN a create answer delayed past the client's timeout
    sim.inject("delay", path="/v1/text_to_video", seconds=0.6)
    client = make_client(sim, timeout=0.2)
    # WHEN the SDK creates a task THEN it times out
    with pytest.raises(runwayml.APITimeoutError):
        client.text_to_video.create(**gen45_kwargs())
    # AND the simulator still created the task: the outcome was unknown to the client
    deadline = time.monotonic() + 5
    while not sim.created_tasks() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sim.created_tasks()) == 1


def test_disconnect_is_a_connection_error(sim: RunwaySimulator, client: runwayml.RunwayML) -> None:
    sim.inject("disconnect", path="/v1/organization")
    with pytest.raises(runwayml.APIConnectionError):
        client.organization.retrieve()
    assert client.organization.retrieve().credit_balance > 0


def test_faults_match_method_path_and_count(sim: RunwaySimulator, client: runwayml.RunwayML) -> None:
    # GIVEN a fault on GET /v1/organization, forever, and a one-shot one on text_to_video creates
    forever = sim.inject("http_error", times=None, method="GET", path="/v1/organization")
    sim.inject("http_error", method="POST", path="/v1/text_to_video")
    # THEN other paths pass after the one-shot fault fired once, matching ones fail every time
    with pytest.raises(runwayml.InternalServerError):
        client.text_to_video.create(**gen45_kwargs())
    client.text_to_video.create(**gen45_kwargs())
    for _ in range(2):
        with pytest.raises(runwayml.InternalServerError):
            client.organization.retrieve()
    assert [f.id for f in sim.faults.list()] == [forever.id] and forever.fired == 2
    assert len(sim.created_tasks()) == 1


# --- task outcomes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "SAFETY.OUTPUT.VIDEO", "INTERNAL.BAD_OUTPUT.CODE01"])
def test_task_failure_codes(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock, code: str
) -> None:
    # GIVEN the next task is scripted to fail (and the one after it is not)
    start = manual_client.organization.retrieve().credit_balance
    manual_sim.inject("task_failure", code=code)
    bad = manual_client.text_to_video.create(**gen45_kwargs("something forbidden"))
    ok = manual_client.text_to_video.create(**gen45_kwargs("fine"))
    # WHEN both run to the end
    clock.advance(3600)
    # THEN only the first task FAILED, with its code and a message, and it was refunded
    failed = manual_client.tasks.retrieve(bad.id)
    assert (failed.status, failed.failure_code, failed.cost.credits) == ("FAILED", code, 0)
    assert failed.failure
    assert manual_client.tasks.retrieve(ok.id).status == "SUCCEEDED"
    assert manual_client.organization.retrieve().credit_balance == start - 60


def test_sdk_wait_for_task_output_raises_task_failed(
    sim: RunwaySimulator, client: runwayml.RunwayML, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runwayml.lib.polling.POLL_TIME", 0.05)
    monkeypatch.setattr("runwayml.lib.polling.POLL_JITTER", 0.0)
    sim.inject("task_failure", code="SAFETY.INPUT.IMAGE", at=0.0)
    task = client.text_to_video.create(**gen45_kwargs())
    wait_for_terminal(client, task.id)
    with pytest.raises(runwayml.TaskFailedError) as err:
        client.tasks.retrieve(task.id).wait_for_task_output(timeout=5)
    assert err.value.task_details.failure_code == "SAFETY.INPUT.IMAGE"


def test_long_throttled_period(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    # GIVEN a task scripted to stay THROTTLED for 10 simulated minutes
    manual_sim.inject("throttle", seconds=600)
    task = manual_client.text_to_video.create(**gen45_kwargs())
    # THEN it is PENDING, then THROTTLED with its estimate for 10 minutes, then RUNNING
    assert manual_client.tasks.retrieve(task.id).status == "PENDING"
    clock.advance(5)
    throttled = manual_client.tasks.retrieve(task.id)
    assert throttled.status == "THROTTLED" and throttled.estimated_cost.credits == 60
    clock.advance(590)
    assert manual_client.tasks.retrieve(task.id).status == "THROTTLED"
    clock.advance(10)
    assert manual_client.tasks.retrieve(task.id).status == "RUNNING"


# --- outputs ------------------------------------------------------------------------------------------------


def test_expired_url_is_403_and_a_new_get_gives_fresh_urls(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    task = _succeeded(manual_client, clock, manual_client.text_to_video.create(**gen45_kwargs()).id)
    # GIVEN the next GET hands out URLs that are already expired
    manual_sim.inject("expired_urls", ttl=0)
    stale = manual_client.tasks.retrieve(task.id).output[0]
    assert "Expires=" in stale and "Signature=" in stale
    response = httpx.get(stale)
    assert response.status_code == 403 and b"expired" in response.content
    # WHEN the task is fetched again THEN its URL works
    fresh = manual_client.tasks.retrieve(task.id).output[0]
    assert fresh != stale and httpx.get(fresh).status_code == 200


def test_short_ttl_and_tampered_signature(clock: ManualClock) -> None:
    config = SimulatorConfig(clock=clock, api_key=API_KEY, output_url_ttl_s=30)
    with RunwaySimulator(config) as sim:
        client = make_client(sim)
        task = _succeeded(client, clock, client.text_to_video.create(**gen45_kwargs()).id)
        url = task.output[0]
        assert httpx.get(url).status_code == 200
        assert httpx.get(url.replace("Signature=", "Signature=0")).status_code == 403
        assert httpx.get(url.replace(".mp4?", ".mov?")).status_code == 403
        clock.advance(31)
        assert httpx.get(url).status_code == 403


def test_connection_reset_in_the_middle_of_a_download(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    url = _succeeded(manual_client, clock, manual_client.text_to_video.create(**gen45_kwargs()).id).output[0]
    manual_sim.inject("reset_download", after_bytes=100_000)
    received = 0
    with pytest.raises(httpx.TransportError), httpx.stream("GET", url) as response:
        assert int(response.headers["content-length"]) > 300_000
        for chunk in response.iter_bytes():
            received += len(chunk)
    assert received <= 100_000
    assert manual_sim.requests[-1].faults == ["reset_download"]
    assert len(httpx.get(url).content) > 300_000


def test_truncated_download(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    url = _succeeded(manual_client, clock, manual_client.text_to_video.create(**gen45_kwargs()).id).output[0]
    manual_sim.inject("truncate_download")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)


def test_insufficient_credits(manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML) -> None:
    # GIVEN 100 credits left
    manual_sim.set_credit_balance(100)
    assert manual_client.organization.retrieve().credit_balance == 100
    # WHEN a 60-credit task is created THEN the balance is charged
    manual_client.text_to_video.create(**gen45_kwargs())
    assert manual_client.organization.retrieve().credit_balance == 40
    # AND a second one is refused with a 400 saying so, and creates nothing
    with pytest.raises(runwayml.BadRequestError) as err:
        manual_client.text_to_video.create(**gen45_kwargs())
    assert "not have enough credits" in err.value.body["error"]  # type: ignore[index]
    assert len(manual_sim.created_tasks()) == 1


def test_multiple_outputs_in_png_sequence_and_prores(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock, tmp_path: Path
) -> None:
    # GIVEN a png_sequence task scripted with 3 outputs, and a prores task
    manual_sim.inject("output", count=3)
    png = manual_client.text_to_video.create(**gen45_kwargs(output_format="png_sequence"))
    prores = manual_client.text_to_video.create(**gen45_kwargs(output_format="prores"))
    clock.advance(3600)
    # THEN the first has 3 zip outputs of 24 real PNGs each
    urls = manual_client.tasks.retrieve(png.id).output
    assert len(urls) == 3 and all(".zip?" in u for u in urls)
    for url in urls:
        response = httpx.get(url)
        assert response.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
            names = zf.namelist()
            assert names == [f"frame.{i:04d}.png" for i in range(1, 25)]
            assert zf.read(names[0]).startswith(b"\x89PNG\r\n\x1a\n")
    # AND the prores task has one QuickTime .mov that ffmpeg decodes
    (url,) = manual_client.tasks.retrieve(prores.id).output
    response = httpx.get(url)
    assert response.headers["content-type"] == "video/quicktime" and ".mov?" in url
    path = tmp_path / "out.mov"
    path.write_bytes(response.content)
    probe = ffmpeg_probe(path)
    assert (probe.errors, probe.frames) == ("", 24)


def test_scripted_size_and_format(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock, tmp_path: Path
) -> None:
    manual_sim.inject("output", size_bytes=3_000_000, format="mp4")
    portrait = gen45_kwargs(ratio="720:1280", output_format="prores")
    task = _succeeded(manual_client, clock, manual_client.text_to_video.create(**portrait).id)
    response = httpx.get(task.output[0])
    assert 3_000_000 <= len(response.content) < 3_100_000
    path = tmp_path / "big.mp4"
    path.write_bytes(response.content)
    probe = ffmpeg_probe(path)
    assert probe.errors == ""
    assert (probe.width, probe.height) == (72, 128) and probe.frames > 100


def test_a_300_mb_output_is_streamed_without_being_held_in_memory(
    manual_sim: RunwaySimulator, manual_client: runwayml.RunwayML, clock: ManualClock
) -> None:
    manual_sim.inject("output", size_bytes=300_000_000)
    task = _succeeded(manual_client, clock, manual_client.text_to_video.create(**gen45_kwargs()).id)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    total = 0
    with httpx.stream("GET", task.output[0]) as response:
        length = int(response.headers["content-length"])
        head = b""
        for chunk in response.iter_raw(1 << 20):
            if not head:
                head = chunk[:64]
            total += len(chunk)
    assert total == length >= 300_000_000
    assert head[4:8] == b"ftyp"
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 100_000
