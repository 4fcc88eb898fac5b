"""Encrypted platform config at rest: AES-256-GCM (``cryptography``), with the key from an environment variable,
a key file, or KMS envelope encryption.

File format (JSON, one document)::

    {"format": "mlops-encrypted-config", "version": 1, "cipher": "AES-256-GCM",
     "key": {"source": "env"|"file", "fingerprint": "<16 hex>"}      # or
     "key": {"source": "kms", "key_id": "<KMS key ARN>", "encrypted_data_key": "<base64>"},
     "context": {"stage": "dev"}, "nonce": "<base64 12 bytes>", "ciphertext": "<base64>"}

Everything but the ciphertext is the header; its canonical JSON is the GCM additional data, so a changed header
(another stage in ``context``, another wrapped key) fails authentication like a changed ciphertext. The fingerprint
(HMAC-SHA256 of a fixed label under the key, 8 bytes) tells "wrong key" apart from "tampered" without revealing the
key. KMS: ``GenerateDataKey`` (AES_256) with the encryption context ``{"purpose": "mlops-config", "stage": ...}``;
the plaintext data key lives only in memory, its KMS-encrypted copy is stored beside the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlops_sdk.errors import EncryptedConfigError, MissingKeyError, TamperedConfigError, WrongKeyError

FORMAT = "mlops-encrypted-config"
VERSION = 1
CIPHER = "AES-256-GCM"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ENV = "MLOPS_CONFIG_KEY"
KEY_FILE_ENV = "MLOPS_CONFIG_KEY_FILE"
_FINGERPRINT_LABEL = b"mlops-config key fingerprint v1"


def fingerprint(key: bytes) -> str:
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def decode_key(text: str, *, where: str) -> bytes:
    """A 256-bit key written as base64 (standard or URL-safe) or 64 hex digits; error naming ``where`` otherwise."""
    value = text.strip()
    candidates: list[bytes] = []
    if len(value) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(value))
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(binascii.Error, ValueError, UnicodeEncodeError):
            candidates.append(decoder(value.encode("ascii") + b"=" * (-len(value) % 4)))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise EncryptedConfigError(
        f"{where}: not a 256-bit key (expected 32 bytes as base64 or 64 hex digits; create one with "
        "`mlops config new-key`)"
    )


class KeySource(Protocol):
    """Where the AES key of one encryption comes from; ``describe`` names it in messages."""

    def describe(self) -> str: ...

    def encryption_key(self, context: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
        """(data key, the header's ``key`` entry) for a new encryption."""
        ...

    def decryption_key(self, header_key: Mapping[str, Any], context: Mapping[str, str]) -> bytes: ...


@dataclass(frozen=True)
class StaticKey:
    """A key the user holds: from an environment variable (``source="env"``) or a key file (``source="file"``)."""

    key: bytes
    source: str
    origin: str  # the variable name or file path, for messages

    def describe(self) -> str:
        return f"{self.origin} (fingerprint {fingerprint(self.key)})"

    def encryption_key(self, context: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
        return self.key, {"source": self.source, "fingerprint": fingerprint(self.key)}

    def decryption_key(self, header_key: Mapping[str, Any], context: Mapping[str, str]) -> bytes:
        expected = str(header_key.get("fingerprint", ""))
        if not hmac.compare_digest(expected, fingerprint(self.key)):
            raise WrongKeyError(
                f"wrong key: the config was encrypted with the key of fingerprint {expected}, "
                f"{self.describe()} is another key"
            )
        return self.key

    @classmethod
    def from_env(cls, environ: Mapping[str, str], name: str = KEY_ENV) -> StaticKey:
        if not environ.get(name):
            raise MissingKeyError(f"{name} is not set")
        return cls(decode_key(environ[name], where=name), "env", name)

    @classmethod
    def from_file(cls, path: Path) -> StaticKey:
        path = path.expanduser()
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            raise MissingKeyError(f"key file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise EncryptedConfigError(f"key file {path} cannot be read: {exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise EncryptedConfigError(
                f"key file {path} is accessible to group or others (mode {stat.S_IMODE(mode):04o}): chmod 600 {path}"
            )
        return cls(decode_key(text, where=f"key file {path}"), "file", str(path))


@dataclass(frozen=True)
class KmsKey:
    """Envelope encryption under a KMS key: a fresh data key per encryption, stored KMS-encrypted in the file."""

    kms: Any  # a boto3 KMS client
    key_id: str

    def describe(self) -> str:
        return f"KMS key {self.key_id}"

    def encryption_key(self, context: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
        try:
            response = self.kms.generate_data_key(KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=dict(context))
        except Exception as exc:
            raise EncryptedConfigError(
                f"KMS GenerateDataKey with {self.key_id} failed: {_aws_message(exc)}; encrypting needs "
                "kms:GenerateDataKey on that key (on the stage key only its execution roles have it): pass "
                "--kms-key with a key you may use; reading the file later needs only kms:Decrypt"
            ) from exc
        return bytes(response["Plaintext"]), {
            "source": "kms",
            "key_id": str(response.get("KeyId", self.key_id)),
            "encrypted_data_key": base64.b64encode(response["CiphertextBlob"]).decode("ascii"),
        }

    def decryption_key(self, header_key: Mapping[str, Any], context: Mapping[str, str]) -> bytes:
        try:
            blob = base64.b64decode(str(header_key["encrypted_data_key"]), validate=True)
        except (KeyError, binascii.Error, ValueError):
            raise TamperedConfigError("the encrypted data key in the file is missing or not base64") from None
        key_id = str(header_key.get("key_id", self.key_id))
        try:
            response = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(context), KeyId=key_id)
        except Exception as exc:
            code = _aws_code(exc)
            if code in ("InvalidCiphertextException", "IncorrectKeyException"):
                raise TamperedConfigError(
                    f"KMS refused the stored data key ({code}): the file's key or context was modified, or it was "
                    f"not encrypted under {key_id}; restore it or export it again"
                ) from exc
            raise EncryptedConfigError(
                f"KMS Decrypt with {key_id} failed: {_aws_message(exc)}; you need kms:Decrypt on that key "
                "(assume the stage's data-scientist or ML-engineer role) and credentials for its region"
            ) from exc
        return bytes(response["Plaintext"])


def _aws_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def _aws_message(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Message') or exc} [{error.get('Code', type(exc).__name__)}]"


def kms_context(context: Mapping[str, str]) -> dict[str, str]:
    return {"purpose": "mlops-config", **context}


def encrypt(plaintext: bytes, source: KeySource, *, context: Mapping[str, str]) -> bytes:
    """The encrypted file's bytes for ``plaintext`` (a fresh 96-bit nonce each time)."""
    full_context = kms_context(context)
    key, key_entry = source.encryption_key(full_context)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "cipher": CIPHER,
        "key": key_entry,
        "context": dict(context),
    }
    nonce = os.urandom(NONCE_BYTES)
    header["nonce"] = base64.b64encode(nonce).decode("ascii")
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(header))
    document = {**header, "ciphertext": base64.b64encode(ciphertext).decode("ascii")}
    return (json.dumps(document, indent=1) + "\n").encode("ascii")


def _aad(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def is_encrypted(content: bytes) -> bool:
    """Whether a config file's bytes are this module's format (a plain YAML config never starts like it)."""
    head = content.lstrip()[:200]
    return head.startswith(b"{") and FORMAT.encode() in head


def read_header(content: bytes, *, where: str) -> tuple[dict[str, Any], bytes]:
    """(header, ciphertext) of an encrypted file; TamperedConfigError naming the problem when it is cut or mangled."""
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TamperedConfigError(
            f"{where}: the encrypted config is truncated or corrupted (not complete JSON: {exc}); "
            "restore it or export it again"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TamperedConfigError(f"{where}: not an encrypted platform config (format is not {FORMAT!r})")
    if document.get("version") != VERSION or document.get("cipher") != CIPHER:
        raise EncryptedConfigError(
            f"{where}: unsupported version/cipher {document.get('version')!r}/{document.get('cipher')!r} "
            f"(this SDK reads version {VERSION}, {CIPHER})"
        )
    try:
        ciphertext = base64.b64decode(str(document.pop("ciphertext")), validate=True)
        nonce = base64.b64decode(str(document["nonce"]), validate=True)
        key_entry, context = document["key"], document["context"]
    except (KeyError, binascii.Error, ValueError):
        raise TamperedConfigError(f"{where}: a field of the encrypted config is missing or not base64") from None
    if len(nonce) != NONCE_BYTES or not isinstance(key_entry, dict) or not isinstance(context, dict):
        raise TamperedConfigError(f"{where}: the encrypted config's header is malformed")
    if len(ciphertext) < 16:
        raise TamperedConfigError(f"{where}: the ciphertext is truncated (shorter than the 16-byte GCM tag)")
    return document, ciphertext


def decrypt(content: bytes, source_for: Callable[[Mapping[str, Any]], KeySource], *, where: str) -> bytes:
    """The plaintext of an encrypted file, or an error (wrong key, tampered, truncated); never a partial result.

    ``source_for`` picks the key source from the header's ``key`` entry (e.g. KMS for ``"source": "kms"``).
    """
    header, ciphertext = read_header(content, where=where)
    source = source_for(header["key"])
    try:
        key = source.decryption_key(header["key"], kms_context(header["context"]))
    except WrongKeyError as exc:
        raise WrongKeyError(f"{where}: {exc}") from None
    try:
        return AESGCM(key).decrypt(base64.b64decode(header["nonce"]), ciphertext, _aad(header))
    except InvalidTag:
        raise TamperedConfigError(
            f"{where}: authentication failed: the file was modified after encryption (or cut short), or it was "
            f"encrypted with another key than {source.describe()}; restore it or export it again"
        ) from None
    except ValueError as exc:  # a key of the wrong length from a custom source
        raise EncryptedConfigError(f"{where}: cannot decrypt: {exc}") from None
