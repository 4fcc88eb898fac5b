"""The newcomer figures: set-up, type check, test suite and synth, measured the way a new user meets them.

    python -m benchmarks.platform_figures [--skip-suite] [--reference DIR] [--repeat N]

- set-up (warm package cache): ``scripts/setup_env.py`` into a new temporary venv, the pinned set, uv as make does;
- type check: ``mypy`` as ``make typecheck`` runs it, with an empty cache (cold) and again (warm), time and peak RSS;
- test suite: ``scripts/run_pytest.sh -q`` (the whole suite, deploy smoke test included);
- synth: ``python app.py`` (every stage, the three cdk-nag packs) timed per resource. With ``--reference DIR`` (a
  checkout of aws-solutions/mlops-workload-orchestrator) its ``source/infrastructure/app.py`` is synthesized in the
  same run, runs interleaved, from a venv made for it with the same uv, and the per-resource ratio is printed.

Figures, not assertions: they depend on the machine and its load (the README quotes a 2-core run). CPU seconds
(user + system of the child) are printed beside wall time because they move less with the load of other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TYPECHECK = ["-m", "mypy"]  # the files listed in pyproject.toml, as make typecheck runs it


@dataclass(frozen=True)
class Timed:
    wall_s: float
    cpu_s: float
    peak_mib: float


def timed(command: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Timed:
    """Run ``command`` to completion; its own wall time, CPU time and peak RSS (wait4, this child only).

    Python may write bytecode, as under make (the Makefile unexports PYTHONDONTWRITEBYTECODE).
    """
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{log.read()[-4000:]}")
    return Timed(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def resources_in(outdir: Path) -> tuple[int, int]:
    """(resources, stacks) over every template of a cloud assembly, nested stage assemblies included."""
    resources = stacks = 0
    for template in outdir.rglob("*.template.json"):
        body = json.loads(template.read_text(encoding="utf-8"))
        stacks += 1
        resources += sum(1 for r in body.get("Resources", {}).values() if r.get("Type") != "AWS::CDK::Metadata")
    return resources, stacks


def setup_figure(work: Path) -> Timed:
    venv = work / "venv"
    return timed([sys.executable, "scripts/setup_env.py", "--venv", str(venv), "--skip-node"])


def typecheck_figures(work: Path) -> tuple[Timed, Timed]:
    cache = ["--cache-dir", str(work / "mypy-cache")]
    cold = timed([sys.executable, *TYPECHECK, *cache])
    warm = timed([sys.executable, *TYPECHECK, *cache])
    return cold, warm


def _synth_env(outdir: Path, context: dict[str, object] | None = None) -> dict[str, str]:
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("CDK_CONTEXT_JSON", None)
    if context is not None:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return env


def ours(work: Path, index: int) -> tuple[Timed, int, int]:
    out = work / f"ours-{index}"
    result = timed([sys.executable, "app.py"], env=_synth_env(out))
    return (result, *resources_in(out))


def prepare_reference(reference: Path, work: Path) -> tuple[Path, dict[str, object]]:
    """A venv for the reference's pinned requirements (same uv as make setup), and its cdk.json context."""
    from scripts.setup_env import UV, Steps, bootstrap_uv, pip_settings, uv_environment

    steps_env = uv_environment(pip_settings(sys.executable))
    if not bootstrap_uv(Steps(), sys.executable):
        raise SystemExit("uv is needed to build the reference's venv")
    venv = work / "reference-venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=steps_env)
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r",
         str(reference / "source" / "requirements.txt")],
        check=True,
        env=steps_env,
    )  # fmt: skip
    context = json.loads((reference / "source" / "infrastructure" / "cdk.json").read_text())["context"]
    return venv / "bin" / "python", context


def theirs(reference: Path, python: Path, context: dict[str, object], work: Path, index: int) -> tuple[Timed, int, int]:
    out = work / f"theirs-{index}"
    result = timed([str(python), "app.py"], cwd=reference / "source" / "infrastructure", env=_synth_env(out, context))
    return (result, *resources_in(out))


def _line(name: str, t: Timed) -> str:
    return f"  {name:<34} {t.wall_s:7.1f} s wall  {t.cpu_s:7.1f} s CPU  {t.peak_mib:7.0f} MiB peak"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-suite", action="store_true", help="do not time the test suite")
    parser.add_argument("--reference", type=Path, default=None, help="checkout of mlops-workload-orchestrator")
    parser.add_argument("--repeat", type=int, default=3, help="synth runs per app (median reported)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="platform-bench-") as tmp:
        work = Path(tmp)
        print("== Newcomer figures ==", flush=True)
        print(_line("set-up, warm package cache", setup_figure(work)), flush=True)
        cold, warm = typecheck_figures(work)
        print(_line("type check, cold (empty cache)", cold))
        print(_line("type check, warm", warm), flush=True)
        if not args.skip_suite:
            suite = timed(["bash", "scripts/run_pytest.sh", "-q", "-p", "no:cacheprovider"])
            print(_line("test suite (scripts/run_pytest.sh)", suite), flush=True)

        reference = None
        if args.reference is not None:
            reference = prepare_reference(args.reference.resolve(), work)
        our_runs, their_runs = [], []
        for index in range(args.repeat):  # interleaved, so load changes hit both apps alike
            our_runs.append(ours(work, index))
            if reference is not None:
                their_runs.append(theirs(args.reference.resolve(), *reference, work, index))
        for name, runs in (("this platform", our_runs), ("mlops-workload-orchestrator", their_runs)):
            if not runs:
                continue
            resources, stacks = runs[0][1], runs[0][2]
            wall = statistics.median(r[0].wall_s for r in runs)
            cpu = statistics.median(r[0].cpu_s for r in runs)
            print(
                f"  synth, {name:<27} {wall:7.1f} s wall  {cpu:7.1f} s CPU  {resources} resources in {stacks} "
                f"stacks: {1000 * wall / resources:.0f} ms wall, {1000 * cpu / resources:.0f} ms CPU per resource"
            )
        if our_runs and their_runs:
            ratio_wall = (statistics.median(r[0].wall_s for r in our_runs) / our_runs[0][1]) / (
                statistics.median(r[0].wall_s for r in their_runs) / their_runs[0][1]
            )
            ratio_cpu = (statistics.median(r[0].cpu_s for r in our_runs) / our_runs[0][1]) / (
                statistics.median(r[0].cpu_s for r in their_runs) / their_runs[0][1]
            )
            print(f"  synth per resource, ours / reference: {ratio_wall:.2f}x wall, {ratio_cpu:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
