"""Deploy template.yaml into moto as CloudFormation would deploy what SAM makes of it.

:func:`translate` runs the SAM transform offline, as ``sam validate`` does: local ``CodeUri``,
``ContentUri`` and ``DefinitionUri`` become ``s3://local-code/<path>`` URIs, so the translated resources
still say where their code lives. :func:`deploy_stack` creates each translated resource with boto3 (pointed
at moto), the first time another one refers to it. Globals, Events, Policies and EventInvokeConfig are SAM's
work, not this module's. Types the local stack does not need (API Gateway) are skipped: their ``Ref`` is
their logical id. moto ignores ``DefinitionSubstitutions``: :func:`substitute_definition` applies them.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import botocore.session
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import intrinsics_multi_constructor

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
NO_VALUE = object()
#: Template parameters of every local stack: the simulator serves outputs, and tests receive webhooks, on
#: http://127.0.0.1 (a deployed stack keeps the template's default, false).
LOCAL_PARAMETERS = {"AllowLoopbackHttp": "true"}

log = logging.getLogger(__name__)
logging.getLogger("samtranslator").setLevel(logging.ERROR)  # it warns about its own metrics and toggles


def new_session(region: str = DEFAULT_REGION) -> boto3.Session:
    """A new boto3 session that shares the process's parsed service models: a session of its own reads and
    parses each service's JSON model again (most of a second for the template's nine services)."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    session = boto3.Session(botocore_session=core, region_name=region)
    del _LOADER.search_paths[_LOADER_PATHS:]  # boto3 appends its own data folder once more
    return session


_LOADER = boto3.Session()._loader
_LOADER_PATHS = len(_LOADER.search_paths)


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve or create."""


class _CfnLoader(yaml.SafeLoader):
    """Reads ``!Ref``, ``!Sub``... with SAM's own constructor; ``yaml.SafeLoader`` itself is unchanged."""


_CfnLoader.add_multi_constructor("!", intrinsics_multi_constructor)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template in CloudFormation's JSON form (``{"Ref": ...}``, ``{"Fn::...": ...}``); a fresh copy."""
    return copy.deepcopy(_parsed(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(text, Loader=_CfnLoader)  # noqa: S506
    return template


def translate(template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``template``, computed offline (a fresh copy: the same
    template and parameters are translated once per process)."""
    key = json.dumps([template, parameters or {}], sort_keys=True, default=repr)
    with _translations_lock:
        if key not in _translations:
            while len(_translations) >= TRANSLATIONS_KEPT:
                del _translations[next(iter(_translations))]
            _translations[key] = _translate(template, parameters)
        return copy.deepcopy(_translations[key])


TRANSLATIONS_KEPT = 16
_translations: dict[str, dict[str, Any]] = {}
_translations_lock = threading.Lock()


def _translate(template: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    sam = copy.deepcopy(dict(template))
    for spec in sam["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://local-code/{props[key]}"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=DEFAULT_REGION))
    result: dict[str, Any] = translator.translate(sam, dict(parameters or {}), get_managed_policy_map=dict)
    return result


class Resolver:
    """Evaluates intrinsic functions, conditions and pseudo parameters.

    ``refs`` and ``attributes`` hold what ``Ref`` and ``Fn::GetAtt`` answer; :meth:`create` is called for a
    resource that has no answer yet.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = "videogen-local",
    ) -> None:
        region = DEFAULT_REGION
        self.template = template
        self.attributes: dict[str, dict[str, str]] = {}
        self.refs: dict[str, Any] = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::NoValue": NO_VALUE,
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        declared = template.get("Parameters", {})
        unknown = set(parameters or {}) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
        for name, spec in declared.items():
            self.refs[name] = str((parameters or {}).get(name, spec.get("Default", "")))

    def create(self, logical_id: str) -> None:
        raise TemplateError(f"{logical_id} is not created")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def enabled(self, logical_id: str) -> bool:
        name = self.template["Resources"][logical_id].get("Condition")
        return name is None or self.condition(name)

    def ref(self, name: str) -> Any:
        if name not in self.refs and name in self.template["Resources"]:
            self.create(name)
        if name not in self.refs:
            raise TemplateError(f"Ref {name}: no such parameter or resource")
        return self.refs[name]

    def get_att(self, logical_id: str, attribute: str) -> str:
        self.ref(logical_id)
        value = self.attributes.get(logical_id, {}).get(attribute)
        if value is None:
            raise TemplateError(f"GetAtt {logical_id}.{attribute}: not known locally")
        return value

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (``AWS::NoValue`` entries removed)."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._intrinsic(key[4:], arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _intrinsic(self, name: str, arg: Any) -> Any:  # noqa: PLR0911
        if name == "GetAtt":
            return self.get_att(*(arg if isinstance(arg, list) else arg.split(".", 1)))
        if name == "Sub":
            return self._sub(*arg) if isinstance(arg, list) else self._sub(arg)
        if name == "If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if name == "Join":
            separator, items = self.resolve(arg)
            return str(separator).join(str(v) for v in items)
        if name == "Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if name == "Split":
            separator, text = self.resolve(arg)
            return str(text).split(separator)
        raise TemplateError(f"Fn::{name} is not supported by the local stack")

    def _sub(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        local = self.resolve(variables or {})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text).replace("${!", "${")


def substitute_definition(text: str, substitutions: Mapping[str, Any]) -> str:
    """Replace ``${Name}`` in an ASL text; fail when a placeholder has no value or the result is not JSON."""
    placeholder = re.compile(r"\$\{([^}]*)\}")
    missing = sorted({m for m in placeholder.findall(text) if m not in substitutions})
    if missing:
        raise TemplateError(f"DefinitionSubstitutions has no value for {missing}")
    result = placeholder.sub(lambda m: str(substitutions[m.group(1)]), text)
    json.loads(result)
    return result


def create_bucket(s3: Any, name: str, props: Mapping[str, Any], *, region: str) -> None:
    """Create an S3 bucket from resolved ``AWS::S3::Bucket`` properties (notifications apart)."""
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    if "BucketEncryption" in props:
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
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
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """An ``AWS::S3::Bucket`` lifecycle rule (the properties this template uses) in the S3 API's form."""
    converted: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        days = rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(days)}
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
    return converted


def requires_tls(statement: Mapping[str, Any]) -> bool:
    """A bucket policy statement that denies requests made without TLS (``aws:SecureTransport`` false)."""
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def create_table(dynamodb: Any, name: str, props: Mapping[str, Any]) -> str:
    """Create a DynamoDB table from resolved ``AWS::DynamoDB::Table`` properties; returns its ARN."""
    copied = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
    kwargs = {key: props[key] for key in copied if key in props}
    if "SSESpecification" in props:
        kwargs["SSESpecification"] = {"Enabled": props["SSESpecification"].get("SSEEnabled", False)}
    arn = dynamodb.create_table(TableName=name, **kwargs)["TableDescription"]["TableArn"]
    if "PointInTimeRecoverySpecification" in props:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"]
        )
    if "TimeToLiveSpecification" in props:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    return str(arn)


@dataclass
class FunctionSpec:
    """A deployed function and where its code lives."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, str]
    timeout: int
    memory_size: int
    async_max_retries: int = 2  # the function's EventInvokeConfig, as Lambda applies it
    on_failure_queue: str = ""  # URL of its OnFailure SQS destination: events that failed every retry


class WiredEvent(NamedTuple):
    """One ``Events`` entry of a function of the template."""

    function: str  # logical id
    event_id: str
    type: str


EMPTY_ZIP = b"PK\x05\x06" + bytes(18)  # an empty zip archive: the code runs in-process (local/lambdas.py)


class LocalStack(Resolver):
    """The translated template's resources, each created in moto the first time another one refers to it."""

    def __init__(
        self,
        session: Any,
        *,
        env_overrides: Mapping[str, str] | None = None,
        runway_api_key: str = "",
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.sam = load_template()
        self.stack_name = f"videogen-local-{uuid.uuid4().hex[:6]}"
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        super().__init__(
            translate(self.sam, self.parameters), parameters=self.parameters, stack_name=self.stack_name
        )
        self.session = session
        self.region = DEFAULT_REGION
        self.runway_api_key = runway_api_key
        self.env_overrides = dict(env_overrides or {})
        self.functions: dict[str, FunctionSpec] = {}
        self.layer_dirs: dict[str, Path] = {}
        self.substitutions: dict[str, Any] = {}
        self.api_function: str | None = None  # the function behind the template's REST API
        self.api_resource = "/{proxy+}"
        self.events_queue_url = ""
        self._events: list[dict[str, Any]] = []
        self._events_lock = threading.Lock()
        self._started: set[str] = set()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self.creators = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Permission": self._permission,
            "AWS::Lambda::EventInvokeConfig": self._event_invoke_config,
            "AWS::Events::Rule": self._rule,
            "AWS::SQS::Queue": self._queue,
            "AWS::StepFunctions::StateMachine": self._state_machine,
        }

    @property
    def bucket(self) -> str:
        return str(self.resolve(self.template["Outputs"]["VideoBucketName"]["Value"]))

    @property
    def jobs_table(self) -> str:
        return str(self.resolve(self.template["Outputs"]["JobsTableName"]["Value"]))

    @property
    def state_machine_arn(self) -> str:
        return str(self.resolve(self.template["Outputs"]["StateMachineArn"]["Value"]))

    def _global_env(self, name: str) -> str:
        return str(self.resolve(self.sam["Globals"]["Function"]["Environment"]["Variables"][name]))

    @property
    def event_bus(self) -> str:
        return self._global_env("EVENT_BUS_NAME")

    @property
    def event_source(self) -> str:
        return self._global_env("EVENT_SOURCE")

    @property
    def event_sources(self) -> list[WiredEvent]:
        """The ``Events`` of the template's functions."""
        return [
            WiredEvent(logical_id, event_id, event["Type"])
            for logical_id, spec in self.sam["Resources"].items()
            for event_id, event in spec.get("Properties", {}).get("Events", {}).items()
        ]

    def events(self) -> list[dict[str, Any]]:
        """Every event that reached the bus so far (EventBridge envelopes), oldest first."""
        sqs = self.client("sqs")
        with self._events_lock:
            while True:
                messages = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
                if not messages.get("Messages"):
                    return list(self._events)
                for message in messages["Messages"]:
                    self._events.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def client(self, service: str) -> Any:
        """The stack's client of ``service`` (one per stack: boto3 clients are thread-safe, sessions not)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(service, region_name=self.region)
            return self._clients[service]

    def name(self, logical_id: str, max_len: int = 64) -> str:
        return f"{self.stack_name}-{logical_id}-{uuid.uuid4().hex[:12]}"[:max_len]

    def deploy(self) -> LocalStack:
        resources = self.template["Resources"]
        for logical_id in resources:
            if self.enabled(logical_id):
                self.ref(logical_id)
        # Last: a bucket's notifications name a function that refers to the bucket.
        for logical_id, spec in resources.items():
            notifications = spec.get("Properties", {}).get("NotificationConfiguration")
            if spec["Type"] == "AWS::S3::Bucket" and notifications and self.enabled(logical_id):
                self._notifications(self.refs[logical_id], self.resolve(notifications))
        self.find_api_function()
        self.capture_events()
        return self

    def create(self, logical_id: str) -> None:
        spec = self.template["Resources"][logical_id]
        if logical_id in self._started:
            raise TemplateError(f"circular reference through {logical_id}")
        if not self.enabled(logical_id):
            raise TemplateError(f"{logical_id} is referred to but its condition is false")
        creator = self.creators.get(spec["Type"])
        if creator is None:
            log.debug("%s (%s) is not deployed locally", logical_id, spec["Type"])
            self.refs[logical_id] = logical_id
            return
        self._started.add(logical_id)
        props = {k: v for k, v in spec.get("Properties", {}).items() if k != "NotificationConfiguration"}
        self.refs[logical_id], self.attributes[logical_id] = creator(logical_id, self.resolve(props))

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("BucketName") or self.name(logical_id, 63).lower()
        create_bucket(self.client("s3"), name, props, region=self.region)
        return name, {"Arn": f"arn:aws:s3:::{name}"}

    def _bucket_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        # Not the TLS-only statement: the local functions reach moto over plain HTTP, and moto does not
        # evaluate aws:SecureTransport (it refuses every request under that statement, HTTPS too).
        document = dict(props["PolicyDocument"])
        statements = (
            document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        )
        document["Statement"] = [s for s in statements if not requires_tls(s)]
        if document["Statement"]:
            self.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
        return logical_id, {}

    def _notifications(self, bucket: str, config: dict[str, Any]) -> None:
        functions = []
        for entry in config.get("LambdaConfigurations", []):
            function = {"LambdaFunctionArn": entry["Function"], "Events": [entry["Event"]]}
            if "Filter" in entry:
                function["Filter"] = {"Key": {"FilterRules": entry["Filter"]["S3Key"]["Rules"]}}
            functions.append(function)
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": functions}
        )

    def _table(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("TableName") or self.name(logical_id)
        return name, {"Arn": create_table(self.client("dynamodb"), name, props)}

    def _secret(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        secrets = self.client("secretsmanager")
        # On AWS the operator fills an empty secret after deploying; locally it holds the Runway key.
        value = self.runway_api_key
        if "GenerateSecretString" in props:
            value = secrets.get_random_password(**props["GenerateSecretString"])["RandomPassword"]
        name = props.get("Name") or self.name(logical_id)
        arn = secrets.create_secret(Name=name, SecretString=value)["ARN"]
        return arn, {"Id": arn}

    def _role(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        iam = self.client("iam")
        name = props.get("RoleName") or self.name(logical_id)
        trust = json.dumps(props["AssumeRolePolicyDocument"])
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        for policy in props.get("Policies", []):
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}  # moto requires a version
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document)
            )
        return name, {"Arn": arn}

    def _policy(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        document = json.dumps({"Version": "2012-10-17", **props["PolicyDocument"]})
        for role in props.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=document
            )
        return logical_id, {}

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("LogGroupName") or self.name(logical_id)
        self.client("logs").create_log_group(logGroupName=name)
        return name, {"Arn": f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*"}

    def _layer(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        arn = self.client("lambda").publish_layer_version(
            LayerName=props.get("LayerName", logical_id), Content={"ZipFile": EMPTY_ZIP}
        )["LayerVersionArn"]
        self.layer_dirs[arn] = ROOT / props["Content"]["S3Key"]
        return arn, {}

    def _function(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("FunctionName") or self.name(logical_id)
        variables = props.get("Environment", {}).get("Variables", {})
        environment = {**{k: str(v) for k, v in variables.items()}, **self.env_overrides}
        passed = ("Role", "Runtime", "Handler", "Timeout", "MemorySize", "Architectures", "Layers")
        arn = self.client("lambda").create_function(
            FunctionName=name,
            Code={"ZipFile": EMPTY_ZIP},
            Environment={"Variables": environment},
            **{key: props[key] for key in passed if key in props},
        )["FunctionArn"]
        self.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=arn,
            code_dir=ROOT / props["Code"]["S3Key"],
            handler=props["Handler"],
            layer_dirs=[self.layer_dirs[layer] for layer in props.get("Layers", [])],
            environment=environment,
            timeout=int(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
        )
        return name, {"Arn": arn}

    def _permission(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        passed = ("Action", "FunctionName", "Principal", "SourceArn", "SourceAccount")
        self.client("lambda").add_permission(
            StatementId=logical_id, **{k: props[k] for k in passed if k in props}
        )
        return logical_id, {}

    def _event_invoke_config(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        passed = ("FunctionName", "MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        self.client("lambda").put_function_event_invoke_config(**{k: props[k] for k in passed if k in props})
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "")
        for function in self.functions.values():
            if function.name == props["FunctionName"]:
                function.async_max_retries = int(props.get("MaximumRetryAttempts", 2))
                if ":sqs:" in destination:
                    name = destination.rsplit(":", 1)[-1]
                    function.on_failure_queue = self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        return logical_id, {}

    def _queue(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        sqs = self.client("sqs")
        name = props.get("QueueName") or self.name(logical_id, 80)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}

    def _rule(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        events = self.client("events")
        bus = props.get("EventBusName", "default")  # the template's default bus: it exists
        name = props.get("Name") or self.name(logical_id)
        rule = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        arn = events.put_rule(**rule)["RuleArn"]
        events.put_targets(Rule=name, EventBusName=bus, Targets=props.get("Targets", []))
        return name, {"Arn": arn}

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        text = (ROOT / props["DefinitionS3Location"]["Key"]).read_text(encoding="utf-8")
        self.substitutions = props.get("DefinitionSubstitutions", {})
        name = props.get("StateMachineName") or self.name(logical_id, 80)
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=substitute_definition(text, self.substitutions),
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        return arn, {"Arn": arn, "Name": name}

    def find_api_function(self) -> None:
        """The function behind the template's REST API (a proxy integration), and the API resource path."""
        for spec in self.template["Resources"].values():
            if spec["Type"] != "AWS::ApiGateway::RestApi":
                continue
            for path, methods in self.resolve(spec["Properties"].get("Body", {})).get("paths", {}).items():
                for method in methods.values():
                    uri = method.get("x-amazon-apigateway-integration", {}).get("uri", "")
                    for function in self.functions.values():
                        if f"/functions/{function.arn}/invocations" in uri:
                            self.api_function, self.api_resource = function.logical_id, path

    def capture_events(self) -> None:
        """An SQS queue receiving every event the state machine sends to its bus (:meth:`events`)."""
        sqs = self.client("sqs")
        self.events_queue_url = sqs.create_queue(QueueName=f"{self.stack_name}-captured-events")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=self.events_queue_url, AttributeNames=["QueueArn"])
        capture = {"Id": "capture", "Arn": queue["Attributes"]["QueueArn"]}
        pattern = {"source": [self.event_source]}
        self._rule(
            "CaptureEvents", {"EventBusName": self.event_bus, "EventPattern": pattern, "Targets": [capture]}
        )


def deploy_stack(session: Any, **options: Any) -> LocalStack:
    """Create the template's resources through ``session`` (a boto3 Session inside ``mock_aws``)."""
    return LocalStack(session, **options).deploy()
