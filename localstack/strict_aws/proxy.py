"""One Secrets Manager request through the model: which rule answers it, or LocalStack."""

from __future__ import annotations

from typing import Any

from . import filters
from .errors import MARKED_FOR_DELETION, error_body
from .listed import Listed
from .writes import Writes


class Proxy(Writes, Listed):
    """Forwards to LocalStack and applies the model."""

    def handle(self, operation: str, payload: dict[str, Any], headers: dict[str, str], raw: bytes = b"") -> tuple[int, dict[str, Any]]:
        m = self.model
        if m.throttled() or m.rate_limited(operation):
            return error_body("ThrottlingException", "Rate exceeded")
        if m.options.validate_filters:
            refused = filters.refusal(operation, payload)
            if refused is not None:
                m.count("filter_refusals")
                return refused
        secret_id = payload.get("SecretId") or payload.get("Name") or ""
        name = m.name_of(secret_id) if secret_id else ""

        answer = self.write(operation, payload, headers, name)
        if answer is not None:
            return answer

        if operation == "GetSecretValue" and m.deleting(name):
            m.count("deleting_refusals")
            return error_body("InvalidRequestException", MARKED_FOR_DELETION)
        if operation == "DescribeSecret":
            described = m.finishing_description(name)
            if described is not None:
                return 200, described
        if operation == "GetSecretValue" and self.unreadable(name):
            return self.read_refusal(name)

        if operation == "ListSecrets" and payload.get("Filters"):
            return self.lagged_list(payload)
        if operation == "ListSecrets":
            return self.unfiltered_list(payload, headers)
        if operation == "BatchGetSecretValue" and payload.get("Filters"):
            return self.lagged_batch(payload, headers)
        if operation == "BatchGetSecretValue" and str(payload.get("NextToken", "")).startswith("strict-"):
            return self.lagged_batch(payload, headers)

        status, answer = self.call(operation, payload, headers)
        if status == 200 and operation == "BatchGetSecretValue":
            answer = self.split_unreadable(answer)
        return status, answer
