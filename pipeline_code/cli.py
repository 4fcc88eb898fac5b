"""The ``mlops`` command: run a pipeline locally, predict with its model, explain its wiring, list pipelines.

Exit codes: 0 success; 1 the pipeline, its definition or the prediction failed; 2 a usage error (unknown
pipeline, a bad path or config file). Errors are printed as one message, never as a traceback; a failing step's
traceback is in ``<run>/steps/<Step>/error.log``.

This module (with app.py) is where configuration enters: it reads the config file and resolves default paths,
then hands typed values to the DAG layer.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

import pipeline_code
from pipeline_code.dag.assembler import PipelineAssembler, PipelinePlan
from pipeline_code.dag.cache import StepCache
from pipeline_code.dag.catalog import CatalogEntry, CatalogError, PipelineCatalog, load_object
from pipeline_code.dag.errors import DagError, ParameterError
from pipeline_code.dag.local import ExecutorError, LocalExecutor, RunResult
from pipeline_code.dag.manifest import StepStatus
from pipeline_code.dag.progress import ConsoleProgress
from pipeline_code.dag.resolver import DependencyResolver, MatchExplanation, MatchStatus
from pipeline_code.dag.spec import PipelineDefinition

EXIT_FAILURE = 1
EXIT_USAGE = 2

DEFAULT_CATALOG = PipelineCatalog(
    [
        CatalogEntry(
            name="adherence",
            definition="pipeline_code.adherence.specs:DEFINITION",
            default_data="data/diabetes-130-us-hospitals/diabetic_data.csv.gz",
            description="Diabetes 130-US hospitals: 30-day readmission (adherence risk) model",
        ),
    ]
)

RUNS_DIR = "runs"
CACHE_DIR = ".mlops-cache"
LATEST = "latest"


def find_project_root() -> Path:
    """The repository holding this package (for the shipped data, config and runs), else the current directory."""
    candidate = Path(pipeline_code.__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def _usage_error(message: str, param: str) -> NoReturn:
    raise typer.BadParameter(message, param_hint=param)


def _fail(message: str, console: Console) -> NoReturn:
    console.print(f"Error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FAILURE)


def _load_definition(catalog: PipelineCatalog, name: str, err: Console) -> tuple[CatalogEntry, PipelineDefinition]:
    try:
        entry = catalog.get(name)
    except CatalogError as exc:
        _usage_error(str(exc), "'PIPELINE'")
    try:
        return entry, catalog.load(name)
    except CatalogError as exc:
        _fail(f"cannot load pipeline {name!r}: {exc}", err)


def _check_data(path: Path) -> Path:
    """A CSV / CSV.gz file or a non-empty folder; usage error naming the path and the problem otherwise."""
    param = "'--data'"
    if not path.exists():
        _usage_error(f"{path} does not exist", param)
    if path.is_dir():
        if not any(p.is_file() for p in path.rglob("*")):
            _usage_error(f"folder {path} holds no files", param)
        return path.resolve()
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz")):
        _usage_error(f"{path} is not a .csv or .csv.gz file (or a folder of them)", param)
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError as exc:
        _usage_error(f"{path} cannot be read: {exc.strerror or exc}", param)
    if not head:
        _usage_error(f"{path} is empty", param)
    if name.endswith(".gz") and head != b"\x1f\x8b":
        _usage_error(f"{path} ends in .gz but is not gzip-compressed", param)
    return path.resolve()


def _load_overrides(path: Path) -> dict[str, dict[str, Any]]:
    """``{step_type: {parameter: value}}`` from a YAML file; usage error naming the file otherwise."""
    param = "'--config'"
    if not path.is_file():
        _usage_error(f"{path} {'is not a file' if path.exists() else 'does not exist'}", param)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        _usage_error(f"{path} cannot be read: {exc}", param)
    except yaml.YAMLError as exc:
        _usage_error(f"{path} is not valid YAML: {' '.join(str(exc).split())}", param)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        _usage_error(f"{path} must map step types to mappings of parameter: value", param)
    return {str(step): dict(params or {}) for step, params in data.items()}


def _new_run_dir(runs: Path, pipeline: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = runs / f"{pipeline}-{stamp}"
    suffix = 1
    while candidate.exists():  # two runs in the same second
        suffix += 1
        candidate = runs / f"{pipeline}-{stamp}-{suffix}"
    return candidate


def _point_latest(run_dir: Path) -> None:
    """Make ``runs/latest`` a relative symlink to ``run_dir``; where symlinks fail, a text file naming it."""
    latest = run_dir.parent / LATEST
    tmp = run_dir.parent / f".{LATEST}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError:
        if not latest.is_dir() or latest.is_symlink():
            latest.unlink(missing_ok=True)
            latest.write_text(f"{run_dir.name}\n", encoding="utf-8")


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _format_metrics(metrics: dict[str, Any], limit: int = 6) -> str:
    items = [f"{k}={_format_value(v)}" for k, v in list(metrics.items())[:limit]]
    if len(metrics) > limit:
        items.append(f"(+{len(metrics) - limit} more)")
    return ", ".join(items)


def _print_run_summary(result: RunResult, out: Console) -> None:
    table = Table(title=f"{result.manifest.pipeline}: {result.manifest.status.value}", title_justify="left")
    table.add_column("Step")
    table.add_column("Status")
    table.add_column("Time", justify="right")
    table.add_column("Metrics")
    styles = {StepStatus.SUCCEEDED: "green", StepStatus.CACHED: "cyan", StepStatus.FAILED: "red"}
    for record in result.manifest.steps:
        style = styles.get(record.status, "yellow")
        duration = f"{record.duration_s:.2f}s" if record.duration_s is not None else ""
        table.add_row(
            Text(record.step),
            Text(record.status.value, style=style),
            duration,
            Text(_format_metrics(record.metrics) or "-"),
        )
    out.print(table)
    for name in result.manifest.published:
        out.print(f"published: {result.run_dir / name}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"manifest:  {result.manifest_path}", markup=False, highlight=False, soft_wrap=True)


def _explanation_table(plan_name: str, explanations: tuple[MatchExplanation, ...]) -> Table:
    table = Table(title=f"{plan_name}: input resolution", title_justify="left", show_lines=True)
    table.add_column("Step")
    table.add_column("Input")
    table.add_column("Type")
    table.add_column("Bound to")
    table.add_column("Score", justify="right")
    table.add_column("Breakdown / runners-up")
    styles = {
        MatchStatus.BOUND: "green",
        MatchStatus.EXTERNAL: "cyan",
        MatchStatus.UNBOUND: "yellow",
        MatchStatus.MISSING: "bold red",
        MatchStatus.AMBIGUOUS: "bold red",
    }
    for exp in explanations:
        if exp.chosen is not None:
            bound = Text(str(exp.binding))
            score = f"{exp.chosen.total:.2f}"
            detail = [exp.chosen.describe()]
        elif exp.binding is not None:
            bound, score, detail = Text(str(exp.binding)), "-", ["external input of the same name"]
        else:
            bound, score, detail = Text(exp.status.value, style=styles[exp.status]), "-", []
        if exp.is_error or exp.status == MatchStatus.UNBOUND:
            detail.append(exp.message)  # already lists the closest candidates
        else:
            detail += [f"  runner-up: {c.describe()}" for c in exp.runner_ups]
        name = exp.dependency + ("" if exp.required else " (optional)")
        table.add_row(Text(exp.step_type), Text(name), exp.dependency_type.value, bound, score, Text("\n".join(detail)))
    return table


def create_app(catalog: PipelineCatalog | None = None, *, project_root: Path | None = None) -> typer.Typer:
    """Build the ``mlops`` app over ``catalog``; tests pass their own catalog and a temporary project root."""
    pipelines = catalog if catalog is not None else DEFAULT_CATALOG
    root = project_root if project_root is not None else find_project_root()
    app = typer.Typer(
        name="mlops",
        help="Run the platform's ML pipelines locally, predict with their models, and explain their wiring.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.command("run")
    def run_command(
        pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name, see `mlops list`.")],
        data: Annotated[
            Path | None,
            typer.Option(help="Input data: a .csv / .csv.gz file or a folder. Default: the pipeline's shipped data."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="Run directory (must be new or empty). Default: runs/<pipeline>-<UTC time>.")
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option(help="YAML {step_type: {parameter: value}}. Default: config/pipelines/<pipeline>.yaml."),
        ] = None,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step, ignore the step cache.")] = False,
        cache_dir: Annotated[Path | None, typer.Option(help="Step cache folder. Default: <repo>/.mlops-cache.")] = None,
    ) -> None:
        """Run a pipeline on this machine, step by step, with caching and a lineage manifest."""
        out_console, err_console = Console(), Console(stderr=True)
        entry, definition = _load_definition(pipelines, pipeline, err_console)

        external: dict[str, Path] = {}
        if definition.external_inputs:
            if len(definition.external_inputs) > 1:
                _fail(
                    f"pipeline {pipeline!r} has several external inputs ({', '.join(definition.external_inputs)}); "
                    "`mlops run` can only feed one with --data",
                    err_console,
                )
            if data is None:
                if not entry.default_data:
                    _usage_error(f"pipeline {pipeline!r} ships no default data; pass --data", "'--data'")
                data = root / entry.default_data
            external[definition.external_inputs[0]] = _check_data(data)
        elif data is not None:
            _usage_error(f"pipeline {pipeline!r} takes no external input", "'--data'")

        overrides: dict[str, dict[str, Any]] = {}
        config_path = config if config is not None else root / "config" / "pipelines" / f"{pipeline}.yaml"
        if config is not None or config_path.is_file():
            overrides = _load_overrides(config_path)
        try:
            plan = PipelineAssembler(definition).assemble(overrides)
        except ParameterError as exc:
            _usage_error(f"{config_path}: {exc}", "'--config'")
        except DagError as exc:
            _fail(f"pipeline {pipeline!r} is not a valid pipeline: {exc}", err_console)

        if out is None:
            run_dir = _new_run_dir(root / RUNS_DIR, pipeline)
        elif out.exists() and (not out.is_dir() or any(out.iterdir())):
            _usage_error(f"{out} already exists and is not an empty folder", "'--out'")
        else:
            run_dir = out
        if no_cache and cache_dir is not None:
            _usage_error("--cache-dir has no effect together with --no-cache", "'--cache-dir'")
        cache_root = cache_dir if cache_dir is not None else root / CACHE_DIR
        if cache_root.exists() and not cache_root.is_dir():
            _usage_error(f"{cache_root} is not a folder", "'--cache-dir'")

        executor = LocalExecutor(
            plan,
            run_dir=run_dir,
            external_inputs=external,
            cache=None if no_cache else StepCache(cache_root.resolve()),
            progress=ConsoleProgress(err_console),
        )
        try:
            result = executor.run()
        except ExecutorError as exc:
            _fail(str(exc), err_console)
        if out is None:
            _point_latest(result.run_dir)
        _print_run_summary(result, out_console)
        if not result.succeeded:
            _fail(result.error or "the run failed", err_console)

    @app.command("predict")
    def predict_command(
        pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name, see `mlops list`.")],
        model: Annotated[Path, typer.Option(help="Model folder, e.g. runs/latest/model.")],
        input: Annotated[
            Path, typer.Option(help="Rows to score: a CSV / CSV.gz file, or a folder if the model allows.")
        ],
        output: Annotated[Path, typer.Option(help="JSON Lines file to write, one prediction per row.")],
    ) -> None:
        """Batch-predict with a trained model folder, using the pipeline's batch predictor."""
        err_console = Console(stderr=True)
        _, definition = _load_definition(pipelines, pipeline, err_console)
        if not definition.batch_predict:
            _usage_error(f"pipeline {pipeline!r} has no batch predictor", "'PIPELINE'")
        if not model.is_dir():
            _usage_error(f"{model} {'is not a folder' if model.exists() else 'does not exist'}", "'--model'")
        if not any(model.iterdir()):
            _usage_error(f"model folder {model} is empty", "'--model'")
        if not input.exists():
            _usage_error(f"{input} does not exist", "'--input'")
        if input.is_file() and input.stat().st_size == 0:
            _usage_error(f"{input} is empty", "'--input'")
        if input.is_dir() and not any(p.is_file() for p in input.rglob("*")):
            _usage_error(f"folder {input} holds no files", "'--input'")
        if output.is_dir():
            _usage_error(f"{output} is a folder; give a file path", "'--output'")
        try:
            predictor = load_object(definition.batch_predict)
        except CatalogError as exc:
            _fail(f"cannot load the batch predictor of {pipeline!r}: {exc}", err_console)
        if not callable(predictor):
            _fail(f"batch predictor {definition.batch_predict!r} is not callable", err_console)
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            summary = predictor(model, input, output)
        except Exception as exc:
            _fail(f"prediction with {model} on {input} failed: {type(exc).__name__}: {exc}", err_console)
        typer.echo(json.dumps(summary, indent=2, sort_keys=True, default=str))

    @app.command("explain")
    def explain_command(
        pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name, see `mlops list`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    ) -> None:
        """Show how every step input was bound: chosen output, score breakdown, runners-up."""
        out_console, err_console = Console(), Console(stderr=True)
        _, definition = _load_definition(pipelines, pipeline, err_console)
        plan: PipelinePlan | None = None
        problem: str | None = None
        try:
            plan = PipelineAssembler(definition).assemble()
            explanations = plan.explanations
        except DagError as exc:
            # Still explain what could be matched: that is what a broken definition's author needs to see.
            problem = str(exc)
            try:
                explanations = DependencyResolver.for_definition(definition).explain()
            except DagError as inner:
                _fail(f"pipeline {pipeline!r} is not a valid pipeline: {inner}", err_console)
        if as_json:
            payload = {
                "pipeline": definition.name,
                "order": list(plan.order) if plan else None,
                "matches": [exp.to_dict() for exp in explanations],
                "error": problem,
            }
            typer.echo(json.dumps(payload, indent=2))
        else:
            out_console.print(_explanation_table(definition.name, explanations))
            if plan is not None:
                out_console.print(f"order: {' -> '.join(plan.order)}", markup=False, highlight=False)
        if problem is not None:
            _fail(problem, err_console)

    @app.command("list")
    def list_command() -> None:
        """List the known pipelines and their steps in run order."""
        table = Table(title="pipelines", title_justify="left")
        table.add_column("Pipeline")
        table.add_column("Steps (run order)")
        table.add_column("Definition")
        for name in pipelines.names:
            entry = pipelines.get(name)
            try:
                definition = pipelines.load(name)
                steps = " -> ".join(PipelineAssembler(definition).assemble().order)
            except (CatalogError, DagError) as exc:
                steps = f"unavailable: {exc}"
            table.add_row(Text(name), Text(steps), Text(entry.definition))
        Console().print(table)

    return app


app = create_app()

if __name__ == "__main__":
    app()
