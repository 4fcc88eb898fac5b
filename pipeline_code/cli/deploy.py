"""``mlops deploy rollback|status|batch``: the deployed stage's model deployer, run with the caller's credentials.

    mlops deploy status --stage prod                                  # endpoint, live version, traffic, deployments
    mlops deploy rollback --stage prod --model adherence              # the previous approved version goes live
    mlops deploy rollback --stage prod --model adherence --to-version 3
    mlops deploy rollback --stage prod --sagemaker-project churn     # a SageMaker project's endpoint
    mlops deploy status --stage prod --sagemaker-project churn
    mlops deploy batch --stage prod --model adherence --version 3 --input s3://... --output s3://...

The settings are the deployer Lambda's own (its environment, read with ``lambda:GetFunctionConfiguration``), so
the CLI and the Lambda decide alike; the SageMaker calls are made with the caller's boto3 credentials (the ML
engineer role may; the data scientist role may not). Exit codes: 0 done (or already so), 1 nothing could be done
or an AWS call failed, 2 bad input.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from pipeline_code.cli.common import EXIT_FAILURE, EXIT_USAGE, CliEnv, usage_error

STAGES = ("dev", "staging", "prod", "sandbox")
DONE = ("created", "updated", "unchanged")


class DeployCliError(RuntimeError):
    """The stage's deployer cannot be reached or read; the message says which and why."""


def resource_prefix(stage: str, project: str, owner: str | None) -> str:
    """The stage's resource prefix, as the CDK app derives it (``mlops-dev``, ``mlops-sbx-alice``)."""
    if stage not in STAGES:
        usage_error(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})", "--stage")
    if not re.fullmatch(r"[a-z][a-z0-9]{1,11}", project):
        usage_error(f"project {project!r}: 2-12 lowercase letters and digits", "--project")
    if stage != "sandbox":
        return f"{project}-{stage}"
    if not owner:
        usage_error("the sandbox stage needs its owner: sandboxes are named after their owner", "--owner")
    return f"{project}-sbx-" + re.sub(r"[^a-z0-9]+", "-", owner.lower()).strip("-")[:16].strip("-")


def build_deployer(prefix: str, region: str | None) -> Any:
    """A Deployer with the deployed function's settings and the caller's SageMaker and S3 clients."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from pipeline_code.deploy.deployer import Deployer
    from pipeline_code.deploy.settings import SettingsError, settings_from_env

    session = boto3.session.Session(region_name=region)
    function = f"{prefix}-model-deployer"
    try:
        config = session.client("lambda").get_function_configuration(FunctionName=function)
    except (ClientError, BotoCoreError) as exc:
        raise DeployCliError(
            f"cannot read the deployer {function} (is the stage's Serving stack deployed?): {exc}"
        ) from None
    env = config.get("Environment", {})
    if env.get("Error"):
        raise DeployCliError(f"cannot read the deployer's settings: {env['Error'].get('Message', env['Error'])}")
    try:
        settings = settings_from_env(env.get("Variables", {}))
    except SettingsError as exc:
        raise DeployCliError(f"deployer {function}: {exc}") from None
    return Deployer(settings, sagemaker=session.client("sagemaker"), s3=session.client("s3"))


StageOption = Annotated[str, typer.Option("--stage", help="dev, staging, prod or sandbox.")]
ProjectOption = Annotated[str, typer.Option(help="The project of the stage.")]
OwnerOption = Annotated[str | None, typer.Option(help="Owner of a sandbox stage.")]
RegionOption = Annotated[str | None, typer.Option(help="Region of the stage (default: the caller's).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
SageMakerProjectOption = Annotated[
    str | None,
    typer.Option(
        "--sagemaker-project",
        help="A SageMaker project of the stage (launched from its templates): its endpoint <prefix>-<name>.",
    ),
]


def _target(deployer: Any, model: str | None, sagemaker_project: str | None) -> tuple[str, bool]:
    """The model (or SageMaker project) a command acts on, and whether it is a project; exit 2 unless exactly one is
    given and the stage knows it."""
    settings = deployer.settings
    if (model is None) == (sagemaker_project is None):
        usage_error("give either --model (a platform model) or --sagemaker-project (a project's name)", "--model")
    if sagemaker_project is not None:
        if settings.model_of(settings.group_name(sagemaker_project), project=True) != sagemaker_project:
            usage_error(
                f"{sagemaker_project!r} is no SageMaker project name of this stage (a letter, then letters, "
                "digits and hyphens, at most 32; not a platform model)",
                "--sagemaker-project",
            )
        return sagemaker_project, True
    assert model is not None
    if model not in settings.groups:
        usage_error(f"unknown model {model!r} (models: {', '.join(settings.groups)})", "--model")
    return model, False


def _fail(err: Console, message: str, code: int = EXIT_FAILURE) -> NoReturn:
    err.print(f"Error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _deployer(stage: str, project: str, owner: str | None, region: str | None, err: Console) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return build_deployer(resource_prefix(stage, project, owner), region)
    except (DeployCliError, ClientError, BotoCoreError) as exc:
        _fail(err, str(exc))


def _report(outcome: Any, as_json: bool) -> None:
    out, err = Console(), Console(stderr=True)
    if as_json:
        out.print_json(json.dumps(outcome.to_dict()))
    else:
        version = f" version {outcome.version}" if outcome.version is not None else ""
        (out if outcome.action in DONE else err).print(
            f"{outcome.action}{version}: {outcome.reason}", markup=False, highlight=False, soft_wrap=True
        )
    if outcome.action == "rejected":
        raise typer.Exit(EXIT_USAGE)
    if outcome.action not in DONE:
        raise typer.Exit(EXIT_FAILURE)


def register(app: typer.Typer, env: CliEnv) -> None:
    group = typer.Typer(
        help="Approved models on endpoints: status, rollback without retraining, batch scoring.",
        no_args_is_help=True,
    )

    @group.command("rollback")
    def rollback_command(
        stage: StageOption,
        model: Annotated[str | None, typer.Option("--model", help="adherence or intent.")] = None,
        sagemaker_project: SageMakerProjectOption = None,
        to_version: Annotated[
            int | None, typer.Option("--to-version", min=1, help="Default: the newest approved version before live.")
        ] = None,
        project: ProjectOption = "mlops",
        owner: OwnerOption = None,
        region: RegionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Redeploy a previous approved version of MODEL's (or a SageMaker project's) package: no retraining."""
        from botocore.exceptions import BotoCoreError, ClientError

        err = Console(stderr=True)
        deployer = _deployer(stage, project, owner, region, err)
        name, is_project = _target(deployer, model, sagemaker_project)
        try:
            outcome = deployer.rollback(name, to_version=to_version, project=is_project)
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            _fail(err, str(exc))
        _report(outcome, as_json)

    @group.command("status")
    def status_command(
        stage: StageOption,
        model: Annotated[str | None, typer.Option("--model", help="Default: every model of the stage.")] = None,
        sagemaker_project: SageMakerProjectOption = None,
        project: ProjectOption = "mlops",
        owner: OwnerOption = None,
        region: RegionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Each endpoint: status, live version, traffic per variant, approved versions, last deployments."""
        from botocore.exceptions import BotoCoreError, ClientError

        err = Console(stderr=True)
        deployer = _deployer(stage, project, owner, region, err)
        if model is None and sagemaker_project is None:
            models = tuple(deployer.settings.groups)
        else:
            models = (_target(deployer, model, sagemaker_project)[0],)
        try:
            statuses = [deployer.status(m) for m in models]
        except (ClientError, BotoCoreError) as exc:
            _fail(err, str(exc))
        out = Console()
        if as_json:
            out.print_json(json.dumps(statuses))
            return
        table = Table("model", "endpoint", "status", "live", "traffic", "approved", "last deployments")
        for s in statuses:
            traffic = ", ".join(f"{t['variant']}={t['weight']}" for t in s["traffic"]) or "-"
            last = ", ".join(f"v{d['version']}" for d in s["last_deployments"]) or "-"
            approved = ", ".join(str(v) for v in s["approved_versions"]) or "none"
            live = "-" if s["live_version"] is None else f"v{s['live_version']}"
            table.add_row(s["model"], s["endpoint"], s["status"], live, traffic, approved, last)
        out.print(table)

    @group.command("batch")
    def batch_command(
        stage: StageOption,
        model: Annotated[str, typer.Option("--model", help="adherence or intent.")],
        version: Annotated[int, typer.Option("--version", min=1, help="An approved version.")],
        input_uri: Annotated[str, typer.Option("--input", help="s3:// prefix of the CSV files to score.")],
        output_uri: Annotated[str, typer.Option("--output", help="s3:// prefix for the predictions.")],
        instance_type: Annotated[str, typer.Option(help="Transform instance type.")] = "ml.m5.large",
        instance_count: Annotated[int, typer.Option(min=1, max=100)] = 1,
        project: ProjectOption = "mlops",
        owner: OwnerOption = None,
        region: RegionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Score a dataset offline with an approved version (a batch transform job, the stage key on its output)."""
        from botocore.exceptions import BotoCoreError, ClientError

        err = Console(stderr=True)
        deployer = _deployer(stage, project, owner, region, err)
        suffix = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        try:
            outcome = deployer.batch_transform(
                model,
                version,
                input_uri=input_uri,
                output_uri=output_uri,
                suffix=suffix,
                instance_type=instance_type,
                instance_count=instance_count,
            )
        except ValueError as exc:
            _fail(err, str(exc), EXIT_USAGE)
        except (ClientError, BotoCoreError) as exc:
            _fail(err, str(exc))
        _report(outcome, as_json)

    app.add_typer(group, name="deploy")
