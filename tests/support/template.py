"""Build test resources from ``template.yaml`` itself, so tests cannot drift from the deployed schema.

Everything here reuses the local stack (``local.stack``): one CloudFormation loader, the SAM transform, one
intrinsic-function resolver, one way to turn ``AWS::S3::Bucket`` / ``AWS::DynamoDB::Table`` properties into
API calls.

- :func:`create_jobs_table` / :func:`create_video_bucket` create the DynamoDB table and the S3 bucket
  (in moto) from the ``JobsTable`` / ``VideoBucket`` properties.
- :func:`function_environment` gives a function's environment variables as SAM deploys them (Globals merged
  with the function's own), with references replaced by the names of the test resources.
"""

from __future__ import annotations

import functools
from typing import Any

from local.stack import TEMPLATE_PATH, Resolver, create_bucket, create_table, load_template, translate

ROOT = TEMPLATE_PATH.parent

__all__ = [
    "ROOT",
    "create_jobs_table",
    "create_video_bucket",
    "function_environment",
    "load_template",
    "resource_properties",
]


def resource_properties(logical_id: str) -> dict[str, Any]:
    return dict(load_template()["Resources"][logical_id].get("Properties", {}))


def create_jobs_table(dynamodb: Any, name: str = "jobs") -> str:
    """Create the ``JobsTable`` of template.yaml (keys, GSIs, billing, SSE, PITR) with a boto3 client."""
    create_table(dynamodb, name, resource_properties("JobsTable"))
    return name


def create_video_bucket(s3: Any, name: str = "videos") -> str:
    """Create the ``VideoBucket`` of template.yaml (encryption, access block, ownership, versioning,
    lifecycle rules), with the parameters' defaults."""
    props = Resolver(load_template()).resolve(resource_properties("VideoBucket"))
    create_bucket(s3, name, props, region=s3.meta.region_name or "us-east-1")
    return name


@functools.cache
def _translated(parameters: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return translate(load_template(), dict(parameters))


def function_environment(
    logical_id: str, resources: dict[str, str], parameters: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment variables of a function as SAM deploys it (Globals merged), references resolved.

    ``resources`` maps logical ids (``JobsTable``, ``VideoBucket``, ``RunwayApiSecret``...) to what ``!Ref``
    gives in the test (``<id>.Arn`` keys answer ``!GetAtt <id>.Arn``; resources not named resolve to their
    logical id); ``parameters`` overrides template parameter values (defaults otherwise).
    """
    template = _translated(tuple(sorted((parameters or {}).items())))
    resolver = Resolver(template, parameters=parameters)
    for rid in template["Resources"]:
        resolver.refs[rid] = resources.get(rid, rid)
        resolver.attributes[rid] = {"Arn": resources.get(f"{rid}.Arn", resolver.refs[rid])}
    variables = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {name: str(value) for name, value in resolver.resolve(variables).items()}
