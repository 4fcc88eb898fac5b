"""``mlops runs list`` and ``mlops runs compare RUN_A RUN_B``: experiment tracking over local run directories.

Each run directory's ``manifest.json`` holds what a comparison needs: every step's parameters and metrics, the
sha256 of every input file (data hashes) and of every step's code (code hashes). SageMaker records the same per
pipeline execution in SageMaker Experiments (the pipeline's ``PipelineExperimentConfig``).

A RUN is a run directory's name under ``runs/`` (``latest`` works), or a path to a run directory.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline_code.cli.common import LATEST, RUNS_DIR, CliEnv, format_value, usage_error
from pipeline_code.dag.catalog import CatalogError
from pipeline_code.dag.manifest import MANIFEST_NAME

UNKNOWN = "unknown"


class RunReadError(ValueError):
    """A run directory cannot be read; the message names the file and what is wrong with it."""


@dataclass(frozen=True)
class RunSummary:
    """What one run directory says about its run, flattened for tables and JSON."""

    name: str
    path: Path
    pipeline: str
    status: str
    started_at: str
    duration_s: float | None
    parameters: dict[str, Any]  # "Step.parameter" -> value
    metrics: dict[str, Any]  # "Step.metric" -> value
    data: dict[str, str]  # external input -> sha256 over its files
    code: dict[str, str]  # step -> code digest

    @property
    def data_hash(self) -> str:
        return _digest(self.data)

    @property
    def code_hash(self) -> str:
        return UNKNOWN if UNKNOWN in self.code.values() or not self.code else _digest(self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.name,
            "path": str(self.path),
            "pipeline": self.pipeline,
            "status": self.status,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "data_hash": self.data_hash,
            "code_hash": self.code_hash,
            "data": self.data,
            "code": self.code,
            "parameters": self.parameters,
            "metrics": self.metrics,
        }


def _digest(mapping: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(mapping, sort_keys=True).encode()).hexdigest()


def _files_digest(files: list[dict[str, Any]]) -> str:
    rows = sorted((str(f["path"]), str(f["sha256"]), int(f["size"])) for f in files)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def read_run(path: Path) -> RunSummary:
    """The summary of the run directory ``path``; RunReadError naming the manifest if it is missing or malformed."""
    manifest_path = path / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunReadError(f"{path} is not a run directory (no {MANIFEST_NAME})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunReadError(f"{manifest_path}: unreadable manifest: {exc}") from None
    try:
        steps = manifest["steps"]
        parameters = {f"{s['step']}.{k}": v for s in steps for k, v in sorted(s.get("parameters", {}).items())}
        metrics = {f"{s['step']}.{k}": v for s in steps for k, v in sorted(s.get("metrics", {}).items())}
        data = {
            name: _files_digest(entry.get("files", []))
            for name, entry in sorted(manifest.get("external_inputs", {}).items())
        }
        code = {s["step"]: s.get("code_sha256") or UNKNOWN for s in steps}
        return RunSummary(
            name=path.name,
            path=path,
            pipeline=str(manifest["pipeline"]),
            status=str(manifest.get("status", UNKNOWN)),
            started_at=str(manifest.get("started_at") or ""),
            duration_s=manifest.get("duration_s"),
            parameters=parameters,
            metrics=metrics,
            data=data,
            code=code,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise RunReadError(f"{manifest_path}: not a run manifest ({type(exc).__name__}: {exc})") from None


def find_runs(runs_dir: Path) -> tuple[list[RunSummary], list[str]]:
    """Every readable run under ``runs_dir``, oldest first, and a message per unreadable one (never dropped)."""
    runs: list[RunSummary] = []
    problems: list[str] = []
    if not runs_dir.is_dir():
        return runs, problems
    for child in sorted(runs_dir.iterdir()):
        if child.name == LATEST or child.name.startswith(".") or not child.is_dir():
            continue
        try:
            runs.append(read_run(child))
        except RunReadError as exc:
            problems.append(str(exc))
    runs.sort(key=lambda r: (r.started_at, r.name))
    return runs, problems


def resolve_run(env: CliEnv, run: str, param: str) -> RunSummary:
    candidate = Path(run)
    runs_dir = env.root / RUNS_DIR
    if not candidate.is_dir():
        candidate = runs_dir / run
    if candidate.is_file() and run == LATEST:  # where symlinks fail, runs/latest names the run
        candidate = runs_dir / candidate.read_text(encoding="utf-8").strip()
    if not candidate.is_dir():
        usage_error(f"no run {run!r} (neither a directory nor a run under {runs_dir})", param)
    try:
        return read_run(candidate.resolve())
    except RunReadError as exc:
        usage_error(str(exc), param)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def compare(a: RunSummary, b: RunSummary) -> dict[str, Any]:
    """Parameters, metrics, data and code of two runs side by side; ``changed`` and numeric ``delta`` (b - a)."""

    def rows(left: dict[str, Any], right: dict[str, Any], *, delta: bool = False) -> list[dict[str, Any]]:
        out = []
        for key in sorted(set(left) | set(right)):
            row: dict[str, Any] = {
                "name": key,
                "a": left.get(key),
                "b": right.get(key),
                "changed": left.get(key) != right.get(key),
            }
            if delta:
                x, y = _number(left.get(key)), _number(right.get(key))
                row["delta"] = None if x is None or y is None else y - x
            out.append(row)
        return out

    return {
        "a": {"run": a.name, "path": str(a.path), "pipeline": a.pipeline, "status": a.status},
        "b": {"run": b.name, "path": str(b.path), "pipeline": b.pipeline, "status": b.status},
        "same_data": a.data_hash == b.data_hash,
        "same_code": a.code_hash == b.code_hash and a.code_hash != UNKNOWN,
        "parameters": rows(a.parameters, b.parameters),
        "metrics": rows(a.metrics, b.metrics, delta=True),
        "data": rows(a.data, b.data),
        "code": rows(a.code, b.code),
    }


def _default_metrics(env: CliEnv, runs: list[RunSummary]) -> list[str]:
    """The quality-gate metric family of each listed pipeline (e.g. AdherenceEvaluate.*roc_auc and registrable)."""
    names: list[str] = []
    for pipeline in sorted({r.pipeline for r in runs}):
        try:
            gate = env.catalog.load(pipeline).quality_gate
        except CatalogError:
            continue
        if gate is None:
            continue
        leaf = gate.metric.split(".")[-1]
        for run in runs:
            for key in run.metrics:
                step, _, metric = key.partition(".")
                if step == gate.report_step and metric.endswith(leaf) and key not in names:
                    names.append(key)
        verdict = f"{gate.report_step}.registrable"
        if any(verdict in run.metrics for run in runs) and verdict not in names:
            names.append(verdict)
    return names


def _headers(columns: list[str]) -> list[str]:
    """``Step.metric`` columns headed by the metric alone where that is unambiguous."""
    leaves = [c.partition(".")[2] or c for c in columns]
    return [leaf if leaves.count(leaf) == 1 else column for leaf, column in zip(leaves, columns, strict=True)]


def _short(value: str) -> str:
    return value if value == UNKNOWN else value[:12]


def _cell(value: Any) -> str:
    return "-" if value is None else format_value(value)


def register(app: typer.Typer, env: CliEnv) -> None:
    runs_app = typer.Typer(
        help="Compare local runs: parameters, metrics, data and code hashes from each run's manifest.",
        no_args_is_help=True,
    )

    @runs_app.command("list")
    def list_command(
        pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only runs of this pipeline.")] = None,
        metric: Annotated[
            list[str] | None,
            typer.Option("--metric", help="Metric column as Step.metric (repeatable); default: the gate metrics."),
        ] = None,
        runs_dir: Annotated[
            Path | None, typer.Option("--runs-dir", help="Where the runs are (default: runs/ of the project).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
    ) -> None:
        """List the runs under runs/: status, start, duration, data and code hashes, headline metrics."""
        out, err = Console(), Console(stderr=True)
        folder = runs_dir if runs_dir is not None else env.root / RUNS_DIR
        if runs_dir is not None and not runs_dir.is_dir():
            usage_error(f"{runs_dir} is not a directory", "'--runs-dir'")
        runs, problems = find_runs(folder)
        if pipeline is not None:
            runs = [r for r in runs if r.pipeline == pipeline]
        for problem in problems:  # reported, never silently skipped
            err.print(f"Warning: skipped {problem}", markup=False, highlight=False, soft_wrap=True)
        if as_json:
            print(json.dumps({"runs": [r.to_dict() for r in runs], "skipped": problems}, indent=2, default=str))
            return
        if not runs:
            out.print(f"No runs under {folder}.", markup=False, highlight=False)
            return
        columns = list(metric) if metric else _default_metrics(env, runs)
        table = Table(title=f"Runs under {folder}", title_justify="left")
        for name in ("Run", "Pipeline", "Status", "Started", "Duration s", "Data", "Code"):
            table.add_column(name, justify="right" if name == "Duration s" else "left")
        for header in _headers(columns):
            table.add_column(header, justify="right")
        for run in runs:
            table.add_row(
                Text(run.name),
                run.pipeline,
                Text(run.status, style="green" if run.status == "succeeded" else "red"),
                run.started_at,
                _cell(run.duration_s),
                _short(run.data_hash),
                _short(run.code_hash),
                *(_cell(run.metrics.get(c)) for c in columns),
            )
        out.print(table)

    @runs_app.command("compare")
    def compare_command(
        run_a: Annotated[str, typer.Argument(metavar="RUN_A", help="Run directory name under runs/, or a path.")],
        run_b: Annotated[str, typer.Argument(metavar="RUN_B", help="Run directory name under runs/, or a path.")],
        show_all: Annotated[bool, typer.Option("--all", help="Also list parameters that did not change.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    ) -> None:
        """Compare two runs: changed parameters, every metric with its delta, data and code hashes."""
        out = Console()
        a = resolve_run(env, run_a, "'RUN_A'")
        b = resolve_run(env, run_b, "'RUN_B'")
        result = compare(a, b)
        if as_json:
            print(json.dumps(result, indent=2, default=str))
            return
        out.print(
            f"A: {a.name} ({a.pipeline}, {a.status})\nB: {b.name} ({b.pipeline}, {b.status})\n"
            f"data: {'same' if result['same_data'] else 'DIFFERENT'} ({_short(a.data_hash)} / {_short(b.data_hash)})"
            f"\ncode: {'same' if result['same_code'] else 'DIFFERENT'} ({_short(a.code_hash)} / {_short(b.code_hash)})",
            markup=False,
            highlight=False,
        )
        params = [r for r in result["parameters"] if show_all or r["changed"]]
        unchanged = sum(1 for r in result["parameters"] if not r["changed"])
        if params:
            table = Table(title=f"Parameters ({len(params)} shown, {unchanged} unchanged)", title_justify="left")
            for name in ("Parameter", "A", "B"):
                table.add_column(name)
            for row in params:
                style = "yellow" if row["changed"] else ""
                table.add_row(Text(row["name"], style=style), _cell(row["a"]), _cell(row["b"]))
            out.print(table)
        else:
            out.print(f"parameters: all {unchanged} unchanged", markup=False, highlight=False)
        table = Table(title="Metrics", title_justify="left")
        for name in ("Metric", "A", "B", "Delta (B - A)"):
            table.add_column(name, justify="left" if name == "Metric" else "right")
        for row in result["metrics"]:
            delta = row["delta"]
            table.add_row(Text(row["name"]), _cell(row["a"]), _cell(row["b"]), "" if delta is None else f"{delta:+.4g}")
        out.print(table)
        for section, title in (("data", "Data (sha256 over the input files)"), ("code", "Code (digest per step)")):
            changed = [r for r in result[section] if r["changed"]]
            if changed:
                table = Table(title=title, title_justify="left")
                for name in ("Name", "A", "B"):
                    table.add_column(name)
                for row in changed:
                    table.add_row(row["name"], _short(str(row["a"])), _short(str(row["b"])))
                out.print(table)

    app.add_typer(runs_app, name="runs")
