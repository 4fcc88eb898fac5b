"""Run the edge app: load the model, start the metrics flusher, serve one transport until it ends or is stopped."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline_code.edge.handler import Handler, Limits
from pipeline_code.edge.metrics import CLOUDWATCH_TOPIC, FileSink, Flusher, Metrics, cloudwatch_messages
from pipeline_code.edge.model import ModelSlot

DEFAULT_REQUEST_TOPIC = "mlops/intent/request"
DEFAULT_RESPONSE_TOPIC = "mlops/intent/response"
DEFAULT_NAMESPACE = "MlopsEdge/Intent"


@dataclass(frozen=True)
class ServeOptions:
    model: Path
    http_port: int | None = None
    ipc: bool = False
    request_topic: str = DEFAULT_REQUEST_TOPIC
    response_topic: str = DEFAULT_RESPONSE_TOPIC
    metrics_interval_s: float = 60.0
    metrics_file: Path | None = None
    metrics_namespace: str = DEFAULT_NAMESPACE
    thing_name: str = field(default_factory=lambda: os.environ.get("AWS_IOT_THING_NAME", "local"))
    limits: Limits = field(default_factory=Limits)
    threads: int = 1
    #: on a device: keep serving (``no_model`` answers) and retry the folder at each interval instead of exiting
    wait_for_model: bool = False


def log(message: str) -> None:
    print(f"[mlops-edge] {message}", file=sys.stderr, flush=True)


def serve(options: ServeOptions) -> int:
    """0 when the transport ended normally; 1 when no model could be loaded at start."""
    if options.ipc and options.http_port is not None:
        raise ValueError("choose one transport: --ipc or --http PORT (stdin otherwise)")
    slot = ModelSlot(threads=options.threads)
    first = slot.swap(options.model)
    log(first.reason)
    if not first.swapped and not options.wait_for_model:
        return 1
    metrics = Metrics()
    handler = Handler(slot, metrics, options.limits)
    sinks: list[Callable[[dict[str, Any]], None]] = []
    if options.metrics_file is not None:
        sinks.append(FileSink(options.metrics_file))
    if options.ipc:
        from pipeline_code.edge.transports import ipc_publisher

        publish = ipc_publisher()

        def to_cloudwatch(summary: dict[str, Any]) -> None:
            for message in cloudwatch_messages(summary, namespace=options.metrics_namespace, thing=options.thing_name):
                publish(CLOUDWATCH_TOPIC, json.dumps(message).encode("utf-8"))

        sinks.append(to_cloudwatch)

    def reload_check() -> None:
        result = slot.reload_if_changed(options.model)
        if result is not None:
            log(result.reason)

    flusher = Flusher(metrics, sinks, options.metrics_interval_s, on_tick=reload_check, log=log)
    flusher.start()
    stop = threading.Event()
    try:
        if options.http_port is not None:
            from pipeline_code.edge.transports import make_http_server

            server = make_http_server(handler, options.http_port, health=slot.describe)
            log(f"listening on http://127.0.0.1:{server.server_address[1]}/predict")
            _on_term(server.shutdown)
            server.serve_forever(poll_interval=0.2)
            server.server_close()
        elif options.ipc:
            from pipeline_code.edge.transports import serve_ipc

            _on_term(stop.set)
            serve_ipc(
                handler, request_topic=options.request_topic, response_topic=options.response_topic, stop=stop, log=log
            )
        else:
            from pipeline_code.edge.transports import serve_stdin

            serve_stdin(handler)
    except KeyboardInterrupt:
        pass
    finally:
        flusher.stop()
    return 0


def _on_term(action: Any) -> None:
    """SIGTERM (Greengrass stopping the component) ends the transport cleanly, flushing the last metrics window."""

    def handle(_signum: int, _frame: Any) -> None:
        threading.Thread(target=action, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
