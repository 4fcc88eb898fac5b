"""Greengrass v2 recipes of the edge app and of a model, names shared by the CDK stack and the edge deployer.

Pure functions (standard library only): ``stacks/edge.py`` renders the app component at synth, the edge deployer
(:mod:`pipeline_code.edge.deployer`) renders a model component when an intent package is approved. Versions come
from content hashes, so the same bytes always give the same version and a redeploy never conflicts.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

RECIPE_FORMAT_VERSION = "2020-01-25"
CLOUDWATCH_COMPONENT = "aws.greengrass.Cloudwatch"
CLOUDWATCH_VERSIONS = ">=3.0.0 <4.0.0"
CLOUDWATCH_TOPIC = "cloudwatch/metric/put"
PUBLISHER = "mlops-platform"
MODEL_PREFIX = "models"  # key prefix of model artefacts in the edge-deployments bucket
# The device runtime: exactly these, into the component's own virtual environment (no torch, no pandas).
DEVICE_REQUIREMENTS = ("numpy==2.4.6", "onnxruntime==1.32.0", "tokenizers==0.23.3", "awsiotsdk==1.31.0")


def app_component_name(prefix: str) -> str:
    return f"{prefix}.edge.IntentApp"


def model_component_name(prefix: str) -> str:
    return f"{prefix}.edge.IntentModel"


def thing_group_name(prefix: str) -> str:
    return f"{prefix}-edge-devices"


# A SageMaker edge intent project (stacks/projects.py) gets its own thing group and model component, named from the
# project: "project" in both keeps them apart from the stage's (``<prefix>-edge-devices``, ``<prefix>.edge.*``)
# whatever the project is called, and two projects of a stage differ by their names.
def project_model_component_name(prefix: str, project: str) -> str:
    return f"{prefix}.project.{project}.IntentModel"


def project_thing_group_name(prefix: str, project: str) -> str:
    return f"{prefix}-project-{project}-devices"


def version_from_hash(hexdigest: str) -> str:
    """A semantic version from a content hash: ``1.<a>.<b>`` with two 24-bit numbers taken from the hash (48 bits)."""
    return f"1.{int(hexdigest[:6], 16)}.{int(hexdigest[6:12], 16)}"


def content_hash(files: dict[str, bytes], recipe_without_version: dict[str, Any]) -> str:
    """sha256 over every (path, bytes) and the recipe itself: a config default changed is a new version too."""
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    digest.update(json.dumps(recipe_without_version, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def metrics_namespace(prefix: str) -> str:
    """CloudWatch namespace of a stage's edge app metrics (the recipe's default; the stage's alarms read it)."""
    return f"{prefix}/Edge/Intent"


def default_topics(prefix: str) -> tuple[str, str]:
    return f"{prefix}/edge/intent/request", f"{prefix}/edge/intent/response"


def app_recipe(
    *, prefix: str, artifact_uri: str, unarchived_folder: str, version: str, metrics_interval_s: int = 60
) -> dict[str, Any]:
    """The app component: Linux manifest, install into its own venv, run the IPC transport, own topics only."""
    name = app_component_name(prefix)
    request_topic, response_topic = default_topics(prefix)
    code = f"{{artifacts:decompressedPath}}/{unarchived_folder}"
    model = (
        "{kernel:rootPath}/packages/artifacts-unarchived/{configuration:/ModelComponent}/"
        "{configuration:/ModelVersion}/model"
    )
    run = (
        f"PYTHONPATH={code} exec {{work:path}}/venv/bin/python -m pipeline_code.edge --ipc --wait-for-model"
        f" --model {model}"
        " --request-topic {configuration:/RequestTopic} --response-topic {configuration:/ResponseTopic}"
        " --metrics-interval {configuration:/MetricsIntervalSeconds}"
        " --metrics-namespace {configuration:/MetricsNamespace}"
        " --max-text-chars {configuration:/MaxTextChars} --max-batch {configuration:/MaxBatch}"
    )
    return {
        "RecipeFormatVersion": RECIPE_FORMAT_VERSION,
        "ComponentName": name,
        "ComponentVersion": version,
        "ComponentType": "aws.greengrass.generic",
        "ComponentDescription": "Intent inference app: IPC requests in, intents out, metrics to CloudWatch.",
        "ComponentPublisher": PUBLISHER,
        "ComponentDependencies": {
            CLOUDWATCH_COMPONENT: {"VersionRequirement": CLOUDWATCH_VERSIONS, "DependencyType": "HARD"}
        },
        "ComponentConfiguration": {
            "DefaultConfiguration": {
                "RequestTopic": request_topic,
                "ResponseTopic": response_topic,
                "ModelComponent": model_component_name(prefix),
                "ModelVersion": "none",
                "MetricsIntervalSeconds": metrics_interval_s,
                "MetricsNamespace": metrics_namespace(prefix),
                "MaxTextChars": 1000,
                "MaxBatch": 32,
                "accessControl": {
                    "aws.greengrass.ipc.pubsub": {
                        f"{name}:pubsub:1": {
                            "policyDescription": "Receive inference requests on the app's request topic only.",
                            "operations": ["aws.greengrass#SubscribeToTopic"],
                            "resources": [request_topic],
                        },
                        f"{name}:pubsub:2": {
                            "policyDescription": "Answer on the response topic; metrics to the CloudWatch component.",
                            "operations": ["aws.greengrass#PublishToTopic"],
                            "resources": [response_topic, CLOUDWATCH_TOPIC],
                        },
                    }
                },
            }
        },
        "Manifests": [
            {
                "Platform": {"os": "linux"},
                "Lifecycle": {
                    "install": {
                        "Script": (
                            "python3 -m venv {work:path}/venv && {work:path}/venv/bin/pip install --no-cache-dir "
                            + " ".join(DEVICE_REQUIREMENTS)
                        ),
                        "Timeout": 900,
                    },
                    "run": {"Script": run},
                },
                "Artifacts": [{"URI": artifact_uri, "Unarchive": "ZIP", "Permission": {"Read": "OWNER"}}],
            }
        ],
    }


def model_recipe(
    *, prefix: str, version: str, artifact_uri: str, model_sha256: str, name: str | None = None
) -> dict[str, Any]:
    """A model component: only an artefact (the model folder as a zip holding ``model/``), no lifecycle; ``name``:
    the component's name when it is not the stage's (a project's, :func:`project_model_component_name`)."""
    return {
        "RecipeFormatVersion": RECIPE_FORMAT_VERSION,
        "ComponentName": name or model_component_name(prefix),
        "ComponentVersion": version,
        "ComponentType": "aws.greengrass.generic",
        "ComponentDescription": f"Intent model folder (metadata sha256 {model_sha256}).",
        "ComponentPublisher": PUBLISHER,
        "Manifests": [
            {
                "Platform": {"os": "linux"},
                "Artifacts": [{"URI": artifact_uri, "Unarchive": "ZIP", "Permission": {"Read": "OWNER"}}],
            }
        ],
    }
