"""Build the SAM template's resources inside moto, so the deployed ASL and handlers run locally unchanged.

``load_template`` reads ``template.yaml`` (CloudFormation tags included) into its JSON form.
``Template`` evaluates parameters, conditions, ``Globals`` and intrinsic functions. ``deploy_stack`` creates
every resource from its template properties through boto3, which must already point at moto
(``mock_aws``): the S3 bucket, the DynamoDB table, the Secrets Manager secret, one Lambda function per
``AWS::Serverless::Function`` and the state machine from the same ASL file with its
``DefinitionSubstitutions`` resolved. Events sent to the template's bus are captured through a catch-all
rule with an SQS target (``LocalStack.events``).

The ``Events`` of every ``AWS::Serverless::Function`` are wired the way SAM transforms them
(:func:`wire_function_events`, recorded in ``LocalStack.event_sources``):

- ``S3``: the bucket (a ``Ref`` to a bucket of the template) gets a ``NotificationConfiguration`` with one
  ``LambdaFunctionConfigurations`` entry per event (``Events`` and ``Filter.S3Key.Rules`` as given), plus the
  ``s3.amazonaws.com`` invoke permission. moto sends the notifications from inside ``PutObject``;
  ``local.lambdas`` turns them into asynchronous invocations of the real handler.
- ``EventBridgeRule`` / ``CloudWatchEvent``: a rule on the event's bus (``EventBusName``, default
  ``default``) with its ``Pattern`` and ``State``, and the function as its target (``Target.Id``, ``Input``,
  ``InputPath``, ``InputTransformer``, ``RetryPolicy`` as given), plus the ``events.amazonaws.com``
  permission; ``local.lambdas`` delivers matching events to the handler asynchronously.
- ``Api`` / ``HttpApi`` are not wired (the tests call the API handler with API Gateway events); other types
  are logged as not reproduced locally.

The function's ``EventInvokeConfig.MaximumRetryAttempts`` (default 2) bounds the local retries of failed
asynchronous invocations (``FunctionSpec.async_max_retries``).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import secrets
import string
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

log = logging.getLogger(__name__)


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve or create."""


# --- YAML with CloudFormation tags ------------------------------------------------------------------------

_FN_TAGS = [
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "ToJsonString",
    "Length",
]


class CfnLoader(yaml.SafeLoader):
    """SafeLoader turning ``!Ref x`` into ``{"Ref": "x"}``, ``!Sub s`` into ``{"Fn::Sub": s}``, etc."""


def _construct(node: yaml.Node, loader: CfnLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _fn_constructor(name: str) -> Callable[[CfnLoader, yaml.Node], Any]:
    def construct(loader: CfnLoader, node: yaml.Node) -> Any:
        return {f"Fn::{name}": _construct(node, loader)}

    return construct


def _ref(loader: CfnLoader, node: yaml.Node) -> Any:
    return {"Ref": _construct(node, loader)}


def _condition(loader: CfnLoader, node: yaml.Node) -> Any:
    return {"Condition": _construct(node, loader)}


def _get_att(loader: CfnLoader, node: yaml.Node) -> Any:
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


for _name in _FN_TAGS:
    CfnLoader.add_constructor(f"!{_name}", _fn_constructor(_name))
CfnLoader.add_constructor("!Ref", _ref)
CfnLoader.add_constructor("!Condition", _condition)
CfnLoader.add_constructor("!GetAtt", _get_att)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as CloudFormation's JSON form (intrinsics as ``{"Ref": ...}`` / ``{"Fn::...": ...}``)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return data


# --- Intrinsic functions ----------------------------------------------------------------------------------

_NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def references(value: Any) -> set[str]:
    """Logical ids (or parameter names) a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                local = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                found |= {m.split(".")[0] for m in _SUB_VAR.findall(text)} - local
                if isinstance(arg, list) and len(arg) > 1:
                    found |= references(arg[1])
        for item in value.values():
            found |= references(item)
    return found


def merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (the function wins), lists concatenate, scalars are overridden."""
    merged: dict[str, Any] = {k: v for k, v in global_props.items()}
    for key, value in props.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = merge_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = base + value
        else:
            merged[key] = value
    return merged


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


@dataclass
class PhysicalResource:
    """What ``Ref`` and ``Fn::GetAtt`` answer for one created resource."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class Template:
    """A parsed template with its parameters resolved: evaluates conditions and intrinsic functions."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        path: Path = TEMPLATE_PATH,
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = "videogen-local",
        region: str = DEFAULT_REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        self.data = data
        self.path = Path(path)
        self.base_dir = self.path.parent
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.resources_def: dict[str, dict[str, Any]] = dict(data.get("Resources", {}))
        self.globals: dict[str, Any] = dict(data.get("Globals", {}))
        self.physical: dict[str, PhysicalResource] = {}
        self.parameters = self._parameters(parameters or {})
        self._conditions: dict[str, bool] = {}

    @classmethod
    def from_file(cls, path: Path | str = TEMPLATE_PATH, **kwargs: Any) -> Template:
        return cls(load_template(path), path=Path(path), **kwargs)

    def _parameters(self, overrides: Mapping[str, Any]) -> dict[str, str]:
        declared = self.data.get("Parameters", {})
        unknown = set(overrides) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
        values: dict[str, str] = {}
        for name, spec in declared.items():
            if name in overrides:
                value = overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {name} has no default: pass it in parameters")
            values[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            allowed = spec.get("AllowedValues")
            if allowed is not None and values[name] not in [str(v) for v in allowed]:
                raise TemplateError(f"parameter {name}={values[name]!r} is not one of {allowed}")
        return values

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
        }

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            expression = self.data.get("Conditions", {}).get(name)
            if expression is None:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(expression))
        return self._conditions[name]

    def is_enabled(self, logical_id: str) -> bool:
        name = self.resources_def[logical_id].get("Condition")
        return name is None or self.condition(name)

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        if name in self.resources_def:
            raise TemplateError(f"Ref {name}: the resource is not created (yet, or its condition is false)")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.physical.get(logical_id)
        if resource is None:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: the resource is not created")
        if attribute not in resource.attributes:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: the local stack only knows {sorted(resource.attributes)}"
            )
        return resource.attributes[attribute]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (``AWS::NoValue`` entries removed)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._fn(key[4:], arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _fn(self, name: str, arg: Any) -> Any:  # noqa: PLR0911, PLR0912
        if name == "GetAtt":
            target, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(self.resolve(target), self.resolve(attribute))
        if name == "Sub":
            return self._sub(arg)
        if name == "If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = (self.resolve(v) for v in arg)
            return str(left) == str(right)
        if name == "Not":
            return not self.resolve(arg[0])
        if name == "And":
            return all(self.resolve(v) for v in arg)
        if name == "Or":
            return any(self.resolve(v) for v in arg)
        if name == "Join":
            separator, items = arg
            return str(separator).join(str(v) for v in self.resolve(items))
        if name == "Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if name == "FindInMap":
            mapping, top, second = (self.resolve(v) for v in arg)
            return self.data["Mappings"][mapping][top][second]
        if name == "ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if name == "Length":
            return len(self.resolve(arg))
        if name == "GetAZs":
            return [f"{self.region}{s}" for s in "abc"]
        raise TemplateError(f"Fn::{name} is not supported by the local stack")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], self.resolve(arg[1]) if len(arg) > 1 else {}
        else:
            text, variables = arg, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            value = self.ref(name)
            if value is _NO_VALUE:
                raise TemplateError(f"Fn::Sub ${{{name}}}: AWS::NoValue cannot be substituted")
            return str(value)

        return _SUB_VAR.sub(replace, text).replace("${!", "${")

    def creation_order(self) -> list[str]:
        """Enabled resources, each after the resources it references (SAM Globals count for functions)."""
        enabled = [r for r in self.resources_def if self.is_enabled(r)]
        deps: dict[str, set[str]] = {}
        for logical_id in enabled:
            spec = self.resources_def[logical_id]
            refs = references(_deployable(spec.get("Properties", {})))
            if spec["Type"] == "AWS::Serverless::Function":
                refs |= references(_deployable(self.globals.get("Function", {})))
            refs |= set(_as_list(spec.get("DependsOn")))
            deps[logical_id] = {r for r in refs if r in self.resources_def and r != logical_id}
        order: list[str] = []
        visiting: set[str] = set()

        def visit(node: str) -> None:
            if node in order:
                return
            if node in visiting:
                raise TemplateError(f"circular reference through {node}")
            visiting.add(node)
            for dep in sorted(deps.get(node, ())):
                if dep in deps:
                    visit(dep)
                elif not self.is_enabled(dep):
                    continue
            visiting.discard(node)
            order.append(node)

        for logical_id in enabled:
            visit(logical_id)
        return order

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """A function's properties with ``Globals.Function`` merged in, still unresolved."""
        spec = self.resources_def[logical_id]
        return merge_globals(self.globals.get("Function", {}), spec.get("Properties", {}))


# Wired by SAM into other resources (permissions, rules, notifications); not reproduced locally.
_NOT_DEPLOYED_PROPERTIES = {"Events", "Policies", "EventInvokeConfig"}


def _deployable(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in _NOT_DEPLOYED_PROPERTIES}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- Creating the resources in moto -----------------------------------------------------------------------


@dataclass
class FunctionSpec:
    """A deployed function and where its code lives (what the in-process dispatch needs)."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, str]
    timeout: int
    memory_size: int
    async_max_retries: int = 2


@dataclass(frozen=True)
class WiredEvent:
    """One ``Events`` entry of a function, as created locally."""

    function: str  # logical id
    event_id: str
    type: str
    target: str  # the bucket, or the rule's ARN


@dataclass
class LocalStack:
    """The created resources, by what the pipeline needs to know about them."""

    template: Template
    session: Any
    bucket: str
    jobs_table: str
    secret_arn: str
    state_machine_arn: str
    event_bus: str
    event_source: str | None
    events_queue_url: str
    functions: dict[str, FunctionSpec]
    pipeline_functions: set[str]
    definition: str
    outputs: dict[str, Any]
    event_sources: list[WiredEvent] = field(default_factory=list)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _events_lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.template.region)

    def events(self) -> list[dict[str, Any]]:
        """Every event that reached the bus so far (EventBridge envelopes), oldest first."""
        sqs = self.client("sqs")
        with self._events_lock:
            while True:
                answer = sqs.receive_message(
                    QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                )
                messages = answer.get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self._events.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
            return list(self._events)


_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_secret_string(spec: Mapping[str, Any]) -> str:
    """A value as Secrets Manager's ``GenerateSecretString`` makes it (length, characters, template)."""
    length = int(spec.get("PasswordLength", 32))
    classes = {
        "ExcludeLowercase": string.ascii_lowercase,
        "ExcludeUppercase": string.ascii_uppercase,
        "ExcludeNumbers": string.digits,
        "ExcludePunctuation": _PUNCTUATION,
    }
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    groups = [
        [c for c in chars if c not in excluded]
        for flag, chars in classes.items()
        if not _true(spec.get(flag))
    ]
    if _true(spec.get("IncludeSpace")):
        groups.append([" "])
    groups = [g for g in groups if g]
    if not groups:
        raise TemplateError("GenerateSecretString excludes every character")
    alphabet = [c for g in groups for c in g]
    chars = [secrets.choice(alphabet) for _ in range(length)]
    if _true(spec.get("RequireEachIncludedType", True)) and length >= len(groups):
        # One character of each included type, at distinct random positions.
        positions = secrets.SystemRandom().sample(range(length), len(groups))
        for position, group in zip(positions, groups, strict=True):
            chars[position] = secrets.choice(group)
    value = "".join(chars)
    template_text = spec.get("SecretStringTemplate")
    if template_text:
        document = json.loads(template_text)
        document[spec.get("GenerateStringKey", "password")] = value
        return json.dumps(document)
    return value


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _physical_name(stack_name: str, logical_id: str, *, lower: bool = False, max_len: int = 64) -> str:
    suffix = uuid.uuid4().hex[:12].upper()
    name = f"{stack_name}-{logical_id}-{suffix}"[:max_len]
    return name.lower() if lower else name


# Entry points the local runner does not go through (it starts executions itself).
_PLACEHOLDER_TYPES = {
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::Lambda::Permission",
}

_IGNORED = {
    # Properties that change nothing a local run can observe.
    "AWS::S3::Bucket": {"Tags", "NotificationConfiguration", "LoggingConfiguration", "MetricsConfigurations"},
    "AWS::DynamoDB::Table": {"Tags", "ContributorInsightsSpecification", "DeletionProtectionEnabled"},
    "AWS::SecretsManager::Secret": {"Tags", "KmsKeyId", "ReplicaRegions"},
    "AWS::Serverless::Function": {
        "Architectures",
        "Tracing",
        "Policies",
        "Description",
        "Runtime",
        "Layers",
        "Events",
        "AutoPublishAlias",
        "DeploymentPreference",
        "ReservedConcurrentExecutions",
        "LoggingConfig",
        "Tags",
        "Role",
        "Environment",
        "EventInvokeConfig",
        "CodeUri",
        "Handler",
        "Timeout",
        "MemorySize",
        "EphemeralStorage",
        "FunctionName",
    },
}


def _warn_unknown(
    resource_type: str, logical_id: str, props: Mapping[str, Any], handled: Iterable[str]
) -> None:
    unknown = set(props) - set(handled) - _IGNORED.get(resource_type, set())
    if unknown:
        log.warning(
            "%s (%s): properties not reproduced locally: %s", logical_id, resource_type, sorted(unknown)
        )


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "README.txt", "Code runs in-process (local/lambdas.py); this archive is a placeholder.\n"
        )
    return buffer.getvalue()


def create_bucket(s3: Any, name: str, props: Mapping[str, Any], *, region: str) -> set[str]:
    """Create an S3 bucket from ``AWS::S3::Bucket`` properties (resolved); returns the properties applied."""
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if "BucketEncryption" in props:
        rules = [
            {
                ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                for k, v in rule.items()
            }
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": props["LifecycleConfiguration"]["Rules"]}
        )
    if "CorsConfiguration" in props:
        s3.put_bucket_cors(
            Bucket=name, CORSConfiguration={"CORSRules": props["CorsConfiguration"]["CorsRules"]}
        )
    return {
        "BucketName",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "VersioningConfiguration",
        "LifecycleConfiguration",
        "CorsConfiguration",
    }


def create_table(ddb: Any, name: str, props: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Create a DynamoDB table from ``AWS::DynamoDB::Table`` properties (resolved).

    Returns the table description and the properties applied.
    """
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if key in props:
            kwargs[key] = props[key]
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        kwargs["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled"))} | {
            k: v for k, v in sse.items() if k in {"SSEType", "KMSMasterKeyId"}
        }
    table = ddb.create_table(**kwargs)["TableDescription"]
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    return table, {*kwargs, "PointInTimeRecoverySpecification", "TimeToLiveSpecification"}


class _Deployer:
    def __init__(
        self,
        template: Template,
        session: Any,
        *,
        runway_api_key: str,
        env_overrides: Mapping[str, str],
        definition_path: Path | None,
    ) -> None:
        self.t = template
        self.session = session
        self.runway_api_key = runway_api_key
        self.env_overrides = dict(env_overrides)
        self.definition_path = definition_path
        self.functions: dict[str, FunctionSpec] = {}
        self.state_machines: dict[str, tuple[str, str]] = {}
        self.runway_secret_created = False

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.t.region)

    def _role(self, logical_id: str, service: str) -> str:
        name = _physical_name(self.t.stack_name, f"{logical_id}Role")
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        role = self.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        return str(role["Role"]["Arn"])

    def deploy(self) -> None:
        creators: dict[str, Callable[[str, dict[str, Any]], PhysicalResource]] = {
            "AWS::S3::Bucket": self.bucket,
            "AWS::DynamoDB::Table": self.table,
            "AWS::SecretsManager::Secret": self.secret,
            "AWS::Serverless::LayerVersion": self.layer,
            "AWS::Logs::LogGroup": self.log_group,
            "AWS::Serverless::Function": self.function,
            "AWS::Serverless::StateMachine": self.state_machine,
        }
        for logical_id in self.t.creation_order():
            spec = self.t.resources_def[logical_id]
            if spec["Type"] in _PLACEHOLDER_TYPES:
                self.t.physical[logical_id] = self.placeholder(logical_id, spec)
                continue
            creator = creators.get(spec["Type"])
            if creator is None:
                raise TemplateError(f"{logical_id}: resource type {spec['Type']} is not supported locally")
            self.t.physical[logical_id] = creator(logical_id, spec)

    def placeholder(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        log.info("%s (%s) is not created locally", logical_id, spec["Type"])
        ident = uuid.uuid4().hex[:10]
        return PhysicalResource(
            ident,
            {"RootResourceId": ident, "Arn": f"arn:aws:local:{self.t.region}:{self.t.account_id}:{ident}"},
        )

    def bucket(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = self.t.resolve(spec.get("Properties", {}))
        name = props.get("BucketName") or _physical_name(
            self.t.stack_name, logical_id, lower=True, max_len=63
        )
        handled = create_bucket(self.client("s3"), name, props, region=self.t.region)
        _warn_unknown(spec["Type"], logical_id, props, handled)
        return PhysicalResource(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.t.region}.amazonaws.com",
            },
        )

    def table(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = self.t.resolve(spec.get("Properties", {}))
        name = props.get("TableName") or _physical_name(self.t.stack_name, logical_id, max_len=255)
        table, handled = create_table(self.client("dynamodb"), name, props)
        _warn_unknown(spec["Type"], logical_id, props, handled)
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return PhysicalResource(name, attributes)

    def secret(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = self.t.resolve(spec.get("Properties", {}))
        name = props.get("Name") or _physical_name(self.t.stack_name, logical_id)
        kwargs: dict[str, Any] = {"Name": name}
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        # On AWS the operator fills the secret after deploying; locally it holds the key the runner uses.
        if "GenerateSecretString" in props:
            kwargs["SecretString"] = generate_secret_string(props["GenerateSecretString"])
        elif "SecretString" in props:
            kwargs["SecretString"] = props["SecretString"]
        else:
            kwargs["SecretString"] = self.runway_api_key
            self.runway_secret_created = True
        arn = self.client("secretsmanager").create_secret(**kwargs)["ARN"]
        handled = {"Name", "Description", "SecretString", "GenerateSecretString"}
        _warn_unknown(spec["Type"], logical_id, props, handled)
        return PhysicalResource(arn, {"Id": arn})

    def layer(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = self.t.resolve(spec.get("Properties", {}))
        name = props.get("LayerName") or logical_id
        arn = f"arn:aws:lambda:{self.t.region}:{self.t.account_id}:layer:{name}:1"
        return PhysicalResource(arn, {"_ContentDir": str(self.t.base_dir / props["ContentUri"])})

    def log_group(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = self.t.resolve(spec.get("Properties", {}))
        name = props.get("LogGroupName") or _physical_name(self.t.stack_name, logical_id)
        self.client("logs").create_log_group(logGroupName=name)
        arn = f"arn:aws:logs:{self.t.region}:{self.t.account_id}:log-group:{name}:*"
        return PhysicalResource(name, {"Arn": arn})

    def function(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        raw = _deployable(self.t.function_properties(logical_id))
        props = self.t.resolve(raw)
        if props.get("PackageType", "Zip") != "Zip" or "InlineCode" in props:
            raise TemplateError(f"{logical_id}: only CodeUri + Handler functions run locally")
        name = props.get("FunctionName") or _physical_name(self.t.stack_name, logical_id)
        environment = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        environment.update(self.env_overrides)
        layer_dirs = []
        for layer in _as_list(raw.get("Layers")):
            target = references(layer)
            content = [
                self.t.physical[t].attributes.get("_ContentDir") for t in target if t in self.t.physical
            ]
            if not content or content[0] is None:
                raise TemplateError(
                    f"{logical_id}: layer {layer} is not a local AWS::Serverless::LayerVersion"
                )
            layer_dirs.append(Path(content[0]))
        timeout = int(props.get("Timeout", 3))
        memory = int(props.get("MemorySize", 128))
        invoke_config = self.t.resolve(self.t.function_properties(logical_id).get("EventInvokeConfig") or {})
        created = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.13"),
            Role=self._role(logical_id, "lambda.amazonaws.com"),
            Handler=props["Handler"],
            Code={"ZipFile": _dummy_zip()},
            Description=props.get("Description", ""),
            Timeout=timeout,
            MemorySize=memory,
            Environment={"Variables": environment},
            Architectures=props.get("Architectures", ["x86_64"]),
        )
        arn = created["FunctionArn"]
        self.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=arn,
            code_dir=self.t.base_dir / props["CodeUri"],
            handler=props["Handler"],
            layer_dirs=layer_dirs,
            environment=environment,
            timeout=timeout,
            memory_size=memory,
            async_max_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
        )
        _warn_unknown(spec["Type"], logical_id, props, set())
        return PhysicalResource(name, {"Arn": arn})

    def state_machine(self, logical_id: str, spec: dict[str, Any]) -> PhysicalResource:
        props = spec.get("Properties", {})
        if "Definition" in props:
            definition_text = json.dumps(self.t.resolve(props["Definition"]))
        else:
            path = self.definition_path or self.t.base_dir / props["DefinitionUri"]
            definition_text = Path(path).read_text(encoding="utf-8")
        substitutions = {
            k: str(v) for k, v in self.t.resolve(props.get("DefinitionSubstitutions", {})).items()
        }
        definition = substitute_definition(definition_text, substitutions)
        name = props.get("Name") or _physical_name(self.t.stack_name, logical_id, max_len=80)
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=self._role(logical_id, "states.amazonaws.com"),
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        self.state_machines[logical_id] = (arn, definition)
        return PhysicalResource(arn, {"Arn": arn, "Name": name})


_DEFINITION_VAR = re.compile(r"\$\{([^}]*)\}")


def substitute_definition(text: str, substitutions: Mapping[str, str]) -> str:
    """Replace ``${Name}`` in an ASL text; fail when a placeholder has no value or the result is not JSON."""
    missing = sorted({m for m in _DEFINITION_VAR.findall(text) if m not in substitutions})
    if missing:
        raise TemplateError(f"DefinitionSubstitutions has no value for {missing}")
    result = _DEFINITION_VAR.sub(lambda m: substitutions[m.group(1)], text)
    json.loads(result)
    return result


def _single(items: dict[str, Any], kind: str) -> Any:
    if len(items) != 1:
        raise TemplateError(f"the local stack expects exactly one {kind}, found {sorted(items)}")
    return next(iter(items.values()))


def deploy_stack(
    session: Any,
    *,
    template_path: Path | str = TEMPLATE_PATH,
    parameters: Mapping[str, Any] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    runway_api_key: str = "local-simulator-key",
    stack_name: str | None = None,
    region: str = DEFAULT_REGION,
) -> LocalStack:
    """Create the template's resources through ``session`` (a boto3 Session inside ``mock_aws``)."""
    stack_name = stack_name or f"videogen-local-{uuid.uuid4().hex[:6]}"
    template = Template.from_file(template_path, parameters=parameters, stack_name=stack_name, region=region)
    deployer = _Deployer(
        template,
        session,
        runway_api_key=runway_api_key,
        env_overrides=env_overrides or {},
        definition_path=None,
    )
    deployer.deploy()
    state_machine_arn, definition = _single(deployer.state_machines, "state machine")
    sm_props = next(
        spec["Properties"]
        for spec in template.resources_def.values()
        if spec["Type"] == "AWS::Serverless::StateMachine"
    )
    substitutions = template.resolve(sm_props.get("DefinitionSubstitutions", {}))
    buckets = {
        k: v.ref
        for k, v in template.physical.items()
        if template.resources_def[k]["Type"] == "AWS::S3::Bucket"
    }
    tables = {
        k: v.ref
        for k, v in template.physical.items()
        if template.resources_def[k]["Type"] == "AWS::DynamoDB::Table"
    }
    pipeline_functions = {
        target
        for value in sm_props.get("DefinitionSubstitutions", {}).values()
        for target in references(value)
    } & set(deployer.functions)
    env = deployer.functions[sorted(pipeline_functions)[0]].environment
    secret_arn = env.get("RUNWAY_SECRET_ARN") or _single(
        {k: v.ref for k, v in template.physical.items() if "Secret" in template.resources_def[k]["Type"]},
        "secret",
    )
    if not deployer.runway_secret_created:
        # The template points at an existing secret (RunwaySecretArn): create it under that id in moto.
        secret_arn = session.client("secretsmanager", region_name=region).create_secret(
            Name=secret_arn.split(":")[-1], SecretString=runway_api_key
        )["ARN"]
        for function in deployer.functions.values():
            function.environment["RUNWAY_SECRET_ARN"] = secret_arn
    event_bus = str(substitutions.get("EventBusName", "default"))
    event_source = substitutions.get("EventSource")
    queue_url = _capture_events(session, region, stack_name, event_bus, event_source)
    event_sources = wire_function_events(template, session, deployer.functions)
    outputs = {
        name: template.resolve(out.get("Value"))
        for name, out in template.data.get("Outputs", {}).items()
        if "Condition" not in out or template.condition(out["Condition"])
    }
    return LocalStack(
        template=template,
        session=session,
        bucket=env.get("OUTPUT_BUCKET") or _single(buckets, "bucket"),
        jobs_table=env.get("JOBS_TABLE") or _single(tables, "table"),
        secret_arn=secret_arn,
        state_machine_arn=state_machine_arn,
        event_bus=event_bus,
        event_source=str(event_source) if event_source else None,
        events_queue_url=queue_url,
        functions=deployer.functions,
        pipeline_functions=pipeline_functions,
        definition=definition,
        outputs=outputs,
        event_sources=event_sources,
    )


def _capture_events(session: Any, region: str, stack_name: str, bus: str, source: Any) -> str:
    events = session.client("events", region_name=region)
    if bus != "default":
        with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
            events.create_event_bus(Name=bus)
    sqs = session.client("sqs", region_name=region)
    queue_url = sqs.create_queue(QueueName=f"{stack_name}-captured-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"{stack_name}-capture-all"
    pattern = {"source": [str(source)]} if source else {"account": [ACCOUNT_ID]}
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "capture", "Arn": queue_arn}])
    return str(queue_url)


# --- Event sources of the functions (what SAM makes of ``Events``) ----------------------------------------

_EVENT_RULE_TYPES = {"EventBridgeRule", "CloudWatchEvent"}
_API_EVENT_TYPES = {"Api", "HttpApi"}
_TARGET_FIELDS = ("Input", "InputPath", "InputTransformer", "RetryPolicy", "DeadLetterConfig")


def wire_function_events(
    template: Template, session: Any, functions: Mapping[str, FunctionSpec]
) -> list[WiredEvent]:
    """Create what SAM derives from each function's ``Events``: S3 notifications and EventBridge rules."""
    wired: list[WiredEvent] = []
    notifications: dict[str, list[dict[str, Any]]] = {}
    for logical_id, function in functions.items():
        events = template.function_properties(logical_id).get("Events") or {}
        for event_id, event in events.items():
            kind = event.get("Type")
            props = template.resolve(event.get("Properties", {}))
            if kind == "S3":
                bucket, configuration = _s3_notification(template, logical_id, event_id, function, props)
                notifications.setdefault(bucket, []).append(configuration)
                _allow_invoke(
                    session, template, function, event_id, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}"
                )
                wired.append(WiredEvent(logical_id, event_id, kind, bucket))
            elif kind in _EVENT_RULE_TYPES:
                rule_arn = _event_rule(template, session, logical_id, event_id, function, props)
                _allow_invoke(session, template, function, event_id, "events.amazonaws.com", rule_arn)
                wired.append(WiredEvent(logical_id, event_id, kind, rule_arn))
            elif kind in _API_EVENT_TYPES:
                log.info(
                    "%s.%s (%s): not wired locally; call the handler with API events",
                    logical_id,
                    event_id,
                    kind,
                )
            else:
                log.warning("%s.%s: event type %s is not reproduced locally", logical_id, event_id, kind)
    s3 = session.client("s3", region_name=template.region)
    for bucket, configurations in notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configurations}
        )
    return wired


def _s3_notification(
    template: Template, logical_id: str, event_id: str, function: FunctionSpec, props: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    raw_bucket = template.function_properties(logical_id)["Events"][event_id]["Properties"].get("Bucket")
    buckets = {
        v.ref for k, v in template.physical.items() if template.resources_def[k]["Type"] == "AWS::S3::Bucket"
    }
    bucket = props.get("Bucket")
    if not (isinstance(raw_bucket, dict) and "Ref" in raw_bucket) or bucket not in buckets:
        raise TemplateError(
            f"{logical_id}.{event_id}: an S3 event's Bucket must be a Ref to a bucket of the template"
        )
    configuration: dict[str, Any] = {
        "Id": f"{logical_id}{event_id}",
        "LambdaFunctionArn": function.arn,
        "Events": _as_list(props["Events"]),
    }
    rules = props.get("Filter", {}).get("S3Key", {}).get("Rules")
    if rules:
        configuration["Filter"] = {
            "Key": {"FilterRules": [{"Name": r["Name"], "Value": str(r["Value"])} for r in rules]}
        }
    return str(bucket), configuration


def _event_rule(  # noqa: PLR0917
    template: Template,
    session: Any,
    logical_id: str,
    event_id: str,
    function: FunctionSpec,
    props: Mapping[str, Any],
) -> str:
    events = session.client("events", region_name=template.region)
    bus = str(props.get("EventBusName") or "default")
    if bus != "default" and not bus.startswith("arn:"):
        with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
            events.create_event_bus(Name=bus)
    name = props.get("RuleName") or _physical_name(template.stack_name, f"{logical_id}{event_id}")
    state = props.get("State") or ("DISABLED" if props.get("Enabled") is False else "ENABLED")
    rule: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": state}
    if "Pattern" in props:
        rule["EventPattern"] = json.dumps(props["Pattern"])
    if "Schedule" in props:
        rule["ScheduleExpression"] = props["Schedule"]
    if props.get("Description"):
        rule["Description"] = props["Description"]
    rule_arn = str(events.put_rule(**rule)["RuleArn"])
    target: dict[str, Any] = {
        "Id": props.get("Target", {}).get("Id") or f"{logical_id}{event_id}LambdaTarget",
        "Arn": function.arn,
    }
    target.update({k: props[k] for k in _TARGET_FIELDS if k in props and k != "DeadLetterConfig"})
    if "Arn" in props.get("DeadLetterConfig", {}):
        target["DeadLetterConfig"] = {"Arn": props["DeadLetterConfig"]["Arn"]}
    answer = events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    if answer.get("FailedEntryCount"):
        raise TemplateError(f"{logical_id}.{event_id}: target not accepted: {answer['FailedEntries']}")
    return rule_arn


def _allow_invoke(  # noqa: PLR0917
    session: Any, template: Template, function: FunctionSpec, event_id: str, principal: str, source_arn: str
) -> None:
    session.client("lambda", region_name=template.region).add_permission(
        FunctionName=function.name,
        StatementId=f"{function.logical_id}{event_id}Permission",
        Action="lambda:InvokeFunction",
        Principal=principal,
        SourceArn=source_arn,
        SourceAccount=template.account_id,
    )
