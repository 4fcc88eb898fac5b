"""The one request handler behind every transport: bytes in, exactly one JSON-serialisable response out, never raises.

A request is a JSON object ``{"id": ..., "text": "..."}`` or ``{"id": ..., "texts": ["...", ...]}`` (``id`` is
optional and echoed). A single text is answered with ``intent``, ``confidence``, ``out_of_scope``, ``top3`` and
``latency_ms``; a batch with ``predictions`` (one such record per text) and ``latency_ms``. Bad input is answered
with ``{"id": ..., "error": {"code": ..., "message": ...}}``: the codes are listed in :data:`ERROR_CODES`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pipeline_code.edge.metrics import Metrics
from pipeline_code.edge.model import ModelSlot

ERROR_CODES = (
    "invalid_utf8",  # the request bytes, or a text in it, are not valid UTF-8
    "invalid_json",  # not a JSON document
    "not_an_object",  # JSON, but not an object
    "missing_text",  # neither "text" nor "texts"
    "invalid_text",  # "text" not a string, "texts" not a non-empty list of strings, or both given
    "empty_text",
    "text_too_long",
    "batch_too_large",
    "request_too_large",
    "no_model",  # no model has loaded yet
    "internal_error",  # the model failed on this input; the process stays up
)
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class Limits:
    max_text_chars: int = 1000
    max_batch: int = 32
    max_request_bytes: int = 1 << 20


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _request_id(document: Any) -> str | int | None:
    if not isinstance(document, dict):
        return None
    value = document.get("id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return value
    return None


class Handler:
    """Validates, predicts with the slot's current model and records metrics; :meth:`handle` never raises."""

    def __init__(self, slot: ModelSlot, metrics: Metrics, limits: Limits | None = None) -> None:
        self.slot = slot
        self.metrics = metrics
        self.limits = limits or Limits()

    def handle(self, raw: bytes | str) -> dict[str, Any]:
        started = time.perf_counter()
        request_id: str | int | None = None
        try:
            document = self._parse(raw)
            request_id = _request_id(document)
            texts, single = self._texts(document)
            response = self._predict(texts, single)
        except RequestError as exc:
            return self._error(request_id, exc.code, exc.message, started)
        except Exception as exc:  # whatever the model does with a strange input, answer and stay up
            return self._error(request_id, "internal_error", f"{type(exc).__name__}: {exc}"[:500], started)
        latency_ms = (time.perf_counter() - started) * 1000.0
        response["latency_ms"] = round(latency_ms, 3)
        if request_id is not None:
            response = {"id": request_id, **response}
        records = response.get("predictions", [response])
        self.metrics.record_success(latency_ms, [(r["confidence"], r["out_of_scope"]) for r in records])
        return response

    def handle_line(self, raw: bytes | str) -> str:
        """The response as one line of JSON (ASCII-escaped: safe on any terminal or topic)."""
        return json.dumps(self.handle(raw), sort_keys=False)

    def _parse(self, raw: bytes | str) -> Any:
        if isinstance(raw, bytes | bytearray):
            if len(raw) > self.limits.max_request_bytes:
                raise RequestError(
                    "request_too_large", f"request is {len(raw)} bytes; the limit is {self.limits.max_request_bytes}"
                )
            try:
                raw = bytes(raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RequestError("invalid_utf8", f"request is not valid UTF-8 (byte {exc.start})") from exc
        elif len(raw) > self.limits.max_request_bytes:
            raise RequestError("request_too_large", f"request is over {self.limits.max_request_bytes} characters")
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise RequestError("invalid_json", f"request is not JSON ({str(exc)[:200]})") from exc

    def _texts(self, document: Any) -> tuple[list[str], bool]:
        if not isinstance(document, dict):
            raise RequestError("not_an_object", f"request must be a JSON object, not {type(document).__name__}")
        has_text, has_texts = "text" in document, "texts" in document
        if not has_text and not has_texts:
            raise RequestError("missing_text", 'request has no "text" (or "texts" for a batch)')
        if has_text and has_texts:
            raise RequestError("invalid_text", 'give "text" or "texts", not both')
        if has_text:
            if not isinstance(document["text"], str):
                raise RequestError("invalid_text", f'"text" must be a string, not {type(document["text"]).__name__}')
            texts, single = [document["text"]], True
        else:
            batch = document["texts"]
            if not isinstance(batch, list) or not batch:
                raise RequestError("invalid_text", '"texts" must be a non-empty list of strings')
            if len(batch) > self.limits.max_batch:
                raise RequestError(
                    "batch_too_large", f"batch of {len(batch)} texts; the limit is {self.limits.max_batch}"
                )
            texts, single = batch, False
        for position, text in enumerate(texts):
            where = "text" if single else f"texts[{position}]"
            if not isinstance(text, str):
                raise RequestError("invalid_text", f"{where} must be a string, not {type(text).__name__}")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise RequestError("invalid_utf8", f"{where} holds a lone surrogate (character {exc.start})") from exc
            if not text.strip():
                raise RequestError("empty_text", f"{where} is empty")
            if len(text) > self.limits.max_text_chars:
                raise RequestError(
                    "text_too_long", f"{where} is {len(text)} characters; the limit is {self.limits.max_text_chars}"
                )
        return texts, single

    def _predict(self, texts: list[str], single: bool) -> dict[str, Any]:
        current = self.slot.current
        if current is None:
            reason = self.slot.last_failure or "no model loaded yet"
            raise RequestError("no_model", f"no model is being served ({reason})")
        records = []
        for record in current.predictor.predict(texts):
            records.append({k: record[k] for k in ("intent", "confidence", "out_of_scope", "top3")})
        if single:
            return {**records[0], "model_sha256": current.model_sha256}
        return {"predictions": records, "model_sha256": current.model_sha256}

    def _error(self, request_id: str | int | None, code: str, message: str, started: float) -> dict[str, Any]:
        latency_ms = (time.perf_counter() - started) * 1000.0
        self.metrics.record_error(code, latency_ms)
        response: dict[str, Any] = {"error": {"code": code, "message": message}, "latency_ms": round(latency_ms, 3)}
        return {"id": request_id, **response} if request_id is not None else response
