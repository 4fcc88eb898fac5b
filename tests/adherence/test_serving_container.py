"""The step image as a SageMaker inference container, without Docker: the bootstrap's ``serve`` in a subprocess on an
/opt/ml tree holding what the training job left in the model, spoken to over HTTP like SageMaker does. Its answer is
the batch predictor's (the code of ``mlops predict``), and rows that break the contract come back with a reason."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pipeline_code.adherence.predict.main import predict_file
from pipeline_code.adherence.specs import DEFINITION
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.dag import serve
from tests.adherence.helpers import DATA_FILE, write_raw
from tests.dag.test_container import BOOTSTRAP, _code_archive

ROWS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(port: int, path: str, body: bytes | None = None, content_type: str = "text/csv") -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body is not None else "GET"
    )
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start(root: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, "MLOPS_CONTAINER_ROOT": str(root)}
    process = subprocess.Popen(
        [sys.executable, str(BOOTSTRAP), "serve", "--port", str(port), "--host", "127.0.0.1"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):  # the container is up when /ping answers at all
        try:
            _request(port, "/ping")
            return process, port
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {process.stderr.read() if process.stderr else ''}") from None
            time.sleep(0.1)
    process.kill()
    raise AssertionError("serve did not answer /ping")


@pytest.fixture(scope="module")
def container_root(tmp_path_factory, model_dir: Path) -> Path:
    """/opt/ml as SageMaker lays it out for an inference container: model.tar.gz extracted under model/."""
    root = tmp_path_factory.mktemp("serve") / "opt" / "ml"
    shutil.copytree(model_dir, root / "model")
    _code_archive(root / "model" / serve.CODE_FOLDER / "0123abcd.zip")
    (root / "model" / serve.SERVING_FILE).write_text(
        json.dumps({"pipeline": "adherence", "batch_predict": DEFINITION.batch_predict})
    )
    return root


@pytest.fixture(scope="module")
def server(container_root: Path) -> Iterator[int]:
    process, port = _start(container_root)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def scoring_csv(tmp_path_factory) -> tuple[bytes, int]:
    """Raw encounters as `mlops predict adherence` reads them, two of them broken."""
    rows = pd.read_csv(DATA_FILE, nrows=ROWS, skiprows=range(1, 5001), **contract.READ_CSV_OPTIONS)
    rows.loc[3, "age"] = "[200-300)"
    rows.loc[7, "gender"] = "Robot"
    path = write_raw(rows, tmp_path_factory.mktemp("scoring") / "encounters.csv")
    return path.read_bytes(), 2


def test_ping_is_healthy_once_the_model_is_loaded(server: int) -> None:
    assert _request(server, "/ping") == (200, {"status": "healthy"})


def test_invocations_answer_what_mlops_predict_answers(
    server: int, scoring_csv, model_dir: Path, tmp_path: Path
) -> None:
    body, broken = scoring_csv
    status, answer = _request(server, "/invocations", body)
    assert status == 200
    assert answer["rows_in"] == ROWS == answer["rows_predicted"] + answer["rows_rejected"]
    assert answer["rows_rejected"] == broken
    assert all(r["reason"] and r["record"] for r in answer["rejected"])
    source = tmp_path / "in.csv"
    source.write_bytes(body)
    predict_file(model_dir, source, tmp_path / "out.jsonl")
    local = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert answer["predictions"] == local  # probability, confidence, risk factors and per-brand predictions
    assert {"probability", "confidence", "brands"} <= set(local[0])


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"", "text/csv", 400, "empty"),
        (b"a,b\n1,2\n", "text/csv", 400, "predict_file: input"),
        (b'{"text": "x"}', "application/json", 400, "text/csv"),
        (b"\xff\xfe\x00garbage", "text/csv", 400, ""),
    ],
)
def test_bad_requests_get_a_400_that_says_why_and_the_container_stays_up(server, body, content_type, status, says):
    got, answer = _request(server, "/invocations", body, content_type)
    assert got == status and says in answer["error"]
    assert _request(server, "/ping")[0] == 200


def test_unknown_paths_are_404(server: int) -> None:
    assert _request(server, "/models")[0] == 404
    assert _request(server, "/predict", b"x")[0] == 404


def test_a_model_without_its_serving_file_starts_unhealthy_and_says_why(tmp_path: Path, container_root: Path) -> None:
    root = tmp_path / "opt" / "ml"
    shutil.copytree(container_root / "model", root / "model")
    (root / "model" / serve.SERVING_FILE).unlink()
    process, port = _start(root)
    try:
        status, answer = _request(port, "/ping")
        assert status == 503 and "serving.json is missing" in answer["error"]
        assert _request(port, "/invocations", b"a\n1\n")[0] == 503
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_without_a_code_archive_in_the_model_fails_naming_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    env = {**os.environ, "MLOPS_CONTAINER_ROOT": str(tmp_path)}
    run = subprocess.run([sys.executable, str(BOOTSTRAP), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and str(tmp_path / "model" / "code") in run.stderr


@pytest.mark.parametrize("content", ["", "[]", '{"batch_predict": "no-colon"}', "{broken"])
def test_a_broken_serving_file_is_named(tmp_path: Path, content: str) -> None:
    (tmp_path / serve.SERVING_FILE).write_text(content)
    with pytest.raises(ValueError, match=r"serving\.json"):
        serve.read_serving_file(tmp_path)
