"""LocalStack behind the model: one keep-alive connection per serving thread."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from typing import Any

from .model import Model


class Upstream:
    """Forwards requests to LocalStack; the proxy's answers build on it."""

    def __init__(self, upstream: str, model: Model):
        parsed = urllib.parse.urlparse(upstream)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.model = model
        self.local = threading.local()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                self.local.conn = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, dict(response.getheaders()), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def call(self, target: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Sends one Secrets Manager operation upstream with `payload`."""
        headers = dict(headers)
        headers["X-Amz-Target"] = f"secretsmanager.{target}"
        body = json.dumps(payload).encode()
        headers["Content-Length"] = str(len(body))
        status, _, data = self.forward("POST", "/", headers, body)
        return status, (json.loads(data) if data else {})
