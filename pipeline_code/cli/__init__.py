"""The ``mlops`` command: one module per command group, all built over one catalog and project root.

    mlops run PIPELINE ...        run.py      run a pipeline locally (caching, lineage manifest, report.html)
    mlops predict PIPELINE ...    predict.py  batch prediction with a model folder
    mlops explain PIPELINE        explain.py  how each step input was bound (and ``mlops list``)
    mlops runs list|compare       runs.py     local experiment tracking: runs side by side (parameters, metrics,
                                              data and code hashes)
    mlops config export|show|...  config.py   the platform SDK's config from the deployed stacks (mlops_sdk)
    mlops deploy rollback|status|batch  deploy.py  approved models on endpoints: rollback without retraining,
                                              status, batch scoring (boto3, the caller's credentials)
    mlops edge serve|rollback     edge.py     the edge inference app locally; roll a stage's devices back a model
    mlops drift --baseline --data drift.py    a batch of raw rows against a run's drift baseline (exit 0/1/2)

Exit codes: 0 success; 1 the pipeline, its definition or the operation failed; 2 a usage error (unknown pipeline, a
bad path or config file). Errors are printed as one message, never as a traceback; a failing step's traceback is in
``<run>/steps/<Step>/error.log``.

This package (with app.py) is where configuration enters: it reads config files and resolves default paths, then
hands typed values to the layers below.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline_code.cli import config, deploy, drift, edge, explain, predict, run, runs
from pipeline_code.cli.common import DEFAULT_CATALOG, CliEnv, find_project_root
from pipeline_code.dag.catalog import PipelineCatalog

__all__ = ["DEFAULT_CATALOG", "app", "create_app", "find_project_root"]


def create_app(catalog: PipelineCatalog | None = None, *, project_root: Path | None = None) -> typer.Typer:
    """Build the ``mlops`` app over ``catalog``; tests pass their own catalog and a temporary project root."""
    env = CliEnv(
        catalog=catalog if catalog is not None else DEFAULT_CATALOG,
        root=project_root if project_root is not None else find_project_root(),
    )
    app = typer.Typer(
        name="mlops",
        help="Run the platform's ML pipelines locally, predict with their models, and explain their wiring.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for group in (run, predict, explain, runs, config, deploy, edge, drift):
        group.register(app, env)
    return app


app = create_app()
