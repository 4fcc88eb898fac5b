"""``python -m pipeline_code.edge``: the device entry point (argparse, standard library only; the recipe runs it).

Exit codes: 0 ended normally, 1 no model could be loaded, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_code.edge.app import DEFAULT_NAMESPACE, DEFAULT_REQUEST_TOPIC, DEFAULT_RESPONSE_TOPIC, ServeOptions, serve
from pipeline_code.edge.handler import Limits


def parse(argv: list[str]) -> ServeOptions:
    parser = argparse.ArgumentParser(prog="python -m pipeline_code.edge", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="intent model folder (metadata.json checked)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--http", type=int, metavar="PORT", help="serve POST /predict on 127.0.0.1:PORT (0: any)")
    mode.add_argument("--ipc", action="store_true", help="serve Greengrass IPC local pub/sub (on a device)")
    parser.add_argument(
        "--wait-for-model", action="store_true", help="start without a loadable model; retry it at each interval"
    )
    parser.add_argument("--request-topic", default=DEFAULT_REQUEST_TOPIC)
    parser.add_argument("--response-topic", default=DEFAULT_RESPONSE_TOPIC)
    parser.add_argument("--metrics-interval", type=float, default=60.0, help="seconds between metrics windows")
    parser.add_argument("--metrics-file", type=Path, help="append each metrics window here (JSON lines)")
    parser.add_argument("--metrics-namespace", default=DEFAULT_NAMESPACE)
    parser.add_argument("--max-text-chars", type=int, default=Limits.max_text_chars)
    parser.add_argument("--max-batch", type=int, default=Limits.max_batch)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = parser.parse_args(argv)
    if args.http is not None and not 0 <= args.http <= 65535:
        parser.error(f"--http {args.http}: a port is 0-65535")
    for name in ("metrics_interval", "max_text_chars", "max_batch", "threads"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return ServeOptions(
        model=args.model,
        http_port=args.http,
        ipc=args.ipc,
        request_topic=args.request_topic,
        response_topic=args.response_topic,
        metrics_interval_s=args.metrics_interval,
        metrics_file=args.metrics_file,
        metrics_namespace=args.metrics_namespace,
        limits=Limits(max_text_chars=args.max_text_chars, max_batch=args.max_batch),
        threads=args.threads,
        wait_for_model=args.wait_for_model,
    )


if __name__ == "__main__":
    sys.exit(serve(parse(sys.argv[1:])))
