"""``mlops config``: thin commands over the SDK, exit codes 0 ok / 1 AWS failure / 2 bad input."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlops_sdk import crypto
from pipeline_code.cli import create_app
from tests.sdk.helpers import KEY_ARN, dev_outputs, write_outputs


def mlops(*args: str, env: dict[str, str] | None = None):
    app = create_app()
    return CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1", **(env or {})}).invoke(app, list(args))


PARAMS = ("training.instance_type", "training.instance_count", "kms.key_arn", "training.volume_size_gb")


def flat(text: str) -> str:
    return " ".join(text.split())


def test_export_then_show_explain(tmp_path: Path, clean_env):
    outputs = write_outputs(tmp_path / "outputs.json")
    result = mlops("config", "export", "--stage", "dev", "--outputs", str(outputs))
    assert result.exit_code == 0, result.output
    config_file = tmp_path / "home" / ".config" / "mlops" / "dev.yaml"
    assert f"config:    {config_file}" in result.output
    assert "SAGEMAKER_USER_CONFIG_OVERRIDE=" in result.output
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600

    result = mlops(
        "config",
        "show",
        "--stage",
        "dev",
        "--explain",
        "--set",
        "training.instance_count=3",
        env={"MLOPS_TRAINING__INSTANCE_TYPE": "ml.c5.2xlarge"},
    )
    assert result.exit_code == 0, result.output
    lines = {p: next(row for row in result.output.splitlines() if f" {p} " in row) for p in PARAMS}
    assert "environment: MLOPS_TRAINING__INSTANCE_TYPE" in lines["training.instance_type"]
    assert "runtime" in lines["training.instance_count"] and " 3 " in lines["training.instance_count"]
    assert f"admin config: {config_file}" in lines["kms.key_arn"]
    assert "built-in default" in lines["training.volume_size_gb"]


def test_show_json_and_yaml(tmp_path: Path, config_path: Path):
    result = mlops("config", "show", "--stage", "dev", "--file", str(config_path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kms"]["key_arn"] == KEY_ARN
    result = mlops("config", "show", "--stage", "dev", "--file", str(config_path), "--json", "--explain")
    rows = {row["parameter"]: row for row in json.loads(result.output)}
    assert rows["kms.key_arn"]["layer"] == "admin config"
    result = mlops("config", "show", "--stage", "dev", "--file", str(config_path))
    assert f"key_arn: {KEY_ARN}" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("config", "export", "--stage", "dev", "--outputs", "missing.json"), "no such outputs file"),
        (("config", "export", "--stage", "qa", "--outputs", "{outputs}"), "unknown stage 'qa'"),
        (("config", "export", "--stage", "dev", "--outputs", "{outputs}", "--encrypt", "rot13"), "--encrypt 'rot13'"),
        (("config", "export", "--stage", "dev", "--outputs", "{outputs}", "--encrypt", "env"),
         "MLOPS_CONFIG_KEY is not set"),
        (("config", "show", "--stage", "dev", "--set", "training.instance_typo=x", "--file", "{config}"),
         "unknown parameter(s): training.instance_typo (did you mean training.instance_type?)"),
        (("config", "show", "--stage", "prod", "--file", "{config}"), "describes stage 'dev', not 'prod'"),
        (("config", "rotate-key", "--stage", "dev", "--file", "{config}"),
         "exactly one of --new-key-file or --new-kms-key"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_clear_message(tmp_path: Path, config_path: Path, args, message):
    outputs = write_outputs(tmp_path / "outputs.json")
    args = tuple(a.format(outputs=outputs, config=config_path) for a in args)
    result = mlops(*args)
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert "Traceback" not in result.output


def test_encrypted_export_rotate_and_wrong_key(tmp_path: Path, clean_env):
    outputs = write_outputs(tmp_path / "outputs.json")
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    assert mlops("config", "new-key", "--out", str(old)).exit_code == 0
    assert mlops("config", "new-key", "--out", str(new)).exit_code == 0
    out = tmp_path / "dev.yaml"
    result = mlops(
        "config",
        "export",
        "--stage",
        "dev",
        "--outputs",
        str(outputs),
        "--out",
        str(out),
        "--encrypt",
        "key-file",
        "--key-file",
        str(old),
    )
    assert result.exit_code == 0, result.output
    assert "encrypted: AES-256-GCM" in result.output
    assert "sagemaker: not written beside an encrypted config" in flat(result.output)
    assert not (tmp_path / "dev.sagemaker.yaml").exists()  # it would hold the config's ARNs in plain text
    assert crypto.is_encrypted(out.read_bytes())
    assert mlops("config", "show", "--stage", "dev", "--file", str(out), "--key-file", str(old)).exit_code == 0

    result = mlops(
        "config",
        "rotate-key",
        "--stage",
        "dev",
        "--file",
        str(out),
        "--key-file",
        str(old),
        "--new-key-file",
        str(new),
    )
    assert result.exit_code == 0, result.output
    assert "re-encrypted with file key fingerprint" in result.output
    result = mlops("config", "show", "--stage", "dev", "--file", str(out), "--key-file", str(old))
    assert result.exit_code == 2
    assert "wrong key" in flat(result.output)
    assert mlops("config", "show", "--stage", "dev", "--file", str(out), "--key-file", str(new)).exit_code == 0

    out.write_bytes(out.read_bytes()[:-40])  # truncated
    result = mlops("config", "show", "--stage", "dev", "--file", str(out), "--key-file", str(new))
    assert result.exit_code == 2
    assert "truncated or corrupted" in flat(result.output)


def test_export_encrypted_under_the_stage_kms_key_then_rotate(tmp_path: Path, boto_session):
    key_arn = boto_session.client("kms").create_key()["KeyMetadata"]["Arn"]
    outputs = write_outputs(tmp_path / "outputs.json", dev_outputs(key_arn=key_arn))
    out = tmp_path / "dev.yaml"
    result = mlops(
        "config", "export", "--stage", "dev", "--outputs", str(outputs), "--out", str(out), "--encrypt", "kms"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes())["key"]["key_id"] == key_arn
    first = json.loads(out.read_bytes())["key"]["encrypted_data_key"]
    result = mlops("config", "rotate-key", "--stage", "dev", "--file", str(out), "--new-kms-key", "platform")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_bytes())["key"]["encrypted_data_key"] != first  # a fresh data key
    shown = mlops("config", "show", "--stage", "dev", "--file", str(out), "--json")
    assert json.loads(shown.output)["kms"]["key_arn"] == key_arn


def test_the_config_folder_can_come_from_the_environment(tmp_path: Path, clean_env):
    outputs = write_outputs(tmp_path / "outputs.json")
    env = {"MLOPS_CONFIG_DIR": str(tmp_path / "team-configs")}
    assert mlops("config", "export", "--stage", "dev", "--outputs", str(outputs), env=env).exit_code == 0
    assert (tmp_path / "team-configs" / "dev.yaml").is_file()
    result = mlops("config", "show", "--stage", "dev", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stage"] == "dev"
