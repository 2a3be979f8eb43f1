"""Helpers shared by the simulator tests."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import runwayml

from local.simulator import RunwaySimulator

API_KEY = "sk-simulator-test"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


def make_client(sim: RunwaySimulator, **kwargs: Any) -> runwayml.RunwayML:
    kwargs.setdefault("max_retries", 0)
    return runwayml.RunwayML(api_key=API_KEY, base_url=sim.base_url, **kwargs)


def wait_for_terminal(client: runwayml.RunwayML, task_id: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        task = client.tasks.retrieve(task_id)
        if task.status in TERMINAL:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {task.status} after {timeout}s")
        time.sleep(0.02)


def gen45_kwargs(prompt: str = "A paper boat on a rainy street", **extra: Any) -> dict[str, Any]:
    return {"model": "gen4.5", "prompt_text": prompt, "ratio": "1280:720", "duration": 5, **extra}


# --- ffmpeg (imageio-ffmpeg ships the binary) ---


@dataclass
class Probe:
    errors: str
    width: int
    height: int
    frames: int
    codec_line: str


def ffmpeg_probe(path: Path) -> Probe:
    """Decode every frame with ffmpeg; errors are whatever ffmpeg reports at ``-v error``."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    info = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False)
    video_lines = [line for line in info.stderr.splitlines() if "Video:" in line]
    assert video_lines, info.stderr
    size = re.search(r", (\d+)x(\d+)[, ]", video_lines[0])
    assert size, video_lines[0]
    width, height = int(size.group(1)), int(size.group(2))
    decoded = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=False,
    )
    assert decoded.returncode == 0, decoded.stderr
    return Probe(
        errors=decoded.stderr.decode(errors="replace").strip(),
        width=width,
        height=height,
        frames=len(decoded.stdout) // (width * height),
        codec_line=video_lines[0],
    )
