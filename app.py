#!/usr/bin/env python3
"""Entry point of the CDK app: the only place that reads configuration files, context and environment.

    cdk synth                       # every stage in config/ (dev, staging, prod, sandbox)
    cdk synth -c delivery=true      # ... and the Delivery pipeline of config/delivery.yaml (opt-in, see below)
    cdk synth -c stages=dev,prod    # a subset
    cdk synth -c config_dir=/path   # another set of config/<stage>.yaml files
    cdk deploy -c stages=sandbox -c owner=alice 'Sandbox-alice/*'

The Delivery stack (the self-mutating pipeline, with its own copy of the stages it deploys) is built only with
``-c delivery=true`` and every stage it deploys selected: with it the platform counts 30 cdk-nag suppressions (15
on resources CDK Pipelines generates), over the platform's ceiling of 25, so it stays out of the default synth
until that is decided (README "Delivery"). Invalid configuration (including two pipeline stages in one account
without ``shared_accounts``, or a lower stage's persona that can reach prod) stops the app before any synth with the
file, field path and reason. Any unsuppressed
cdk-nag finding (AwsSolutions, HIPAA Security, NIST 800-53 R5) makes the synth fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml

from stacks.delivery import REFUSE_EXAMPLE_MESSAGE, DeliveryStack
from stacks.delivery_settings import (
    DeliverySettings,
    StageSource,
    check_stage_targets,
    parse_delivery_settings,
    pinned_cli_version,
)
from stacks.nag import nag_errors
from stacks.settings import STAGES, ConfigError, StageSettings, parse_stage_settings
from stacks.stage import MlopsStage

ROOT = Path(__file__).resolve().parent
CONFIG_DIR = ROOT / "config"
DELIVERY_FILE = "delivery.yaml"


def new_app(outdir: str | None = None) -> cdk.App:
    """An App with cdk.json's feature flags, so ``python app.py``, tests and the CDK CLI synthesize alike.

    CDK's built-in CloudFormation validation is off: cfn-lint is the project's template validator (``make test`` runs
    it once over every template and fails on any warning), and the built-in engine repeated that work in every synth
    at ~6.5 s of CPU for the four stages, two thirds of the synth.
    """
    flags = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return cdk.App(context=flags, outdir=outdir, builtin_cloud_formation_validation=False)


def load_stage_settings(
    stage: str, *, config_dir: Path = CONFIG_DIR, overrides: dict[str, Any] | None = None
) -> StageSettings:
    """Read and validate ``config/<stage>.yaml``; ``overrides`` replace top-level keys (e.g. a sandbox owner)."""
    path = config_dir / f"{stage}.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (stages: {', '.join(STAGES)})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(raw, dict) and overrides:
        raw = {**raw, **overrides}
    return parse_stage_settings(raw, source=str(path))


def delivery_requested(app: cdk.App) -> bool:
    """``-c delivery=true``: also build the Delivery pipeline (opt-in, see the module docstring)."""
    value = app.node.try_get_context("delivery")
    if value in (None, False, "false", "0", ""):
        return False
    if value in (True, "true", "1"):
        return True
    raise ConfigError(f"-c delivery: expected true or false, got {value!r}")


def selected_stages(app: cdk.App) -> list[str]:
    value = app.node.try_get_context("stages")
    names = [s.strip() for s in str(value).split(",") if s.strip()] if value else list(STAGES)
    unknown = sorted(set(names) - set(STAGES))
    if unknown:
        raise ConfigError(f"-c stages: unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGES)})")
    return names


def build_app(app: cdk.App, settings: list[StageSettings]) -> list[MlopsStage]:
    return [MlopsStage(app, s.construct_id, settings=s) for s in settings]


def load_delivery_settings(*, config_dir: Path = CONFIG_DIR) -> DeliverySettings | None:
    """Read and validate ``config/delivery.yaml`` (the pipeline of the tooling account).

    The shipped config directory must have it (``make synth`` always checks the pipeline); another directory
    (``-c config_dir=...``) may leave it out, and then the app has no Delivery stack.
    """
    path = config_dir / DELIVERY_FILE
    if not path.is_file():
        if config_dir.resolve() != CONFIG_DIR.resolve():
            return None
        raise ConfigError(f"{path}: no such config file (the delivery pipeline's source, accounts and stages)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_delivery_settings(raw, source=str(path))


def delivery_stage_settings(
    delivery: DeliverySettings, settings: list[StageSettings], *, config_dir: Path = CONFIG_DIR
) -> list[StageSettings]:
    """The settings of each stage the pipeline deploys, in wave order, carrying its account; after the checks of
    ``check_stage_targets`` (accounts agree, none shared unless stated, no lower persona reaches prod)."""
    by_name: dict[str, StageSettings] = {s.stage: s for s in settings}
    missing = [name for name in delivery.stage_names if name not in by_name]
    if missing:
        raise ConfigError(f"{config_dir / DELIVERY_FILE}: stages: {', '.join(missing)} not loaded")
    sources = {name: StageSource(by_name[name], str(config_dir / f"{name}.yaml")) for name in delivery.stage_names}
    accounts = check_stage_targets(delivery, sources, source=str(config_dir / DELIVERY_FILE))
    return [by_name[name].model_copy(update={"account": accounts[name]}) for name in delivery.stage_names]


def cli_version() -> str:
    """The aws-cdk CLI version package.json pins (the pipeline's self-mutation installs the same)."""
    return pinned_cli_version(json.loads((ROOT / "package.json").read_text(encoding="utf-8")), source="package.json")


def build_delivery(
    app: cdk.App, delivery: DeliverySettings, settings: list[StageSettings], *, config_dir: Path = CONFIG_DIR
) -> DeliveryStack:
    """The ``Delivery`` stack, deploying its own ``MlopsStage`` of each pipeline stage (with the stage's account)."""
    stages = delivery_stage_settings(delivery, settings, config_dir=config_dir)
    return DeliveryStack(
        app,
        "Delivery",
        delivery=delivery,
        stages=stages,
        cost_tags={"project": stages[0].project, "stage": "tooling", "owner": stages[0].owner},
        cli_version=cli_version(),
        env=cdk.Environment(account=delivery.account, region=delivery.region),
        description="mlops: self-mutating CDK pipeline that deploys the platform's stages (tooling account)",
    )


def delivery_deploy_check(*, config_dir: Path = CONFIG_DIR) -> int:
    """``make deploy-delivery``'s first step: refuse, before any AWS call, while the connection is the example one.

    The Delivery template's ``RefuseExampleConnection`` rule refuses it on every other deploy path too.
    """
    try:
        delivery = load_delivery_settings(config_dir=config_dir)
    except ConfigError as exc:
        print(f"Invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    if delivery is None:
        print(f"Refusing to deploy the Delivery stack: no {config_dir / DELIVERY_FILE}", file=sys.stderr)
        return 1
    if delivery.example_connection:
        print(f"Refusing to deploy the Delivery stack: {REFUSE_EXAMPLE_MESSAGE}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    app = new_app()
    try:
        owner = app.node.try_get_context("owner")
        config_dir = Path(app.node.try_get_context("config_dir") or CONFIG_DIR)
        settings = [
            load_stage_settings(
                stage, config_dir=config_dir, overrides={"owner": owner} if owner and stage == "sandbox" else None
            )
            for stage in selected_stages(app)
        ]
        delivery = load_delivery_settings(config_dir=config_dir)
        # The pipeline deploys its stages: with -c delivery=true it is in a synth that has them all, and left out of a
        # subset such as `make deploy STAGE=dev`, which deploys one stage by hand. Checked before any synth.
        with_pipeline = (
            delivery_requested(app)
            and delivery is not None
            and set(delivery.stage_names) <= {s.stage for s in settings}
        )
        if delivery is not None and with_pipeline:
            delivery_stage_settings(delivery, settings, config_dir=config_dir)
            cli_version()
    except ConfigError as exc:
        print(f"Invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    build_app(app, settings)
    if delivery is not None and with_pipeline:
        build_delivery(app, delivery, settings, config_dir=config_dir)
    findings = nag_errors(app.synth())
    if findings:
        print(f"cdk-nag: {len(findings)} unsuppressed finding(s):", file=sys.stderr)
        for finding in findings:
            print(f"  - {finding}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
