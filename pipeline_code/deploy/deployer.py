"""The deployer's AWS side: package -> model -> endpoint config -> endpoint, rollback, status (boto3 clients).

Every decision is one JSON log line (``log_decision``). Anything that is not an Approved package of a known group,
a package that is not in the registry, and a missing model artefact are logged no-ops: nothing is created before
every check has passed, so no half-made endpoint is left behind. AWS errors other than "not found" propagate, so
the Lambda's retries and dead-letter queue keep the event.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from pipeline_code.deploy import batch
from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.settings import DeployerSettings

LOG = logging.getLogger("mlops.deploy")
READY = ("InService",)
BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed")


class EndpointBusy(RuntimeError):
    """The endpoint is being changed; the event is retried later (Lambda retries, then the dead-letter queue)."""


@dataclass(frozen=True)
class Outcome:
    """One decision: ``action`` is created, updated, unchanged, skipped or rejected; ``reason`` says why."""

    action: str
    reason: str
    package_arn: str | None = None
    endpoint: str | None = None
    version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.action in ("created", "updated")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return {key: value for key, value in data.items() if value is not None}


def log_decision(outcome: Outcome, *, level: int = logging.INFO) -> Outcome:
    LOG.log(level, json.dumps({"component": "deployer", **outcome.to_dict()}, sort_keys=True))
    return outcome


def _not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code in ("ValidationException", "ValidationError", "ResourceNotFound") and (
        "not found" in message.lower() or "could not find" in message.lower() or "does not exist" in message.lower()
    )


class Deployer:
    """Deploys the stage's approved model packages with ``sagemaker`` and ``s3`` boto3 clients."""

    def __init__(self, settings: DeployerSettings, *, sagemaker: Any, s3: Any) -> None:
        self.settings = settings
        self.sm = sagemaker
        self.s3 = s3

    # events
    def handle_event(self, event: Any, *, project: bool = False) -> Outcome:
        """An EventBridge model package state change: deploy it if it is an Approved package of a known group
        (``project``: delivered by a SageMaker project's rule, the group is a project's ``<prefix>-<name>``)."""
        try:
            ref = replace(d.parse_event(event), project=project)
        except d.MalformedEvent as exc:
            return log_decision(Outcome("rejected", f"malformed event: {exc}"), level=logging.ERROR)
        reason = d.skip_reason(ref, self.settings)
        if reason is not None:
            return log_decision(Outcome("skipped", reason, package_arn=ref.arn, version=ref.version))
        return self.deploy_package(ref.arn, project=project)

    # deploy
    def deploy_package(
        self, package_arn: str, *, force: bool = False, why: str = "approved", project: bool = False
    ) -> Outcome:
        """Make ``package_arn`` the live version of its model's endpoint (idempotent).

        The registry, not the event, decides: the package must exist, be Approved now and belong to a known group.
        An older version than the live one is deployed only with ``force`` (a rollback).
        """
        try:
            ref = d.parse_package_arn(package_arn)
        except d.MalformedEvent as exc:
            return log_decision(Outcome("rejected", str(exc), package_arn=package_arn), level=logging.ERROR)
        try:
            package = self.sm.describe_model_package(ModelPackageName=package_arn)
        except ClientError as exc:
            if _not_found(exc):
                return log_decision(Outcome("skipped", "package is not in the registry", package_arn=package_arn))
            raise
        ref = d.PackageRef(ref.arn, ref.group, ref.version, package.get("ModelApprovalStatus", ""), project)
        reason = d.skip_reason(ref, self.settings)
        if reason is not None:
            return log_decision(Outcome("skipped", reason, package_arn=ref.arn, version=ref.version))
        model = ref.model(self.settings)
        endpoint = self.settings.endpoint_name(model)
        base: dict[str, Any] = {"package_arn": ref.arn, "endpoint": endpoint, "version": ref.version}
        containers = package.get("InferenceSpecification", {}).get("Containers") or []
        if not containers or not containers[0].get("Image") or not containers[0].get("ModelDataUrl"):
            return log_decision(Outcome("skipped", "package has no inference container with a model artefact", **base))
        artefact = containers[0]["ModelDataUrl"]
        missing = self._artefact_problem(artefact)
        if missing is not None:
            return log_decision(Outcome("skipped", missing, **base), level=logging.ERROR)

        current = self._describe_endpoint(endpoint)
        live = d.version_of(ref.group, current.get("EndpointConfigName")) if current else None
        config_name = d.version_name(ref.group, ref.version)
        if current and current.get("EndpointConfigName") == config_name:
            return log_decision(Outcome("unchanged", f"version {ref.version} is already live", **base))
        if live is not None and ref.version < live and not force:
            return log_decision(
                Outcome(
                    "skipped", f"version {ref.version} is older than the live version {live}; roll back instead", **base
                )
            )
        if current and current.get("EndpointStatus") in BUSY:
            log_decision(Outcome("deferred", f"endpoint is {current['EndpointStatus']}; retried later", **base))
            raise EndpointBusy(f"endpoint {endpoint} is {current['EndpointStatus']}")

        self._publish_baselines(ref, package, base)
        self._ensure_model(ref, containers[0])
        self._ensure_endpoint_config(ref)
        if current is None:
            self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name, Tags=d.tags(ref))
            return log_decision(Outcome("created", f"{why}: first deployment", **base))
        if current.get("EndpointStatus") == "Failed":  # a failed endpoint cannot be updated, only replaced
            self.sm.delete_endpoint(EndpointName=endpoint)
            self.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config_name, Tags=d.tags(ref))
            return log_decision(Outcome("created", f"{why}: replaced a failed endpoint", **base))
        request: dict[str, Any] = {"EndpointName": endpoint, "EndpointConfigName": config_name}
        guardrails = d.deployment_config(self.settings, model)
        if guardrails is not None:
            request["DeploymentConfig"] = guardrails
        self.sm.update_endpoint(**request)
        return log_decision(
            Outcome("updated", f"{why}: version {live} -> {ref.version}", **base, extra={"previous_version": live})
        )

    def deploy_latest(self, model: str, *, project: bool = False) -> Outcome:
        """Deploy the newest Approved version of ``model`` (an empty registry: nothing, and it says so);
        ``project``: ``model`` is a SageMaker project's name."""
        approved = self.approved_versions(model)
        if not approved:
            return log_decision(
                Outcome("skipped", f"registry {self.settings.group_name(model)} has no approved version")
            )
        return self.deploy_package(approved[max(approved)], why="latest approved", project=project)

    def rollback(self, model: str, *, to_version: int | None = None, project: bool = False) -> Outcome:
        """Redeploy the previous approved version (or ``to_version``) of ``model``: no retraining; ``project``:
        ``model`` is a SageMaker project's name (its endpoint ``<prefix>-<project name>``)."""
        if self.settings.model_of(self.settings.group_name(model), project=project) != model:
            known = f"{', '.join(self.settings.groups)}" if not project else "a SageMaker project's name"
            return log_decision(Outcome("rejected", f"unknown model {model!r} (known: {known})"))
        endpoint = self.settings.endpoint_name(model)
        current = self._describe_endpoint(endpoint)
        live = d.version_of(self.settings.group_name(model), current.get("EndpointConfigName")) if current else None
        approved = self.approved_versions(model)
        try:
            target = d.rollback_target(approved, live, to_version)
        except d.NoTarget as exc:
            return log_decision(Outcome("skipped", f"rollback: {exc}", endpoint=endpoint, version=live))
        return self.deploy_package(approved[target], force=True, why=f"rollback from version {live}", project=project)

    def batch_transform(
        self, model: str, version: int, *, input_uri: str, output_uri: str, suffix: str, **resources: Any
    ) -> Outcome:
        """Start a batch transform job with approved ``version`` of ``model`` (its SageMaker model made if needed)."""
        if model not in self.settings.groups:
            return log_decision(Outcome("rejected", f"unknown model {model!r}"), level=logging.ERROR)
        approved = self.approved_versions(model)
        if version not in approved:
            return log_decision(
                Outcome("skipped", f"version {version} of {model} is not approved (approved: {sorted(approved)})")
            )
        arn = approved[version]
        package = self.sm.describe_model_package(ModelPackageName=arn)
        ref = d.PackageRef(arn, self.settings.group_name(model), version, d.APPROVED)
        containers = package.get("InferenceSpecification", {}).get("Containers") or []
        problem = self._artefact_problem(containers[0]["ModelDataUrl"]) if containers else "no inference container"
        if problem is not None:
            return log_decision(Outcome("skipped", problem, package_arn=arn, version=version), level=logging.ERROR)
        request = batch.transform_job_request(
            self.settings, ref, input_uri=input_uri, output_uri=output_uri, suffix=suffix, **resources
        )
        self._ensure_model(ref, containers[0])
        self.sm.create_transform_job(**request)
        return log_decision(
            Outcome(
                "created",
                f"batch transform {input_uri} -> {output_uri}",
                package_arn=arn,
                version=version,
                extra={"transform_job": request["TransformJobName"]},
            )
        )

    # reads
    def approved_versions(self, model: str) -> dict[int, str]:
        """Approved versions of ``model``'s group -> package ARN (empty when the group has none or does not exist)."""
        found: dict[int, str] = {}
        kwargs: dict[str, Any] = {
            "ModelPackageGroupName": self.settings.group_name(model),
            "ModelApprovalStatus": d.APPROVED,
            "MaxResults": 100,
        }
        while True:
            try:
                page = self.sm.list_model_packages(**kwargs)
            except ClientError as exc:
                if _not_found(exc):
                    return found
                raise
            for summary in page.get("ModelPackageSummaryList", []):
                ref = d.parse_package_arn(summary["ModelPackageArn"])
                found[ref.version] = ref.arn
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def status(self, model: str, *, last: int = 5) -> dict[str, Any]:
        """The endpoint, its live version and traffic per variant, and the last deployments (endpoint configs)."""
        group = self.settings.group_name(model)
        endpoint = self.settings.endpoint_name(model)
        current = self._describe_endpoint(endpoint)
        configs = self.sm.list_endpoint_configs(
            NameContains=f"{group}-v", SortBy="CreationTime", SortOrder="Descending", MaxResults=100
        ).get("EndpointConfigs", [])
        deployments = [
            {"version": version, "endpoint_config": c["EndpointConfigName"], "created": str(c.get("CreationTime"))}
            for c in configs
            if (version := d.version_of(group, c["EndpointConfigName"])) is not None
        ][:last]
        variants = [
            {
                "variant": v.get("VariantName"),
                "weight": v.get("CurrentWeight"),
                "instances": v.get("CurrentInstanceCount"),
                "serverless": v.get("CurrentServerlessConfig"),
            }
            for v in (current or {}).get("ProductionVariants", [])
        ]
        return {
            "model": model,
            "endpoint": endpoint,
            "status": current.get("EndpointStatus") if current else "absent",
            "live_version": d.version_of(group, current.get("EndpointConfigName")) if current else None,
            "traffic": variants,
            "approved_versions": sorted(self.approved_versions(model)),
            "last_deployments": deployments,
        }

    # helpers
    def _describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.sm.describe_endpoint(EndpointName=name))
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise

    def _artefact_problem(self, uri: str) -> str | None:
        try:
            bucket, key = d.split_s3_uri(uri)
        except ValueError as exc:
            return f"model artefact: {exc}"
        if not key.endswith(".tar.gz"):  # e.g. the intent model: a folder, served on devices by the edge deployer
            return f"model artefact {uri} is not a model.tar.gz that an inference container can load"
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket", "403", "AccessDenied"):
                return f"model artefact {uri} is missing or unreadable ({code})"
            raise
        return None

    def _publish_baselines(self, ref: d.PackageRef, package: dict[str, Any], base: dict[str, Any]) -> None:
        """Copy the version's drift-check baselines to the fixed location the monitoring schedules read, before the
        endpoint changes (a failure leaves the endpoint as it was, and the retried event publishes again)."""
        if not self.settings.monitoring_s3_uri:
            return
        copies = d.baseline_copies(package, self.settings.monitoring_s3_uri, ref.model(self.settings))
        if not copies:
            log_decision(Outcome("unchanged", "package has no drift-check baselines to publish", **base))
            return
        for source, bucket, key in copies:
            source_bucket, source_key = d.split_s3_uri(source)
            self.s3.copy_object(
                CopySource={"Bucket": source_bucket, "Key": source_key},
                Bucket=bucket,
                Key=key,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.settings.kms_key_arn,
            )
        log_decision(Outcome("published", f"{len(copies)} drift-check baseline file(s) for monitoring", **base))

    def _ensure_model(self, ref: d.PackageRef, container: dict[str, Any]) -> None:
        name = d.version_name(ref.group, ref.version)
        try:
            self.sm.describe_model(ModelName=name)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            self.sm.create_model(**d.model_request(self.settings, ref, container))

    def _ensure_endpoint_config(self, ref: d.PackageRef) -> None:
        name = d.version_name(ref.group, ref.version)
        try:
            self.sm.describe_endpoint_config(EndpointConfigName=name)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            self.sm.create_endpoint_config(**d.endpoint_config_request(self.settings, ref))
