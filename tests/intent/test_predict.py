"""The edge-style predictor and `mlops predict intent`: schema, arbitrary text, no torch, CLI forms and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_code.cli.common import DEFAULT_CATALOG
from pipeline_code.intent.runtime import IntentPredictor
from tests.cli.cli_helpers import invoke

INTENT = DEFAULT_CATALOG.get("intent")


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> IntentPredictor:
    return IntentPredictor(model_dir)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=300), min_size=1, max_size=4))
def test_any_unicode_text_gets_a_well_formed_answer(predictor: IntentPredictor, texts: list[str]) -> None:
    records = predictor.predict(texts)
    assert len(records) == len(texts)
    raw = predictor.model.run_texts(texts)
    probabilities, _, _ = predictor.decide(raw)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    for record in records:
        assert 0.0 <= record["confidence"] <= 1.0
        assert isinstance(record["out_of_scope"], bool)
        assert record["intent"] in predictor.classes or record["intent"] == predictor.oos_label
        top = [t["probability"] for t in record["top3"]]
        assert top == sorted(top, reverse=True)


def test_inference_imports_neither_torch_nor_pandas(model_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path;"
        "from pipeline_code.intent.runtime import IntentPredictor;"
        "from pipeline_code.intent.predict import predict_file;"
        f"print(IntentPredictor(Path({str(model_dir)!r})).predict(['hello'])[0]['intent']);"
        "bad = [m for m in ('torch', 'pandas', 'transformers') if m in sys.modules];"
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_cli_predicts_texts_as_json_lines(model_dir: Path, tmp_path: Path) -> None:
    result = invoke(
        tmp_path, "predict", "intent", "--model", str(model_dir), "play a song", "is it windy", entries=(INTENT,)
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [r["text"] for r in lines] == ["play a song", "is it windy"]


def test_cli_batch_keeps_every_row(model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"text,label\nplay a song,music\n,music\nbad \xff byte,x\n")
    target = tmp_path / "out.jsonl"
    args = ("predict", "intent", "--model", str(model_dir), "--input", str(source), "--output", str(target))
    result = invoke(tmp_path, *args, entries=(INTENT,))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3
    assert "intent" in rows[0] and rows[1]["error"].endswith("text is empty") and "UTF-8" in rows[2]["error"]


def test_cli_reports_a_broken_model_folder(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "x.txt").write_text("x")
    result = invoke(tmp_path, "predict", "intent", "--model", str(tmp_path / "model"), "hi", entries=(INTENT,))
    assert result.exit_code == 1
    assert "metadata.json is missing" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dataset", "nope"), "unknown data set 'nope'"),
        (("--dataset", "clinc150", "--train", "a.csv"), "not both"),
        (("--train", "a.csv"), "--train and --test are both needed"),
        (("--train", "missing.csv", "--test", "missing.csv"), "does not exist"),
    ],
)
def test_run_options_are_checked(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(tmp_path, "run", "intent", "--out", str(tmp_path / "run"), *args, entries=(INTENT,))
    assert result.exit_code == 2
    assert message in " ".join(result.output.split()).replace("│", "")


def test_explain_shows_the_wiring(tmp_path: Path) -> None:
    result = invoke(tmp_path, "explain", "intent", entries=(INTENT,))
    assert result.exit_code == 0, result.output
    for step in ("IntentValidate", "IntentTrain", "IntentCalibrate", "IntentGate"):
        assert step in result.output


def test_train_and_test_files_are_staged_by_content(tmp_path: Path, tiny_data: Path) -> None:
    from pipeline_code.cli.run import stage_split_files

    first = stage_split_files(
        tmp_path / "inputs",
        dataset=None,
        train=tiny_data / "train.csv",
        test=tiny_data / "test.csv",
        valid=None,
        data_root=tmp_path,
    )
    assert sorted(p.name for p in first.iterdir()) == ["test.csv", "train.csv"]
    again = stage_split_files(
        tmp_path / "inputs",
        dataset=None,
        train=tiny_data / "train.csv",
        test=tiny_data / "test.csv",
        valid=None,
        data_root=tmp_path,
    )
    assert again == first and not (tmp_path / "inputs" / "staging").exists()
