"""One Secrets Manager request through the model: which rule answers it, or LocalStack."""

from __future__ import annotations

from typing import Any

from .errors import error_body
from .listed import Listed
from .writes import Writes


class Proxy(Writes, Listed):
    """Forwards to LocalStack and applies the model."""

    def handle(self, operation: str, payload: dict[str, Any], headers: dict[str, str], raw: bytes = b"") -> tuple[int, dict[str, Any]]:
        m = self.model
        if m.throttled():
            return error_body("ThrottlingException", "Rate exceeded")
        secret_id = payload.get("SecretId") or payload.get("Name") or ""
        name = m.name_of(secret_id) if secret_id else ""

        answer = self.write(operation, payload, headers, name)
        if answer is not None:
            return answer

        if operation == "GetSecretValue" and self.unreadable(name):
            return self.read_refusal(name)

        if operation == "ListSecrets" and payload.get("Filters"):
            return self.lagged_list(payload)
        if operation == "ListSecrets":
            return self.paged_passthrough(payload, headers)
        if operation == "BatchGetSecretValue" and payload.get("Filters"):
            return self.lagged_batch(payload, headers)
        if operation == "BatchGetSecretValue" and str(payload.get("NextToken", "")).startswith("strict-"):
            return self.lagged_batch(payload, headers)

        status, answer = self.forward_and_record(operation, payload, headers, name)
        if status == 200 and operation == "BatchGetSecretValue":
            answer = self.split_unreadable(answer)
        return status, answer
