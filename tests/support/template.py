"""Build test resources from ``template.yaml`` itself, so tests cannot drift from the deployed schema.

- :func:`load_template` reads the template with a YAML loader that accepts CloudFormation short tags
  (``!Ref``, ``!GetAtt``, ``!If``, ``!Sub``, ...), turning them into their long JSON forms.
- :func:`create_jobs_table` / :func:`create_video_bucket` create the DynamoDB table and the S3 bucket
  (in moto) from the ``JobsTable`` / ``VideoBucket`` properties.
- :func:`function_environment` gives a function's environment variables (Globals merged with the function's
  own), with references replaced by the names of the test resources.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

_FUNCTIONS = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not", "Or",
    "Select", "Split", "Sub", "Transform", "Length", "ToJsonString",
)  # fmt: skip


class CfnLoader(yaml.SafeLoader):
    """SafeLoader with CloudFormation tags: ``!Ref x`` -> ``{"Ref": "x"}``, ``!Sub`` -> ``Fn::Sub``..."""


def _value(loader: CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _fn(name: str) -> Any:
    def construct(loader: CfnLoader, node: yaml.Node) -> Any:
        return {f"Fn::{name}": _value(loader, node)}

    return construct


def _get_att(loader: CfnLoader, node: yaml.Node) -> Any:
    value = _value(loader, node)
    return {"Fn::GetAtt": value.split(".", 1) if isinstance(value, str) else value}


for _name in _FUNCTIONS:
    CfnLoader.add_constructor(f"!{_name}", _fn(_name))
CfnLoader.add_constructor("!Ref", lambda loader, node: {"Ref": _value(loader, node)})
CfnLoader.add_constructor("!Condition", lambda loader, node: {"Condition": _value(loader, node)})
CfnLoader.add_constructor("!GetAtt", _get_att)


@cache
def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    import copy

    return copy.deepcopy(_load(path))


def resource_properties(logical_id: str) -> dict[str, Any]:
    return dict(load_template()["Resources"][logical_id].get("Properties", {}))


def create_jobs_table(dynamodb: Any, name: str = "jobs") -> str:
    """Create the ``JobsTable`` of template.yaml (keys, GSIs, billing, SSE) with a boto3 client."""
    props = resource_properties("JobsTable")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        kwargs["SSESpecification"] = {"Enabled": True}
    dynamodb.create_table(**kwargs)
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    return name


def _sse_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation ServerSideEncryptionRule in the S3 API's spelling."""
    out = dict(rule)
    if "ServerSideEncryptionByDefault" in out:
        out["ApplyServerSideEncryptionByDefault"] = out.pop("ServerSideEncryptionByDefault")
    return out


def create_video_bucket(s3: Any, name: str = "videos") -> str:
    """Create the ``VideoBucket`` of template.yaml (encryption, access block, ownership, versioning)."""
    props = resource_properties("VideoBucket")
    region = s3.meta.region_name
    if region and region != "us-east-1":
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        s3.create_bucket(Bucket=name)
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    _sse_rule(rule) for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    return name


def function_environment(
    logical_id: str, resources: dict[str, str], parameters: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment variables of a function: Globals merged with its own, references resolved.

    ``resources`` maps logical ids (``JobsTable``, ``VideoBucket``, ``RunwayApiSecret``...) to what ``!Ref``
    gives in the test; ``parameters`` overrides template parameter values (defaults otherwise).
    """
    template = load_template()
    params = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    params.update(parameters or {})
    conditions = template.get("Conditions", {})
    env = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    own = template["Resources"][logical_id].get("Properties", {}).get("Environment", {}).get("Variables", {})
    env.update(own)

    def resolve(value: Any) -> Any:  # noqa: PLR0911
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in params:
                    return params[arg]
                return resources.get(arg, arg)
            if key == "Fn::If":
                name, yes, no = arg
                return resolve(yes) if resolve(conditions[name]) else resolve(no)
            if key == "Fn::Equals":
                left, right = (resolve(a) for a in arg)
                return left == right
            if key == "Fn::Sub" and isinstance(arg, str):
                out = arg
                for name, val in {**params, **resources}.items():
                    out = out.replace("${" + name + "}", str(val))
                return out
            if key == "Fn::GetAtt":
                return resources.get(".".join(arg), resources.get(arg[0], ""))
        return value

    return {name: str(resolve(value)) for name, value in env.items()}
