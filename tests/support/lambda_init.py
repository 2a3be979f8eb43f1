"""Import a function's handler as Lambda's init phase does, in a fresh interpreter, and time it.

The interpreter gets the function's environment as the template deploys it (Globals merged, references
resolved to stand-in names), the variables the Lambda runtime adds (``LAMBDA_TASK_ROOT``: Powertools Tracer
and the X-Ray SDK then behave as in Lambda, tracing on), the code directory and the shared layer on
``sys.path``, and AWS endpoints that refuse connections: an AWS call made at import fails instead of
reaching anything. It reports the import's wall and CPU time (CPU time is steadier on a shared machine),
the modules it left in ``sys.modules``, and whether a boto3 client or resource was made on the default
session (a client made at import time).

Used by the cold-start benchmark (bench/coldstart.py) and the import-hygiene tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from local.stack import ROOT, load_template
from tests.support.template import function_environment

LAYER_DIR = ROOT / "layers" / "shared"
REGION = "us-east-1"
ACCOUNT = "123456789012"
#: The X-Ray SDK's "initialized" marker, written when it starts in Lambda; removed after each probe.
XRAY_MARKER_DIR = Path("/tmp/.aws-xray")  # the SDK's fixed path
#: Every AWS call goes here: nothing listens, so a call made at import fails fast.
REFUSING_ENDPOINT = "http://127.0.0.1:9"

#: Stand-in names for the template's resources (what ``!Ref``/``!GetAtt`` give in a deployed stack).
RESOURCES = {
    "VideoBucket": "videogen-videos",
    "VideoBucket.Arn": "arn:aws:s3:::videogen-videos",
    "JobsTable": "videogen-jobs",
    "IdempotencyTable": "videogen-idempotency",
    "GenerateVideoStateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:videogen-generate-video",
    "RunwayApiSecret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:videogen/runway-api-key-AbCdEf",
    "WebhookSigningSecret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:videogen/webhook-AbCdEf",
    "CancelFunction": "videogen-cancel",
    "ReconcileFunction": "videogen-reconcile",
}

_PROBE = """
import importlib, json, sys, time
sys.path[:0] = {path!r}
started, cpu = time.perf_counter(), time.process_time()
for name in {modules!r}:
    importlib.import_module(name)
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
boto3 = sys.modules.get("boto3")
json.dump(
    {{
        "import_s": elapsed,
        "import_cpu_s": cpu,
        "modules": sorted(sys.modules),
        "default_session": bool(boto3 is not None and boto3.DEFAULT_SESSION is not None),
    }},
    sys.stdout,
)
"""


@dataclass(frozen=True)
class ImportProbe:
    """What one fresh interpreter saw importing ``modules``: wall and CPU seconds, modules left loaded."""

    import_s: float
    import_cpu_s: float
    modules: frozenset[str]
    default_session: bool

    def imported(self, package: str) -> bool:
        """True when ``package`` or one of its submodules was imported."""
        return any(name == package or name.startswith(package + ".") for name in self.modules)


def code_dir(logical_id: str) -> Path:
    """The function's CodeUri directory."""
    return ROOT / load_template()["Resources"][logical_id]["Properties"]["CodeUri"]


def handler_module(logical_id: str) -> str:
    """The module Lambda imports for the function (``app`` of ``app.lambda_handler``)."""
    handler: str = load_template()["Resources"][logical_id]["Properties"]["Handler"]
    return handler.rpartition(".")[0]


def lambda_environment(logical_id: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The function's environment in Lambda: the template's variables and the runtime's own."""
    env = function_environment(logical_id, RESOURCES)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(code_dir(logical_id)),
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "example",
            "AWS_SESSION_TOKEN": "example",
            "AWS_ENDPOINT_URL": REFUSING_ENDPOINT,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        }
    )
    env.update(overrides or {})
    return env


def probe_import(
    modules: Sequence[str], logical_id: str, *, overrides: Mapping[str, str] | None = None
) -> ImportProbe:
    """Import ``modules`` in a fresh interpreter with ``logical_id``'s Lambda environment and path."""
    code = code_dir(logical_id)
    script = _PROBE.format(path=[str(code), str(LAYER_DIR)], modules=list(modules))
    marker_existed = XRAY_MARKER_DIR.exists()
    done = subprocess.run(
        [sys.executable, "-I", "-c", script],
        cwd=code,
        env=lambda_environment(logical_id, overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if not marker_existed:
        shutil.rmtree(XRAY_MARKER_DIR, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"importing {list(modules)} for {logical_id} failed:\n{done.stderr[-4000:]}")
    data = json.loads(done.stdout)
    return ImportProbe(
        data["import_s"], data["import_cpu_s"], frozenset(data["modules"]), data["default_session"]
    )


def probe_handler(logical_id: str, *, overrides: Mapping[str, str] | None = None) -> ImportProbe:
    """Cold-start the function's handler module."""
    return probe_import([handler_module(logical_id)], logical_id, overrides=overrides)
