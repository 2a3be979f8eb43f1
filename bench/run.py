"""Runs every benchmark and prints its figures (make bench)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("poll_policy.py", "archive.py"):
    sys.stdout.write(f"\n== {script}\n")
    sys.stdout.flush()
    runpy.run_path(str(HERE / script), run_name="__main__")
