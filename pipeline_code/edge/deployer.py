"""The edge deployer (boto3 only): an Approved intent model package becomes a model component version and a revision
of the thing group's Greengrass deployment (``ROLLBACK`` on failure); :func:`rollback` goes back one model.

Input: the EventBridge event ``SageMaker Model Package State Change``. Its ``ModelDataUrl`` is the model folder's S3
prefix (the intent pipeline's model output). The folder is checked against its ``metadata.json`` sha256 list before
anything is published, zipped deterministically (``model/<file>``) under ``models/<version>/`` of the
edge-deployments bucket, and the component version is derived from the sha256 of ``metadata.json``: the same model
always gives the same version. Every step looks before it writes, so a repeated event changes nothing. An event that
is not an approval of the intent group, or is malformed, is logged and ignored.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from pipeline_code.edge import recipe as recipes

LOG = logging.getLogger(__name__)
METADATA = "metadata.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same files give the same zip bytes


class DeployError(RuntimeError):
    """The approved package cannot be deployed (its model folder is incomplete or altered)."""


@dataclass(frozen=True)
class EdgeTarget:
    prefix: str  # the stage's resource prefix, e.g. mlops-dev
    bucket: str  # the edge-deployments bucket
    thing_group_arn: str
    model_package_group: str  # the intent model package group
    # A SageMaker edge intent project's target: its name (its own model component) and the stage's thing group,
    # whose deployment gives the app component's version while the project's own group has no deployment yet.
    project: str = ""
    app_source_thing_group_arn: str = ""

    @property
    def app_component(self) -> str:
        return recipes.app_component_name(self.prefix)

    @property
    def model_component(self) -> str:
        if self.project:
            return recipes.project_model_component_name(self.prefix, self.project)
        return recipes.model_component_name(self.prefix)

    @property
    def deployment_name(self) -> str:
        return f"{self.prefix}-project-{self.project}-edge-intent" if self.project else f"{self.prefix}-edge-intent"


@dataclass(frozen=True)
class Outcome:
    action: str  # "ignored", "unchanged", "deployed", "rolled_back"
    reason: str
    model_version: str | None = None
    deployment_id: str | None = None


def _parse_s3(url: str) -> tuple[str, str]:
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise ValueError(f"ModelDataUrl {url!r} is not an s3://bucket/prefix URL")
    bucket, _, key = url[5:].partition("/")
    return bucket, key.rstrip("/")


def approved_model_url(event: Any, target: EdgeTarget) -> tuple[str | None, str]:
    """(model folder URL, why) for an approval of the intent group; (None, why not) for anything else."""
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        return None, "malformed event: no detail object"
    if event.get("detail-type") != "SageMaker Model Package State Change":
        return None, f"not a model package state change ({str(event.get('detail-type'))[:80]!r})"
    detail = event["detail"]
    group = detail.get("ModelPackageGroupName")
    if str(group).lower() != target.model_package_group.lower():
        return None, f"model package group {str(group)[:80]!r} is not {target.model_package_group!r}"
    status = detail.get("ModelApprovalStatus")
    if status != "Approved":
        return None, f"{str(detail.get('ModelPackageArn'))[:200]} is {str(status)[:40]}, not Approved"
    try:
        url = detail["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        _parse_s3(url)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return None, f"malformed event: no usable ModelDataUrl ({type(exc).__name__}: {exc})"
    return str(url), f"{detail.get('ModelPackageArn')} approved"


def read_model_folder(s3: Any, url: str) -> dict[str, bytes]:
    """Every file of the folder, checked against metadata.json (sha256 of each listed file; none missing)."""
    bucket, prefix = _parse_s3(url)
    files: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            name = item["Key"][len(prefix) + 1 :]
            if name and "/" not in name:
                files[name] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    if METADATA not in files:
        raise DeployError(f"{url}: {METADATA} is missing")
    try:
        listed = json.loads(files[METADATA])["files"]
        assert isinstance(listed, dict)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise DeployError(f"{url}: {METADATA} is not a model metadata file ({exc})") from exc
    for name, expected in sorted(listed.items()):
        if name not in files:
            raise DeployError(f"{url}: {name} is missing")
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise DeployError(f"{url}: {name} does not match its sha256 in {METADATA}")
    return {name: files[name] for name in [METADATA, *sorted(listed)]}


def model_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"model/{name}", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _exists(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "NoSuchKey", "404", "NotFound"):
            return False
        raise


def current_deployment(greengrass: Any, target: EdgeTarget) -> dict[str, Any] | None:
    listed = greengrass.list_deployments(targetArn=target.thing_group_arn, historyFilter="LATEST_ONLY")
    deployments = listed.get("deployments", [])
    if not deployments:
        return None
    return dict(greengrass.get_deployment(deploymentId=deployments[0]["deploymentId"]))


def deployed_model_version(deployment: dict[str, Any] | None, target: EdgeTarget) -> str | None:
    if deployment is None:
        return None
    spec = deployment.get("components", {}).get(target.model_component)
    return spec.get("componentVersion") if spec else None


def revise_deployment(
    greengrass: Any, target: EdgeTarget, model_version: str, base: dict[str, Any] | None, *, reason: str
) -> str:
    """A new revision of the group's deployment: its components, with this model and the app pointed at it."""
    components = {name: dict(spec) for name, spec in (base or {}).get("components", {}).items()}
    app = components.setdefault(target.app_component, {})
    if "componentVersion" not in app and target.app_source_thing_group_arn:  # a project's first deployment
        source = current_deployment(greengrass, replace(target, thing_group_arn=target.app_source_thing_group_arn))
        version = (source or {}).get("components", {}).get(target.app_component, {}).get("componentVersion")
        if version:
            app["componentVersion"] = version
    if "componentVersion" not in app:
        raise DeployError(f"the thing group's deployment has no {target.app_component}: deploy the Edge stack first")
    app.pop("configurationUpdate", None)
    app["configurationUpdate"] = {
        "merge": json.dumps({"ModelComponent": target.model_component, "ModelVersion": model_version})
    }
    components[target.model_component] = {"componentVersion": model_version}
    response = greengrass.create_deployment(
        targetArn=target.thing_group_arn,
        deploymentName=target.deployment_name,
        components=components,
        deploymentPolicies={
            "failureHandlingPolicy": "ROLLBACK",
            "componentUpdatePolicy": {"timeoutInSeconds": 120, "action": "NOTIFY_COMPONENTS"},
            "configurationValidationPolicy": {"timeoutInSeconds": 120},
        },
        tags={"mlops:reason": reason[:250]},
    )
    return str(response["deploymentId"])


def handle_event(event: Any, *, s3: Any, greengrass: Any, target: EdgeTarget) -> Outcome:
    """Deploy the approved model of ``event``; a no-op (logged) for anything that is not such an approval."""
    url, why = approved_model_url(event, target)
    if url is None:
        LOG.info("edge deployer: ignored: %s", why)
        return Outcome("ignored", why)
    files = read_model_folder(s3, url)
    model_sha256 = hashlib.sha256(files[METADATA]).hexdigest()
    version = recipes.version_from_hash(model_sha256)
    key = f"{recipes.MODEL_PREFIX}/{version}/model.zip"
    if not _exists(s3.head_object, Bucket=target.bucket, Key=key):
        s3.put_object(Bucket=target.bucket, Key=key, Body=model_zip(files), ContentType="application/zip")
    arn = f"{target.thing_group_arn.split(':thinggroup/')[0].replace(':iot:', ':greengrass:')}:components:"
    arn += f"{target.model_component}:versions:{version}"
    if not _exists(greengrass.describe_component, arn=arn):
        recipe = recipes.model_recipe(
            prefix=target.prefix,
            version=version,
            artifact_uri=f"s3://{target.bucket}/{key}",
            model_sha256=model_sha256,
            name=target.model_component,
        )
        greengrass.create_component_version(inlineRecipe=json.dumps(recipe, sort_keys=True).encode("utf-8"))
    deployment = current_deployment(greengrass, target)
    if deployed_model_version(deployment, target) == version:
        LOG.info("edge deployer: model %s is already deployed to %s", version, target.thing_group_arn)
        return Outcome("unchanged", f"model {version} is already deployed", version)
    deployment_id = revise_deployment(greengrass, target, version, deployment, reason=why)
    LOG.info("edge deployer: deployment %s rolls out model %s", deployment_id, version)
    return Outcome("deployed", why, version, deployment_id)


def rollback(greengrass: Any, target: EdgeTarget) -> Outcome:
    """Deploy the model version that preceded the current one in the group's deployment history."""
    history = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"targetArn": target.thing_group_arn, "historyFilter": "ALL"}
        if token:
            kwargs["nextToken"] = token
        page = greengrass.list_deployments(**kwargs)
        history.extend(page.get("deployments", []))
        token = page.get("nextToken")
        if not token:
            break
    history.sort(key=lambda d: (d.get("creationTimestamp"), int(d.get("revisionId", "0") or 0)), reverse=True)
    current: str | None = None
    latest: dict[str, Any] | None = None
    for entry in history:
        deployment = dict(greengrass.get_deployment(deploymentId=entry["deploymentId"]))
        version = deployed_model_version(deployment, target)
        if latest is None:
            latest, current = deployment, version
            continue
        if version is not None and version != current:
            deployment_id = revise_deployment(
                greengrass, target, version, latest, reason=f"rollback from {current} to {version}"
            )
            return Outcome("rolled_back", f"model {current} -> {version}", version, deployment_id)
    raise DeployError(f"no earlier model version in the deployment history of {target.thing_group_arn}")
