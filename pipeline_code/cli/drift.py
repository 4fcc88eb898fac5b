"""``mlops drift``: a batch of raw rows against the drift baseline of a run; exit 0 (no drift), 1 (drift), 2 (bad
input), so that a job can gate on it.

``--baseline`` is a run directory of ``mlops run adherence`` (its ``baseline/drift_baseline.json``; its ``model/``
scores the batch for prediction drift) or the baseline folder itself. ``--data`` is a raw CSV / CSV.gz in the
format ``mlops predict adherence`` reads (the label is optional). Thresholds come from the baseline (the baseline
step's parameters, ``config/pipelines/adherence.yaml``) unless ``--threshold NAME=VALUE`` overrides one.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table

from pipeline_code.cli.common import EXIT_FAILURE, CliEnv, usage_error

BASELINE_FILE: Final = "drift_baseline.json"
BASELINE_FOLDER: Final = "baseline"
MODEL_FOLDER: Final = "model"
EXIT_DRIFT: Final = EXIT_FAILURE
# The model whose contract a baseline names -> its drift adapter (columns, CSV options, scorer); imported lazily.
ADAPTERS: Final = {"diabetes-130-us-hospitals": "pipeline_code.adherence.drift"}
SHOWN: Final = 12


def find_baseline(location: Path) -> tuple[Path, Path | None]:
    """(drift baseline file, model folder or None) of a run directory or a baseline folder; usage error if none."""
    for folder in (location / BASELINE_FOLDER, location):
        candidate = folder / BASELINE_FILE
        if candidate.is_file():
            run_dir = folder.parent if folder != location else location.parent
            model = run_dir / MODEL_FOLDER
            return candidate, model if (model / "model_meta.json").is_file() else None
    usage_error(
        f"{location} holds no {BASELINE_FILE} (give a run directory of `mlops run adherence` or its "
        f"{BASELINE_FOLDER}/ folder)",
        "'--baseline'",
    )


def _parse_overrides(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not name or not number:
            usage_error(f"{value!r} is not NAME=VALUE", "'--threshold'")
        out[name.strip()] = number.strip()
    return out


def _table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Drift of {report['rows']} rows against the baseline", show_lines=False)
    for name in ("column", "kind", "PSI", "missing", "(baseline)", "bad type", "unseen", "checks failed"):
        table.add_column(name, justify="right" if name not in ("column", "kind", "checks failed") else "left")
    failed = [f for f in report["features"] if f["checks_failed"]]
    rest = sorted((f for f in report["features"] if not f["checks_failed"]), key=lambda f: -f["psi"])
    for f in [*failed, *rest][: max(SHOWN, len(failed))]:
        checks = ", ".join(f["checks_failed"]) or "-"
        if f["examples"]:
            checks += f" (e.g. {', '.join(f['examples'][:3])})"
        table.add_row(
            f["name"],
            f["kind"],
            f"{f['psi']:.3f}",
            f"{f['missing_rate']:.1%}",
            f"{f['baseline_missing_rate']:.1%}",
            f"{f['type_violation_rate']:.1%}",
            f"{f['unseen_rate']:.1%}",
            checks,
        )
    return table


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("drift")
    def drift_command(
        baseline: Annotated[Path, typer.Option(help="Run directory of `mlops run adherence`, or its baseline/.")],
        data: Annotated[Path, typer.Option(help="Raw rows to check: a CSV / CSV.gz (the label is optional).")],
        report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
        model: Annotated[
            Path | None, typer.Option(help="Model folder that scores the batch (default: the run's model/).")
        ] = None,
        score: Annotated[bool, typer.Option(help="Score the batch for prediction drift when a model is found.")] = True,
        threshold: Annotated[
            list[str] | None, typer.Option(help="Override a threshold of the baseline, e.g. psi=0.25 (repeatable).")
        ] = None,
    ) -> None:
        """Check a batch of raw rows for drift against a run's baseline: per column PSI, missing rate, type and
        unseen-value violations; prediction drift when scored. Exit 0: no drift, 1: drift, 2: bad input."""
        from pipeline_code.common.context import StepError
        from pipeline_code.common.drift.baseline import Thresholds
        from pipeline_code.common.drift.check import BaselineError, check_baseline, encode, evaluate
        from pipeline_code.common.io import read_csv, read_json

        if not baseline.exists():
            usage_error(f"{baseline} does not exist", "'--baseline'")
        baseline_file, run_model = find_baseline(baseline)
        try:
            document = check_baseline(read_json(baseline_file, what="drift baseline"), where=str(baseline_file))
        except (BaselineError, StepError, ValueError, OSError) as exc:
            usage_error(str(exc), "'--baseline'")
        contract_name = document.get("contract", {}).get("name", "")
        if contract_name not in ADAPTERS:
            usage_error(f"{baseline_file}: no drift adapter for contract {contract_name!r}", "'--baseline'")
        try:
            adapter = importlib.import_module(ADAPTERS[contract_name])
        except ImportError as exc:
            usage_error(f"cannot load the drift adapter of {contract_name!r}: {exc}", "'--baseline'")
        try:
            thresholds = Thresholds.from_mapping(
                {**document["thresholds"], **_parse_overrides(threshold or [])}, where="thresholds"
            )
        except ValueError as exc:
            usage_error(str(exc), "'--threshold'")

        if not data.is_file():
            usage_error(f"{data} {'is not a file' if data.exists() else 'does not exist'}", "'--data'")
        if data.stat().st_size == 0:
            usage_error(f"{data} is empty", "'--data'")
        try:
            frame = read_csv(data, what="--data", **adapter.READ_CSV_OPTIONS)
        except StepError as exc:  # not CSV: pandas, gzip and unicode errors alike, named by read_csv
            usage_error(str(exc), "'--data'")
        if frame.empty:
            usage_error(f"{data} has a header but no rows", "'--data'")
        absent = [entry["name"] for entry in document["columns"] if entry["name"] not in frame.columns]
        if absent:
            shown = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
            usage_error(
                f"{data} lacks column(s) {shown} of the baseline; is it a raw {contract_name} file?", "'--data'"
            )

        scorer_model = model if model is not None else run_model
        if model is not None and not (model / "model_meta.json").is_file():
            usage_error(f"{model} is not a model folder (no model_meta.json)", "'--model'")
        probabilities = None
        if score and scorer_model is not None and document.get("prediction") is not None:
            try:
                probabilities = adapter.score(scorer_model, frame)
            except (StepError, ValueError, OSError) as exc:
                usage_error(f"cannot score {data} with {scorer_model}: {exc}", "'--data'")
        try:
            encoded = encode(document, frame, adapter.COLUMNS, probabilities=probabilities)
        except (KeyError, BaselineError) as exc:
            usage_error(str(exc), "'--baseline'")
        result = evaluate(document, encoded, thresholds)
        result = {"baseline": str(baseline_file), "data": str(data), "model": str(scorer_model or ""), **result}

        console = Console()
        if not console.is_terminal:  # a log or a pipe: wide enough for the table, whatever COLUMNS says
            console = Console(width=150)
        console.print(_table(result))
        prediction = result["prediction"]
        if prediction is not None:
            console.print(
                f"prediction: PSI {prediction['psi']:.3f} over {prediction['rows_scored']} scored rows "
                f"({'drift' if prediction['drift'] else 'stable'})",
                highlight=False,
            )
        verdict = (
            f"DRIFT: {len(result['violations'])} violation(s) in "
            f"{len({v['feature_name'] for v in result['violations']})} column(s)"
            if result["drift"]
            else "no drift"
        )
        console.print(verdict, highlight=False)
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            console.print(f"report: {report}", highlight=False)
        if result["drift"]:
            raise typer.Exit(EXIT_DRIFT)
