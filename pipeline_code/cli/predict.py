"""``mlops predict PIPELINE``: batch prediction with a trained model folder, through the pipeline's batch predictor."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline_code.cli.common import CliEnv, fail, load_definition, usage_error
from pipeline_code.dag.catalog import CatalogError, load_object


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("predict")
    def predict_command(
        pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name, see `mlops list`.")],
        model: Annotated[Path, typer.Option(help="Model folder, e.g. runs/latest/model.")],
        texts: Annotated[
            list[str] | None,
            typer.Argument(metavar="[TEXT]...", help="Utterances to score (text models); printed as JSON lines."),
        ] = None,
        input: Annotated[
            Path | None, typer.Option(help="Rows to score: a CSV / CSV.gz file, or a folder if the model allows.")
        ] = None,
        output: Annotated[Path | None, typer.Option(help="JSON Lines file to write, one prediction per row.")] = None,
    ) -> None:
        """Batch-predict with a trained model folder, using the pipeline's batch predictor.

        Either ``--input CSV --output JSONL``, or utterances as arguments (a one-column ``text`` CSV is scored and
        the predictions are printed, one JSON object per line).
        """
        err_console = Console(stderr=True)
        if texts:
            if input is not None or output is not None:
                usage_error("give TEXT arguments or --input/--output, not both", "'--input'")
        elif input is None or output is None:
            usage_error("--input and --output are both needed (or TEXT arguments)", "'--input'")
        _, definition = load_definition(env.catalog, pipeline, err_console)
        if not definition.batch_predict:
            usage_error(f"pipeline {pipeline!r} has no batch predictor", "'PIPELINE'")
        if not model.is_dir():
            usage_error(f"{model} {'is not a folder' if model.exists() else 'does not exist'}", "'--model'")
        if not any(model.iterdir()):
            usage_error(f"model folder {model} is empty", "'--model'")
        if input is not None and output is not None:
            if not input.exists():
                usage_error(f"{input} does not exist", "'--input'")
            if input.is_file() and input.stat().st_size == 0:
                usage_error(f"{input} is empty", "'--input'")
            if input.is_dir() and not any(p.is_file() for p in input.rglob("*")):
                usage_error(f"folder {input} holds no files", "'--input'")
            if output.is_dir():
                usage_error(f"{output} is a folder; give a file path", "'--output'")
        try:
            predictor = load_object(definition.batch_predict)
        except CatalogError as exc:
            fail(f"cannot load the batch predictor of {pipeline!r}: {exc}", err_console)
        if not callable(predictor):
            fail(f"batch predictor {definition.batch_predict!r} is not callable", err_console)
        if texts:
            with tempfile.TemporaryDirectory() as tmp:
                source, target = Path(tmp) / "texts.csv", Path(tmp) / "predictions.jsonl"
                with source.open("w", encoding="utf-8", newline="") as handle:
                    csv.writer(handle, lineterminator="\n").writerows([["text"], *[[t] for t in texts]])
                try:
                    predictor(model, source, target)
                except Exception as exc:
                    fail(f"prediction with {model} failed: {type(exc).__name__}: {exc}", err_console)
                for line in target.read_text(encoding="utf-8").splitlines():
                    typer.echo(line)
            return
        assert input is not None and output is not None
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            summary = predictor(model, input, output)
        except Exception as exc:
            fail(f"prediction with {model} on {input} failed: {type(exc).__name__}: {exc}", err_console)
        typer.echo(json.dumps(summary, indent=2, sort_keys=True, default=str))
