"""The answers the model gives instead of LocalStack's: AWS's error bodies and messages."""

from __future__ import annotations

from typing import Any

MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)
SCHEDULED_FOR_DELETION = (
    "You can't create this secret because a secret with this name is already scheduled for deletion."
)
NOT_FOUND = "Secrets Manager can't find the specified secret."


def error_body(code: str, message: str) -> tuple[int, dict[str, Any]]:
    """A Secrets Manager error answer (awsJson1.1: `__type`, with the message under both spellings)."""
    return 400, {"__type": code, "message": message, "Message": message}


class Refusal(Exception):
    """An answer other than success, raised from deep in a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("__type", status))
        self.status = status
        self.body = body
