"""Bootstrap of the step image: unpack the code archive SageMaker downloaded, then run a module of it.

    python3 /opt/mlops/bootstrap.py pipeline_code.dag.container --step ... (the rest goes to the module)
    python3 /opt/mlops/bootstrap.py serve      (SageMaker's inference contract: endpoints and batch transform)

The code travels as its own asset (a zip of the ``pipeline_code`` package), not in the image: a code change
changes only that archive, a dependency change only the image. SageMaker puts the archive under
``<root>/processing/input/code`` (processing) or ``<root>/input/data/code`` (training); ``MLOPS_CONTAINER_ROOT``
overrides ``/opt/ml`` for tests. Standard library only: this runs before any project code is importable. To serve,
the archive is the one the training job left in the model (``<root>/model/code``), and the module is
``pipeline_code.dag.serve``.
"""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
import zipfile
from pathlib import Path

CODE_FOLDERS = ("processing/input/code", "input/data/code")
SERVE_CODE_FOLDERS = ("model/code",)
SERVE_MODULE = "pipeline_code.dag.serve"
PACKAGE = "pipeline_code"


def find_archive(root: Path, folders: tuple[str, ...] = CODE_FOLDERS) -> Path:
    """The one zip under the code input of either job type; SystemExit with what was found otherwise."""
    archives = sorted(p for folder in folders for p in (root / folder).glob("*.zip"))
    if len(archives) != 1:
        looked = ", ".join(str(root / f) for f in folders)
        raise SystemExit(f"bootstrap: expected exactly one code .zip in {looked}, found {len(archives)}")
    return archives[0]


def unpack(archive: Path, destination: Path) -> Path:
    """Unpack ``archive`` so that ``destination/pipeline_code`` is the package; returns the folder for sys.path."""
    with zipfile.ZipFile(archive) as bundle:
        names = bundle.namelist()
        for name in names:  # zip members may not escape the destination
            if name.startswith("/") or ".." in Path(name).parts:
                raise SystemExit(f"bootstrap: {archive} has an unsafe member {name!r}")
        # A zip of the package's contents (what a CDK asset of the folder is) goes one level down.
        target = destination if any(n.startswith(f"{PACKAGE}/") for n in names) else destination / PACKAGE
        bundle.extractall(target)
    return destination


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: bootstrap.py MODULE [ARGS...]")
    root = Path(os.environ.get("MLOPS_CONTAINER_ROOT", "/opt/ml"))
    if argv[0] == "serve":  # SageMaker starts inference containers as `<image> serve`
        argv = [SERVE_MODULE, *argv[1:]]
        archive = find_archive(root, SERVE_CODE_FOLDERS)
    else:
        archive = find_archive(root)
    code_dir = unpack(archive, Path(tempfile.mkdtemp(prefix="mlops-code-")))
    sys.path.insert(0, str(code_dir))
    module, *rest = argv
    if "--root" not in rest and "MLOPS_CONTAINER_ROOT" in os.environ:
        rest += ["--root", str(root)]
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
