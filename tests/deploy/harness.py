"""Harness of the deploy smoke test: a local moto server and the pinned CDK CLI pointed at it.

Nothing here touches the test process's environment: the CLI gets its own environment (dummy credentials, the moto
endpoint, no proxy, no user AWS config) and boto3 clients get the endpoint and credentials explicitly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
MOTO_LAUNCHER = Path(__file__).with_name("patched_moto_server.py")
ACCOUNT = "123456789012"  # moto's default account: what STS GetCallerIdentity answers with dummy credentials
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
MOTO_START_TIMEOUT_S = 30
OUTPUT_TAIL_CHARS = 8000


def _tail(text: str, chars: int = OUTPUT_TAIL_CHARS) -> str:
    return text if len(text) <= chars else f"[... {len(text) - chars} characters cut ...]\n{text[-chars:]}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[Any], *, group: bool) -> None:
    """Stop a process this module started (and, with ``group``, the children it started in its own session)."""
    if proc.poll() is not None:
        return
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(timeout=10)


@dataclass
class MotoServer:
    endpoint: str
    log_path: Path
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return _tail(text, chars)

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of this server (cached per service and region)."""
        if (service, region) not in self._clients:
            self._clients[service, region] = self._new_client(service, region)
        return self._clients[service, region]

    def _new_client(self, service: str, region: str) -> Any:
        session = boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=region,
        )
        return session.client(
            service,
            endpoint_url=self.endpoint,
            config=Config(
                proxies={},  # never route localhost through a proxy from the environment
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )


@contextmanager
def start_moto_server(log_dir: Path) -> Iterator[MotoServer]:
    """Start tests/deploy/patched_moto_server.py with this Python (the venv's) on a free localhost port, wait until
    it answers, and stop it on exit, whatever happened."""
    failures: list[str] = []
    for attempt in range(3):  # the port was free when chosen; another process may take it before moto binds it
        port = _free_port()
        log_path = log_dir / f"moto-{attempt}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, str(MOTO_LAUNCHER), "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=log_dir,
            )
        server = MotoServer(endpoint=f"http://localhost:{port}", log_path=log_path)
        try:
            if _wait_until_answering(proc, port):
                yield server
                return
            failures.append(f"attempt {attempt + 1}, port {port}, exit code {proc.poll()}:\n{server.log_tail()}")
        finally:
            _stop(proc, group=False)
    raise RuntimeError("the moto server did not start:\n" + "\n".join(failures))


def _wait_until_answering(proc: subprocess.Popen[Any], port: int) -> bool:
    deadline = time.monotonic() + MOTO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{port}/moto-api/", timeout=2
            ) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


def _kill_leftovers(group_id: int) -> None:
    """Kill whatever the CLI started in its session and left running (none expected); the group is ours."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group_id, signal.SIGKILL)


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    output: str
    seconds: float

    def explain(self, moto: MotoServer | None = None) -> str:
        command = " ".join(self.args)
        text = f"`{command}` exited {self.returncode} after {self.seconds:.0f} s; output:\n{_tail(self.output)}"
        if moto is not None:
            text += f"\n--- moto server log (tail) ---\n{moto.log_tail()}"
        return text


def cli_environment(moto: MotoServer | None, region: str, config_dir: Path) -> dict[str, str]:
    """The CLI's environment: the caller's, minus anything AWS, CDK or proxy, plus moto, dummy credentials and
    switches that keep the CLI off the network (version check, notices, telemetry)."""
    drop = ("AWS_", "CDK_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(
        {
            **CREDENTIALS,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": str(config_dir / "aws-config"),  # absent files: no profile of the user applies
            "AWS_SHARED_CREDENTIALS_FILE": str(config_dir / "aws-credentials"),
            "NO_PROXY": "localhost,127.0.0.1",
            "CDK_DISABLE_VERSION_CHECK": "1",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
    )
    if moto is not None:
        env["AWS_ENDPOINT_URL"] = moto.endpoint
    return env


def run_cdk(args: Sequence[str], *, env: dict[str, str], timeout_s: float) -> CliResult:
    """``npx --no-install cdk ARGS`` from the repository root (the pinned CLI in node_modules), output captured.

    The CLI runs in its own session so that a timeout stops it and every process it started (node, the app)."""
    command = ["npx", "--no-install", "cdk", *args]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout_s)
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        _stop(proc, group=True)
        output, _ = proc.communicate()
        output = f"{output}\n[timed out after {timeout_s:.0f} s and was stopped]"
        returncode = -1
    finally:
        _stop(proc, group=True)
        _kill_leftovers(proc.pid)
    return CliResult(args=command, returncode=returncode, output=output or "", seconds=time.monotonic() - started)
