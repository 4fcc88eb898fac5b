#!/usr/bin/env python3
"""``make setup``: the project's virtual environment and CDK CLI from the pinned files, with a timing per part.

Runs on the system interpreter with the standard library only (nothing is installed yet when it starts):

1. bootstrap ``uv`` at the version pinned below into ``.tools/`` (with the interpreter's own pip, once);
2. ``uv venv .venv`` and ``uv pip install -r requirements-dev.txt -c constraints.txt`` (then the project, editable);
3. ``npm ci`` for the pinned CDK CLI.

uv does not read pip's configuration, so the index, extra indexes, find-links and global constraints that pip is
configured with (``pip config list`` and ``PIP_*`` variables) are handed to uv explicitly: both resolve from the same
sources and honour the same constraints. If uv cannot be bootstrapped, pip does the same install (slower, same pins).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

UV_VERSION = "0.13.8"
ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools" / f"uv-{UV_VERSION}"
UV = TOOLS / "bin" / "uv"

# pip setting -> uv environment variable (pip's list values are whitespace-separated, uv's too).
PIP_TO_UV = {
    "index-url": "UV_DEFAULT_INDEX",
    "extra-index-url": "UV_INDEX",
    "find-links": "UV_FIND_LINKS",
    "constraint": "UV_CONSTRAINT",
    "cert": "SSL_CERT_FILE",
}


def pip_settings(python: str) -> dict[str, str]:
    """pip's effective settings (files of every level, then ``PIP_*`` variables, which win, as in pip)."""
    try:
        listing = subprocess.run(
            [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        listing = ""
    return parse_pip_config(listing, os.environ)


def parse_pip_config(listing: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings uv needs from ``pip config list`` output (``global.index-url='...'`` lines) and ``PIP_*``."""
    settings: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, value = line.partition("=")
        key = name.rsplit(".", 1)[-1]
        if key in PIP_TO_UV and name.split(".", 1)[0] in {"global", "install", ":env:"}:
            settings[key] = value.strip().strip("'\"")
    for key in PIP_TO_UV:
        env_value = environ.get("PIP_" + key.upper().replace("-", "_"))
        if env_value:
            settings[key] = env_value
    return settings


def uv_environment(pip: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key, uv_name in PIP_TO_UV.items():
        if key in pip and uv_name not in os.environ:
            env[uv_name] = pip[key]
    if "extra-index-url" in pip or "find-links" in pip:
        # pip picks the best match across all its sources; uv's default would stop at the first index listing a name.
        env.setdefault("UV_INDEX_STRATEGY", "unsafe-best-match")
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # use the machine's python3, never fetch an interpreter
    env.setdefault("UV_NO_PROGRESS", "1")
    return env


class Steps:
    """Runs commands, printing each one and how long it took; a failure stops with the command's own output."""

    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []

    def run(self, label: str, cmd: list[str], *, env: dict[str, str] | None = None) -> None:
        print(f"setup: {label}: {shlex.join(cmd)}", flush=True)
        started = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        self.timings.append((label, time.perf_counter() - started))

    def timed(self, label: str, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        action()
        self.timings.append((label, time.perf_counter() - started))

    def summary(self) -> str:
        width = max(len(label) for label, _ in self.timings)
        lines = [f"  {label:<{width}}  {seconds:6.1f} s" for label, seconds in self.timings]
        total = sum(seconds for _, seconds in self.timings)
        return "setup: done\n" + "\n".join(lines) + f"\n  {'total':<{width}}  {total:6.1f} s"


def bootstrap_uv(steps: Steps, python: str) -> bool:
    if UV.is_file():
        return True
    shutil.rmtree(TOOLS, ignore_errors=True)
    try:
        steps.run(
            f"bootstrap uv {UV_VERSION}",
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(TOOLS),
             f"uv=={UV_VERSION}"],
        )  # fmt: skip
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"setup: uv could not be installed ({exc}); falling back to pip", file=sys.stderr)
        shutil.rmtree(TOOLS, ignore_errors=True)
        return False
    return UV.is_file()


def python_env(steps: Steps, python: str, venv: Path, *, use_pip: bool) -> None:
    venv_python = venv / "bin" / "python"
    pins = ["-r", "requirements-dev.txt", "-c", "constraints.txt"]
    project = ["--no-deps", "--no-build-isolation", "-e", "."]
    if not use_pip and bootstrap_uv(steps, python):
        env = uv_environment(pip_settings(python))
        if not venv_python.exists():
            steps.run("create .venv (uv)", [str(UV), "venv", "--quiet", "--python", python, str(venv)], env=env)
        target = ["--python", str(venv_python)]
        steps.run("install pinned packages (uv)", [str(UV), "pip", "install", "--quiet", *target, *pins], env=env)
        steps.run("install the project, editable (uv)", [str(UV), "pip", "install", "--quiet", *target, *project],
                  env=env)  # fmt: skip
        return
    if not venv_python.exists():
        steps.run("create .venv (venv)", [python, "-m", "venv", str(venv)])
    pip = [str(venv_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps.run("install pinned packages (pip)", [*pip, *pins])
    steps.run("install the project, editable (pip)", [*pip, *project])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=os.environ.get("PYTHON", "python3"), help="interpreter for .venv")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--pip", action="store_true", help="install with pip instead of uv (slower, same pins)")
    parser.add_argument("--skip-python", action="store_true", help="only the npm part")
    parser.add_argument("--skip-node", action="store_true", help="only the Python part")
    args = parser.parse_args(argv)

    steps = Steps()
    try:
        if not args.skip_python:
            python_env(steps, args.python, args.venv, use_pip=args.pip)
        if not args.skip_node:
            npm_ci = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
            steps.run("install the pinned CDK CLI (npm ci)", npm_ci)
    except subprocess.CalledProcessError as exc:
        print(f"setup: failed: {shlex.join(exc.cmd)} exited {exc.returncode}", file=sys.stderr)
        return 1
    if steps.timings:
        print(steps.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
