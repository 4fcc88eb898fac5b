"""Encrypted config: AES-256-GCM round trips with every key source; wrong key, tampering and truncation are refused
with a clear error and never yield a partial config; key rotation is atomic."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import boto3
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_sdk import admin, crypto
from mlops_sdk.errors import EncryptedConfigError, MissingKeyError, TamperedConfigError, WrongKeyError
from mlops_sdk.store import read_config, rotate_key
from tests.sdk.helpers import REGION, write_outputs

PLAINTEXT = b"stage: dev\nregion: us-east-1\n"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def static(key: bytes = KEY) -> crypto.StaticKey:
    return crypto.StaticKey(key, "env", crypto.KEY_ENV)


def open_with(key: bytes = KEY):
    return lambda header_key: static(key)


def test_round_trip_with_a_static_key_and_a_fresh_nonce_each_time():
    first = crypto.encrypt(PLAINTEXT, static(), context={"stage": "dev"})
    second = crypto.encrypt(PLAINTEXT, static(), context={"stage": "dev"})
    assert json.loads(first)["nonce"] != json.loads(second)["nonce"]
    assert json.loads(first)["cipher"] == "AES-256-GCM"
    assert b"region" not in first
    assert crypto.decrypt(first, open_with(), where="f") == PLAINTEXT


def test_a_wrong_key_is_named_as_such():
    blob = crypto.encrypt(PLAINTEXT, static(), context={"stage": "dev"})
    with pytest.raises(WrongKeyError, match=rf"wrong key: .*fingerprint {crypto.fingerprint(KEY)}"):
        crypto.decrypt(blob, open_with(OTHER_KEY), where="f")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_flipped_bit_in_the_ciphertext_or_nonce_is_detected(data):
    blob = json.loads(crypto.encrypt(PLAINTEXT, static(), context={"stage": "dev"}))
    field = data.draw(st.sampled_from(["ciphertext", "nonce"]))
    raw = bytearray(base64.b64decode(blob[field]))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    blob[field] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(TamperedConfigError, match="authentication failed: the file was modified"):
        crypto.decrypt(json.dumps(blob).encode(), open_with(), where="f")


def test_a_changed_header_is_detected_like_a_changed_ciphertext():
    blob = json.loads(crypto.encrypt(PLAINTEXT, static(), context={"stage": "dev"}))
    blob["context"] = {"stage": "prod"}  # moving a dev config to prod must not pass unnoticed
    with pytest.raises(TamperedConfigError, match="modified"):
        crypto.decrypt(json.dumps(blob).encode(), open_with(), where="f")


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_truncated_file_never_yields_a_partial_config(data):
    blob = crypto.encrypt(PLAINTEXT * 20, static(), context={"stage": "dev"})
    cut = data.draw(st.integers(0, len(blob) - 2))  # drop at least the closing brace
    with pytest.raises(EncryptedConfigError, match=r"truncated|corrupted|modified|malformed|missing"):
        crypto.decrypt(blob[:cut], open_with(), where="f")


def test_key_text_formats_and_bad_keys():
    assert crypto.decode_key(base64.b64encode(KEY).decode(), where="x") == KEY
    assert crypto.decode_key(base64.urlsafe_b64encode(KEY).decode().rstrip("="), where="x") == KEY
    assert crypto.decode_key(KEY.hex(), where="x") == KEY
    with pytest.raises(EncryptedConfigError, match=r"MLOPS_CONFIG_KEY: not a 256-bit key"):
        crypto.decode_key(base64.b64encode(b"short").decode(), where="MLOPS_CONFIG_KEY")


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path):
    path = tmp_path / "key"
    path.write_text(crypto.encode_key(KEY))
    path.chmod(0o644)
    with pytest.raises(EncryptedConfigError, match=r"mode 0644\): chmod 600"):
        crypto.StaticKey.from_file(path)
    path.chmod(0o600)
    assert crypto.StaticKey.from_file(path).key == KEY


def test_export_encrypted_with_a_key_file_then_read_back(tmp_path: Path, clean_env):
    key_file = tmp_path / "dev.key"
    fingerprint = admin.new_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(Exception, match="never overwritten"):
        admin.new_key_file(key_file)
    result = admin.export(
        stage="dev",
        outputs_file=write_outputs(tmp_path / "o.json"),
        out=tmp_path / "dev.yaml",
        encrypt="key-file",
        key_file=key_file,
        environ={},
    )
    content = result.config_path.read_bytes()
    assert crypto.is_encrypted(content) and b"mlops-dev-raw" not in content
    assert json.loads(content)["key"] == {"source": "file", "fingerprint": fingerprint}
    assert stat.S_IMODE(result.config_path.stat().st_mode) == 0o600
    config = read_config(result.config_path, environ={crypto.KEY_FILE_ENV: str(key_file)})
    assert config["s3"]["raw_bucket"].startswith("mlops-dev-raw-")
    with pytest.raises(MissingKeyError, match=rf"fingerprint {fingerprint}: set MLOPS_CONFIG_KEY"):
        read_config(result.config_path, environ={})


def test_kms_envelope_round_trip_stores_only_the_encrypted_data_key(tmp_path: Path, boto_session, requests):
    kms = boto_session.client("kms")
    key_arn = kms.create_key(Description="platform key")["KeyMetadata"]["Arn"]
    blob = crypto.encrypt(PLAINTEXT, crypto.KmsKey(kms, key_arn), context={"stage": "dev"})
    header = json.loads(blob)["key"]
    assert header["source"] == "kms" and header["key_id"] == key_arn
    assert requests.last("GenerateDataKey") == {
        "KeyId": key_arn,
        "KeySpec": "AES_256",
        "EncryptionContext": {"purpose": "mlops-config", "stage": "dev"},
    }
    assert crypto.decrypt(blob, lambda h: crypto.KmsKey(kms, h["key_id"]), where="f") == PLAINTEXT
    assert requests.last("Decrypt")["EncryptionContext"] == {"purpose": "mlops-config", "stage": "dev"}


def test_kms_refusing_the_data_key_reads_as_tampering(boto_session):
    kms = boto_session.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    blob = json.loads(crypto.encrypt(PLAINTEXT, crypto.KmsKey(kms, key_arn), context={"stage": "dev"}))
    blob["context"] = {"stage": "prod"}  # KMS binds the data key to the encryption context
    with pytest.raises(TamperedConfigError, match=r"KMS refused the stored data key \(InvalidCiphertextException\)"):
        crypto.decrypt(json.dumps(blob).encode(), lambda h: crypto.KmsKey(kms, h["key_id"]), where="f")


def test_rotation_from_env_key_to_key_file_to_kms(tmp_path: Path, boto_session):
    path = tmp_path / "dev.yaml"
    outputs = write_outputs(tmp_path / "o.json")
    env = {crypto.KEY_ENV: crypto.encode_key(KEY)}
    admin.export(stage="dev", outputs_file=outputs, out=path, encrypt="env", environ=env, write_sagemaker_config=False)
    original = read_config(path, environ=env)

    new_file = tmp_path / "new.key"
    admin.new_key_file(new_file)
    header = rotate_key(path, crypto.StaticKey.from_file(new_file), environ=env)
    assert header["key"]["source"] == "file"
    with pytest.raises(WrongKeyError):
        read_config(path, environ=env)  # the old key no longer opens it
    assert read_config(path, environ={crypto.KEY_FILE_ENV: str(new_file)}) == original

    kms = boto_session.client("kms")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    factory = lambda region: boto_session.client("kms", region_name=region)  # noqa: E731
    header = rotate_key(path, crypto.KmsKey(kms, key_arn), environ={}, old_key_file=new_file, kms_factory=factory)
    assert header["key"]["key_id"] == key_arn
    assert read_config(path, environ={}, kms_factory=factory) == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_rotation_leaves_the_file_as_it_was(tmp_path: Path, clean_env):
    path = tmp_path / "dev.yaml"
    env = {crypto.KEY_ENV: crypto.encode_key(KEY)}
    admin.export(
        stage="dev",
        outputs_file=write_outputs(tmp_path / "o.json"),
        out=path,
        encrypt="env",
        environ=env,
        write_sagemaker_config=False,
    )
    before = path.read_bytes()
    with pytest.raises(WrongKeyError):
        rotate_key(path, static(OTHER_KEY), environ={crypto.KEY_ENV: crypto.encode_key(OTHER_KEY)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.yaml", "o.json"]  # no temporary file left


def test_a_plain_config_rotates_into_an_encrypted_one(tmp_path: Path, config_path: Path):
    before = yaml.safe_load(config_path.read_text())
    rotate_key(config_path, static(), environ={})
    assert crypto.is_encrypted(config_path.read_bytes())
    assert read_config(config_path, environ={crypto.KEY_ENV: crypto.encode_key(KEY)}) == before


def test_region_of_a_kms_key_is_taken_from_its_arn(tmp_path: Path, boto_session):
    kms = boto_session.client("kms", region_name="eu-west-1")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    blob = crypto.encrypt(PLAINTEXT, crypto.KmsKey(kms, key_arn), context={"stage": "dev"})
    path = tmp_path / "c.yaml"
    path.write_bytes(blob)
    regions: list[str] = []

    def factory(region: str):
        regions.append(region)
        return boto3.session.Session().client("kms", region_name=region)

    assert read_config(path, environ={}, kms_factory=factory) == {"stage": "dev", "region": "us-east-1"}
    assert regions == ["eu-west-1"] != [REGION]  # not the session's default region
