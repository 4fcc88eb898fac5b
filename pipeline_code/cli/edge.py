"""``mlops edge serve``: the edge app locally (stdin JSON lines or ``--http PORT`` on localhost), as on a device.
``mlops edge rollback --stage STAGE``: the stage's devices go back to the previous model component version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline_code.cli.common import CliEnv, fail, usage_error


def register(app: typer.Typer, env: CliEnv) -> None:
    group = typer.Typer(help="The edge inference app: serve a model locally as a device would.", no_args_is_help=True)

    @group.command("serve")
    def serve_command(
        model: Annotated[Path, typer.Option(help="Intent model folder, e.g. runs/latest/model.")],
        http: Annotated[int | None, typer.Option(metavar="PORT", help="Serve POST /predict on 127.0.0.1:PORT.")] = None,
        metrics_file: Annotated[
            Path | None, typer.Option(help="Append a metrics summary here (JSON lines) at each interval.")
        ] = None,
        metrics_interval: Annotated[float, typer.Option(help="Seconds between metrics windows.")] = 60.0,
        max_text_chars: Annotated[int, typer.Option(help="Longest text accepted.")] = 1000,
        max_batch: Annotated[int, typer.Option(help="Most texts in one request.")] = 32,
        threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 1,
    ) -> None:
        """Serve requests ``{"id": ..., "text": "..."}`` (or ``"texts": [...]``): one JSON response per request.

        Without --http, reads JSON lines on stdin and writes one response line each to stdout.
        """
        from pipeline_code.edge.app import ServeOptions, serve
        from pipeline_code.edge.handler import Limits

        if not model.is_dir():
            usage_error(f"{model} {'is not a folder' if model.exists() else 'does not exist'}", "'--model'")
        if http is not None and not 0 <= http <= 65535:
            usage_error(f"{http} is not a port (0-65535)", "'--http'")
        for name, value in (
            ("--metrics-interval", metrics_interval),
            ("--max-text-chars", max_text_chars),
            ("--max-batch", max_batch),
            ("--threads", threads),
        ):
            if value <= 0:
                usage_error(f"{value} must be positive", f"'{name}'")
        options = ServeOptions(
            model=model,
            http_port=http,
            metrics_interval_s=metrics_interval,
            metrics_file=metrics_file,
            limits=Limits(max_text_chars=max_text_chars, max_batch=max_batch),
            threads=threads,
        )
        raise typer.Exit(serve(options))

    @group.command("rollback")
    def rollback_command(
        stage: Annotated[str, typer.Option("--stage", help="dev, staging, prod or sandbox.")],
        project: Annotated[str, typer.Option(help="The project of the stage.")] = "mlops",
        owner: Annotated[str | None, typer.Option(help="Owner of a sandbox stage.")] = None,
        region: Annotated[str | None, typer.Option(help="AWS region (default: the session's).")] = None,
    ) -> None:
        """Redeploy the model that preceded the current one to the stage's thing group (ROLLBACK on failure)."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        from pipeline_code.edge.deployer import DeployError, EdgeTarget, rollback
        from pipeline_code.edge.recipe import thing_group_name

        err = Console(stderr=True)
        prefix = stage_prefix(project, stage, owner)
        try:
            session = boto3.session.Session(region_name=region)
            group = session.client("iot").describe_thing_group(thingGroupName=thing_group_name(prefix))
            target = EdgeTarget(
                prefix=prefix, bucket="", thing_group_arn=group["thingGroupArn"], model_package_group=""
            )
            outcome = rollback(session.client("greengrassv2"), target)
        except (DeployError, ClientError, BotoCoreError) as exc:
            fail(f"rollback of {prefix} failed: {exc}", err)
        typer.echo(f"{outcome.reason}: deployment {outcome.deployment_id}")

    app.add_typer(group, name="edge")


def stage_prefix(project: str, stage: str, owner: str | None) -> str:
    """The stage's resource prefix, as the stacks name it (``<project>-<stage>`` or ``<project>-sbx-<owner>``)."""
    if stage not in ("dev", "staging", "prod", "sandbox"):
        usage_error(f"unknown stage {stage!r} (dev, staging, prod or sandbox)", "'--stage'")
    if stage != "sandbox":
        return f"{project}-{stage}"
    if not owner:
        usage_error("a sandbox stage needs --owner", "'--owner'")
    return f"{project}-sbx-" + re.sub(r"[^a-z0-9]+", "-", owner.lower()).strip("-")[:16].strip("-")
