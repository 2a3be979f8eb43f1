"""Runs every benchmark of issue 13 and writes bench/results.json, bench/results.md and bench/polling.png.

``make bench`` (``--quick`` for a smaller run). Each section comes from its module's ``measure()``; every
ratio in it is against a baseline measured in the same run:

- polling (bench/polling.py): the production poll policy against the runwayml SDK's own schedule, a fixed 30 s
  Wait and a Lambda blocking on the SDK, with Runway's 5 s status tick modelled;
- archive (bench/archive.py): the archive step against boto3 ``upload_file`` of the same bytes, same endpoint;
- coldstart (bench/coldstart.py): each handler's import against a plain import of the packages it needs;
- overhead (bench/overhead.py): the local runner's time from Runway's SUCCEEDED to the manifest and the event.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import archive, coldstart, overhead, polling  # noqa: E402

SECTIONS = {"polling": polling, "archive": archive, "coldstart": coldstart, "overhead_s": overhead}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run, not the figures)")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    args = parser.parse_args()
    results: dict[str, object] = {}
    tables: list[str] = []
    for name, module in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        sys.stderr.write(f"== {name}\n")
        section = module.measure(quick=args.quick)
        results[name] = section
        table = module.markdown(section)
        tables.append(f"## {name}\n\n{table}\n")
        sys.stdout.write(f"\n## {name} ({time.monotonic() - started:.0f} s)\n\n{table}\n")
        sys.stdout.flush()
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (ROOT / "bench" / "results.md").write_text("# make bench\n\n" + "\n".join(tables), encoding="utf-8")


if __name__ == "__main__":
    main()
