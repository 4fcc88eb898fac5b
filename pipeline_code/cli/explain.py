"""``mlops explain PIPELINE`` and ``mlops list``: how a pipeline's inputs were bound, and which pipelines exist."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline_code.cli.common import CliEnv, fail, load_definition
from pipeline_code.dag.assembler import PipelineAssembler, PipelinePlan
from pipeline_code.dag.catalog import CatalogError
from pipeline_code.dag.errors import DagError
from pipeline_code.dag.resolver import DependencyResolver, MatchExplanation, MatchStatus


def explanation_table(plan_name: str, explanations: tuple[MatchExplanation, ...]) -> Table:
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


def register(app: typer.Typer, env: CliEnv) -> None:
    @app.command("explain")
    def explain_command(
        pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline name, see `mlops list`.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    ) -> None:
        """Show how every step input was bound: chosen output, score breakdown, runners-up."""
        out_console, err_console = Console(), Console(stderr=True)
        _, definition = load_definition(env.catalog, pipeline, err_console)
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
                fail(f"pipeline {pipeline!r} is not a valid pipeline: {inner}", err_console)
        if as_json:
            payload = {
                "pipeline": definition.name,
                "order": list(plan.order) if plan else None,
                "matches": [exp.to_dict() for exp in explanations],
                "error": problem,
            }
            typer.echo(json.dumps(payload, indent=2))
        else:
            out_console.print(explanation_table(definition.name, explanations))
            if plan is not None:
                out_console.print(f"order: {' -> '.join(plan.order)}", markup=False, highlight=False)
        if problem is not None:
            fail(problem, err_console)

    @app.command("list")
    def list_command() -> None:
        """List the known pipelines and their steps in run order."""
        table = Table(title="pipelines", title_justify="left")
        table.add_column("Pipeline")
        table.add_column("Steps (run order)")
        table.add_column("Definition")
        for name in env.catalog.names:
            entry = env.catalog.get(name)
            try:
                definition = env.catalog.load(name)
                steps = " -> ".join(PipelineAssembler(definition).assemble().order)
            except (CatalogError, DagError) as exc:
                steps = f"unavailable: {exc}"
            table.add_row(Text(name), Text(steps), Text(entry.definition))
        Console().print(table)
