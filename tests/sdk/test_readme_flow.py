"""The README's example, line by line, against moto: ``cdk deploy --outputs-file`` -> ``mlops config export`` ->
``Session`` -> the adherence pipeline started.

The code blocks are read from README.md, so the README cannot drift from what is tested. The ``cdk deploy`` line is
stood in for by the outputs file it writes (tests/sdk/helpers.py, checked against the synth by
test_outputs_contract.py); tests/deploy runs the real deploy and export on moto_server.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from pipeline_code.cli import create_app
from tests.sdk.helpers import write_outputs

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Platform SDK (`mlops_sdk`)"


def example_blocks() -> tuple[list[str], str]:
    """(bash command lines, python code) of the README's SDK example."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    section = text[start : text.index("\n## ", start + 1)]
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    python = re.search(r"```python\n(.*?)```", section, re.S)
    assert bash and python, "the README's SDK section lost its example"
    commands = [line.split("  #")[0].strip() for line in bash.group(1).splitlines() if line.strip()]
    return commands, python.group(1)


def test_the_example_is_ten_lines_or_fewer():
    commands, code = example_blocks()
    lines = commands + [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10, lines


def test_the_readme_example_runs_from_deploy_outputs_to_a_pipeline_execution(
    tmp_path: Path, adherence_pipeline: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    commands, code = example_blocks()
    app = create_app()
    for command in commands:
        argv = shlex.split(command)
        if argv[:3] == ["npx", "cdk", "deploy"]:
            outputs = argv[argv.index("--outputs-file") + 1]
            write_outputs(tmp_path / outputs)  # what the deploy writes
            continue
        assert argv[0] == "mlops", command
        result = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1"}).invoke(app, argv[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})  # the README example, as written
    parameters_line, status_line = printed.getvalue().splitlines()
    assert "InputDataUri" in parameters_line
    assert status_line in {"Executing", "Succeeded"}  # moto's pipelines finish at once

    sagemaker_runs = boto3.client("sagemaker").list_pipeline_executions(PipelineName=adherence_pipeline)
    (execution,) = sagemaker_runs["PipelineExecutionSummaries"]
    home = Path.home()
    audit = home / ".local" / "state" / "mlops" / "audit" / "mlops-dev.jsonl"
    (line,) = [json.loads(x) for x in audit.read_text().splitlines()]
    assert line["operation"] == "sagemaker:StartPipelineExecution"
    assert line["result_arn"] == execution["PipelineExecutionArn"]
    assert (home / ".config" / "mlops" / "dev.yaml").is_file()
