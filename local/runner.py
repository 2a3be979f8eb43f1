"""Run one generation end to end on this machine: moto + the deployed template + the real handlers + Runway.

``python -m local.runner --prompt "..." [--model M] [--image I] [--video V] [--ratio R] [--duration D]
[--time-scale S] [--out DIR] [--live] [--verbose]``

Jobs start as on AWS: the request is POSTed to ``/generations`` of the template's API function (an API
Gateway proxy event, invoked through moto), then the execution named by the answered job id is followed.
Local input files are first put in the bucket under ``uploads/``. Archived files are copied to
``out/<job id>/``; the last line printed is ``video: <path>``. Runway is the project's simulator unless
``RUNWAYML_BASE_URL`` is set (that server, with ``RUNWAYML_API_SECRET``) or ``--live`` is given (the real
API; spends credits). ``LocalPipeline`` is what the end-to-end tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto import mock_aws
from moto.core.config import DefaultConfig

from local import lambdas, moto_gaps
from local.simulator import RunwaySimulator, SimulatorConfig
from local.stack import ACCOUNT_ID, DEFAULT_REGION, LocalStack, deploy_stack, new_session
from local.timescale import ScaledClock

RUNWAY_DEFAULT_URL = "https://api.dev.runwayml.com"
SIMULATOR_API_KEY = "local-simulator-key"
#: The IAM principal the runner's API requests carry: the owner of the jobs it starts through the API.
LOCAL_CALLER = f"arn:aws:iam::{ACCOUNT_ID}:user/local-runner"
DEMO_TIME_SCALE = 0.1
FINAL_EXECUTION_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
INPUT_FIELDS = ("image", "last_image", "video", "character", "reference")
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

log = logging.getLogger(__name__)


class RunnerError(Exception):
    """The local pipeline cannot start or run a job (missing key, refused request...)."""


@dataclass
class JobResult:
    """How a job ended: the execution, the job record, the manifest and the archived keys."""

    job_id: str
    status: str
    error: str | None
    cause: str | None
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
        """The first downloaded output the manifest calls a video (after :meth:`LocalPipeline.download`)."""
        outputs = (self.manifest or {}).get("outputs", [])
        videos = {o["key"].rsplit("/", 1)[-1] for o in outputs if o["content_type"].startswith("video/")}
        return next((f for f in self.files if f.name in videos), None)


class LocalPipeline:
    """The pipeline in one process: moto, the template's resources, the real handlers and a Runway server.

    ``time_scale`` compresses Wait states, Retry backoff, the handlers' clock and the simulator's generation
    times (1.0 = real). ``env_overrides`` are applied over every function's environment.
    ``runway_url``/``runway_api_key``: use that Runway server instead of starting the simulator.
    ``parameters``: template parameters over ``local.stack.LOCAL_PARAMETERS``.
    """

    def __init__(
        self,
        *,
        time_scale: float = 0.01,
        env_overrides: Mapping[str, str] | None = None,
        runway_url: str | None = None,
        runway_api_key: str = SIMULATOR_API_KEY,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.time_scale = time_scale
        self.parameters = dict(parameters or {})
        self.env_overrides = dict(env_overrides or {})
        self.runway_url = runway_url
        self.runway_api_key = runway_api_key
        self.region = DEFAULT_REGION
        self.simulator: RunwaySimulator | None = None
        self.stack: LocalStack | None = None
        self.session = new_session(self.region)
        self._functions: dict[str, lambdas.LocalFunction] = {}
        self._exit = contextlib.ExitStack()
        self._started: dict[str, float] = {}
        self._jobs_table: tuple[LocalStack, Any] | None = None  # one resource per stack (clients are costly)

    def __enter__(self) -> LocalPipeline:
        with contextlib.ExitStack() as stack:  # undone at once if starting fails
            if self.runway_url is None:
                config = SimulatorConfig(seed=0, time_scale=self.time_scale, api_key=self.runway_api_key)
                self.simulator = stack.enter_context(RunwaySimulator(config))
                self.runway_url = self.simulator.base_url
            stack.enter_context(mock_aws(config=MOTO_CONFIG))
            moto_gaps.install(self.time_scale)
            stack.callback(moto_gaps.uninstall)
            # The template's empty RUNWAYML_BASE_URL means the SDK default, which is what --live wants.
            base_url = "" if self.runway_url == RUNWAY_DEFAULT_URL else self.runway_url
            env = {"RUNWAYML_BASE_URL": base_url, **self.env_overrides}
            self.stack = deploy_stack(
                self.session,
                env_overrides=env,
                runway_api_key=self.runway_api_key,
                parameters=self.parameters,
            )
            clock = None if self.time_scale == 1 else ScaledClock(self.time_scale)
            region = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
            self._functions = stack.enter_context(
                lambdas.loaded(self.stack.functions, extra_env=region, clock=clock)
            )
            self._exit = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            # Event deliveries still running (S3 trigger, notify) finish first: they may start executions.
            lambdas.quiesce(self._functions.values())
            running = self.sfn.list_executions(
                stateMachineArn=self.stack_.state_machine_arn, statusFilter="RUNNING"
            )
            for execution in running["executions"]:
                try:
                    self.sfn.stop_execution(
                        executionArn=execution["executionArn"], error="LocalPipelineClosed"
                    )
                except Exception as error:  # it ended meanwhile, or had not really started yet
                    log.warning("could not stop %s: %s", execution["executionArn"], error)
        finally:
            self.stack = None
            self._exit.close()

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
        return self.stack_.client("s3")

    @property
    def sfn(self) -> Any:
        return self.stack_.client("stepfunctions")

    @property
    def jobs_table(self) -> Any:
        stack = self.stack_
        if self._jobs_table is None or self._jobs_table[0] is not stack:
            table = self.session.resource("dynamodb", region_name=self.region).Table(stack.jobs_table)
            self._jobs_table = (stack, table)
        return self._jobs_table[1]

    @property
    def output_prefix(self) -> str:
        return next(iter(self.stack_.functions.values())).environment.get("OUTPUT_PREFIX", "outputs/")

    def function(self, logical_id: str) -> lambdas.LocalFunction:
        """The in-process function of ``logical_id`` (its ``handler`` may be wrapped by tests)."""
        return self._functions[logical_id]

    def async_invocations(self, logical_id: str) -> list[lambdas.AsyncInvocation]:
        """The function's asynchronous invocations so far (S3 notifications, EventBridge rules, ``Event``)."""
        return self.function(logical_id).async_invocations()

    def events(self) -> list[dict[str, Any]]:
        """Every event sent to the pipeline's bus so far, oldest first."""
        return self.stack_.events()

    def dead_letters(self) -> list[dict[str, Any]]:
        """The records in the stack's dead-letter queue (consumed): events that failed every async retry."""
        sqs, url, letters = self.stack_.client("sqs"), self.stack_.refs["DeadLetterQueue"], []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                letters.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return letters

    def execution_arn(self, job_id: str) -> str:
        return f"{self.stack_.state_machine_arn.replace(':stateMachine:', ':execution:')}:{job_id}"

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job record as DynamoDB stores it (numbers are Decimals, sets stay sets)."""
        item = self.jobs_table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def history(self, job_id: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=self.execution_arn(job_id)
        )
        return [event for page in pages for event in page["events"]]

    # --- running jobs ---------------------------------------------------------------------------------

    def upload_input(self, path: Path | str) -> str:
        """Upload a local file the way an API client does (``POST /uploads``, then the PUT it describes);
        returns the ``s3://`` URI to put in the request."""
        path = Path(path).expanduser()
        answer = self.post("/uploads", {"filename": path.name, "size": path.stat().st_size})
        ticket = json.loads(answer.get("body") or "{}")
        if answer["statusCode"] != 201:
            raise RunnerError(f"the API refused {path.name}: {ticket.get('message')}")
        bucket, _, key = ticket["s3_uri"].removeprefix("s3://").partition("/")
        # The presigned PUT, made through boto3: moto answers boto3 in process, not a plain HTTP client.
        self.s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=ticket["headers"]["Content-Type"],
            IfNoneMatch="*",  # the ticket's If-None-Match: an upload is written once
        )
        return str(ticket["s3_uri"])

    def post(self, path: str, body: Any) -> Any:
        """POST ``body`` to the API function as an API Gateway REST proxy event; returns its answer."""
        if self.stack_.api_function is None:
            raise RunnerError("the template has no function behind a REST API")
        headers = {"Content-Type": "application/json"}
        event = {
            "resource": self.stack_.api_resource,
            "path": path,
            "httpMethod": "POST",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "pathParameters": {"proxy": path.lstrip("/")},
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "requestId": str(uuid.uuid4()),
                "stage": "local",
                "httpMethod": "POST",
                "path": path,
                "identity": {
                    "userArn": LOCAL_CALLER,
                    "sourceIp": "127.0.0.1",
                },
            },
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
        answer = self.stack_.client("lambda").invoke(
            FunctionName=self.function(self.stack_.api_function).spec.name, Payload=json.dumps(event)
        )
        payload = json.loads(answer["Payload"].read())
        if "FunctionError" in answer:
            raise RunnerError(f"the API function failed: {payload['errorType']}: {payload['errorMessage']}")
        return payload

    def start_job(self, request: Mapping[str, Any]) -> str:
        """POST the request to ``/generations`` (local files uploaded first); returns the job id."""
        prepared = dict(request)
        for name in INPUT_FIELDS:
            if name in prepared and _is_local_file(str(prepared[name])):
                prepared[name] = self.upload_input(prepared[name])
        started = time.monotonic()
        answer = self.post("/generations", prepared)
        body = json.loads(answer.get("body") or "{}")
        if answer["statusCode"] != 202:
            problems = "".join(f"\n  - {problem}" for problem in body.get("errors") or [body.get("message")])
            raise RunnerError(
                f"the API refused the request ({answer['statusCode']} {body.get('code')}):{problems}"
            )
        self._started[body["job_id"]] = started
        return str(body["job_id"])

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[float, dict[str, Any]], None] | None = None,
    ) -> JobResult:
        """Block until the execution ends; ``on_progress(elapsed, record)`` is called at every check."""
        started = self._started.get(job_id, time.monotonic())
        arn = self.execution_arn(job_id)
        while True:
            execution = self.sfn.describe_execution(executionArn=arn)
            if on_progress is not None:
                on_progress(time.monotonic() - started, self.job(job_id) or {})
            if execution["status"] in FINAL_EXECUTION_STATUSES:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                self.sfn.stop_execution(executionArn=arn, error="LocalTimeout", cause=f"waited {timeout} s")
                raise TimeoutError(f"job {job_id} still running after {timeout} s")
            time.sleep(0.05)
        keys = self.archived_keys(job_id)
        manifests = [key for key in keys if key.endswith(".json")]
        return JobResult(
            job_id=job_id,
            status=execution["status"],
            error=execution.get("error"),
            cause=execution.get("cause"),
            record=self.job(job_id),
            manifest=self.read_json(manifests[0]) if manifests else None,
            output_keys=sorted((key for key in keys if key not in manifests), key=_output_order),
            seconds=time.monotonic() - started,
        )

    def run(self, request: Mapping[str, Any], *, timeout: float | None = None) -> JobResult:
        """Start a job and wait for it to end."""
        return self.wait(self.start_job(request), timeout=timeout)

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

    def download(self, result: JobResult, destination: Path) -> list[Path]:
        """Copy the job's archived files (outputs first, in order, then the rest) into ``destination``."""
        destination.mkdir(parents=True, exist_ok=True)
        keys = result.output_keys + [
            k for k in self.archived_keys(result.job_id) if k not in result.output_keys
        ]
        result.files = [destination / key.rsplit("/", 1)[-1] for key in keys]
        for key, target in zip(keys, result.files, strict=True):
            self.s3.download_file(self.bucket, key, str(target))
        return result.files


def _output_order(key: str) -> tuple[int, str]:
    stem = key.rsplit("/", 1)[-1].split(".", maxsplit=1)[0]
    return (int(stem), key) if stem.isdigit() else (1 << 30, key)


def _is_local_file(value: str) -> bool:
    return "://" not in value and not value.startswith("data:") and Path(value).expanduser().is_file()


# --- command line -----------------------------------------------------------------------------------------


def _write(line: str, stream: Any = None) -> None:
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


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
    parser.add_argument(
        "--out", default="out", type=Path, help="folder for the archived files (default: out)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        help=f"real seconds per simulated second (default {DEMO_TIME_SCALE}; 1 with another Runway)",
    )
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


def pipeline_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> LocalPipeline:
    env_overrides = {} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    url = RUNWAY_DEFAULT_URL if args.live else environ.get("RUNWAYML_BASE_URL")
    if not url:
        return LocalPipeline(time_scale=args.time_scale or DEMO_TIME_SCALE, env_overrides=env_overrides)
    key = environ.get("RUNWAYML_API_SECRET")
    if not key:
        raise RunnerError(f"{url} needs RUNWAYML_API_SECRET (your Runway API key)")
    if args.live:
        _write(
            f"WARNING: --live calls the real Runway API ({url}): this generation spends credits.", sys.stderr
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
        for name in ("moto", "botocore", "urllib3", "httpx"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _progress_printer() -> Callable[[float, dict[str, Any]], None]:
    """Prints one line per change of the job's status or Runway progress."""
    last = None

    def show(elapsed: float, record: dict[str, Any]) -> None:
        nonlocal last
        status, progress = record.get("status", "?"), record.get("progress")
        line = status if progress is None else f"{status:<10} {round(float(progress) * 100):3d}%"
        if line != last:
            last = line
            _write(f"[{elapsed:6.1f}s] {line}")

    return show


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    _quiet_logs(args.verbose)
    fields = ("model", "prompt", *INPUT_FIELDS, "ratio", "duration")
    request = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    try:
        with pipeline_from_args(args, os.environ if environ is None else environ) as pipeline:
            job_id = pipeline.start_job(request)
            where = "the Runway simulator" if pipeline.simulator is not None else pipeline.runway_url
            _write(f"job {job_id}: {json.dumps(request)}")
            _write(f"running on moto + {where} (time scale {pipeline.time_scale:g})")
            result = pipeline.wait(job_id, on_progress=_progress_printer())
            files = pipeline.download(result, args.out / job_id) if result.succeeded else []
    except RunnerError as exc:
        _write(f"error: {exc}", sys.stderr)
        return 2
    if not result.succeeded:
        _write(f"job {job_id} ended {result.status}: {result.error}")
        if result.cause:
            _write(f"cause: {_readable_cause(result.cause)}")
        return 1
    credits = (result.record or {}).get("credits_charged")
    spent = "" if credits is None else f", {credits} credits"
    _write(f"archived {len(result.output_keys)} output(s) in {result.seconds:.1f}s{spent}")
    for path in files:
        _write(f"  {path}")
    _write(f"video: {result.video}" if result.video else "no video was archived")
    return 0 if result.video else 1


def _readable_cause(cause: str) -> str:
    """A Lambda error cause is the runtime's JSON payload: show its message."""
    try:
        payload = json.loads(cause)
        return f"{payload['errorType']}: {payload['errorMessage']}"
    except (ValueError, TypeError, KeyError):
        return cause


if __name__ == "__main__":
    sys.exit(main())
