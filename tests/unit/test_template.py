"""Static checks of template.yaml: the SAM transform done offline, its IAM policies, cfn-lint."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from local.stack import load_template
from videogen.core.settings import MAX_RUNWAY_INTERNAL_RETRIES, Settings
from videogen.pipeline import time_budgets

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PIPELINE_FUNCTIONS = {
    "UploadInputsFunction",
    "SubmitFunction",
    "LostCreateFunction",
    "PollFunction",
    "ArchiveFunction",
    "CancelFunction",
    "FinishFunction",
}
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def state_machine(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [
        (name, spec)
        for name, spec in template["Resources"].items()
        if spec["Type"] in {"AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"}
    ]
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def asl_text(sam_template: dict[str, Any]) -> str:
    _, spec = state_machine(sam_template)
    return (ROOT / spec["Properties"]["DefinitionUri"]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def transformed(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM would deploy, built as ``sam validate`` does (no AWS calls)."""
    template = copy.deepcopy(sam_template)
    for spec in template["Resources"].values():
        props = spec.get("Properties", {})
        if isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://placeholder-bucket/code.zip"
        if isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = "s3://placeholder-bucket/layer.zip"
        if isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text(encoding="utf-8"))
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name="us-east-1"))
    return translator.translate(template, parameter_values={}, get_managed_policy_map=dict)


def refs(value: Any) -> Iterator[str]:
    """Logical ids named by Ref / GetAtt anywhere in ``value``."""
    if isinstance(value, list):
        for item in value:
            yield from refs(item)
    elif isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            yield target[0] if isinstance(target, list) else target.split(".")[0]
        for item in value.values():
            yield from refs(item)


def statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in role["Properties"].get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return value if isinstance(value, list) else [value]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def test_every_substitution_is_used_and_every_placeholder_substituted(
    sam_template: dict[str, Any], asl_text: str
) -> None:
    # GIVEN the DefinitionSubstitutions and the ASL file WHEN compared THEN they name the same placeholders
    _, spec = state_machine(sam_template)
    substitutions = set(spec["Properties"]["DefinitionSubstitutions"])
    placeholders = set(PLACEHOLDER.findall(asl_text))
    assert placeholders - substitutions == set(), "placeholders without a substitution"
    assert substitutions - placeholders == set(), "substitutions the ASL never uses"


def test_transform_keeps_the_substitutions(transformed: dict[str, Any]) -> None:
    _, spec = state_machine(transformed)
    props = spec["Properties"]
    assert "DefinitionSubstitutions" in props
    assert "Definition" in props or "DefinitionString" in props


def test_state_machine_invokes_exactly_the_pipeline_functions(transformed: dict[str, Any]) -> None:
    name, spec = state_machine(transformed)
    role_id = next(refs(spec["Properties"]["RoleArn"]))
    role = transformed["Resources"][role_id]
    invoked: set[str] = set()
    for statement in statements(role):
        lambda_actions = [a for a in actions(statement) if a == "*" or a.lower().startswith("lambda:")]
        if not lambda_actions or statement.get("Effect") != "Allow":
            continue
        assert lambda_actions == ["lambda:InvokeFunction"], f"{name} may do {lambda_actions}"
        targets = set(refs(statement["Resource"]))
        assert targets, f"{name} may invoke {statement['Resource']} (not one of the stack's functions)"
        invoked |= targets
    assert invoked == PIPELINE_FUNCTIONS


def test_the_api_reaches_runway_only_through_the_cancel_and_reconcile_functions(
    transformed: dict[str, Any],
) -> None:
    # GIVEN the API function's role as SAM generates it
    role = transformed["Resources"]["ApiFunctionRole"]
    invoked: set[str] = set()
    secrets: set[str] = set()
    for statement in statements(role):
        if any(a.lower().startswith("lambda:") for a in actions(statement)):
            invoked |= set(refs(statement["Resource"]))
        if "secretsmanager:GetSecretValue" in actions(statement):
            secrets |= set(refs(statement["Resource"]))
    # THEN the only secret it may read is the Runway key's, to refuse jobs (503) while it is not configured
    # (it never calls Runway: the import contracts keep the SDK out of the API)
    assert secrets <= {"RunwayApiSecret", "RunwaySecretArn"} and secrets
    # AND the only functions it may invoke own the Runway side: cancels, and re-archiving on retry
    assert invoked == {"CancelFunction", "ReconcileFunction"}


def test_lambda_tasks_use_the_invoked_functions(sam_template: dict[str, Any], asl_text: str) -> None:
    _, spec = state_machine(sam_template)
    substitutions = spec["Properties"]["DefinitionSubstitutions"]
    asl = json.loads(asl_text)
    used = {
        PLACEHOLDER.fullmatch(state["Resource"]).group(1)  # type: ignore[union-attr]
        for state in asl["States"].values()
        if state["Type"] == "Task" and PLACEHOLDER.fullmatch(state["Resource"])
    }
    functions = {next(refs(substitutions[key])) for key in used}
    assert functions == PIPELINE_FUNCTIONS


def test_no_role_grants_wildcard_actions(transformed: dict[str, Any]) -> None:
    for name, spec in transformed["Resources"].items():
        if spec["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(spec):
            for action in actions(statement):
                assert action != "*" and not action.endswith(":*"), f"{name} allows {action}"
            if statement.get("Resource") == "*":
                assert all(a.startswith(("logs:", "xray:")) for a in actions(statement)), (
                    f"{name} allows {actions(statement)} on every resource"
                )


def test_data_resources_are_referenced_not_hard_coded(
    sam_template: dict[str, Any], transformed: dict[str, Any], asl_text: str
) -> None:
    variables = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("OUTPUT_BUCKET", "JOBS_TABLE", "RUNWAY_SECRET_ARN", "EVENT_BUS_NAME"):
        assert isinstance(variables[name], dict), f"{name} is hard-coded: {variables[name]!r}"
    _, spec = state_machine(sam_template)
    for key in ("JobsTableName",):
        assert isinstance(spec["Properties"]["DefinitionSubstitutions"][key], dict), f"{key} is hard-coded"
    literal = re.compile(r"arn:aws[\w-]*:(s3|dynamodb|secretsmanager|events|lambda):")
    offenders = [s for s in strings(transformed["Resources"]) if literal.search(s)]
    assert not offenders, f"hard-coded ARNs in the template: {offenders}"
    assert not literal.search(asl_text)
    for spec in sam_template["Resources"].values():
        props = spec.get("Properties", {})
        for key in ("BucketName", "TableName"):
            assert key not in props or isinstance(props[key], dict), f"fixed {key}: {props[key]}"


def test_functions_reach_data_only_through_their_policies(transformed: dict[str, Any]) -> None:
    # Every policy Resource is an intrinsic that names a stack resource or parameter.
    for name, spec in transformed["Resources"].items():
        if spec["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(spec):
            resource = statement.get("Resource")
            if resource == "*":
                continue
            assert isinstance(resource, dict | list), f"{name}: literal resource {resource!r}"


def cfn_lint() -> list[str]:
    candidate = Path(sys.executable).parent / "cfn-lint"
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("cfn-lint")
    if found is None:
        pytest.skip("cfn-lint is not installed")
    return [found]


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [*cfn_lint(), str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def dependencies(value: Any) -> Iterator[str]:
    """Logical ids ``value`` depends on: Ref, GetAtt and the ``${...}`` names of Fn::Sub."""
    yield from refs(value)
    if isinstance(value, dict):
        for item in value.values():
            yield from dependencies(item) if isinstance(item, dict | list) else ()
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str):
            yield from (name.split(".")[0] for name in PLACEHOLDER.findall(text) if "::" not in name)
    elif isinstance(value, list):
        for item in value:
            yield from dependencies(item)


def test_translated_template_has_no_circular_dependency(transformed: dict[str, Any]) -> None:
    # GIVEN what CloudFormation would deploy WHEN its resources' references are followed
    resources = transformed["Resources"]
    edges = {
        name: {d for d in dependencies(spec.get("Properties", {})) if d in resources}
        | set([spec["DependsOn"]] if isinstance(spec.get("DependsOn"), str) else spec.get("DependsOn", []))
        for name, spec in resources.items()
    }
    # THEN no resource depends on itself through others (CloudFormation refuses such a stack)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            assert (cycle := visit(start, [])) is None, " -> ".join(cycle)


# --- The submit side: Lambda timeouts over the clients' worst case, the INTERNAL retry parameter ------------


@pytest.mark.parametrize(
    ("function", "budget"),
    [
        ("UploadInputsFunction", time_budgets.upload_step_seconds()),
        ("SubmitFunction", time_budgets.create_step_seconds()),
        ("LostCreateFunction", time_budgets.lost_create_step_seconds()),
    ],
)
def test_submit_side_timeouts_leave_a_margin_over_their_worst_case(
    sam_template: dict[str, Any], function: str, budget: float
) -> None:
    # GIVEN the worst case computed from the SDK and DynamoDB client timeouts the step uses
    timeout = sam_template["Resources"][function]["Properties"]["Timeout"]
    # THEN the function's Timeout exceeds it by the margin: the create's own timeout always fires first
    assert timeout >= budget + time_budgets.TIMEOUT_MARGIN_SECONDS, (function, timeout, budget)


def test_internal_retries_are_a_bounded_parameter_passed_to_every_function(
    sam_template: dict[str, Any],
) -> None:
    parameter = sam_template["Parameters"]["RunwayInternalRetries"]
    assert parameter["Type"] == "Number" and parameter["Default"] == Settings().runway_internal_retries == 2
    assert parameter["MinValue"] == 0 and parameter["MaxValue"] == MAX_RUNWAY_INTERNAL_RETRIES
    variables = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["RUNWAY_INTERNAL_RETRIES"] == {"Ref": "RunwayInternalRetries"}
    assert Settings.from_env({"RUNWAY_INTERNAL_RETRIES": "4"}).runway_internal_retries == 4
