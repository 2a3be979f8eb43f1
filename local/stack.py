"""Deploy template.yaml into moto as CloudFormation would deploy what SAM makes of it.

:func:`translate` runs the SAM transform offline, as ``sam validate`` does: local ``CodeUri``,
``ContentUri`` and ``DefinitionUri`` become ``s3://local-code/<path>`` URIs, so the translated resources
still say where their code lives. :func:`deploy_stack` creates each translated resource with boto3 (pointed
at moto), resolving its intrinsic functions with :class:`Resolver`; a resource is created the first time
another one refers to it. Globals, Events, Policies and EventInvokeConfig are SAM's work, not this module's.
Resource types the local stack does not need (API Gateway, usage plans) are skipped: their ``Ref`` answers
their logical id. moto ignores ``DefinitionSubstitutions``: :func:`substitute_definition` applies them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
CODE_BUCKET = "local-code"  # placeholder bucket of the code URIs; the key is the path under the template

log = logging.getLogger(__name__)


class TemplateError(Exception):
    """The template uses something the local stack cannot resolve or create."""


class CfnLoader(yaml.SafeLoader):
    """SafeLoader turning ``!Ref x`` into ``{"Ref": "x"}``, ``!Sub s`` into ``{"Fn::Sub": s}``, etc."""


def _construct_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as CloudFormation's JSON form (intrinsics as ``{"Ref": ...}`` / ``{"Fn::...": ...}``)."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path} is not a CloudFormation template")
    return data


def translate(template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``template``, computed offline."""
    sam = copy.deepcopy(dict(template))
    for spec in sam["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://{CODE_BUCKET}/{props[key]}"
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=DEFAULT_REGION))
    translated: dict[str, Any] = translator.translate(
        sam, parameter_values=dict(parameters or {}), get_managed_policy_map=dict
    )
    return translated


NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Evaluates Ref, GetAtt, Sub, If, Equals, Not, And, Or, Join, Select, Split and conditions.

    ``refs`` and ``attributes`` hold what ``Ref`` and ``Fn::GetAtt`` answer for each resource; ``create`` is
    called for a resource that has no answer yet (and must fill them in).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        stack_name: str = "videogen-local",
        region: str = DEFAULT_REGION,
        create: Callable[[str], None] | None = None,
    ) -> None:
        self.template = template
        self.create = create
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

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def enabled(self, logical_id: str) -> bool:
        name = self.template["Resources"][logical_id].get("Condition")
        return name is None or self.condition(name)

    def ref(self, name: str) -> Any:
        if name not in self.refs and name in self.template["Resources"] and self.create is not None:
            self.create(name)
        if name not in self.refs:
            raise TemplateError(f"Ref {name}: no such parameter or created resource")
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
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:  # noqa: PLR0911
        if name == "GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(logical_id, attribute)
        if name == "Sub":
            return self._sub(*arg) if isinstance(arg, list) else self._sub(arg)
        if name == "If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if name in ("Not", "And", "Or"):
            values = [bool(v) for v in self.resolve(arg)]
            return {"Not": not values[0], "And": all(values), "Or": any(values)}[name]
        if name == "Join":
            separator, items = arg
            return str(separator).join(str(v) for v in self.resolve(items))
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

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def substitute_definition(text: str, substitutions: Mapping[str, Any]) -> str:
    """Replace ``${Name}`` in an ASL text; fail when a placeholder has no value or the result is not JSON."""
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in substitutions})
    if missing:
        raise TemplateError(f"DefinitionSubstitutions has no value for {missing}")
    result = _PLACEHOLDER.sub(lambda m: str(substitutions[m.group(1)]), text)
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


def create_table(dynamodb: Any, name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """Create a DynamoDB table from resolved ``AWS::DynamoDB::Table`` properties; returns its description."""
    copied = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
    kwargs = {key: props[key] for key in copied if key in props}
    if "SSESpecification" in props:
        kwargs["SSESpecification"] = {"Enabled": props["SSESpecification"].get("SSEEnabled", False)}
    table: dict[str, Any] = dynamodb.create_table(TableName=name, **kwargs)["TableDescription"]
    if "PointInTimeRecoverySpecification" in props:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"]
        )
    if "TimeToLiveSpecification" in props:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    return table


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
    async_max_retries: int = 2  # the function's EventInvokeConfig, as Lambda applies it


@dataclass(frozen=True)
class WiredEvent:
    """One ``Events`` entry of a function of the template."""

    function: str  # logical id
    event_id: str
    type: str


@dataclass
class LocalStack:
    """The created resources, by what the pipeline needs to know about them."""

    session: Any
    region: str
    outputs: dict[str, Any]
    functions: dict[str, FunctionSpec]
    event_sources: list[WiredEvent]
    api_function: str | None  # the function behind the template's REST API
    api_resource: str
    event_bus: str
    event_source: str | None
    events_queue_url: str
    _events: list[dict[str, Any]] = field(default_factory=list)
    _events_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bucket(self) -> str:
        return str(self.outputs["VideoBucketName"])

    @property
    def jobs_table(self) -> str:
        return str(self.outputs["JobsTableName"])

    @property
    def state_machine_arn(self) -> str:
        return str(self.outputs["StateMachineArn"])

    def events(self) -> list[dict[str, Any]]:
        """Every event that reached the bus so far (EventBridge envelopes), oldest first."""
        sqs = self.session.client("sqs", region_name=self.region)
        with self._events_lock:
            while messages := sqs.receive_message(
                QueueUrl=self.events_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", []):
                for message in messages:
                    self._events.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
            return list(self._events)


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "The code runs in-process (local/lambdas.py).\n")
    return buffer.getvalue()


class _Deployer:
    """Creates the translated resources in moto, each the first time it is needed."""

    def __init__(
        self,
        template: dict[str, Any],
        session: Any,
        *,
        parameters: Mapping[str, Any] | None,
        stack_name: str,
        region: str,
        runway_api_key: str,
        env_overrides: Mapping[str, str],
    ) -> None:
        self.template = template
        self.session = session
        self.stack_name = stack_name
        self.region = region
        self.runway_api_key = runway_api_key
        self.env_overrides = dict(env_overrides)
        self.functions: dict[str, FunctionSpec] = {}
        self.layer_dirs: dict[str, Path] = {}
        self.substitutions: dict[str, Any] = {}
        self.resolver = Resolver(
            template, parameters=parameters, stack_name=stack_name, region=region, create=self.create
        )
        self._creating: set[str] = set()
        self._creators: dict[str, Callable[[str, dict[str, Any]], tuple[str, dict[str, str]]]] = {
            "AWS::S3::Bucket": self.bucket,
            "AWS::DynamoDB::Table": self.table,
            "AWS::SecretsManager::Secret": self.secret,
            "AWS::IAM::Role": self.role,
            "AWS::Logs::LogGroup": self.log_group,
            "AWS::Lambda::LayerVersion": self.layer,
            "AWS::Lambda::Function": self.function,
            "AWS::Lambda::Permission": self.permission,
            "AWS::Lambda::EventInvokeConfig": self.event_invoke_config,
            "AWS::Events::Rule": self.rule,
            "AWS::StepFunctions::StateMachine": self.state_machine,
        }

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)

    def name(self, logical_id: str, *, max_len: int = 64) -> str:
        return f"{self.stack_name}-{logical_id}-{uuid.uuid4().hex[:12]}"[:max_len]

    def deploy(self) -> None:
        resources = self.template["Resources"]
        for logical_id in resources:
            if self.resolver.enabled(logical_id):
                self.resolver.ref(logical_id)
        # Applied last: the bucket's notifications name a function that refers to the bucket.
        for logical_id, spec in resources.items():
            notifications = spec.get("Properties", {}).get("NotificationConfiguration")
            if spec["Type"] == "AWS::S3::Bucket" and notifications and self.resolver.enabled(logical_id):
                self.notifications(self.resolver.refs[logical_id], self.resolver.resolve(notifications))

    def create(self, logical_id: str) -> None:
        spec = self.template["Resources"][logical_id]
        if logical_id in self._creating:
            raise TemplateError(f"circular reference through {logical_id}")
        if not self.resolver.enabled(logical_id):
            raise TemplateError(f"{logical_id} is referred to but its condition is false")
        creator = self._creators.get(spec["Type"])
        if creator is None:
            log.debug("%s (%s) is not deployed locally", logical_id, spec["Type"])
            self.resolver.refs[logical_id] = logical_id
            return
        self._creating.add(logical_id)
        props = {k: v for k, v in spec.get("Properties", {}).items() if k != "NotificationConfiguration"}
        ref, attributes = creator(logical_id, self.resolver.resolve(props))
        self._creating.discard(logical_id)
        self.resolver.refs[logical_id] = ref
        self.resolver.attributes[logical_id] = attributes

    def bucket(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("BucketName") or self.name(logical_id, max_len=63).lower()
        create_bucket(self.client("s3"), name, props, region=self.region)
        return name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}

    def notifications(self, bucket: str, config: dict[str, Any]) -> None:
        lambdas = []
        for entry in config.get("LambdaConfigurations", []):
            configuration = {"LambdaFunctionArn": entry["Function"], "Events": [entry["Event"]]}
            if "Filter" in entry:
                configuration["Filter"] = {"Key": {"FilterRules": entry["Filter"]["S3Key"]["Rules"]}}
            lambdas.append(configuration)
        self.client("s3").put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": lambdas}
        )

    def table(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("TableName") or self.name(logical_id)
        table = create_table(self.client("dynamodb"), name, props)
        return name, {"Arn": table["TableArn"]}

    def secret(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        secrets = self.client("secretsmanager")
        # On AWS the operator fills an empty secret after deploying; locally it holds the Runway key.
        value = props.get("SecretString", self.runway_api_key)
        generate = dict(props.get("GenerateSecretString", {}))
        if generate:
            template = generate.pop("SecretStringTemplate", None)
            key = generate.pop("GenerateStringKey", None)
            value = secrets.get_random_password(**generate)["RandomPassword"]
            if template:
                value = json.dumps({**json.loads(template), key: value})
        name = props.get("Name") or self.name(logical_id)
        arn = secrets.create_secret(Name=name, Description=props.get("Description", ""), SecretString=value)
        return arn["ARN"], {"Id": arn["ARN"]}

    def role(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
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

    def log_group(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("LogGroupName") or self.name(logical_id)
        self.client("logs").create_log_group(logGroupName=name)
        return name, {"Arn": f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*"}

    def layer(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        arn = self.client("lambda").publish_layer_version(
            LayerName=props.get("LayerName", logical_id), Content={"ZipFile": _placeholder_zip()}
        )["LayerVersionArn"]
        self.layer_dirs[arn] = ROOT / props["Content"]["S3Key"]
        return arn, {}

    def function(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        name = props.get("FunctionName") or self.name(logical_id)
        variables = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        environment = {**variables, **self.env_overrides}
        passed = ("Description", "Runtime", "Handler", "Timeout", "MemorySize", "Architectures", "Layers")
        arn = self.client("lambda").create_function(
            FunctionName=name,
            Role=props["Role"],
            Code={"ZipFile": _placeholder_zip()},
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

    def permission(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        passed = ("Action", "Principal", "SourceArn", "SourceAccount")
        self.client("lambda").add_permission(
            FunctionName=props["FunctionName"],
            StatementId=logical_id,
            **{key: props[key] for key in passed if key in props},
        )
        return logical_id, {}

    def event_invoke_config(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        passed = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        self.client("lambda").put_function_event_invoke_config(
            FunctionName=props["FunctionName"], **{key: props[key] for key in passed if key in props}
        )
        return logical_id, {}

    def rule(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        events = self.client("events")
        bus = props.get("EventBusName", "default")
        if bus != "default":
            with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
                events.create_event_bus(Name=bus)
        name = props.get("Name") or self.name(logical_id)
        rule: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            rule["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            rule["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**rule)["RuleArn"]
        answer = events.put_targets(Rule=name, EventBusName=bus, Targets=props.get("Targets", []))
        if answer.get("FailedEntryCount"):
            raise TemplateError(f"{logical_id}: targets refused: {answer['FailedEntries']}")
        return name, {"Arn": arn}

    def state_machine(self, logical_id: str, props: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if "DefinitionS3Location" in props:
            text = (ROOT / props["DefinitionS3Location"]["Key"]).read_text(encoding="utf-8")
        else:
            text = props.get("DefinitionString") or json.dumps(props["Definition"])
        self.substitutions = props.get("DefinitionSubstitutions", {})
        name = props.get("StateMachineName") or self.name(logical_id, max_len=80)
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=substitute_definition(text, self.substitutions),
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        return arn, {"Arn": arn, "Name": name}

    def api_function(self) -> tuple[str | None, str]:
        """The function behind the template's REST API (its proxy integration) and the API resource path."""
        for spec in self.template["Resources"].values():
            if spec["Type"] != "AWS::ApiGateway::RestApi":
                continue
            for path, methods in (
                self.resolver.resolve(spec["Properties"].get("Body", {})).get("paths", {}).items()
            ):
                for method in methods.values():
                    uri = str(method.get("x-amazon-apigateway-integration", {}).get("uri", ""))
                    for logical_id, function in self.functions.items():
                        if f"/functions/{function.arn}/invocations" in uri:
                            return logical_id, path
        return None, "/{proxy+}"

    def capture_events(self) -> str:
        """An SQS queue receiving every event the state machine sends to its bus (``LocalStack.events``)."""
        sqs = self.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{self.stack_name}-captured-events")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        bus = self.substitutions.get("EventBusName", "default")
        source = self.substitutions.get("EventSource")
        pattern = {"source": [source]} if source else {"account": [ACCOUNT_ID]}
        self.rule(
            "CaptureEvents",
            {
                "Name": f"{self.stack_name}-capture-events",
                "EventBusName": bus,
                "EventPattern": pattern,
                "Targets": [{"Id": "capture", "Arn": attributes["QueueArn"]}],
            },
        )
        return str(queue_url)


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
    sam = load_template(template_path)
    deployer = _Deployer(
        translate(sam, parameters),
        session,
        parameters=parameters,
        stack_name=stack_name or f"videogen-local-{uuid.uuid4().hex[:6]}",
        region=region,
        runway_api_key=runway_api_key,
        env_overrides=env_overrides or {},
    )
    deployer.deploy()
    lambda_client = deployer.client("lambda")
    for function in deployer.functions.values():
        with contextlib.suppress(lambda_client.exceptions.ResourceNotFoundException):
            config = lambda_client.get_function_event_invoke_config(FunctionName=function.name)
            function.async_max_retries = int(config.get("MaximumRetryAttempts", 2))
    outputs = {
        name: deployer.resolver.resolve(output["Value"])
        for name, output in deployer.template.get("Outputs", {}).items()
        if "Condition" not in output or deployer.resolver.condition(output["Condition"])
    }
    api_function, api_resource = deployer.api_function()
    return LocalStack(
        session=session,
        region=region,
        outputs=outputs,
        functions=deployer.functions,
        event_sources=[
            WiredEvent(logical_id, event_id, event["Type"])
            for logical_id, spec in sam["Resources"].items()
            for event_id, event in spec.get("Properties", {}).get("Events", {}).items()
        ],
        api_function=api_function,
        api_resource=api_resource,
        event_bus=str(deployer.substitutions.get("EventBusName", "default")),
        event_source=deployer.substitutions.get("EventSource"),
        events_queue_url=deployer.capture_events(),
    )
