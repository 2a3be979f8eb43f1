"""Run one generation end to end on this machine: moto + the deployed template + the real handlers + Runway.

``python -m local.runner --prompt "..." [--model M] [--image I] [--video V] [--ratio R] [--duration D]``

Jobs start as on AWS: the request is POSTed to ``/generations`` of the template's API function (an API
Gateway proxy event, invoked through moto), then the execution named by the answered job id is followed.
Local files given as inputs are first put in the stack's bucket under ``uploads/`` and passed as ``s3://``
URIs; URLs pass through. Archived files are copied to ``out/<job id>/``; the last line printed is
``video: <path>``.

Runway is the project's simulator, started on a free port, unless ``RUNWAYML_BASE_URL`` is set (that server
with ``RUNWAYML_API_SECRET``) or ``--live`` is given (the real API at the SDK's default URL; spends credits).

Python API (what the end-to-end tests use)::

    with LocalPipeline(time_scale=0.01, env_overrides={"POLL_MIN_WAIT_SECONDS": "5"}) as p:
        job = p.run({"prompt": "a boat", "model": "gen4.5"})
        job.status, job.record, job.manifest, p.simulator.created_tasks(), p.events()
        p.async_invocations("S3TriggerFunction")  # deliveries of S3 notifications, each with .wait()
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import mimetypes
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from local import lambdas, moto_gaps
from local.simulator import RunwaySimulator, SimulatorConfig
from local.stack import ACCOUNT_ID, DEFAULT_REGION, TEMPLATE_PATH, LocalStack, deploy_stack
from local.timescale import ScaledClock

RUNWAY_DEFAULT_URL = "https://api.dev.runwayml.com"
SIMULATOR_API_KEY = "local-simulator-key"
LOCAL_CALLER = f"arn:aws:iam::{ACCOUNT_ID}:user/local-runner"
DEMO_TIME_SCALE = 0.1
FINAL_EXECUTION_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
INPUT_FIELDS = ("image", "last_image", "video", "character", "reference")
VIDEO_EXTENSIONS = {".mp4", ".mov", ".webm", ".m4v"}

log = logging.getLogger(__name__)


class RunnerError(Exception):
    """The local pipeline cannot start or run a job (bad arguments, missing key, refused request...)."""


@dataclass
class JobResult:
    """How a job ended: the execution, the job record, the manifest and the archived keys."""

    job_id: str
    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    record: dict[str, Any] | None
    manifest: dict[str, Any] | None
    output_keys: list[str]
    seconds: float
    files: list[Path] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def video(self) -> Path | None:
        """The first downloaded video output (after :meth:`LocalPipeline.download`)."""
        return next((f for f in self.files if f.suffix.lower() in VIDEO_EXTENSIONS), None)


@dataclass(frozen=True)
class Progress:
    """One observed change of a job, for progress display."""

    job_id: str
    elapsed: float
    status: str
    progress: float | None
    execution_status: str


class LocalPipeline:
    """The pipeline in one process: moto, the template's resources, the real handlers and a Runway server.

    ``time_scale`` compresses Wait states, Retry backoff and the simulator's generation times (1.0 = real).
    ``env_overrides`` are applied over the template's function environment (e.g. ``DEADLINE_SECONDS``).
    ``runway_url``/``runway_api_key``: use that Runway server instead of starting the simulator.
    """

    def __init__(
        self,
        *,
        time_scale: float = 0.01,
        env_overrides: Mapping[str, str] | None = None,
        parameters: Mapping[str, Any] | None = None,
        simulator_config: Any = None,
        runway_url: str | None = None,
        runway_api_key: str | None = None,
        template_path: Path | str = TEMPLATE_PATH,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.time_scale = time_scale
        self.env_overrides = dict(env_overrides or {})
        self.parameters = dict(parameters or {})
        self.simulator_config = simulator_config
        self.runway_url = runway_url
        self.runway_api_key = runway_api_key
        self.template_path = Path(template_path)
        self.region = region
        self.simulator: Any = None
        self.stack: LocalStack | None = None
        self.session: Any = None
        self._loaded: lambdas.LoadedFunctions | None = None
        self._undo: list[Callable[[], None]] = []
        self._started: dict[str, float] = {}

    def __enter__(self) -> LocalPipeline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LocalPipeline:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        if self.runway_url is None:
            base = self.simulator_config or SimulatorConfig(seed=0)
            config = dataclasses.replace(
                base, time_scale=self.time_scale, api_key=base.api_key or SIMULATOR_API_KEY
            )
            self.simulator = RunwaySimulator(config)
            self.runway_url = self.simulator.start()
            self._undo.append(self.simulator.stop)
            self.runway_api_key = config.api_key
        if not self.runway_api_key:
            raise RunnerError("no Runway API key: set RUNWAYML_API_SECRET")
        mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        mock.start()
        self._undo.append(mock.stop)
        moto_gaps.install(self.time_scale)
        self._undo.append(moto_gaps.uninstall)
        self.session = boto3.Session(region_name=self.region)
        # The template's RUNWAYML_BASE_URL is empty for the SDK default, which is what --live wants.
        base_url = "" if self.runway_url == RUNWAY_DEFAULT_URL else self.runway_url
        self.stack = deploy_stack(
            self.session,
            template_path=self.template_path,
            parameters=self.parameters,
            env_overrides={"RUNWAYML_BASE_URL": base_url, **self.env_overrides},
            runway_api_key=self.runway_api_key,
            region=self.region,
        )
        self._loaded = lambdas.load_functions(
            self.stack.functions,
            extra_env={"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region},
            clock=None if self.time_scale == 1 else ScaledClock(self.time_scale),
        )
        self._undo.append(self._loaded.close)

    def close(self) -> None:
        if self._loaded is not None:
            # Event deliveries still running (S3 trigger, notify) finish first: they may start executions.
            self._loaded.quiesce()
        if self.stack is not None:
            try:
                running = self.sfn.list_executions(
                    stateMachineArn=self.stack.state_machine_arn, statusFilter="RUNNING"
                )
                for execution in running["executions"]:
                    self.sfn.stop_execution(
                        executionArn=execution["executionArn"], error="LocalPipelineClosed"
                    )
            except Exception:
                log.exception("could not stop running executions")
        while self._undo:
            try:
                self._undo.pop()()
            except Exception:  # keep tearing down the rest
                log.exception("local pipeline teardown step failed")
        self.stack = None

    # --- resources ------------------------------------------------------------------------------------

    @property
    def stack_(self) -> LocalStack:
        if self.stack is None:
            raise RunnerError("the local pipeline is not started")
        return self.stack

    @property
    def bucket(self) -> str:
        return self.stack_.bucket

    @property
    def s3(self) -> Any:
        return self.session.client("s3", region_name=self.region)

    @property
    def sfn(self) -> Any:
        return self.session.client("stepfunctions", region_name=self.region)

    @property
    def jobs_table(self) -> Any:
        return self.session.resource("dynamodb", region_name=self.region).Table(self.stack_.jobs_table)

    @property
    def output_prefix(self) -> str:
        return next(iter(self.stack_.functions.values())).environment.get("OUTPUT_PREFIX", "outputs/")

    def function(self, logical_id: str) -> lambdas.LocalFunction:
        """The in-process function of ``logical_id`` (its ``handler`` may be wrapped by tests)."""
        if self._loaded is None:
            raise RunnerError("the local pipeline is not started")
        return self._loaded.functions[logical_id]

    def async_invocations(self, logical_id: str | None = None) -> list[lambdas.AsyncInvocation]:
        """Asynchronous invocations so far (S3 notifications, EventBridge rules, ``Event`` invokes)."""
        if logical_id is not None:
            return self.function(logical_id).async_invocations()
        if self._loaded is None:
            raise RunnerError("the local pipeline is not started")
        return self._loaded.async_invocations()

    def events(self) -> list[dict[str, Any]]:
        """Every event sent to the pipeline's bus so far, oldest first."""
        return self.stack_.events()

    def execution_arn(self, job_id: str) -> str:
        return f"{self.stack_.state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job record, as plain Python values."""
        item = self.jobs_table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def history(self, job_id: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=self.execution_arn(job_id)
        )
        return [event for page in pages for event in page["events"]]

    # --- running jobs ---------------------------------------------------------------------------------

    def upload_input(self, path: Path | str) -> str:
        """Put a local file under ``uploads/<random id>/`` in the bucket; returns its ``s3://`` URI."""
        path = Path(path).expanduser()
        key = f"uploads/{uuid.uuid4()}/{path.name}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        return f"s3://{self.bucket}/{key}"

    def call_api(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """Invoke the template's API function with an API Gateway REST proxy event; (status, JSON body)."""
        if self.stack_.api_function is None:
            raise RunnerError("the template has no function behind a REST API")
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        event = {
            "resource": self.stack_.api_resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "pathParameters": {"proxy": path.lstrip("/")},
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "requestId": str(uuid.uuid4()),
                "stage": "local",
                "resourcePath": self.stack_.api_resource,
                "httpMethod": method,
                "path": path,
                "identity": {"userArn": LOCAL_CALLER, "sourceIp": "127.0.0.1"},
            },
            "body": None if body is None else json.dumps(body),
            "isBase64Encoded": False,
        }
        name = self.function(self.stack_.api_function).spec.name
        answer = self.session.client("lambda", region_name=self.region).invoke(
            FunctionName=name, Payload=json.dumps(event).encode()
        )
        payload = json.loads(answer["Payload"].read())
        if "FunctionError" in answer:
            raise RunnerError(
                f"the API function failed: {payload.get('errorType')}: {payload.get('errorMessage')}"
            )
        return int(payload["statusCode"]), json.loads(payload["body"]) if payload.get("body") else None

    def start_job(
        self, request: Mapping[str, Any], *, idempotency_key: str | None = None, source: str | None = None
    ) -> str:
        """POST the request to ``/generations`` (local files uploaded first); returns the job id.

        ``source`` is ignored (kept for older callers): the API records every job it starts as ``api``.
        """
        prepared = dict(request)
        for name in INPUT_FIELDS:
            value = prepared.get(name)
            if isinstance(value, str | Path) and _is_local_file(str(value)):
                prepared[name] = self.upload_input(value)
        started = time.monotonic()
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        status, answer = self.call_api("POST", "/generations", prepared, headers)
        if status != 202:
            answer = answer or {}
            problems = "".join(
                f"\n  - {problem}" for problem in answer.get("errors") or [answer.get("message")]
            )
            raise RunnerError(f"the API refused the request ({status} {answer.get('code')}):{problems}")
        self._started[answer["job_id"]] = started
        return str(answer["job_id"])

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        interval: float = 0.05,
    ) -> JobResult:
        """Block until the execution ends; ``on_progress`` sees each change of status or progress."""
        started = self._started.get(job_id, time.monotonic())
        arn = self.execution_arn(job_id)
        last = None
        while True:
            execution = self.sfn.describe_execution(executionArn=arn)
            record = self.job(job_id) or {}
            seen = (record.get("status"), _percent(record.get("progress")), execution["status"])
            if on_progress is not None and seen != last:
                elapsed = time.monotonic() - started
                status = str(record.get("status", "?"))
                on_progress(Progress(job_id, elapsed, status, record.get("progress"), execution["status"]))
            last = seen
            if execution["status"] in FINAL_EXECUTION_STATUSES:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                self.sfn.stop_execution(executionArn=arn, error="LocalTimeout", cause=f"waited {timeout} s")
                raise TimeoutError(f"job {job_id} still {record.get('status')} after {timeout} s")
            time.sleep(interval)
        return self._result(job_id, execution, time.monotonic() - started)

    def run(
        self,
        request: Mapping[str, Any],
        *,
        source: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> JobResult:
        """Start a job and wait for it to end."""
        return self.wait(self.start_job(request, source=source), timeout=timeout, on_progress=on_progress)

    def _result(self, job_id: str, execution: Mapping[str, Any], seconds: float) -> JobResult:
        error, cause = execution.get("error"), execution.get("cause")
        if execution["status"] != "SUCCEEDED" and error is None:
            details = [v for e in self.history(job_id) for k, v in e.items() if k.startswith("execution")]
            error, cause = (details[-1].get("error"), details[-1].get("cause")) if details else (None, None)
        keys = self.archived_keys(job_id)
        manifests = [key for key in keys if key.endswith(".json")]
        return JobResult(
            job_id=job_id,
            execution_arn=execution["executionArn"],
            status=execution["status"],
            error=error,
            cause=cause,
            output=json.loads(execution["output"]) if execution.get("output") else None,
            record=self.job(job_id),
            manifest=self.read_json(manifests[0]) if manifests else None,
            output_keys=sorted((key for key in keys if key not in manifests), key=_output_order),
            seconds=seconds,
        )

    def read_json(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.read_object(key)))
        except self.s3.exceptions.NoSuchKey:
            return None

    def read_object(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def archived_keys(self, job_id: str) -> list[str]:
        """Every key under ``<output prefix><job id>/``."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.output_prefix}{job_id}/"
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def download(self, result: JobResult, destination: Path | str) -> list[Path]:
        """Copy the job's archived files (outputs first, in order, then the rest) into ``destination``."""
        folder = Path(destination)
        folder.mkdir(parents=True, exist_ok=True)
        keys = result.output_keys + [
            k for k in self.archived_keys(result.job_id) if k not in result.output_keys
        ]
        result.files = [folder / key.rsplit("/", 1)[-1] for key in keys]
        for key, target in zip(keys, result.files, strict=True):
            self.s3.download_file(self.bucket, key, str(target))
        return result.files


def _plain(value: Any) -> Any:
    """A DynamoDB item as plain values: Decimal -> int or float, sets -> sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, set) else items
    return value


def _output_order(key: str) -> tuple[int, str]:
    stem = key.rsplit("/", 1)[-1].split(".", maxsplit=1)[0]
    return (int(stem), key) if stem.isdigit() else (1 << 30, key)


def _percent(value: Any) -> int | None:
    return None if value is None else round(float(value) * 100)


def _is_local_file(value: str) -> bool:
    return "://" not in value and not value.startswith("data:") and Path(value).expanduser().is_file()


# --- command line -----------------------------------------------------------------------------------------


def _write(line: str, stream: Any = None) -> None:
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


class _ProgressPrinter:
    """One line per change of what is shown: job status and Runway progress."""

    def __init__(self) -> None:
        self._last: str | None = None

    def __call__(self, update: Progress) -> None:
        percent = _percent(update.progress)
        shown = update.status if percent is None else f"{update.status:<10} {percent:3d}%"
        if shown != self._last:
            self._last = shown
            _write(f"[{update.elapsed:6.1f}s] {shown}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.runner",
        description="Run one video generation through the deployed API, state machine and handlers, locally.",
    )
    parser.add_argument("--prompt", help="text prompt")
    parser.add_argument("--model", help="Runway model (default: the template's DefaultModel)")
    for name in INPUT_FIELDS:
        flag = name.replace("_", "-")
        parser.add_argument(f"--{flag}", dest=name, help=f"{name} input: a URL, an s3:// URI or a local file")
    parser.add_argument("--ratio", help="output ratio, e.g. 1280:720")
    parser.add_argument("--duration", type=lambda v: v if v == "auto" else int(v), help="seconds, or auto")
    parser.add_argument("--seed", type=int, help="generation seed")
    parser.add_argument(
        "--idempotency-key", help="the API's Idempotency-Key: the same key gives the same job"
    )
    parser.add_argument(
        "--out", default="out", type=Path, help="folder for the archived files (default: out)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        help=f"real seconds per simulated second (default {DEMO_TIME_SCALE}; 1 with another Runway)",
    )
    parser.add_argument("--timeout", type=float, help="give up after this many real seconds")
    parser.add_argument(
        "--live",
        action="store_true",
        help="call the real Runway API with RUNWAYML_API_SECRET (spends credits)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the handlers' and moto's logs")
    args = parser.parse_args(argv)
    if not any(getattr(args, name) for name in ("prompt", *INPUT_FIELDS)):
        parser.error("give a --prompt and/or an input (--image, --video, --character, --reference)")
    return args


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    names = ("model", "prompt", *INPUT_FIELDS, "ratio", "duration", "seed")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def pipeline_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> LocalPipeline:
    env_overrides = {} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    url = RUNWAY_DEFAULT_URL if args.live else environ.get("RUNWAYML_BASE_URL")
    if not url:
        return LocalPipeline(time_scale=args.time_scale or DEMO_TIME_SCALE, env_overrides=env_overrides)
    key = environ.get("RUNWAYML_API_SECRET")
    if not key:
        raise RunnerError(f"{'--live' if args.live else url} needs RUNWAYML_API_SECRET (your Runway API key)")
    if args.live:
        _write(
            f"WARNING: --live calls the real Runway API ({url}) with your key: "
            "this generation spends credits on your Runway account.",
            sys.stderr,
        )
    else:
        _write(f"using the Runway server at {url} (RUNWAYML_BASE_URL)", sys.stderr)
    return LocalPipeline(
        time_scale=args.time_scale or 1.0, env_overrides=env_overrides, runway_url=url, runway_api_key=key
    )


def _quiet_logs(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    if not verbose:
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # moto logs every Catch it takes as a warning with a stack of internals.
        for name in ("moto", "botocore", "urllib3", "httpx", "samtranslator"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    _quiet_logs(args.verbose)
    try:
        pipeline = pipeline_from_args(args, os.environ if environ is None else environ)
        with pipeline:
            request = build_request(args)
            job_id = pipeline.start_job(request, idempotency_key=args.idempotency_key)
            where = "the Runway simulator" if pipeline.simulator is not None else pipeline.runway_url
            _write(f"job {job_id}: {json.dumps(request)}")
            _write(f"running on moto + {where} (time scale {pipeline.time_scale:g})")
            result = pipeline.wait(job_id, timeout=args.timeout, on_progress=_ProgressPrinter())
            if not result.succeeded:
                _write(f"job {job_id} ended {result.status}: {result.error}")
                if result.cause:
                    _write(f"cause: {_readable_cause(result.cause)}")
                return 1
            files = pipeline.download(result, args.out / job_id)
    except RunnerError as exc:
        _write(f"error: {exc}", sys.stderr)
        return 2
    credits = (result.record or {}).get("credits_charged")
    spent = f", {credits} credits" if credits is not None else ""
    _write(f"archived {len(result.output_keys)} output(s) in {result.seconds:.1f}s{spent}")
    for path in files:
        _write(f"  {path}")
    if result.video is None and not files:
        _write("no output was archived")
        return 1
    _write(f"video: {result.video or files[0]}")
    return 0


def _readable_cause(cause: str) -> str:
    """A Lambda error cause is the runtime's JSON payload: show its message."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and "errorMessage" in payload:
        return f"{payload.get('errorType')}: {payload['errorMessage']}"
    return cause


if __name__ == "__main__":
    sys.exit(main())
