"""The one handler: every input, however broken, gets exactly one well-formed response and the process stays up."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_code.edge.handler import ERROR_CODES, Handler

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def well_formed(response: dict) -> None:
    """Either a prediction (single or batch) or an error with a known code, and always JSON-serialisable."""
    json.dumps(response)
    assert isinstance(response["latency_ms"], float) and response["latency_ms"] >= 0
    if "error" in response:
        assert response["error"]["code"] in ERROR_CODES
        assert isinstance(response["error"]["message"], str) and response["error"]["message"]
        return
    records = response.get("predictions", [response])
    for record in records:
        assert 0.0 <= record["confidence"] <= 1.0
        assert isinstance(record["out_of_scope"], bool)
        assert len(record["top3"]) == 3
        assert isinstance(record["intent"], str)


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_get_one_well_formed_response(handler: Handler, raw: bytes) -> None:
    before = handler.metrics.snapshot()["requests"]
    well_formed(handler.handle(raw))
    assert handler.metrics.snapshot()["requests"] == before + 1


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_unicode_as_a_request_or_as_its_text(handler: Handler, text: str) -> None:
    well_formed(handler.handle(text))
    response = handler.handle(json.dumps({"id": 7, "text": text}))
    well_formed(response)
    assert response["id"] == 7
    if text.strip() and len(text) <= handler.limits.max_text_chars:
        # Any non-empty text within the limit (surrogates aside, which JSON of a str cannot hold unescaped) scores.
        assert "error" not in response or response["error"]["code"] == "invalid_utf8"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@SETTINGS
@given(json_values)
def test_arbitrary_json_documents_and_fields(handler: Handler, value: object) -> None:
    for document in (value, {"text": value}, {"texts": value}, {"id": value, "text": "play a song"}):
        well_formed(handler.handle(json.dumps(document)))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"text": ""}', "empty_text"),
        (b'{"text": "   \\n\\t"}', "empty_text"),
        (json.dumps({"text": "x" * 201}).encode(), "text_too_long"),
        (b'{"text": "bad \xff byte"}', "invalid_utf8"),
        (b'{"text": "lone \\ud800 surrogate"}', "invalid_utf8"),
        (b"not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'{"txt": "hello"}', "missing_text"),
        (b'{"text": 3}', "invalid_text"),
        (b'{"texts": []}', "invalid_text"),
        (b'{"texts": ["a", 2]}', "invalid_text"),
        (b'{"text": "a", "texts": ["b"]}', "invalid_text"),
        (json.dumps({"texts": ["play"] * 5}).encode(), "batch_too_large"),
        (b" " * ((1 << 20) + 1), "request_too_large"),
    ],
)
def test_each_bad_input_has_its_error_code(handler: Handler, raw: bytes, code: str) -> None:
    response = handler.handle(raw)
    assert response["error"]["code"] == code, response
    assert handler.metrics.snapshot()["error_codes"] == {code: 1}


def test_deeply_nested_json_is_an_error_not_a_crash(handler: Handler) -> None:
    assert handler.handle(b"[" * 50_000 + b"]" * 50_000)["error"]["code"] in ("invalid_json", "not_an_object")


def test_single_and_batch_answers(handler: Handler) -> None:
    single = handler.handle(b'{"id": "r1", "text": "play some jazz music"}')
    assert single["id"] == "r1" and set(single) >= {"intent", "confidence", "out_of_scope", "top3", "latency_ms"}
    batch = handler.handle(json.dumps({"id": 2, "texts": ["play music", "will it rain", "set a timer"]}))
    assert batch["id"] == 2 and len(batch["predictions"]) == 3
    assert single["model_sha256"] == batch["model_sha256"] == handler.slot.current.model_sha256  # type: ignore[union-attr]
    summary = handler.metrics.snapshot()
    assert summary["requests"] == 2 and summary["predictions"] == 4 and summary["errors"] == 0
    assert sum(summary["confidence_histogram"].values()) == 4


def test_a_model_failure_is_an_internal_error_response(handler: Handler, monkeypatch: pytest.MonkeyPatch) -> None:
    predictor = handler.slot.current.predictor  # type: ignore[union-attr]

    def broken(_texts: list[str]) -> list[dict]:
        raise RuntimeError("onnxruntime exploded")

    monkeypatch.setattr(predictor, "predict", broken)
    response = handler.handle(b'{"id": 1, "text": "hello"}')
    assert response["id"] == 1 and response["error"]["code"] == "internal_error"
    assert "onnxruntime exploded" in response["error"]["message"]
