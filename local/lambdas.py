"""Run the template's Lambda handlers in-process when moto's Step Functions interpreter invokes them.

``install()`` replaces ``LambdaSimpleBackend.invoke`` (used by ``mock_aws`` with ``lambda.use_docker=False``).
A function registered with :func:`load_functions` runs its real handler: its module is loaded from the
template's ``CodeUri`` + ``Handler`` under a unique module name, with the layer folders on ``sys.path`` and
a fresh copy of the layer packages, after the function's environment has been applied. Settings read at
import time therefore belong to one stack. An exception is answered as the Python runtime does, so
``Retry``/``Catch`` match on its class name. Functions that are not registered keep moto's behaviour.

``os.environ`` is process-wide: the environment is applied once, when a stack's functions are loaded, and
two stacks must not need different values at the same time (their handlers capture them at import).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from local.stack import FunctionSpec
from local.timescale import ScaledClock

log = logging.getLogger(__name__)

# What the Lambda service sets in every sandbox; X-Ray and metrics have nowhere to go locally.
RUNTIME_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}

_lock = threading.RLock()
_functions: dict[tuple[str, str, str], LocalFunction] = {}
_installs = 0
_original_invoke = LambdaSimpleBackend.invoke


class LambdaContext:
    """What the Python runtime passes as ``context``."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.spec.arn
        self.memory_limit_in_mb = function.spec.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.spec.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + function.spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LocalFunction:
    spec: FunctionSpec
    module: ModuleType
    handler: Callable[[Any, Any], Any]

    def invoke(self, body: Any, response_headers: dict[str, Any]) -> bytes:
        """Run the handler on a JSON body; an exception becomes an ``Unhandled`` error payload."""
        event = _parse(body)
        context = LambdaContext(self)
        started = time.monotonic()
        try:
            result = self.handler(event, context)
            payload = json.dumps(result).encode()
        except Exception as exc:  # the runtime reports every exception to the caller
            error = _error_payload(exc)
            if isinstance(exc, TypeError) and "JSON serializable" in str(exc):
                error["errorType"] = "Runtime.MarshalError"
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error).encode()
        elapsed = time.monotonic() - started
        if elapsed > self.spec.timeout:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
                    "errorType": "Sandbox.Timedout",
                }
            ).encode()
        return payload


def _parse(body: Any) -> Any:
    if body in (None, b"", ""):
        return {}
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8")
    return json.loads(body)


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _dispatch(  # noqa: PLR0917 - moto's signature
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    fn = self.get_function(function_name, qualifier)
    with _lock:
        local = _functions.get((fn.account_id, fn.region, fn.function_name))
    if local is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        threading.Thread(target=local.invoke, args=(body, {}), daemon=True).start()
        return b""
    payload = local.invoke(body, response_headers)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def install() -> None:
    """Route moto's Lambda invocations to registered handlers (nests; undo with :func:`uninstall`)."""
    global _installs  # noqa: PLW0603
    with _lock:
        _installs += 1
        if _installs == 1:
            LambdaSimpleBackend.invoke = _dispatch  # type: ignore[method-assign]


def uninstall() -> None:
    global _installs  # noqa: PLW0603
    with _lock:
        if _installs == 0:
            raise RuntimeError("local.lambdas is not installed")
        _installs -= 1
        if _installs == 0:
            LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]


@contextmanager
def installed() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()


def process_environment(specs: Iterable[FunctionSpec], required: set[str]) -> dict[str, str]:
    """The environment left in ``os.environ`` once every handler is imported.

    The ``required`` functions (the state machine's) must agree on every name they share: they run in one
    process. A name the other functions set differently (e.g. ``OUTPUT_BUCKET: ""`` on the S3 trigger) is
    applied only while that function imports; it is left out here unless a required function sets it.
    """
    specs = list(specs)
    values: dict[str, dict[str, str]] = {}
    for spec in specs:
        for name, value in spec.environment.items():
            values.setdefault(name, {})[spec.logical_id] = value
    env: dict[str, str] = {}
    for name, by_function in values.items():
        mandatory = {by_function[f] for f in by_function if f in required}
        if len(mandatory) > 1:
            raise RuntimeError(
                f"{name} differs between {sorted(f for f in by_function if f in required)}: "
                "in-process handlers share os.environ"
            )
        if mandatory:
            env[name] = mandatory.pop()
        elif len(set(by_function.values())) == 1:
            env[name] = next(iter(by_function.values()))
        else:
            log.warning(
                "%s differs between %s: applied only while each one imports", name, sorted(by_function)
            )
    return env


def _layer_packages(layer_dirs: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for folder in layer_dirs:
        for root in (folder, folder / "python"):
            if not root.is_dir():
                continue
            for entry in root.iterdir():
                if entry.is_dir() and (entry / "__init__.py").exists():
                    names.add(entry.name)
                elif entry.suffix == ".py":
                    names.add(entry.stem)
    return names


def _load_handler(spec: FunctionSpec, stack_tag: str) -> tuple[ModuleType, Callable[[Any, Any], Any]]:
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.exists():
        raise FileNotFoundError(f"{spec.logical_id}: handler module {source} does not exist")
    unique = f"_local_lambda_{stack_tag}_{spec.logical_id}_{module_path.replace('.', '_')}"
    module_spec = importlib.util.spec_from_file_location(unique, source)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[unique] = module
    # Lambda puts the function's own folder first on sys.path (/var/task) while the handler imports.
    sys.path.insert(0, str(spec.code_dir))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(spec.code_dir))
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"{spec.logical_id}: {source} has no callable {attribute!r}")
    return module, handler


class LoadedFunctions:
    """The functions of one stack, registered for dispatch; ``close()`` unregisters them and restores env."""

    def __init__(self, functions: dict[str, LocalFunction], saved_env: dict[str, str | None]) -> None:
        self.functions = functions
        self._saved_env = saved_env

    def close(self) -> None:
        with _lock:
            for function in self.functions.values():
                _functions.pop(_key(function.spec), None)
                sys.modules.pop(function.module.__name__, None)
        _restore_env(self._saved_env)


def _key(spec: FunctionSpec) -> tuple[str, str, str]:
    # arn:aws:lambda:<region>:<account>:function:<name>
    parts = spec.arn.split(":")
    return parts[4], parts[3], parts[6]


def _restore_env(saved: Mapping[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _add_layers(layer_dirs: Iterable[Path]) -> set[str]:
    """Put the layer folders on sys.path (as /opt/python); returns the top-level names they provide."""
    layer_dirs = list(dict.fromkeys(layer_dirs))
    for folder in layer_dirs:
        for root in (folder / "python", folder):
            if root.is_dir() and str(root) not in sys.path:
                sys.path.insert(0, str(root))
    return _layer_packages(layer_dirs)


def load_functions(
    specs: Mapping[str, FunctionSpec],
    *,
    required: Iterable[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    clock: ScaledClock | None = None,
) -> LoadedFunctions:
    """Apply the functions' environment, import each handler (cold start) and register it for dispatch.

    ``required``: logical ids that must load (default: all); another function that fails to import is
    logged and left to moto's default behaviour. ``clock``: the handlers and their copy of the layer
    packages read the time from it (compressed time).
    """
    required_ids = set(specs) if required is None else set(required)
    extra = {**RUNTIME_ENV, **(extra_env or {})}
    env = {**process_environment(specs.values(), required_ids), **extra}
    names = set(env) | {name for spec in specs.values() for name in spec.environment}
    with _lock:
        saved_env = {name: os.environ.get(name) for name in names}
        packages = _add_layers(d for spec in specs.values() for d in spec.layer_dirs)
        # A fresh copy of the layer packages for this stack (settings read at import), then the previous
        # copies go back into sys.modules for everything else in the process.
        saved_modules = {n: m for n, m in sys.modules.items() if n.split(".")[0] in packages}
        for name in saved_modules:
            del sys.modules[name]
        stack_tag = uuid.uuid4().hex[:8]
        loaded: dict[str, LocalFunction] = {}
        try:
            for logical_id, spec in specs.items():
                os.environ.update({**env, **spec.environment, **extra})
                try:
                    module, handler = _load_handler(spec, stack_tag)
                except Exception:
                    if logical_id in required_ids:
                        raise
                    log.warning("%s: handler not loaded, moto answers its calls", logical_id, exc_info=True)
                    continue
                loaded[logical_id] = LocalFunction(spec, module, handler)
            _restore_env(dict.fromkeys(names - set(env)))
            os.environ.update(env)
        except BaseException:
            _restore_env(saved_env)
            raise
        finally:
            fresh = {n: sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in packages}
            sys.modules.update(saved_modules)
        if clock is not None:
            for module in [*fresh.values(), *(f.module for f in loaded.values())]:
                clock.patch_module(module)
        for function in loaded.values():
            _functions[_key(function.spec)] = function
    return LoadedFunctions(loaded, saved_env)
