"""Lambda entry point of the deployer.

Events: an EventBridge ``SageMaker Model Package State Change`` (the rule passes only Approved packages of the
stage's groups; the deployer checks again), or a direct invocation ``{"action": "rollback", "model": "adherence",
"to_version": 3}`` / ``{"action": "deploy-latest", "model": "adherence"}`` by an ML engineer.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

from pipeline_code.deploy.deployer import Deployer, Outcome, log_decision
from pipeline_code.deploy.settings import settings_from_env

logging.getLogger("mlops.deploy").setLevel(logging.INFO)


def dispatch(deployer: Deployer, event: Any) -> Outcome:
    """Route one invocation; a malformed direct invocation is a logged rejection, never an exception."""
    if isinstance(event, dict) and "action" in event:
        action, model = event.get("action"), event.get("model")
        to_version = event.get("to_version")
        if not isinstance(model, str) or (to_version is not None and not isinstance(to_version, int)):
            return log_decision(
                Outcome("rejected", "invocation needs 'model' (string), optional 'to_version' (int)"),
                level=logging.ERROR,
            )
        if action == "rollback":
            return deployer.rollback(model, to_version=to_version)
        if action == "deploy-latest":
            if model not in deployer.settings.groups:
                return log_decision(Outcome("rejected", f"unknown model {model!r}"), level=logging.ERROR)
            return deployer.deploy_latest(model)
        return log_decision(Outcome("rejected", f"unknown action {action!r}"), level=logging.ERROR)
    return deployer.handle_event(event)


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = settings_from_env(os.environ)
    deployer = Deployer(settings, sagemaker=boto3.client("sagemaker"), s3=boto3.client("s3"))
    return dispatch(deployer, event).to_dict()
