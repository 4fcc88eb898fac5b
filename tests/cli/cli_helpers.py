"""Helpers for invoking the CLI on a toy catalog and reading its (possibly boxed) error output."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from pipeline_code.cli import create_app
from pipeline_code.dag.catalog import CatalogEntry, PipelineCatalog

TOY = CatalogEntry("toy", "tests.dag.toy_steps.pipeline:DEFINITION", default_data="data/toy.csv", description="toy")
BROKEN = CatalogEntry("broken", "tests.dag.toy_steps.does_not_exist:DEFINITION")


def invoke(project: Path, *args: str, entries: tuple[CatalogEntry, ...] = (TOY,)) -> Result:
    app = create_app(PipelineCatalog(entries), project_root=project)
    # A wide terminal keeps rich from wrapping paths inside its error panel.
    return CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(app, list(args))


def flat(text: str) -> str:
    """The output with rich's panel borders removed and whitespace collapsed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())
