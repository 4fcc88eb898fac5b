"""The local modes end to end in a subprocess: JSON lines on stdin/stdout and HTTP on localhost (bounded)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.cli.cli_helpers import invoke

REQUESTS = [
    b'{"id": 1, "text": "play some music"}',
    b"not json at all",
    b'{"id": 3, "text": ""}',
    b'{"id": 4, "text": "bad \xff byte"}',
    b"",
    b'{"id": 6, "texts": ["will it rain", "set a timer"]}',
    b'{"id": 7}',
]


def test_stdin_mode_answers_every_line_once(edge_model: Path, tmp_path: Path) -> None:
    metrics_file = tmp_path / "metrics.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_code.edge", "--model", str(edge_model), "--metrics-file", str(metrics_file)],
        input=b"\n".join(REQUESTS) + b"\n",
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    answers = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(answers) == len(REQUESTS)
    assert answers[0]["id"] == 1 and "intent" in answers[0]
    codes = [a.get("error", {}).get("code") for a in answers]
    assert codes == [None, "invalid_json", "empty_text", "invalid_utf8", "invalid_json", None, "missing_text"]
    assert len(answers[5]["predictions"]) == 2
    summary = json.loads(metrics_file.read_text().splitlines()[-1])
    assert summary["requests"] == 7 and summary["errors"] == 5 and summary["predictions"] == 3


def test_the_app_imports_no_torch_pandas_typer_or_awsiot(edge_model: Path) -> None:
    code = (
        "import sys; from pathlib import Path;"
        "from pipeline_code.edge.app import ServeOptions, serve;"
        f"assert serve(ServeOptions(model=Path({str(edge_model)!r}))) == 0;"
        "bad = [m for m in ('torch', 'pandas', 'transformers', 'typer', 'awsiot', 'aws_cdk') if m in sys.modules];"
        "assert not bad, bad"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input='{"text": "hi"}\n', capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert '"intent"' in done.stdout


def test_a_broken_model_fails_the_start_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_code.edge", "--model", str(tmp_path / "model")],
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1 and b"metadata.json is missing" in done.stderr


def _post(port: int, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_mode_on_localhost(edge_model: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline_code.edge", "--model", str(edge_model), "--http", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        port = None
        for _ in range(20):  # bounded: the start-up log is a handful of lines
            line = process.stderr.readline().decode()
            if "listening on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].split("/")[0])
                break
            if not line:
                break
        assert port, "the server did not report its port"
        status, body = _post(port, REQUESTS[0])
        assert status == 200 and body["id"] == 1 and "intent" in body
        statuses = [_post(port, raw)[0] for raw in REQUESTS[1:5]]
        assert statuses == [400, 400, 400, 400]
        status, body = _post(port, REQUESTS[5])
        assert status == 200 and len(body["predictions"]) == 2
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as response:
            health = json.loads(response.read())
        assert health["model_sha256"] and health["last_swap_failure"] is None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            assert json.loads(response.read())["requests"] == 6
        assert process.poll() is None  # still up after every bad request
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--http", "70000"), "not a port"),
        (("--max-batch", "0"), "must be positive"),
    ],
)
def test_cli_serve_checks_its_options(edge_model: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke(tmp_path, "edge", "serve", "--model", str(edge_model), *args)
    assert result.exit_code == 2 and message in result.output


def test_cli_serve_reads_stdin(edge_model: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline_code.cli import create_app

    result = CliRunner().invoke(
        create_app(project_root=tmp_path),
        ["edge", "serve", "--model", str(edge_model)],
        input=b'{"text": "play music"}\n{"text": ""}\n',
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert "intent" in lines[0] and lines[1]["error"]["code"] == "empty_text"


def test_on_a_device_the_app_waits_for_its_first_model(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline_code.edge", "--model", str(tmp_path / "not-yet"), "--wait-for-model"],
        input=b'{"id": 1, "text": "hello"}\n',
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    answer = json.loads(done.stdout)
    assert (
        answer["id"] == 1 and answer["error"]["code"] == "no_model" and "does not exist" in answer["error"]["message"]
    )
