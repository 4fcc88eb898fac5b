"""What every command group shares: the catalog and project root, usage errors and failures, loading a pipeline.

Exit codes of every ``mlops`` command: 0 success; 1 the pipeline, its definition or the operation failed; 2 a usage
error (unknown pipeline, a bad path or config file). Errors are printed as one message, never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

import pipeline_code
from pipeline_code.dag.catalog import CatalogEntry, CatalogError, PipelineCatalog
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
        CatalogEntry(
            name="intent",
            definition="pipeline_code.intent.specs:DEFINITION",
            description="Intent classification with out-of-scope rejection (--dataset clinc150|banking77 or CSVs)",
        ),
    ]
)

RUNS_DIR = "runs"
CACHE_DIR = ".mlops-cache"
LATEST = "latest"


@dataclass(frozen=True)
class CliEnv:
    """What the command groups are built over: the pipeline catalog and the project root (data, config, runs)."""

    catalog: PipelineCatalog
    root: Path


def find_project_root() -> Path:
    """The repository holding this package (for the shipped data, config and runs), else the current directory."""
    candidate = Path(pipeline_code.__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def usage_error(message: str, param: str) -> NoReturn:
    raise typer.BadParameter(message, param_hint=param)


def fail(message: str, console: Console) -> NoReturn:
    console.print(f"Error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_FAILURE)


def load_definition(catalog: PipelineCatalog, name: str, err: Console) -> tuple[CatalogEntry, PipelineDefinition]:
    try:
        entry = catalog.get(name)
    except CatalogError as exc:
        usage_error(str(exc), "'PIPELINE'")
    try:
        return entry, catalog.load(name)
    except CatalogError as exc:
        fail(f"cannot load pipeline {name!r}: {exc}", err)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_metrics(metrics: dict[str, Any], limit: int = 6) -> str:
    items = [f"{k}={format_value(v)}" for k, v in list(metrics.items())[:limit]]
    if len(metrics) > limit:
        items.append(f"(+{len(metrics) - limit} more)")
    return ", ".join(items)
