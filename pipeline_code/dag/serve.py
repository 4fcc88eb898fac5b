"""The step image as a SageMaker inference container: endpoints and batch transform run the pipeline's own batch
predictor (the code of ``mlops predict``), so an endpoint's answer is what ``mlops predict`` gives locally.

SageMaker starts the image with ``serve``; the bootstrap (``docker/steps/bootstrap.py``) unpacks the code archive
that the training job left in the model (``<model>/code/*.zip``, see :func:`pipeline_code.dag.container.
package_for_serving`) and runs this module, which listens on port 8080:

- ``GET /ping``: 200 once the model folder and its ``serving.json`` are readable, 503 otherwise;
- ``POST /invocations`` with a CSV body (the pipeline's raw input format, header included): 200 and one JSON
  object ``{"predictions": [...], "rejected": [{"reason", "record"}], "rows_in", "rows_predicted", "rows_rejected"}``.
  Rows that break the data contract are listed with their reason, never dropped: rows in = predicted + rejected.
  A body the predictor cannot read at all is a 400 naming why; a failure of the container a 500.

Batch transform sends each input file whole (``SplitType: None``): a CSV keeps its header, and the features that
look at a patient's earlier encounters see the whole file, as ``mlops predict`` does.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SERVING_FILE = "serving.json"  # {"pipeline": ..., "batch_predict": "module:function"}, written by the training job
CODE_FOLDER = "code"  # the code archive travels inside the model, so a network-isolated container needs nothing else
MAX_BODY = 100 * 1024 * 1024  # batch transform's largest payload (MaxPayloadInMB 100)
CSV_TYPES = ("text/csv", "application/csv")
REJECT_REASON = "reject_reason"  # the column the data contracts add to rejected rows
Predictor = Callable[[Path, Path, Path], dict[str, Any]]


class BadRequest(ValueError):
    """The request cannot be scored as given (the message says why); answered with 400."""


def read_serving_file(model_dir: Path) -> dict[str, str]:
    """The model's serving description; ValueError naming the file and what is wrong."""
    path = model_dir / SERVING_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: this model was not packaged for serving") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("batch_predict"), str) or ":" not in data["batch_predict"]:
        raise ValueError(f"{path}: 'batch_predict' must be 'module:function'")
    return {str(k): str(v) for k, v in data.items()}


class ServingModel:
    """One model folder behind its pipeline's batch predictor; thread-safe (one prediction at a time)."""

    def __init__(self, model_dir: Path, predictor: Predictor) -> None:
        self.model_dir = model_dir
        self.predictor = predictor
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path) -> ServingModel:
        from pipeline_code.dag.catalog import load_object

        description = read_serving_file(model_dir)
        predictor = load_object(description["batch_predict"])
        if not callable(predictor):
            raise ValueError(f"{description['batch_predict']} is not callable")
        return cls(model_dir, predictor)

    def predict_csv(self, body: bytes) -> dict[str, Any]:
        """Score one CSV document; BadRequest for input the predictor refuses as a whole."""
        from pipeline_code.common.context import StepError

        if not body.strip():
            raise BadRequest("the request body is empty: send the CSV rows to score, header first")
        with self._lock, tempfile.TemporaryDirectory(prefix="mlops-serve-") as tmp:
            source, output = Path(tmp) / "input.csv", Path(tmp) / "predictions.jsonl"
            source.write_bytes(body)
            try:
                result = self.predictor(self.model_dir, source, output)
            except StepError as exc:
                raise BadRequest(str(exc).replace(tmp, "<request>")) from None
            predictions = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line]
            rejected = []
            rejects = result.get("rejects")
            if rejects:
                with open(rejects, newline="", encoding="utf-8") as handle:
                    for row in csv.DictReader(handle):
                        reason = row.pop(REJECT_REASON, None)
                        rejected.append({"reason": reason, "record": row})
        return {
            "predictions": predictions,
            "rejected": rejected,
            "rows_in": int(result.get("rows_in", len(predictions) + len(rejected))),
            "rows_predicted": len(predictions),
            "rows_rejected": len(rejected),
        }


def make_handler(model: ServingModel | None, problem: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload, default=str).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != "/ping":
                self._send(404, {"error": f"no such path {self.path}; GET /ping or POST /invocations"})
            elif model is None:
                self._send(503, {"status": "unhealthy", "error": problem})
            else:
                self._send(200, {"status": "healthy"})

        def do_POST(self) -> None:
            if self.path != "/invocations":
                self._send(404, {"error": f"no such path {self.path}; POST /invocations"})
                return
            if model is None:
                self._send(503, {"error": problem})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.rfile.read(length)
                self._send(413, {"error": f"body of {length} bytes is over {MAX_BODY}"})
                return
            body = self.rfile.read(length)
            content_type = (self.headers.get("Content-Type") or "text/csv").split(";")[0].strip().lower()
            try:
                if content_type not in CSV_TYPES:
                    raise BadRequest(f"content type {content_type!r} is not supported: send text/csv")
                self._send(200, model.predict_csv(body))
            except BadRequest as exc:
                self._send(400, {"error": str(exc)})
            except Exception as exc:  # the container keeps serving; the reason goes back and to the logs
                print(f"serve: {type(exc).__name__}: {exc}", file=sys.stderr)
                self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

        def log_message(self, format: str, *args: Any) -> None:
            print(f"serve: {self.address_string()} {format % args}", file=sys.stderr)

    return Handler


def build_server(model_dir: Path, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """The server for ``model_dir``; a broken model still starts it, so /ping says why instead of a crash loop."""
    try:
        model: ServingModel | None = ServingModel.load(model_dir)
        problem = ""
    except Exception as exc:
        model, problem = None, f"{type(exc).__name__}: {exc}"
        print(f"serve: the model cannot be served: {problem}", file=sys.stderr)
    return ThreadingHTTPServer((host, port), make_handler(model, problem))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline_code.dag.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/model"))
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--root", type=Path, default=None, help="the /opt/ml tree (tests); model is <root>/model")
    args = parser.parse_args(argv)
    model_dir = args.root / "model" if args.root is not None else args.model_dir
    server = build_server(model_dir, args.port, args.host)
    print(f"serve: listening on {args.host}:{server.server_address[1]} for {model_dir}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
