"""Cold-start benchmark: each handler's import against a plain import of the packages it truly needs.

Both are imported in a fresh interpreter with the function's Lambda environment (tests/support/lambda_init:
the template's variables, ``LAMBDA_TASK_ROOT`` so Powertools traces as in Lambda, the code folder and the
layer on ``sys.path``, AWS endpoints that refuse connections). Handler and baseline runs alternate, in
``repetitions`` rounds; each figure is the median. The ratio is on CPU seconds, which another process on the
machine disturbs less than wall seconds (both are reported).

What a function "truly needs" is written down below, per function: the third-party packages whose code
serves its requests. Every function needs boto3, pydantic and pydantic-settings (the settings validated at
cold start), Powertools Logger, Metrics and Tracer, and the X-Ray SDK (``Tracing: Active``). The rest of the
handler's import is overhead: the domain package, module-level work, anything imported and never used.

Measured with this machine's Python (the deployed functions run python3.13 on arm64): ratios carry over
better than seconds.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

from tests.support.lambda_init import probe_handler, probe_import  # noqa: E402

TARGET_RATIO = 1.3

COMMON = (
    "boto3",
    "pydantic",
    "pydantic_settings",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_xray_sdk.core",
)
#: Reads a Secrets Manager value (the Runway key, the webhook secret) through Powertools' cache.
SECRETS = ("aws_lambda_powertools.utilities.parameters",)
#: A state-machine step: its input parsed with Powertools' parser (videogen.step_input).
STEP = ("aws_lambda_powertools.utilities.parser",)
#: A step that calls Runway with its SDK (httpx underneath).
RUNWAY = (*STEP, "runwayml", "httpx", *SECRETS)

#: Per function (template logical id): the packages it truly needs, beyond COMMON, and why.
NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "ApiFunction": (
        (
            "aws_lambda_powertools.event_handler",
            "aws_lambda_powertools.utilities.idempotency",
            "aws_lambda_powertools.utilities.data_classes",
            *SECRETS,
        ),
        "REST resolver with validation, idempotent POST, the Runway key check (no Runway call)",
    ),
    "S3TriggerFunction": (
        ("aws_lambda_powertools.utilities.data_classes", *SECRETS),
        "S3 event, the Runway key check (no Runway call)",
    ),
    "NotifyFunction": (
        ("aws_lambda_powertools.utilities.data_classes", "httpx", "httpcore", *SECRETS),
        "EventBridge event, webhooks over httpx with pinned httpcore connections, the signing secret",
    ),
    "UploadInputsFunction": (RUNWAY, "Runway uploads"),
    "SubmitFunction": (RUNWAY, "Runway task creation"),
    "LostCreateFunction": (STEP, "DynamoDB only"),
    "PollFunction": (RUNWAY, "Runway task reads"),
    "ArchiveFunction": ((*RUNWAY, "httpcore"), "Runway task read, output download (httpx, httpcore), S3"),
    "CancelFunction": (RUNWAY, "Runway cancel"),
    "FinishFunction": (STEP, "DynamoDB and EventBridge only"),
    "ReconcileFunction": (
        ("runwayml", "httpx", "httpcore", *SECRETS),
        "Runway reads, archive (httpx, httpcore), Step Functions",
    ),
}


def needed_modules(logical_id: str) -> list[str]:
    return [*COMMON, *NEEDS[logical_id][0]]


def measure(quick: bool = False, functions: list[str] | None = None, repetitions: int = 0) -> dict[str, Any]:
    """``{logical id: {"import_s", "ratio_vs_needed", ...}}`` (medians over the rounds)."""
    repetitions = repetitions or (2 if quick else 5)
    chosen = functions or list(NEEDS)
    runs: dict[str, dict[str, list[float]]] = {
        fid: {"handler": [], "handler_cpu": [], "needed": [], "needed_cpu": []} for fid in chosen
    }
    for round_ in range(repetitions):
        for fid in chosen:
            order = ("handler", "needed") if round_ % 2 == 0 else ("needed", "handler")
            for what in order:
                probe = probe_handler(fid) if what == "handler" else probe_import(needed_modules(fid), fid)
                runs[fid][what].append(probe.import_s)
                runs[fid][what + "_cpu"].append(probe.import_cpu_s)
    section: dict[str, Any] = {}
    for fid, r in runs.items():
        med = {k: statistics.median(v) for k, v in r.items()}
        section[fid] = {
            "import_s": round(med["handler"], 4),
            "ratio_vs_needed": round(med["handler_cpu"] / med["needed_cpu"], 3),
            "import_cpu_s": round(med["handler_cpu"], 4),
            "needed_import_s": round(med["needed"], 4),
            "needed_import_cpu_s": round(med["needed_cpu"], 4),
            "wall_ratio_vs_needed": round(med["handler"] / med["needed"], 3),
            "needs": list(NEEDS[fid][0]),
            "repetitions": repetitions,
            "python": platform.python_version(),
        }
    return section


def markdown(section: dict[str, Any]) -> str:
    any_row = next(iter(section.values()), {})
    lines = [
        f"Handler import vs a plain import of what it needs (fresh interpreter each, median of "
        f"{any_row.get('repetitions', '?')} interleaved rounds, Python {any_row.get('python', '?')} here; "
        f"Lambda runs 3.13). Target: ratio at most {TARGET_RATIO}x.",
        "",
        "| function | handler import (s) | needed import (s) | ratio (CPU) | ratio (wall) | target |",
        "|---|---|---|---|---|---|",
    ]
    for fid, row in section.items():
        ok = "ok" if row["ratio_vs_needed"] <= TARGET_RATIO else "MISSED"
        lines.append(
            f"| {fid} | {row['import_s']:.3f} | {row['needed_import_s']:.3f} | "
            f"{row['ratio_vs_needed']:.2f}x | {row['wall_ratio_vs_needed']:.2f}x | {ok} |"
        )
    lines += ["", "What each function truly needs, beyond " + ", ".join(COMMON) + ":", ""]
    lines += [f"- {fid}: {', '.join(mods) or '(nothing more)'}: {why}" for fid, (mods, why) in NEEDS.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    # python bench/coldstart.py [--quick] [--rounds N] [LogicalId ...]
    args = sys.argv[1:]
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 0
    names = [a for a in args if a in NEEDS]
    result = measure(quick="--quick" in args, functions=names or None, repetitions=rounds)
    sys.stdout.write(markdown(result) + "\n")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
