"""The HTTP side: Secrets Manager requests to the proxy, the model's endpoints, everything else passed on."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import control
from .errors import Refusal
from .proxy import Proxy

# Hop-by-hop and per-answer headers the server sets itself.
OWN_HEADERS = ("content-length", "transfer-encoding", "connection", "date", "server")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: Proxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in OWN_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/_strict/stats"):
            body = json.dumps(control.stats(self.proxy.model)).encode()
            self.send(200, body, {"Content-Type": "application/json"})
            return
        self.passthrough(b"")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/_strict/advance"):
            control.advance(self.proxy.model, json.loads(body))
            self.send(200, b"{}", {"Content-Type": "application/json"})
            return
        target = self.headers.get("X-Amz-Target", "")
        self.proxy.model.called(target or "other")
        if not target.startswith("secretsmanager."):
            self.passthrough(body)
            return
        operation = target.split(".", 1)[1]
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        try:
            payload = json.loads(body) if body else {}
            status, answer = self.proxy.handle(operation, payload, headers, body)
        except Refusal as refusal:
            status, answer = refusal.status, refusal.body
        except Exception as e:  # a bug here must show as a server error, not a hang
            print(f"strict-aws: {operation}: {e!r}", file=sys.stderr, flush=True)
            status, answer = 500, {"__type": "InternalFailure", "message": f"strict-aws: {e!r}"}
        extra = {"Content-Type": "application/x-amz-json-1.1"}
        if status != 200:
            extra["x-amzn-ErrorType"] = answer.get("__type", "")
        self.send(status, json.dumps(answer).encode(), extra)

    def passthrough(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        headers["Content-Length"] = str(len(body))
        status, response_headers, data = self.proxy.forward(self.command, self.path, headers, body)
        self.send(status, data, response_headers)
