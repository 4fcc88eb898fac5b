"""Reading, writing and re-keying platform config files, plain (YAML) or encrypted (:mod:`mlops_sdk.crypto`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlops_sdk import crypto
from mlops_sdk.errors import ConfigError, MissingKeyError, TamperedConfigError
from mlops_sdk.export import dump_yaml, read_plain_config, write_private

KmsFactory = Callable[[str], Any]  # region -> boto3 KMS client


def key_source_for(
    header_key: Mapping[str, Any],
    *,
    environ: Mapping[str, str],
    key_file: Path | None = None,
    kms_factory: KmsFactory | None = None,
) -> crypto.KeySource:
    """The key that opens a file whose header's ``key`` entry is ``header_key``: KMS as recorded, or the user's key
    from ``key_file``, ``MLOPS_CONFIG_KEY`` or ``MLOPS_CONFIG_KEY_FILE`` (in that order)."""
    source = header_key.get("source")
    if source == "kms":
        key_id = str(header_key.get("key_id", ""))
        if kms_factory is None:
            raise MissingKeyError(f"the config is encrypted under KMS key {key_id} but no AWS session is available")
        parts = key_id.split(":")
        return crypto.KmsKey(kms_factory(parts[3] if len(parts) > 3 else ""), key_id)
    if source in ("env", "file"):
        if key_file is not None:
            return crypto.StaticKey.from_file(key_file)
        if environ.get(crypto.KEY_ENV):
            return crypto.StaticKey.from_env(environ)
        if environ.get(crypto.KEY_FILE_ENV):
            return crypto.StaticKey.from_file(Path(environ[crypto.KEY_FILE_ENV]))
        raise MissingKeyError(
            f"the config is encrypted with a key of fingerprint {header_key.get('fingerprint')}: set "
            f"{crypto.KEY_ENV} (base64 key) or {crypto.KEY_FILE_ENV} (key file), or pass --key-file"
        )
    raise TamperedConfigError(f"unknown key source {source!r} in the encrypted config's header")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no platform config; write it with `mlops config export --stage <stage>` "
            "(from `cdk deploy --outputs-file`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def _plaintext(
    path: Path,
    content: bytes,
    *,
    environ: Mapping[str, str],
    key_file: Path | None,
    kms_factory: KmsFactory | None,
) -> bytes:
    if not crypto.is_encrypted(content):
        return content
    return crypto.decrypt(
        content,
        lambda header_key: key_source_for(header_key, environ=environ, key_file=key_file, kms_factory=kms_factory),
        where=str(path),
    )


def _parse(path: Path, plaintext: bytes) -> dict[str, Any]:
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: neither a YAML config nor an encrypted config") from None
    return read_plain_config(path, text)


def read_config(
    path: Path,
    *,
    environ: Mapping[str, str],
    key_file: Path | None = None,
    kms_factory: KmsFactory | None = None,
) -> dict[str, Any]:
    """The admin config mapping of a plain or encrypted file. Encrypted: decrypted whole or not at all."""
    path = path.expanduser()
    content = _read_bytes(path)
    return _parse(path, _plaintext(path, content, environ=environ, key_file=key_file, kms_factory=kms_factory))


def write_config(
    path: Path,
    config: Mapping[str, Any],
    *,
    stage: str,
    header: str = "",
    encryption: crypto.KeySource | None = None,
) -> None:
    """Write the admin config (mode 0600, atomic), encrypted with ``encryption`` when given."""
    content = dump_yaml(config, header=header)
    if encryption is not None:
        content = crypto.encrypt(content, encryption, context={"stage": stage})
    write_private(path, content)


def rotate_key(
    path: Path,
    new_key: crypto.KeySource,
    *,
    environ: Mapping[str, str],
    old_key_file: Path | None = None,
    kms_factory: KmsFactory | None = None,
) -> dict[str, Any]:
    """Re-encrypt a config under ``new_key`` (a plain file becomes encrypted). The old file is decrypted and
    validated in full first and replaced atomically, so a failure leaves it as it was. Returns the new header."""
    path = path.expanduser()
    plaintext = _plaintext(path, _read_bytes(path), environ=environ, key_file=old_key_file, kms_factory=kms_factory)
    data = _parse(path, plaintext)  # the whole config must read back before anything is replaced
    stage = str(data.get("stage", ""))
    if not stage:
        raise ConfigError(f"{path}: the config names no stage")
    new_content = crypto.encrypt(plaintext, new_key, context={"stage": stage})
    write_private(path, new_content)
    header, _ = crypto.read_header(new_content, where=str(path))
    return header
