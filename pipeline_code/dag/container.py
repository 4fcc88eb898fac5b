"""The one entry point of every step container: SageMaker's ``/opt/ml`` tree -> ``StepContext`` -> ``run(ctx)``.

The step image's bootstrap (``docker/steps/bootstrap.py``) unpacks the code archive and runs this module::

    python -m pipeline_code.dag.container --step AdherenceEvaluate \\
        --entry-point pipeline_code.adherence.evaluate.main --job-type processing --extract model \\
        --parameters '{"min_roc_auc": 0.68, ...}'

- processing jobs: inputs under ``<root>/processing/input/<name>``, outputs under ``<root>/processing/output/<name>``;
- training jobs: channels under ``<root>/input/data/<name>``, hyperparameters in ``<root>/input/config/
  hyperparameters.json`` (strings; ``--parameters`` wins, it carries the JSON types), the model to ``<root>/model``;
- ``--extract NAME``: input NAME is a training job's ``model.tar.gz``; it is unpacked in place first, so the step
  sees the same model folder as on this machine.
- a training job whose step is its pipeline's registered model step also leaves, next to the model, the code archive
  (``code/``) and ``serving.json`` (the pipeline's batch predictor): the registered package then serves with the
  same image and no network (:mod:`pipeline_code.dag.serve`).

Exit status 0 on success; 1 when the step fails, with the reason in ``<root>/output/failure`` (SageMaker shows it as
the job's failure reason); 2 for bad arguments. The step's metrics are printed as one JSON line (CloudWatch Logs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tarfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from pipeline_code.common.context import CONTAINER_ROOT, PROCESSING, TRAINING, StepContext, StepError

MODEL_ARCHIVE = "model.tar.gz"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline_code.dag.container", description=__doc__.splitlines()[0])
    parser.add_argument("--step", required=True, help="step name, e.g. AdherenceTrain")
    parser.add_argument("--entry-point", required=True, help="module with run(ctx), e.g. pipeline_code.x.main")
    parser.add_argument("--job-type", required=True, choices=(PROCESSING, TRAINING))
    parser.add_argument("--extract", action="append", default=[], metavar="INPUT", help="input holding model.tar.gz")
    parser.add_argument("--parameters", default="{}", help="JSON object of step parameters")
    parser.add_argument("--root", type=Path, default=CONTAINER_ROOT, help="the /opt/ml tree (tests use a temp dir)")
    return parser


def extract_model(folder: Path, *, step: str, name: str) -> None:
    """Unpack ``folder/model.tar.gz`` in place (members may not leave ``folder``), then remove the archive."""
    archive = folder / MODEL_ARCHIVE
    if not archive.is_file():
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise StepError(f"{step}: input {name!r} should hold {MODEL_ARCHIVE} (found: {', '.join(found) or 'nothing'})")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise StepError(f"{step}: input {name!r}: {MODEL_ARCHIVE} cannot be unpacked: {exc}") from exc
    archive.unlink()


def serving_predictor(entry_point: str, step: str) -> tuple[str, str] | None:
    """(pipeline, batch predictor) when ``step`` is the registered model step of the pipeline ``entry_point``
    belongs to (``pipeline_code.<model>.specs:DEFINITION`` by convention); None otherwise."""
    from pipeline_code.dag.spec import PipelineDefinition

    package = entry_point.split(".")[:2]
    try:
        definition = getattr(importlib.import_module(".".join([*package, "specs"])), "DEFINITION", None)
    except ImportError:
        return None
    if not isinstance(definition, PipelineDefinition) or not definition.batch_predict:
        return None
    gate = definition.quality_gate
    if gate is None or gate.model_step != step:
        return None
    return definition.name, definition.batch_predict


def package_for_serving(root: Path, model_dir: Path, *, pipeline: str, batch_predict: str) -> None:
    """Copy the job's code archive into ``model_dir/code`` and describe the predictor in ``serving.json``."""
    from pipeline_code.dag.serve import CODE_FOLDER, SERVING_FILE

    archives = sorted((root / "input" / "data" / "code").glob("*.zip"))
    if len(archives) != 1:
        raise StepError(f"packaging for serving: expected one code archive in {root / 'input/data/code'}")
    (model_dir / CODE_FOLDER).mkdir(parents=True, exist_ok=True)
    shutil.copy2(archives[0], model_dir / CODE_FOLDER / archives[0].name)
    serving = {"pipeline": pipeline, "batch_predict": batch_predict}
    (model_dir / SERVING_FILE).write_text(json.dumps(serving, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        parameters = json.loads(args.parameters)
    except json.JSONDecodeError as exc:
        print(f"{args.step}: --parameters is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(parameters, dict):
        print(f"{args.step}: --parameters must be a JSON object, not {type(parameters).__name__}", file=sys.stderr)
        return 2
    ctx = StepContext.from_container(
        args.job_type, ["--parameters", json.dumps(parameters)], step_name=args.step, root=args.root
    )
    try:
        for name in args.extract:
            extract_model(ctx.input_dir(name), step=args.step, name=name)
        module = importlib.import_module(args.entry_point)
        run = getattr(module, "run", None)
        if not callable(run):
            raise StepError(f"{args.step}: entry point {args.entry_point!r} has no run(ctx)")
        metrics = run(ctx) or {}
        serving = serving_predictor(args.entry_point, args.step) if args.job_type == TRAINING else None
        if serving is not None:
            package_for_serving(args.root, ctx.model_dir, pipeline=serving[0], batch_predict=serving[1])
    except StepError as exc:
        ctx.write_failure(str(exc))
        print(str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # any other failure: the reason for the console, the traceback for the logs
        ctx.write_failure(f"{args.step}: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return 1
    print(json.dumps({"step": args.step, "metrics": metrics}, default=str, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
