"""What the ``mlops config`` commands do, as functions (the CLI module only parses arguments and prints)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from mlops_sdk import crypto
from mlops_sdk.config import PlatformConfig, stage_names
from mlops_sdk.errors import ConfigError
from mlops_sdk.export import (
    config_from_outputs,
    default_config_path,
    dump_yaml,
    outputs_from_exports,
    outputs_from_file,
    sagemaker_defaults,
    sagemaker_defaults_path,
    write_private,
)
from mlops_sdk.resolve import Resolved, resolve
from mlops_sdk.store import KmsFactory, read_config, rotate_key, write_config

PLATFORM_KEY = "platform"
"""``--kms-key platform``: the stage's own KMS key, from the config being written."""


@dataclass(frozen=True)
class ExportResult:
    config_path: Path
    sagemaker_config_path: Path | None
    source: str
    config: PlatformConfig
    encrypted_with: str | None


def kms_factory(boto_session: Any = None) -> KmsFactory:
    session = boto_session or boto3.session.Session()
    return lambda region: session.client("kms", region_name=region or None)


def export(
    *,
    stage: str,
    outputs_file: Path | None,
    out: Path | None,
    project: str = "mlops",
    owner: str | None = None,
    region: str | None = None,
    sagemaker_config: Path | None = None,
    write_sagemaker_config: bool = True,
    encrypt: str | None = None,
    key_file: Path | None = None,
    kms_key: str | None = None,
    environ: Mapping[str, str],
    boto_session: Any = None,
) -> ExportResult:
    """Read the stage's outputs (file, or the stacks with boto3, read-only), write the admin config (0600) and the
    SageMaker SDK defaults beside it. ``encrypt``: None, ``"env"`` (``MLOPS_CONFIG_KEY``), ``"key-file"``
    (``key_file``) or ``"kms"`` (``kms_key``, default the stage's platform key)."""
    _, prefix = stage_names(stage, project=project, owner=owner)
    if outputs_file is not None:
        outputs = outputs_from_file(outputs_file, stage=stage, project=project, owner=owner)
        source = str(outputs_file)
    else:
        session = boto_session or boto3.session.Session(region_name=region)
        if not session.region_name:
            raise ConfigError("no AWS region: pass --region or set AWS_REGION to read the stacks' exports")
        outputs = outputs_from_exports(session.client("cloudformation"), resource_prefix=prefix)
        source = f"CloudFormation exports {prefix}:* in {session.region_name}"
    data = config_from_outputs(outputs, stage=stage, source=source)
    config = PlatformConfig.model_validate(data)
    if config.resource_prefix != prefix:
        raise ConfigError(f"{source}: the outputs are of {config.resource_prefix!r}, expected {prefix!r}")
    path = (out or default_config_path(stage, environ=environ)).expanduser()
    encryption = _encryption(
        encrypt, key_file=key_file, kms_key=kms_key, config=config, environ=environ, boto_session=boto_session
    )
    header = (
        f"Platform config of {prefix}, written by `mlops config export` from {source}.\n"
        "Precedence: runtime arguments > MLOPS_* environment variables > this file > built-in defaults.\n"
        "Add defaults for the stage here (e.g. training: {instance_type: ml.c5.2xlarge}); list every parameter\n"
        f"with: mlops config show --stage {stage} --explain"
    )
    write_config(path, data, stage=stage, header=header, encryption=encryption)
    sm_path = None
    # The SageMaker SDK reads only plain YAML: beside an encrypted config it would undo the encryption, so it is
    # written then only when asked for by path (Session.sagemaker_session() passes the same defaults in memory).
    if write_sagemaker_config and (encryption is None or sagemaker_config is not None):
        sm_path = (sagemaker_config or sagemaker_defaults_path(path)).expanduser()
        write_private(
            sm_path,
            dump_yaml(
                sagemaker_defaults(config),
                header=f"SageMaker Python SDK defaults of {prefix} (written by `mlops config export`).\n"
                f"Use: export SAGEMAKER_USER_CONFIG_OVERRIDE={sm_path}",
            ),
        )
    return ExportResult(path, sm_path, source, config, encryption.describe() if encryption else None)


def _encryption(
    mode: str | None,
    *,
    key_file: Path | None,
    kms_key: str | None,
    config: PlatformConfig,
    environ: Mapping[str, str],
    boto_session: Any,
) -> crypto.KeySource | None:
    if mode is None:
        if key_file is not None or kms_key is not None:
            raise ConfigError("--key-file / --kms-key need --encrypt key-file / kms")
        return None
    if mode == "env":
        return crypto.StaticKey.from_env(environ)
    if mode == "key-file":
        if key_file is None:
            raise ConfigError("--encrypt key-file needs --key-file FILE (create one with `mlops config new-key`)")
        return crypto.StaticKey.from_file(key_file)
    if mode == "kms":
        key_id = config.kms.key_arn if kms_key in (None, PLATFORM_KEY) else str(kms_key)
        region = key_id.split(":")[3] if key_id.startswith("arn:") else config.region
        return crypto.KmsKey(kms_factory(boto_session)(region), key_id)
    raise ConfigError(f"--encrypt {mode!r}: use env, key-file or kms")


def show(
    *,
    stage: str,
    path: Path | None,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    key_file: Path | None = None,
    boto_session: Any = None,
) -> Resolved:
    """The resolved config of a stage with where each value came from (KMS only to decrypt a KMS-encrypted file)."""
    config_path = (path or default_config_path(stage, environ=environ)).expanduser()
    admin = read_config(config_path, environ=environ, key_file=key_file, kms_factory=kms_factory(boto_session))
    if admin.get("stage") != stage:
        raise ConfigError(f"{config_path}: describes stage {admin.get('stage')!r}, not {stage!r}")
    return resolve(runtime=overrides, environ=environ, admin=admin, admin_source=str(config_path))


def rotate(
    *,
    stage: str,
    path: Path | None,
    new_key_file: Path | None,
    new_kms_key: str | None,
    old_key_file: Path | None,
    environ: Mapping[str, str],
    boto_session: Any = None,
) -> dict[str, Any]:
    """Re-encrypt a stage's config under a new key file or KMS key (``platform``: the stage's key)."""
    if (new_key_file is None) == (new_kms_key is None):
        raise ConfigError("rotate-key needs exactly one of --new-key-file or --new-kms-key")
    config_path = (path or default_config_path(stage, environ=environ)).expanduser()
    factory = kms_factory(boto_session)
    new_source: crypto.KeySource
    if new_key_file is not None:
        new_source = crypto.StaticKey.from_file(new_key_file)
    else:
        admin = read_config(config_path, environ=environ, key_file=old_key_file, kms_factory=factory)
        config = resolve(admin=admin, environ={}, admin_source=str(config_path)).config
        key_id = config.kms.key_arn if new_kms_key == PLATFORM_KEY else str(new_kms_key)
        region = key_id.split(":")[3] if key_id.startswith("arn:") else config.region
        new_source = crypto.KmsKey(factory(region), key_id)
    return rotate_key(config_path, new_source, environ=environ, old_key_file=old_key_file, kms_factory=factory)


def new_key_file(path: Path) -> str:
    """Write a fresh 256-bit key (base64) to ``path`` with mode 0600; refuse to overwrite. Returns its fingerprint."""
    path = path.expanduser()
    if path.exists():
        raise ConfigError(f"{path} exists; a key file is never overwritten (rotate to a new file instead)")
    key = crypto.new_key()
    write_private(path, (crypto.encode_key(key) + "\n").encode("ascii"))
    return crypto.fingerprint(key)
