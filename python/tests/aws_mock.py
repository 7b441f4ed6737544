"""A stand-in AWS endpoint that answers every call with a throttling error, run as its own process so
it keeps answering even if a test's process never released the GIL. With `--hold` (or after `GET /hold`),
it holds each answer until released through `GET /release` (or 30 s pass, then it says so in the error
message). It answers any request so, IMDS's included (a test points the region lookup at it)."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

arrived = threading.Event()
released = threading.Event()
# Holding answers: from the start with `--hold`, or from `GET /hold` on (which also forgets what arrived).
holding = threading.Event()
if "--hold" in sys.argv:
    holding.set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the test's control requests
        if self.path == "/release":
            released.set()
        elif self.path == "/hold":
            arrived.clear()
            released.clear()
            holding.set()
        elif self.path != "/arrived":  # anything else is a client's request (IMDS's, say): an AWS call
            return self.do_POST()
        body = json.dumps({"arrived": arrived.is_set()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - every AWS call
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrived.set()
        how = "released" if not holding.is_set() or released.wait(30) else "never released: the GIL was held"
        body = json.dumps({"__type": "ThrottlingException", "message": f"Rate exceeded ({how})"}).encode()
        self.send_response(400)
        self.send_header("x-amzn-errortype", "ThrottlingException")
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST  # noqa: N815 - IMDS asks for its session token with PUT


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
