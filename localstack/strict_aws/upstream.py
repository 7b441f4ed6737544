"""LocalStack behind the model: the forwarder, and Secrets Manager calls of the proxy's own."""

from __future__ import annotations

import json
from typing import Any

from .forwarder import Forwarder
from .model import Model


class Upstream(Forwarder):
    """Forwards requests to LocalStack; the proxy's answers build on it."""

    def __init__(self, upstream: str, model: Model):
        super().__init__(upstream)
        self.model = model

    def call(self, target: str, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Sends one Secrets Manager operation upstream with `payload`."""
        headers = dict(headers)
        headers["X-Amz-Target"] = f"secretsmanager.{target}"
        body = json.dumps(payload).encode()
        headers["Content-Length"] = str(len(body))
        status, _, data = self.forward("POST", "/", headers, body)
        return status, (json.loads(data) if data else {})
