"""Edge app figures: start-up time and resident memory with the int8 model, per-request p50/p95 through the stdin
and HTTP modes, requests per second, and the component artefact sizes.

    nice -n 10 .venv/bin/python -m benchmarks.edge_app [--model DIR] [--requests 300]

Without ``--model`` it builds a model folder with the quick intent run of the tests (the full MiniLM int8 graph after
two training steps: the same size and speed as a trained one; its answers are not meaningful). Requests are sent one
at a time (latency as a client sees it, JSON and transport included); requests/s is measured with 2 concurrent HTTP
clients and 2 onnxruntime threads' worth of cores (the app runs 1 intra-op thread per request).
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "what is my balance",
    "will it rain tomorrow in the city",
    "set a timer for ten minutes please",
    "play something relaxing",
    "how do i bake bread",
    "tell me about black holes and how they form",
]


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start(model: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline_code.edge", "--model", str(model), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )


def stdin_mode(model: Path, n: int) -> dict[str, float]:
    t0 = time.perf_counter()
    process = start(model)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b'{"text": "hello"}\n')
    process.stdin.flush()
    first = json.loads(process.stdout.readline())
    startup_s = time.perf_counter() - t0
    assert "intent" in first, first
    latencies = []
    for i in range(n):
        line = json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)]}).encode() + b"\n"
        t = time.perf_counter()
        process.stdin.write(line)
        process.stdin.flush()
        answer = json.loads(process.stdout.readline())
        latencies.append((time.perf_counter() - t) * 1000)
        assert answer["id"] == i
    rss, peak = rss_mib(process.pid)
    process.stdin.close()
    process.wait(timeout=60)
    ms = np.asarray(latencies)
    return {
        "startup_to_first_answer_s": startup_s,
        "rss_mib": rss,
        "peak_rss_mib": peak,
        "stdin_p50_ms": float(np.percentile(ms, 50)),
        "stdin_p95_ms": float(np.percentile(ms, 95)),
        "stdin_sequential_requests_per_s": n / (ms.sum() / 1000),
    }


def http_mode(model: Path, n: int) -> dict[str, float]:
    process = start(model, "--http", "0")
    assert process.stderr is not None
    port = 0
    while not port:
        line = process.stderr.readline().decode()
        if not line:
            raise RuntimeError("the HTTP server did not start")
        if "listening on http://127.0.0.1:" in line:
            port = int(line.rsplit(":", 1)[1].split("/")[0])

    def post(connection: http.client.HTTPConnection, body: bytes) -> dict:
        connection.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        return json.loads(connection.getresponse().read())

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    post(connection, b'{"text": "warm up"}')
    latencies = []
    for i in range(n):
        t = time.perf_counter()
        answer = post(connection, json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)]}).encode())
        latencies.append((time.perf_counter() - t) * 1000)
        assert answer["id"] == i
    done = [0, 0]

    def client(k: int) -> None:
        own = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(n):
            post(own, json.dumps({"text": TEXTS[(i + k) % len(TEXTS)]}).encode())
            done[k] += 1

    t = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_rps = sum(done) / (time.perf_counter() - t)
    rss, peak = rss_mib(process.pid)
    process.terminate()
    process.wait(timeout=60)
    ms = np.asarray(latencies)
    return {
        "http_p50_ms": float(np.percentile(ms, 50)),
        "http_p95_ms": float(np.percentile(ms, 95)),
        "http_sequential_requests_per_s": n / (ms.sum() / 1000),
        "http_2_clients_requests_per_s": concurrent_rps,
        "http_rss_mib": rss,
        "http_peak_rss_mib": peak,
    }


def artefact_sizes(model: Path) -> dict[str, float]:
    from pipeline_code.edge.deployer import model_zip
    from stacks.edge import app_files

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(app_files().items()):
            archive.writestr(name, data)
    files = {p.name: p.read_bytes() for p in model.iterdir() if p.is_file()}
    return {
        "app_artefact_kib": len(buffer.getvalue()) / 1024,
        "model_artefact_mib": len(model_zip(files)) / 2**20,
        "model_onnx_mib": (model / "model.onnx").stat().st_size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    model = args.model
    if model is None:
        helpers = importlib.import_module("tests.intent.helpers")  # the tests' quick run (not type-checked here)

        tmp = Path(tempfile.mkdtemp(prefix="edge-bench-"))
        run = helpers.run_quick(tmp / "run", helpers.tiny_dataset(tmp / "data"))
        assert run.result.succeeded, run.result.error
        model = run.result.run_dir / "model"
    figures = {"cpus": os.cpu_count() or 0, **artefact_sizes(model)}
    figures.update(stdin_mode(model, args.requests))
    figures.update(http_mode(model, args.requests))
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
