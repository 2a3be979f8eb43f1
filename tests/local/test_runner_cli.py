"""``python -m local.runner`` (what ``make demo`` runs), as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local.stack import ROOT
from tests.e2e.test_pipeline import png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def runner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "local.runner", "--time-scale", "0.01", "--out", str(cwd / "out"), *args]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_an_image_file_becomes_a_video(tmp_path: Path) -> None:
    # GIVEN a local PNG
    frame = tmp_path / "frame.png"
    frame.write_bytes(png_bytes(32, 18))
    # WHEN the runner is given it with a prompt
    result = runner("--prompt", "the boat sails away", "--image", str(frame), cwd=tmp_path)
    # THEN the job went through the API and the last line names the downloaded video
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"video: {tmp_path / 'out'}/") and last.endswith("/0.mp4")
    assert Path(last.removeprefix("video: ")).read_bytes()[4:8] == b"ftyp"


def test_an_invalid_request_is_refused_with_every_problem(tmp_path: Path) -> None:
    # WHEN the request asks gen4.5 for a ratio and a duration it does not offer
    result = runner(
        "--prompt", "a boat", "--model", "gen4.5", "--ratio", "1:1", "--duration", "999", cwd=tmp_path
    )
    # THEN the API's 422 is shown with one line per problem, and the runner exits non-zero
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: the API refused the request (422 InvalidRequest):"
    assert [line.split()[1] for line in lines[1:]] == ["ratio", "duration"]
    assert not (tmp_path / "out").exists()
