"""Lambda entry point of the deployer.

Events: an EventBridge ``SageMaker Model Package State Change`` (the rule passes only Approved packages of the
stage's groups; the deployer checks again); the same event wrapped as ``{"target": "edge", "event": {...}}`` by the
devices rule (approvals of the stage's edge model: a Greengrass model component for the thing group, see
:mod:`pipeline_code.edge.deployer`); wrapped by a SageMaker project's own rule (stacks/projects.py), the approvals
of the project's group ``<prefix>-<project name>``: ``{"target": "project", "event": {...}}`` (tabular: its own
endpoint ``<prefix>-<project name>``) or ``{"target": "edge", "project": true, "event": {...}}`` (edge intent: its
own model component and thing group); or a direct invocation ``{"action": "rollback", "model": "adherence",
"to_version": 3}`` / ``{"action": "deploy-latest", "model": "adherence"}`` by an ML engineer (with
``"project": true``, ``model`` names a SageMaker project: its endpoint ``<prefix>-<project name>``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

from pipeline_code.deploy.deployer import Deployer, Outcome, log_decision
from pipeline_code.deploy.settings import DeployerSettings, settings_from_env
from pipeline_code.edge import deployer as edge_deployer
from pipeline_code.edge.recipe import project_thing_group_name

EDGE = "edge"
PROJECT = "project"  # {"target": "project", "event": {...}}: a tabular SageMaker project's rule, its group's approvals

logging.getLogger("mlops.deploy").setLevel(logging.INFO)


def edge_target(
    settings: DeployerSettings, group: str = "", *, project: bool = False
) -> edge_deployer.EdgeTarget | None:
    """Where the devices get a model of ``group`` from; None when the stage sends no model to devices.

    The stage's edge model goes to the stage's thing group; with ``project`` (routed by an edge intent project's own
    rule), a project group ``<prefix>-<project name>`` goes to the project's own thing group and model component
    (``pipeline_code.edge.recipe.project_*``), so two projects never share a component or a group. Any other group
    gets the stage's target, which ignores it.
    """
    if not settings.edge_model:
        return None
    stage = edge_deployer.EdgeTarget(
        prefix=settings.prefix,
        bucket=settings.edge_bucket,
        thing_group_arn=settings.edge_thing_group_arn,
        model_package_group=settings.group_name(settings.edge_model),
    )
    model = settings.model_of(group, project=True) if project else None
    if model is None:
        return stage
    arn_head = settings.edge_thing_group_arn.split(":thinggroup/")[0]
    return edge_deployer.EdgeTarget(
        prefix=settings.prefix,
        bucket=settings.edge_bucket,
        thing_group_arn=f"{arn_head}:thinggroup/{project_thing_group_name(settings.prefix, model)}",
        model_package_group=settings.group_name(model),
        project=model,
        app_source_thing_group_arn=settings.edge_thing_group_arn,
    )


def _group_of(event: Any) -> str:
    detail = event.get("detail") if isinstance(event, dict) else None
    group = detail.get("ModelPackageGroupName") if isinstance(detail, dict) else None
    return group if isinstance(group, str) else ""


def dispatch_edge(
    settings: DeployerSettings, event: Any, *, s3: Any, greengrass: Any, project: bool = False
) -> Outcome:
    """An approval for devices: publish the model component and revise the thing group's deployment.

    A package whose model folder fails its checks is a logged rejection (retrying cannot fix it); an AWS error
    propagates, so the invocation is retried and, in the end, kept in the dead-letter queue.
    """
    target = edge_target(settings, _group_of(event), project=project)
    if target is None:
        return log_decision(Outcome("skipped", "this stage sends no model to devices (no EDGE_MODEL)"))
    try:
        result = edge_deployer.handle_event(event, s3=s3, greengrass=greengrass, target=target)
    except (edge_deployer.DeployError, ValueError) as exc:
        return log_decision(Outcome("rejected", f"edge: {exc}"), level=logging.ERROR)
    action = {"ignored": "skipped", "unchanged": "unchanged", "deployed": "updated"}.get(result.action, result.action)
    extra = {"target": EDGE, "model_component_version": result.model_version, "deployment_id": result.deployment_id}
    return log_decision(Outcome(action, f"edge: {result.reason}", extra={k: v for k, v in extra.items() if v}))


def dispatch(deployer: Deployer, event: Any, *, greengrass: Any = None) -> Outcome:
    """Route one invocation; a malformed direct invocation is a logged rejection, never an exception."""
    if isinstance(event, dict) and event.get("target") == EDGE:
        if greengrass is None:
            return log_decision(Outcome("rejected", "edge: no Greengrass client"), level=logging.ERROR)
        return dispatch_edge(
            deployer.settings,
            event.get("event"),
            s3=deployer.s3,
            greengrass=greengrass,
            project=event.get("project") is True,
        )
    if isinstance(event, dict) and event.get("target") == PROJECT:
        return deployer.handle_event(event.get("event"), project=True)
    if isinstance(event, dict) and "action" in event:
        action, model = event.get("action"), event.get("model")
        to_version = event.get("to_version")
        if not isinstance(model, str) or (to_version is not None and not isinstance(to_version, int)):
            return log_decision(
                Outcome("rejected", "invocation needs 'model' (string), optional 'to_version' (int)"),
                level=logging.ERROR,
            )
        project = event.get("project") is True  # ``model`` names a SageMaker project of the stage
        if action == "rollback":
            return deployer.rollback(model, to_version=to_version, project=project)
        if action == "deploy-latest":
            if deployer.settings.model_of(deployer.settings.group_name(model), project=project) != model:
                return log_decision(Outcome("rejected", f"unknown model {model!r}"), level=logging.ERROR)
            return deployer.deploy_latest(model, project=project)
        return log_decision(Outcome("rejected", f"unknown action {action!r}"), level=logging.ERROR)
    return deployer.handle_event(event)


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = settings_from_env(os.environ)
    deployer = Deployer(settings, sagemaker=boto3.client("sagemaker"), s3=boto3.client("s3"))
    edge = isinstance(event, dict) and event.get("target") == EDGE
    return dispatch(deployer, event, greengrass=boto3.client("greengrassv2") if edge else None).to_dict()
