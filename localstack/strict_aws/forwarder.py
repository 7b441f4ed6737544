"""A keep-alive HTTP forwarder: one connection per serving thread, one retry when it drops.

Knows nothing of the model, so deploy/iam_proxy.py (the IAM-enforcing proxy in front of LocalStack)
forwards through it as well as ``upstream``. Standard library only.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse


class Forwarder:
    """Sends requests to one HTTP server (LocalStack), reusing each serving thread's connection."""

    def __init__(self, url: str):
        parsed = urllib.parse.urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        # A connection per thread: http.client connections are not thread-safe, and a connection kept
        # open saves a TCP handshake on every request of a busy client.
        self.local = threading.local()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The server's status, headers and body for one request, `headers` sent as given."""
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
                # The server may close a kept-alive connection between requests: one retry on a fresh one.
                conn.close()
                self.local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")
