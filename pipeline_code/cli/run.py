"""``mlops run PIPELINE``: run a pipeline on this machine with the local executor (caching, lineage, report)."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline_code.cli.common import (
    CACHE_DIR,
    LATEST,
    RUNS_DIR,
    CliEnv,
    fail,
    format_metrics,
    load_definition,
    usage_error,
)
from pipeline_code.dag.assembler import PipelineAssembler, PipelinePlan
from pipeline_code.dag.cache import StepCache
from pipeline_code.dag.catalog import CatalogError, load_object
from pipeline_code.dag.errors import DagError, ParameterError
from pipeline_code.dag.local import ExecutorError, LocalExecutor, RunResult
from pipeline_code.dag.manifest import StepStatus
from pipeline_code.dag.progress import ConsoleProgress
from pipeline_code.dag.report import write_report
from pipeline_code.dag.spec import PipelineDefinition


def check_data(path: Path, param: str = "'--data'") -> Path:
    """A CSV / CSV.gz file or a non-empty folder; usage error naming the path and the problem otherwise."""
    if not path.exists():
        usage_error(f"{path} does not exist", param)
    if path.is_dir():
        if not any(p.is_file() for p in path.rglob("*")):
            usage_error(f"folder {path} holds no files", param)
        return path.resolve()
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz")):
        usage_error(f"{path} is not a .csv or .csv.gz file (or a folder of them)", param)
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError as exc:
        usage_error(f"{path} cannot be read: {exc.strerror or exc}", param)
    if not head:
        usage_error(f"{path} is empty", param)
    if name.endswith(".gz") and head != b"\x1f\x8b":
        usage_error(f"{path} ends in .gz but is not gzip-compressed", param)
    return path.resolve()


def stage_split_files(
    root: Path, *, dataset: str | None, train: Path | None, test: Path | None, valid: Path | None, data_root: Path
) -> Path:
    """One folder holding ``train.csv``, ``test.csv`` [, ``valid.csv``]: a shipped data set converted, or the given
    files copied. The folder is named by its content's sha256 under ``root``, so reruns reuse it and the manifest
    points at files that still exist."""
    from pipeline_code.intent.datasets import DATASETS, materialize

    if dataset is not None:
        if train is not None or test is not None or valid is not None:
            usage_error("give --dataset or --train/--test[/--valid], not both", "'--dataset'")
        if dataset not in DATASETS:
            usage_error(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}", "'--dataset'")
        staging = root / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        materialize(dataset, data_root, staging)
    else:
        if train is None or test is None:
            usage_error(
                "--train and --test are both needed (--valid is optional)", "'--train'" if train is None else "'--test'"
            )
        staging = root / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for split, given in (("train", train), ("test", test), ("valid", valid)):
            if given is None:
                continue
            source = check_data(given, f"'--{split}'")
            if source.is_dir():
                usage_error(f"{given} is a folder; give a .csv or .csv.gz file", f"'--{split}'")
            suffix = ".csv.gz" if source.name.lower().endswith(".gz") else ".csv"
            shutil.copyfile(source, staging / f"{split}{suffix}")
    digest = hashlib.sha256()
    for path in sorted(staging.iterdir()):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    target = root / f"{dataset or 'csv'}-{digest.hexdigest()[:16]}"
    if target.exists():
        shutil.rmtree(staging)
    else:
        staging.rename(target)
    return target


def _load_overrides(path: Path) -> dict[str, dict[str, Any]]:
    """``{step_type: {parameter: value}}`` from a YAML file; usage error naming the file otherwise."""
    param = "'--config'"
    if not path.is_file():
        usage_error(f"{path} {'is not a file' if path.exists() else 'does not exist'}", param)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"{path} cannot be read: {exc}", param)
    except yaml.YAMLError as exc:
        usage_error(f"{path} is not valid YAML: {' '.join(str(exc).split())}", param)
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        usage_error(f"{path} must map step types to mappings of parameter: value", param)
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
            Text(format_metrics(record.metrics) or "-"),
        )
    out.print(table)
    for name in result.manifest.published:
        out.print(f"published: {result.run_dir / name}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"manifest:  {result.manifest_path}", markup=False, highlight=False, soft_wrap=True)


def _write_report(
    definition: PipelineDefinition, plan: PipelinePlan, result: RunResult, out: Console, err: Console
) -> None:
    """``report.html`` for every run, failed ones included; a report that cannot be written never changes the exit."""
    try:
        sections = load_object(definition.report_sections) if definition.report_sections else None
        path = write_report(plan, result.manifest, result.run_dir, sections)
    except (CatalogError, OSError) as exc:
        err.print(f"Warning: report.html not written: {exc}", markup=False, highlight=False, soft_wrap=True)
        return
    out.print(f"report:    {path}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer, env: CliEnv) -> None:
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
        dataset: Annotated[
            str | None, typer.Option(help="Shipped text data set (intent): clinc150 or banking77.")
        ] = None,
        train: Annotated[Path | None, typer.Option(help="Training CSV (text,label; label oos: out of scope).")] = None,
        test: Annotated[Path | None, typer.Option(help="Test CSV, same columns.")] = None,
        valid: Annotated[
            Path | None, typer.Option(help="Validation CSV; default: a stratified 10 % of train, fixed seed.")
        ] = None,
    ) -> None:
        """Run a pipeline on this machine, step by step, with caching and a lineage manifest."""
        out_console, err_console = Console(), Console(stderr=True)
        entry, definition = load_definition(env.catalog, pipeline, err_console)

        external: dict[str, Path] = {}
        if dataset is not None or train is not None or test is not None or valid is not None:
            if data is not None:
                usage_error("give --data or --dataset / --train/--test, not both", "'--data'")
            staging_root = (cache_dir if cache_dir is not None else env.root / CACHE_DIR) / "inputs"
            data = stage_split_files(
                staging_root.resolve(),
                dataset=dataset,
                train=train,
                test=test,
                valid=valid,
                data_root=env.root / "data",
            )
        if definition.external_inputs:
            if len(definition.external_inputs) > 1:
                fail(
                    f"pipeline {pipeline!r} has several external inputs ({', '.join(definition.external_inputs)}); "
                    "`mlops run` can only feed one with --data",
                    err_console,
                )
            if data is None:
                if not entry.default_data:
                    usage_error(
                        f"pipeline {pipeline!r} ships no default data; pass --data (or --dataset, --train/--test)",
                        "'--data'",
                    )
                data = env.root / entry.default_data
            external[definition.external_inputs[0]] = check_data(data)
        elif data is not None:
            usage_error(f"pipeline {pipeline!r} takes no external input", "'--data'")

        overrides: dict[str, dict[str, Any]] = {}
        config_path = config if config is not None else env.root / "config" / "pipelines" / f"{pipeline}.yaml"
        if config is not None or config_path.is_file():
            overrides = _load_overrides(config_path)
        try:
            plan = PipelineAssembler(definition).assemble(overrides)
        except ParameterError as exc:
            usage_error(f"{config_path}: {exc}", "'--config'")
        except DagError as exc:
            fail(f"pipeline {pipeline!r} is not a valid pipeline: {exc}", err_console)

        if out is None:
            run_dir = _new_run_dir(env.root / RUNS_DIR, pipeline)
        elif out.exists() and (not out.is_dir() or any(out.iterdir())):
            usage_error(f"{out} already exists and is not an empty folder", "'--out'")
        else:
            run_dir = out
        if no_cache and cache_dir is not None:
            usage_error("--cache-dir has no effect together with --no-cache", "'--cache-dir'")
        cache_root = cache_dir if cache_dir is not None else env.root / CACHE_DIR
        if cache_root.exists() and not cache_root.is_dir():
            usage_error(f"{cache_root} is not a folder", "'--cache-dir'")

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
            fail(str(exc), err_console)
        if out is None:
            _point_latest(result.run_dir)
        _print_run_summary(result, out_console)
        _write_report(definition, plan, result, out_console, err_console)
        if not result.succeeded:
            fail(result.error or "the run failed", err_console)
