"""Run one generation end to end on this machine: moto + the deployed ASL + the real handlers + Runway.

``python -m local.runner --prompt "..." [--model M] [--image I] [--video V] [--ratio R] [--duration D]``

Runway is the project's simulator, started on a free port, unless ``RUNWAYML_BASE_URL`` is set (that server
with ``RUNWAYML_API_SECRET``) or ``--live`` is given (the real API at the SDK's default URL; spends credits).
Local files given as inputs are uploaded to the local bucket under ``uploads/<job id>/`` and passed as
``s3://`` URIs; URLs pass through. Archived files are copied to ``out/<job id>/``; the last line printed is
``video: <path>``.

Objects put under the input prefix start jobs through the S3 trigger, and every ending reaches the notify
function, as on AWS (both asynchronous; see ``local.stack`` and ``local.lambdas``).

Python API (what the end-to-end tests use)::

    with LocalPipeline(time_scale=0.01, env_overrides={"POLL_MIN_WAIT_SECONDS": "5"}) as p:
        job = p.run({"prompt": "a boat", "model": "gen4.5"}, source="cli")
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
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.core.config import DefaultConfig

from local import lambdas, timescale
from local.simulator import RunwaySimulator, SimulatorConfig
from local.stack import DEFAULT_REGION, ROOT, TEMPLATE_PATH, LocalStack, deploy_stack

LAYER_DIR = ROOT / "layers" / "shared"
if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from videogen.core.job import JobStatus  # noqa: E402 - lives in the layer folder added above
from videogen.storage.job_store import JobStore  # noqa: E402

RUNWAY_DEFAULT_URL = "https://api.dev.runwayml.com"
SIMULATOR_API_KEY = "local-simulator-key"
DEMO_TIME_SCALE = 0.1
FINAL_EXECUTION_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
INPUT_FIELDS = ("image", "last_image", "video", "character", "reference")
VIDEO_EXTENSIONS = {".mp4", ".mov", ".webm", ".m4v"}
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

log = logging.getLogger(__name__)


class RunnerError(Exception):
    """The local pipeline cannot start (bad arguments, missing key, ...)."""


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
        videos = [f for f in self.files if f.suffix.lower() in VIDEO_EXTENSIONS]
        return videos[0] if videos else None


@dataclass(frozen=True)
class Progress:
    """One observed change of a job, for progress display."""

    job_id: str
    elapsed: float
    status: str
    progress: float | None
    execution_status: str


class LocalPipeline:
    """The pipeline in one process: moto (S3, DynamoDB, Secrets Manager, EventBridge, SQS, Step Functions),
    the template's resources, the real handlers in-process and a Runway server.

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
        self._mock: Any = None
        self._loaded: lambdas.LoadedFunctions | None = None
        self._installed: list[Callable[[], None]] = []
        self._started: dict[str, float] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> LocalPipeline:
        self.start()
        return self

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
            self._installed.append(self.simulator.stop)
            self.runway_api_key = config.api_key
        if not self.runway_api_key:
            raise RunnerError("no Runway API key: set RUNWAYML_API_SECRET")

        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self._installed.append(self._mock.stop)
        timescale.install(self.time_scale)
        self._installed.append(timescale.uninstall)
        lambdas.install()
        self._installed.append(lambdas.uninstall)

        self.session = boto3.Session(region_name=self.region)
        # The template's RUNWAYML_BASE_URL is empty for the SDK default, which is what --live wants.
        base_url = "" if self.runway_url == RUNWAY_DEFAULT_URL else self.runway_url
        env = {"RUNWAYML_BASE_URL": base_url, **self.env_overrides}
        self.stack = deploy_stack(
            self.session,
            template_path=self.template_path,
            parameters=self.parameters,
            env_overrides=env,
            runway_api_key=self.runway_api_key,
            region=self.region,
        )
        self._loaded = lambdas.load_functions(
            self.stack.functions,
            required=self.stack.pipeline_functions,
            extra_env={"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region},
            clock=None if self.time_scale == 1 else timescale.ScaledClock(self.time_scale),
        )
        self._installed.append(self._loaded.close)

    def close(self) -> None:
        if self._loaded is not None:
            # Event deliveries still running (S3 trigger, notify) finish first: they may start executions.
            self._loaded.quiesce()
        if self.stack is not None and self._mock is not None:
            self._stop_running_executions()
        while self._installed:
            undo = self._installed.pop()
            try:
                undo()
            except Exception:  # keep tearing down the rest
                log.exception("local pipeline teardown step failed")
        self.stack = None

    def _stop_running_executions(self) -> None:
        try:
            sfn = self.sfn
            listing = sfn.list_executions(
                stateMachineArn=self.stack_.state_machine_arn, statusFilter="RUNNING"
            )
            for execution in listing.get("executions", []):
                sfn.stop_execution(executionArn=execution["executionArn"], error="LocalPipelineClosed")
        except Exception:
            log.exception("could not stop running executions")

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
        if self._loaded is None:
            raise RunnerError("the local pipeline is not started")
        if logical_id is not None:
            return self.function(logical_id).async_invocations()
        return self._loaded.async_invocations()

    def events(self) -> list[dict[str, Any]]:
        """Every event sent to the pipeline's bus so far, oldest first."""
        return self.stack_.events()

    def execution_arn(self, job_id: str) -> str:
        arn = self.stack_.state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{arn}:{job_id}"

    def job(self, job_id: str) -> dict[str, Any] | None:
        return JobStore(self.jobs_table).get(job_id)

    def history(self, job_id: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=self.execution_arn(job_id)
        )
        return [event for page in pages for event in page["events"]]

    # --- running jobs ---------------------------------------------------------------------------------

    @staticmethod
    def new_job_id() -> str:
        return str(uuid.uuid4())

    def upload_input(self, job_id: str, path: Path | str) -> str:
        """Put a local file under ``uploads/<job id>/`` in the bucket; returns its ``s3://`` URI."""
        path = Path(path)
        key = f"uploads/{job_id}/{path.name}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})
        return f"s3://{self.bucket}/{key}"

    def prepare_request(self, job_id: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The request with every input that names a local file replaced by an uploaded ``s3://`` URI."""
        prepared = dict(request)
        for name in INPUT_FIELDS:
            value = prepared.get(name)
            if isinstance(value, str | Path) and _is_local_file(str(value)):
                prepared[name] = self.upload_input(job_id, Path(str(value)).expanduser())
        return prepared

    def start_job(self, request: Mapping[str, Any], *, source: str = "cli", job_id: str | None = None) -> str:
        """Write the QUEUED job record and start the execution (name = job id); returns the job id."""
        job_id = job_id or self.new_job_id()
        prepared = self.prepare_request(job_id, request)
        JobStore(self.jobs_table).update(
            job_id, {"status": JobStatus.QUEUED.value}, set_if_missing={"request": prepared, "source": source}
        )
        self._started[job_id] = time.monotonic()
        self.sfn.start_execution(
            stateMachineArn=self.stack_.state_machine_arn,
            name=job_id,
            input=json.dumps({"job_id": job_id, "request": prepared, "source": source}),
        )
        return job_id

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
        last: tuple[Any, ...] | None = None
        while True:
            execution = self.sfn.describe_execution(executionArn=arn)
            record = self.job(job_id) or {}
            seen = (record.get("status"), _percent(record.get("progress")), execution["status"])
            if on_progress is not None and seen != last:
                on_progress(
                    Progress(
                        job_id=job_id,
                        elapsed=time.monotonic() - started,
                        status=str(record.get("status", "?")),
                        progress=record.get("progress"),
                        execution_status=execution["status"],
                    )
                )
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
        source: str = "cli",
        job_id: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> JobResult:
        """Start a job and wait for it to end."""
        job_id = self.start_job(request, source=source, job_id=job_id)
        return self.wait(job_id, timeout=timeout, on_progress=on_progress)

    def _result(self, job_id: str, execution: Mapping[str, Any], seconds: float) -> JobResult:
        output = json.loads(execution["output"]) if execution.get("output") else None
        error, cause = execution.get("error"), execution.get("cause")
        if execution["status"] != "SUCCEEDED" and error is None:
            error, cause = self._failure_from_history(job_id)
        record = self.job(job_id)
        manifest_key = (record or {}).get("manifest_key") or f"{self.output_prefix}{job_id}/job.json"
        manifest = self.read_json(manifest_key)
        output_keys = list((record or {}).get("output_keys") or [])
        return JobResult(
            job_id=job_id,
            execution_arn=execution["executionArn"],
            status=execution["status"],
            error=error,
            cause=cause,
            output=output,
            record=record,
            manifest=manifest,
            output_keys=output_keys,
            seconds=seconds,
        )

    def _failure_from_history(self, job_id: str) -> tuple[str | None, str | None]:
        for event in reversed(self.history(job_id)):
            for key in (
                "executionFailedEventDetails",
                "executionAbortedEventDetails",
                "executionTimedOutEventDetails",
            ):
                if key in event:
                    return event[key].get("error"), event[key].get("cause")
        return None, None

    def read_json(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def read_object(self, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def archived_keys(self, job_id: str) -> list[str]:
        """Every key under ``<output prefix><job id>/``."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.output_prefix}{job_id}/"
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def download(self, result: JobResult, destination: Path | str) -> list[Path]:
        """Copy the job's archived files (outputs first, in order, then job.json) into ``destination``."""
        folder = Path(destination)
        folder.mkdir(parents=True, exist_ok=True)
        keys = list(result.output_keys) or [
            k for k in self.archived_keys(result.job_id) if not k.endswith(".json")
        ]
        keys = sorted(keys, key=_output_order) + [
            k for k in self.archived_keys(result.job_id) if k not in keys
        ]
        files = []
        for key in keys:
            target = folder / key.rsplit("/", 1)[-1]
            self.s3.download_file(self.bucket, key, str(target))
            files.append(target)
        result.files = files
        return files


def _output_order(key: str) -> tuple[int, str]:
    stem = key.rsplit("/", 1)[-1].split(".", maxsplit=1)[0]
    return (int(stem), key) if stem.isdigit() else (1 << 30, key)


def _percent(value: Any) -> int | None:
    return None if value is None else round(float(value) * 100)


def _is_local_file(value: str) -> bool:
    if "://" in value or value.startswith("data:"):
        return False
    return Path(value).expanduser().is_file()


# --- command line -----------------------------------------------------------------------------------------


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _warn(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


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


def _duration(value: str) -> int | str:
    return value if value == "auto" else int(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.runner",
        description="Run one video generation through the deployed state machine and handlers, locally.",
    )
    parser.add_argument("--prompt", help="text prompt")
    parser.add_argument("--model", help="Runway model (default: the template's DefaultModel)")
    for name in INPUT_FIELDS:
        flag = name.replace("_", "-")
        parser.add_argument(f"--{flag}", dest=name, help=f"{name} input: a URL, an s3:// URI or a local file")
    parser.add_argument("--ratio", help="output ratio, e.g. 1280:720")
    parser.add_argument("--duration", type=_duration, help="seconds, or auto")
    parser.add_argument("--seed", type=int, help="generation seed")
    parser.add_argument("--job-id", help="job id (default: a new UUID)")
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
    request: dict[str, Any] = {}
    for name in ("model", "prompt", *INPUT_FIELDS, "ratio", "duration", "seed"):
        value = getattr(args, name, None)
        if value is not None:
            request[name] = value
    return request


def pipeline_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> LocalPipeline:
    env_overrides = {} if args.verbose else {"POWERTOOLS_LOG_LEVEL": "CRITICAL"}
    if args.live:
        key = environ.get("RUNWAYML_API_SECRET")
        if not key:
            raise RunnerError("--live needs RUNWAYML_API_SECRET (your Runway API key)")
        _warn(
            f"WARNING: --live calls the real Runway API ({RUNWAY_DEFAULT_URL}) with your key: "
            "this generation spends credits on your Runway account."
        )
        return LocalPipeline(
            time_scale=args.time_scale or 1.0,
            env_overrides=env_overrides,
            runway_url=RUNWAY_DEFAULT_URL,
            runway_api_key=key,
        )
    url = environ.get("RUNWAYML_BASE_URL")
    if url:
        key = environ.get("RUNWAYML_API_SECRET")
        if not key:
            raise RunnerError(f"RUNWAYML_BASE_URL={url} needs RUNWAYML_API_SECRET")
        _warn(f"using the Runway server at {url} (RUNWAYML_BASE_URL)")
        return LocalPipeline(
            time_scale=args.time_scale or 1.0,
            env_overrides=env_overrides,
            runway_url=url,
            runway_api_key=key,
        )
    return LocalPipeline(time_scale=args.time_scale or DEMO_TIME_SCALE, env_overrides=env_overrides)


def _quiet_logs(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    if not verbose:
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # moto logs every Catch it takes as a warning with a stack of internals.
        for name in ("moto", "botocore", "urllib3", "httpx"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    environ = os.environ if environ is None else environ
    _quiet_logs(args.verbose)
    try:
        pipeline = pipeline_from_args(args, environ)
    except RunnerError as exc:
        _warn(f"error: {exc}")
        return 2
    request = build_request(args)
    with pipeline:
        where = "the Runway simulator" if pipeline.simulator is not None else pipeline.runway_url
        job_id = pipeline.start_job(request, source="cli", job_id=args.job_id)
        _write(f"job {job_id}: {json.dumps(request)}")
        _write(f"running on moto + {where} (time scale {pipeline.time_scale:g})")
        result = pipeline.wait(job_id, timeout=args.timeout, on_progress=_ProgressPrinter())
        if not result.succeeded:
            _write(f"job {job_id} ended {result.status}: {result.error}")
            if result.cause:
                _write(f"cause: {_readable_cause(result.cause)}")
            return 1
        files = pipeline.download(result, args.out / job_id)
    credits = (result.record or {}).get("credits_charged")
    spent = f", {credits} credits" if credits is not None else ""
    _write(f"archived {len(result.output_keys)} output(s) in {result.seconds:.1f}s{spent}")
    for path in files:
        _write(f"  {path}")
    video = result.video or (files[0] if files else None)
    if video is None:
        _write("no output was archived")
        return 1
    _write(f"video: {video}")
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
