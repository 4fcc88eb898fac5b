"""The audit trail: one JSON line per operation that changes something, locally and, when configured, in a
CloudWatch Logs group.

A line holds the time (UTC, ISO 8601), the caller's identity ARN, the stage, the operation (``service:Api``), its
parameters with secrets redacted, and the resulting ARN or the error. The local file is append-only, mode 0600;
each line is written with one ``write`` on an ``O_APPEND`` descriptor, so lines of concurrent processes do not mix.
If CloudWatch cannot take a line, the local file records that too (nothing is dropped silently) and a warning says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REDACTED = "***redacted***"
# Parameter names that carry secrets, compared without case or separators ("ClientSecret", "api_key", "X-Auth-Token").
_SECRET_NAMES = re.compile(
    r"(password|passwd|passphrase|secret|token|credential|apikey|accesskey|privatekey|sessionkey|datakey|"
    r"plaintext|authorization|cookie|signature)"
)
# Values that are secrets whatever their name: AWS access key IDs, PEM private keys, bearer tokens.
_SECRET_VALUES = re.compile(r"(\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bBearer\s+\S+)")


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAMES.search(re.sub(r"[^a-z0-9]", "", name.lower())))


def redact(value: Any, *, name: str = "") -> Any:
    """``value`` with every secret replaced by ``***redacted***``: values under a secret-like name at any depth,
    and strings that look like credentials wherever they are. Bytes are never logged (only their size)."""
    if name and _is_secret_name(name):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): redact(v, name=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, name=name) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and _SECRET_VALUES.search(value):
        return REDACTED
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class AuditTrail:
    """Appends audit lines to ``path`` and, with ``logs_client`` and ``log_group``, to CloudWatch Logs."""

    def __init__(
        self,
        path: Path,
        *,
        stage: str,
        caller: Callable[[], str],
        logs_client: Any = None,
        log_group: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = path.expanduser()
        self.stage = stage
        self._caller = caller
        self._logs = logs_client
        self.log_group = log_group
        self._clock = clock
        self._streams: set[str] = set()

    def record(
        self,
        operation: str,
        parameters: Mapping[str, Any],
        *,
        result_arn: str | None = None,
        error: BaseException | None = None,
    ) -> dict[str, Any]:
        """Append one line and return it (as a dict)."""
        now = self._clock()
        line: dict[str, Any] = {
            "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "caller": self._caller(),
            "stage": self.stage,
            "operation": operation,
            "parameters": redact(dict(parameters)),
            "result_arn": result_arn,
            "outcome": "error" if error is not None else "ok",
        }
        if error is not None:
            line["error"] = {"type": type(error).__name__, "message": str(redact(str(error)))}
        self._append(line)
        if self._logs is not None and self.log_group:
            self._send(line, now)
        return line

    def _append(self, line: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def _send(self, line: Mapping[str, Any], now: datetime) -> None:
        stream = f"{self.stage}/{now:%Y/%m/%d}/{_stream_part(str(line['caller']))}"
        try:
            if stream not in self._streams:
                with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                    self._logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
                self._streams.add(stream)
            self._logs.put_log_events(
                logGroupName=self.log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(now.timestamp() * 1000), "message": json.dumps(line, sort_keys=True)}],
            )
        except Exception as exc:  # the local line exists; record that the remote copy is missing
            message = f"audit line not delivered to CloudWatch Logs group {self.log_group}: {exc}"
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            self._append(
                {
                    "time": line["time"],
                    "caller": line["caller"],
                    "stage": self.stage,
                    "operation": "audit:DeliveryFailed",
                    "parameters": {"log_group": self.log_group, "log_stream": stream, "of": line["operation"]},
                    "result_arn": None,
                    "outcome": "error",
                    "error": {"type": type(exc).__name__, "message": str(exc)},
                }
            )


def _stream_part(arn: str) -> str:
    """A log-stream-safe form of the caller (no ``:`` or ``*`` allowed): the ARN's resource part."""
    tail = arn.split(":", 5)[-1] if arn.startswith("arn:") else arn
    return re.sub(r"[:*]", "_", tail)[:200] or "unknown"
