"""``mlops config export|show|rotate-key|new-key``: the platform SDK's config, from the deployed stacks.

    cdk deploy -c stages=dev 'Dev/*' --outputs-file outputs.json
    mlops config export --stage dev --outputs outputs.json     # ~/.config/mlops/dev.yaml (0600) + SageMaker defaults
    mlops config show --stage dev --explain                    # every value and where it came from
    mlops config rotate-key --stage dev --new-kms-key platform # re-encrypt under a fresh KMS data key

Thin: the work is in :mod:`mlops_sdk.admin`. Exit codes: 0 ok, 1 an AWS call failed, 2 bad input (arguments,
outputs file, config file, key).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline_code.cli.common import EXIT_FAILURE, EXIT_USAGE, CliEnv


def _fail(err: Console, exc: Exception) -> NoReturn:
    from mlops_sdk.errors import ConfigError

    err.print(f"Error: {exc}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILURE)


def _parse_sets(values: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in values:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            raise typer.BadParameter(f"{item!r}: expected PARAMETER=VALUE", param_hint="'--set'")
        try:  # YAML scalars: 2 -> int, true -> bool, [a, b] -> list; anything else stays text
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        overrides[path.strip()] = value
    return overrides


StageOption = Annotated[str, typer.Option("--stage", help="dev, staging, prod or sandbox.")]
FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file", help="Config file. Default: $MLOPS_CONFIG_FILE, $MLOPS_CONFIG_DIR/<stage>.yaml, ~/.config/mlops/."
    ),
]
KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help="Key file that opens an encrypted config (else MLOPS_CONFIG_KEY*).")
]


def register(app: typer.Typer, env: CliEnv) -> None:
    group = typer.Typer(
        help="The platform SDK's config: export it from the deployed stacks, show it, rotate its key.",
        no_args_is_help=True,
    )
    app.add_typer(group, name="config")

    @group.command("export")
    def export_command(
        stage: StageOption,
        outputs: Annotated[
            Path | None,
            typer.Option("--outputs", help="`cdk deploy --outputs-file` JSON. Default: read the stacks (boto3)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Default: as --file of `show`: ~/.config/mlops/<stage>.yaml.")
        ] = None,
        project: Annotated[str, typer.Option(help="The project of the stage's config.")] = "mlops",
        owner: Annotated[str | None, typer.Option(help="Owner of a sandbox stage.")] = None,
        region: Annotated[str | None, typer.Option(help="Region of the stacks (without --outputs).")] = None,
        sagemaker_config: Annotated[
            Path | None,
            typer.Option(help="SageMaker SDK defaults file. Default: <out without .yaml>.sagemaker.yaml."),
        ] = None,
        no_sagemaker_config: Annotated[
            bool, typer.Option("--no-sagemaker-config", help="Do not write the SageMaker SDK defaults.")
        ] = False,
        encrypt: Annotated[
            str | None, typer.Option(help="Encrypt the config: env (MLOPS_CONFIG_KEY), key-file or kms.")
        ] = None,
        key_file: Annotated[Path | None, typer.Option(help="Key file for --encrypt key-file.")] = None,
        kms_key: Annotated[
            str | None, typer.Option(help="KMS key for --encrypt kms (default 'platform': the stage's key).")
        ] = None,
    ) -> None:
        """Write the platform config of a deployed stage (mode 0600) and the SageMaker SDK defaults beside it."""
        from mlops_sdk import admin
        from mlops_sdk.errors import MlopsSdkError

        out_console, err = Console(), Console(stderr=True)
        try:
            result = admin.export(
                stage=stage,
                outputs_file=outputs,
                out=out,
                project=project,
                owner=owner,
                region=region,
                sagemaker_config=sagemaker_config,
                write_sagemaker_config=not no_sagemaker_config,
                encrypt=encrypt,
                key_file=key_file,
                kms_key=kms_key,
                environ=os.environ,
            )
        except (MlopsSdkError, ValueError) as exc:
            _fail(err, exc)
        out_console.print(f"config:    {result.config_path} (from {result.source})", markup=False, highlight=False)
        if result.encrypted_with:
            out_console.print(f"encrypted: AES-256-GCM, key {result.encrypted_with}", markup=False, highlight=False)
        if result.encrypted_with and not result.sagemaker_config_path and not no_sagemaker_config:
            out_console.print(
                "sagemaker: not written beside an encrypted config (the SageMaker SDK reads plain YAML only); pass "
                "--sagemaker-config PATH to write it, or use Session(...).sagemaker_session()",
                markup=False,
                highlight=False,
            )
        if result.sagemaker_config_path:
            out_console.print(
                f"sagemaker: {result.sagemaker_config_path}\n"
                f"           export SAGEMAKER_USER_CONFIG_OVERRIDE={result.sagemaker_config_path}",
                markup=False,
                highlight=False,
            )

    @group.command("show")
    def show_command(
        stage: StageOption,
        file: FileOption = None,
        explain: Annotated[bool, typer.Option("--explain", help="Show where every value came from.")] = False,
        set_: Annotated[
            list[str] | None, typer.Option("--set", help="Runtime override PARAMETER=VALUE (repeatable).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        key_file: KeyFileOption = None,
    ) -> None:
        """Print the resolved config: runtime (--set) > MLOPS_* environment > config file > built-in defaults."""
        from mlops_sdk import admin
        from mlops_sdk.errors import MlopsSdkError

        out_console, err = Console(), Console(stderr=True)
        overrides = _parse_sets(set_ or [])
        try:
            resolved = admin.show(stage=stage, path=file, overrides=overrides, environ=os.environ, key_file=key_file)
        except (MlopsSdkError, ValueError) as exc:
            _fail(err, exc)
        rows = resolved.explain()
        if as_json:
            payload: Any = (
                [{"parameter": p, "value": v, "layer": o.layer, "source": o.detail} for p, v, o in rows]
                if explain
                else resolved.config.model_dump(mode="json")
            )
            out_console.print_json(json.dumps(payload))
            return
        if not explain:
            text = yaml.safe_dump(resolved.config.model_dump(mode="json"), sort_keys=False)
            out_console.print(text, markup=False, highlight=False, end="")
            return
        table = Table(title=f"{resolved.config.resource_prefix}: resolved config", title_justify="left")
        table.add_column("Parameter", no_wrap=True)
        table.add_column("Value", overflow="fold")  # ARNs and bucket names are shown whole, never cut
        table.add_column("From", overflow="fold")
        styles = {"runtime": "magenta", "environment": "yellow", "admin config": "green", "built-in default": "dim"}
        for path, value, origin in rows:
            shown = json.dumps(value) if not isinstance(value, str) else value
            table.add_row(Text(path), Text(shown), Text(f"{origin.layer}: {origin.detail}", style=styles[origin.layer]))
        out_console.print(table)

    @group.command("rotate-key")
    def rotate_command(
        stage: StageOption,
        file: FileOption = None,
        new_key_file: Annotated[Path | None, typer.Option(help="Re-encrypt with this key file.")] = None,
        new_kms_key: Annotated[
            str | None, typer.Option(help="Re-encrypt under this KMS key ('platform': the stage's key).")
        ] = None,
        key_file: KeyFileOption = None,
    ) -> None:
        """Re-encrypt a config under a new key (a plain config becomes encrypted); atomic, the old file is
        decrypted and validated first."""
        from mlops_sdk import admin
        from mlops_sdk.errors import MlopsSdkError

        out_console, err = Console(), Console(stderr=True)
        try:
            header = admin.rotate(
                stage=stage,
                path=file,
                new_key_file=new_key_file,
                new_kms_key=new_kms_key,
                old_key_file=key_file,
                environ=os.environ,
            )
        except (MlopsSdkError, ValueError) as exc:
            _fail(err, exc)
        key = header["key"]
        what = key.get("key_id") if key.get("source") == "kms" else f"fingerprint {key.get('fingerprint')}"
        out_console.print(f"re-encrypted with {key.get('source')} key {what}", markup=False, highlight=False)

    @group.command("new-key")
    def new_key_command(
        out: Annotated[Path, typer.Option("--out", help="Where to write the key (mode 0600, never overwritten).")],
    ) -> None:
        """Write a fresh 256-bit key file for --encrypt key-file / rotate-key --new-key-file."""
        from mlops_sdk import admin
        from mlops_sdk.errors import MlopsSdkError

        out_console, err = Console(), Console(stderr=True)
        try:
            print_fp = admin.new_key_file(out)
        except MlopsSdkError as exc:
            _fail(err, exc)
        out_console.print(f"key file: {out} (fingerprint {print_fp})", markup=False, highlight=False)

    del env  # the config commands need neither the catalog nor the project root
