"""Poll policy benchmark (``make bench``): the quick run of bench/polling.py, the production poll step against
the runwayml SDK's schedule, a fixed 30 s Wait and a function blocking on the SDK. ``python -m bench.polling``
runs the full 20,000 tasks per scenario."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import polling

if __name__ == "__main__":
    sys.stdout.write(polling.markdown(polling.measure(quick=True)))
