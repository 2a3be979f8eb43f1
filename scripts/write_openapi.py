"""Write openapi.yaml from the API handler's own OpenAPI document (``make openapi``).

The handler is cold-started inside moto with placeholder resource names: only its routes and models matter.
``tests/api/test_openapi.py`` compares the served document with the committed file and never writes it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import yaml
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "openapi.yaml"
HANDLER = ROOT / "functions" / "entry" / "api" / "app.py"
PLACEHOLDERS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "placeholder",
    "AWS_SECRET_ACCESS_KEY": "placeholder",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:generate-video",
    "CANCEL_FUNCTION_NAME": "cancel",
    "RECONCILE_FUNCTION_NAME": "reconcile",
    "JOBS_TABLE": "jobs",
    "OUTPUT_BUCKET": "videos",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def main() -> int:
    sys.path[:0] = [str(ROOT / "layers" / "shared")]
    os.environ.update(PLACEHOLDERS)
    with mock_aws():
        spec = importlib.util.spec_from_file_location("api_handler", HANDLER)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        document = module.openapi_schema()
    header = "# Generated from functions/entry/api/app.py by `make openapi` (tests/api/test_openapi.py).\n"
    OUTPUT.write_text(
        header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8"
    )
    sys.stdout.write(f"wrote {OUTPUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
