"""Transports of the one handler: JSON lines on stdin/stdout, HTTP on localhost, Greengrass IPC local pub/sub."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from pipeline_code.edge.handler import Handler

HTTP_STATUS = {"request_too_large": 413, "no_model": 503, "internal_error": 500}


def serve_stdin(handler: Handler, source: IO[bytes] | None = None, sink: IO[str] | None = None) -> int:
    """One response line per input line (blank lines included, as ``invalid_json``) until end of input."""
    source = source if source is not None else sys.stdin.buffer
    sink = sink if sink is not None else sys.stdout
    answered = 0
    for line in source:
        sink.write(handler.handle_line(line.rstrip(b"\r\n")) + "\n")
        sink.flush()
        answered += 1
    return answered


def make_http_server(
    handler: Handler, port: int, *, health: Callable[[], dict[str, Any]], host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """``POST /predict`` (the request as the body), ``GET /health``, ``GET /metrics``; bound to localhost only."""
    limit = handler.limits.max_request_bytes

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "mlops-edge"
        protocol_version = "HTTP/1.1"  # keep-alive: a device client reuses its connection
        # Headers and body are two writes; with Nagle on, the body waits for the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True
        sys_version = ""

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = (json.dumps(body) + "\n").encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, health())
            elif self.path == "/metrics":
                self._send(200, handler.metrics.snapshot())
            else:
                self._send(404, {"error": {"code": "not_found", "message": f"no resource {self.path[:100]!r}"}})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._send(404, {"error": {"code": "not_found", "message": "POST the request to /predict"}})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(411, {"error": {"code": "invalid_length", "message": "Content-Length is required"}})
                return
            if length < 0 or length > limit:
                self.close_connection = True  # the body is not read: the connection cannot be reused
                self._send(
                    413, {"error": {"code": "request_too_large", "message": f"body over {limit} bytes ({length})"}}
                )
                return
            response = handler.handle(self.rfile.read(length))
            code = response.get("error", {}).get("code") if isinstance(response.get("error"), dict) else None
            self._send(200 if code is None else HTTP_STATUS.get(code, 400), response)

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per request would drown the component log; metrics count requests instead

    server = ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    return server


def serve_ipc(
    handler: Handler,
    *,
    request_topic: str,
    response_topic: str,
    stop: threading.Event,
    log: Callable[[str], None],
) -> None:
    """Subscribe to ``request_topic`` over Greengrass IPC and publish each response to ``response_topic``.

    Blocks until ``stop`` is set. awsiotsdk is imported here only: the local modes do not need it.
    """
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
    from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage, SubscriptionResponseMessage

    client = GreengrassCoreIPCClientV2()

    def publish(topic: str, payload: bytes) -> None:
        client.publish_to_topic(
            topic=topic, publish_message=PublishMessage(binary_message=BinaryMessage(message=payload))
        )

    def on_event(event: SubscriptionResponseMessage) -> None:
        try:
            if event.binary_message is not None:
                raw: bytes | str = event.binary_message.message
            elif event.json_message is not None:
                raw = json.dumps(event.json_message.message)
            else:
                raw = b""
            publish(response_topic, handler.handle_line(raw).encode("utf-8"))
        except Exception as exc:  # a failed publish is logged; the subscription stays open
            log(f"IPC response failed: {type(exc).__name__}: {exc}")

    def on_error(error: Exception) -> bool:
        log(f"IPC subscription error: {type(error).__name__}: {error}")
        return False  # keep the stream open

    _, operation = client.subscribe_to_topic(topic=request_topic, on_stream_event=on_event, on_stream_error=on_error)
    log(f"listening on IPC topic {request_topic!r}, answering on {response_topic!r}")
    try:
        stop.wait()
    finally:
        operation.close()
        client.close()


def ipc_publisher() -> Callable[[str, bytes], None]:
    """A publish function over a fresh IPC client (the CloudWatch metrics sink)."""
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
    from awsiot.greengrasscoreipc.model import BinaryMessage, PublishMessage

    client = GreengrassCoreIPCClientV2()

    def publish(topic: str, payload: bytes) -> None:
        client.publish_to_topic(
            topic=topic, publish_message=PublishMessage(binary_message=BinaryMessage(message=payload))
        )

    return publish
