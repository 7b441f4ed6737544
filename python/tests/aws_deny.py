"""A pass-through to an AWS endpoint (LocalStack) that refuses chosen calls as AWS refuses a role without
the IAM permission, run as its own process: `python aws_deny.py UPSTREAM` prints its port. The strict AWS
model has no such switch (its `--deny-read` covers reads only).

`POST /_deny {"operations": ["PutSecretValue"], "names": "REGEX"}` refuses those operations on secrets whose
name (`SecretId` or `Name`) matches REGEX (every secret when absent) with `AccessDeniedException`, until the
next `/_deny` (`{"operations": []}` lets everything through). `GET /_denied` counts the refusals."""

from __future__ import annotations

import http.client
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Pattern
from urllib.parse import urlparse

UPSTREAM = urlparse(sys.argv[1])
lock = threading.Lock()
rule: Dict[str, object] = {"operations": [], "names": None}
denied: List[str] = []


def refused(operation: str, name: str) -> bool:
    with lock:
        names: Optional[Pattern[str]] = rule["names"]  # type: ignore[assignment]
        if operation not in rule["operations"] or (names is not None and not names.search(name)):  # type: ignore[operator]
            return False
        denied.append(operation)
        return True


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def answer(self, status: int, body: bytes, headers: Dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the test's control request
        with lock:
            body = json.dumps({"denied": list(denied)}).encode()
        self.answer(200, body, {"Content-Type": "application/json"})

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_deny":
            asked = json.loads(body)
            with lock:
                rule["operations"] = list(asked.get("operations", []))
                rule["names"] = re.compile(asked["names"]) if asked.get("names") else None
            return self.answer(200, b"{}", {"Content-Type": "application/json"})
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        try:
            fields = json.loads(body or b"{}")
        except ValueError:
            fields = {}
        name = str(fields.get("SecretId") or fields.get("Name") or "")
        if operation and refused(operation, name):
            message = (f"User: arn:aws:sts::000000000000:assumed-role/app/worker is not authorized to perform: "
                       f"secretsmanager:{operation} on resource: {name} because no identity-based policy allows "
                       f"the secretsmanager:{operation} action")
            return self.answer(400, json.dumps({"__type": "AccessDeniedException", "message": message}).encode(),
                               {"Content-Type": "application/x-amz-json-1.1",
                                "x-amzn-errortype": "AccessDeniedException"})
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            upstream.request("POST", self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            data = reply.read()
            passed = {k: v for k, v in reply.getheaders()
                      if k.lower() not in ("content-length", "transfer-encoding", "connection")}
            self.answer(reply.status, data, passed)
        finally:
            upstream.close()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
