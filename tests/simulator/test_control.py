"""The CLI (``python -m local.simulator``) in another process, scripted over HTTP through ``/_simulator/``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import runwayml

from local.simulator import RunwaySimulator
from tests.simulator.helpers import gen45_kwargs, wait_for_terminal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RUNWAYML_API_SECRET")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.simulator",
            "--port",
            "0",
            "--time-scale",
            "0.005",
            "--api-key",
            "cli-key",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("RUNWAYML_BASE_URL=http://127.0.0.1:"), line
        yield proc, line.split("=", 1)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)


def test_cli_simulator_is_scriptable_over_http_and_stops_on_ctrl_c(
    cli: tuple[subprocess.Popen[str], str],
) -> None:
    proc, base_url = cli
    # GIVEN a simulator in another process, scripted through its control endpoints
    with (
        httpx.Client(base_url=f"{base_url}/_simulator") as control,
        runwayml.RunwayML(api_key="cli-key", base_url=base_url, max_retries=0) as client,
    ):
        assert control.get("/health").json()["status"] == "ok"
        # WHEN a 503 is scripted over HTTP THEN the SDK sees it once
        spec = {"kind": "http_error", "path": "/v1/text_to_video", "params": {"status": 503}}
        fault = control.post("/faults", json=spec).json()
        assert fault["kind"] == "http_error" and control.get("/faults").json()[0]["id"] == fault["id"]
        with pytest.raises(runwayml.InternalServerError):
            client.text_to_video.create(**gen45_kwargs())
        # AND the next create makes a task that runs to SUCCEEDED
        task = client.text_to_video.create(**gen45_kwargs())
        assert wait_for_terminal(client, task.id).status == "SUCCEEDED"
        assert [t["id"] for t in control.get("/tasks").json()] == [task.id]
        requests = control.get("/requests").json()
        assert [r["status"] for r in requests[:2]] == [503, 200]
        assert requests[1]["body"]["model"] == "gen4.5"
        # AND state can be set and reset over HTTP
        control.post("/settings", json={"creditBalance": 10}).raise_for_status()
        assert client.organization.retrieve().credit_balance == 10
        with pytest.raises(runwayml.BadRequestError):
            client.text_to_video.create(**gen45_kwargs())
        control.post("/faults", json={"kind": "rate_limit", "times": None}).raise_for_status()
        control.delete("/faults").raise_for_status()
        assert control.get("/faults").json() == []
        control.post("/reset").raise_for_status()
        assert control.get("/tasks").json() == [] and control.get("/requests").json() == []
        assert client.organization.retrieve().credit_balance == 100_000
    # WHEN Ctrl-C is pressed THEN it stops cleanly
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_faults_scripted_over_http_reach_an_in_process_simulator(sim: RunwaySimulator) -> None:
    faults = f"{sim.base_url}/_simulator/faults"
    spec = {"kind": "output", "params": {"count": 2, "format": "prores"}}
    assert httpx.post(faults, json=spec).status_code == 200
    assert sim.faults.list()[0].params == {"count": 2, "format": "prores"}
    assert httpx.post(faults, json={"kind": "no_such_fault"}).status_code == 400
